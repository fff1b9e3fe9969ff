package blob

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"hash/crc64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/seal"
)

type entry struct {
	name string
	body string
	mode fs.FileMode
}

func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	good := makeZip(t, entry{name: "index.py", body: "def handler(e, c): return e"}, entry{name: "lib/", mode: fs.ModeDir | 0o755},
		entry{name: "lib/link", body: "../index.py", mode: fs.ModeSymlink | 0o777})
	corrupt := bytes.Clone(good)
	corrupt[40] ^= 0xff // inside the first entry's compressed data
	big := makeZip(t, entry{name: "big", body: strings.Repeat("a", 2000)})
	many := makeZip(t, entry{name: "a"}, entry{name: "b"}, entry{name: "c"})
	cases := []struct {
		name string
		zip  []byte
		lim  Limits
		want string // substring of the error, "" for none
	}{
		{"valid", good, Limits{}, ""},
		{"not a zip", []byte("hello"), Limits{}, "not a valid zip"},
		{"corrupt entry", corrupt, Limits{}, "corrupt"},
		{"zip slip", makeZip(t, entry{name: "../../etc/passwd", body: "x"}), Limits{}, "escapes"},
		{"absolute path", makeZip(t, entry{name: "/etc/passwd", body: "x"}), Limits{}, "escapes"},
		{"backslash path", makeZip(t, entry{name: "..\\evil", body: "x"}), Limits{}, "escapes"},
		{"symlink absolute", makeZip(t, entry{name: "l", body: "/etc/shadow", mode: fs.ModeSymlink | 0o777}), Limits{}, "points outside"},
		{"symlink up", makeZip(t, entry{name: "a/l", body: "../../x", mode: fs.ModeSymlink | 0o777}), Limits{}, "points outside"},
		{"too large", big, Limits{MaxUnzippedBytes: 1000}, "more than 1000 bytes"},
		{"too many entries", many, Limits{MaxEntries: 2}, "3 entries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.zip, c.lim)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			e, ok := fc.AsError(err)
			if !ok || e.Code != fc.CodeInvalidArgument || !strings.Contains(e.Message, c.want) {
				t.Fatalf("Check = %v, want InvalidArgument containing %q", err, c.want)
			}
		})
	}
}

func newStore(t *testing.T) (*Store, *broker.Broker) {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	box, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Objects: b.Code, Box: box, CacheDir: t.TempDir()}), b
}

func TestStorePutGetUnpack(t *testing.T) {
	s, b := newStore(t)
	secret := "SECRET-MARKER-0123456789"
	data := makeZip(t, entry{name: "index.py", body: secret}, entry{name: "bin/run", body: "#!/bin/sh", mode: 0o755})
	ref, err := s.Put(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Size != int64(len(data)) || ref.CRC64 != crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)) {
		t.Errorf("ref = %+v", ref)
	}
	// Stored encrypted: the object's bytes do not contain the plaintext.
	raw, err := b.Code.GetBytes(t.Context(), ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, data[30:60]) {
		t.Errorf("stored object contains the zip in clear")
	}
	again, err := s.Put(t.Context(), data)
	if err != nil || again != ref {
		t.Errorf("second Put = %+v, %v; want %+v", again, err, ref)
	}
	got, err := s.Get(t.Context(), ref.SHA256)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	if _, err := s.Get(t.Context(), "0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	dir, err := s.Unpack(t.Context(), ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "index.py")); err != nil || string(b) != secret {
		t.Errorf("unpacked index.py = %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin/run not executable: %v, %v", fi, err)
	}
	if dir2, err := s.Unpack(t.Context(), ref.SHA256); err != nil || dir2 != dir {
		t.Errorf("second Unpack = %q, %v", dir2, err)
	}
}

func TestStoreRejectsBadZip(t *testing.T) {
	s, b := newStore(t)
	if _, err := s.Put(t.Context(), makeZip(t, entry{name: "../x", body: "x"})); err == nil {
		t.Fatal("Put accepted a zip-slip archive")
	}
	// Nothing was stored.
	lister, err := b.Code.List(t.Context())
	if err != nil && !strings.Contains(err.Error(), "no objects") {
		t.Fatal(err)
	}
	if len(lister) != 0 {
		t.Errorf("object store has %d objects after a rejected Put", len(lister))
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(makeZip(f, entry{name: "a.py", body: "x"}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Check(data, Limits{MaxUnzippedBytes: 1 << 20, MaxEntries: 100}) // must not panic
	})
}
