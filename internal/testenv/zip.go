package testenv

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"testing"
)

// BuildZip returns a base64 code package of name → content; a name ending
// in '!' is stored without it and made executable.
func BuildZip(files map[string]string) (string, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if name[len(name)-1] == '!' {
			h.Name = name[:len(name)-1]
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return "", err
		}
		if _, err := w.Write([]byte(body)); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Zip is BuildZip that fails the test on error.
func Zip(t testing.TB, files map[string]string) string {
	t.Helper()
	z, err := BuildZip(files)
	if err != nil {
		t.Fatal(err)
	}
	return z
}
