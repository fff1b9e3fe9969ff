package invoke_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"io/fs"
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// zipOf builds a code package from name → content (names ending in ! are
// made executable).
func zipOf(t testing.TB, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if name[len(name)-1] == '!' {
			h.Name = name[:len(name)-1]
			h.SetMode(0o755 | fs.ModePerm&0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

type invocation struct {
	status int
	header http.Header
	body   string
}

func invoke(t testing.TB, c *client.Client, service, qualifier, function, payload string, header http.Header) invocation {
	t.Helper()
	path := "/2016-08-15/services/" + service
	if qualifier != "" {
		path += "." + qualifier
	}
	path += "/functions/" + function + "/invocations"
	var out []byte
	r, err := c.Do(context.Background(), client.Request{Method: "POST", Path: path, Body: []byte(payload), Header: header}, &out)
	if err != nil {
		var e *client.Error
		if ok := asErr(err, &e); ok {
			return invocation{status: e.Status, body: e.Code + ": " + e.Message}
		}
		t.Fatalf("invoke %s: %v", function, err)
	}
	return invocation{status: r.Status, header: r.Header, body: string(out)}
}

func asErr(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*target = e
	}
	return ok
}

func createFunction(t testing.TB, c *client.Client, service string, f fc.Function, files map[string]string) {
	t.Helper()
	if _, _, err := c.CreateFunction(context.Background(), service, &fc.FunctionInput{Function: f, Code: &fc.Code{ZipFile: zipOf(t, files)}}); err != nil {
		t.Fatal(err)
	}
}

func TestInvokeSmoke(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	if _, _, err := c.CreateService(t.Context(), &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	createFunction(t, c, "demo", fc.Function{FunctionName: "py", Runtime: "python3", Handler: "index.handler",
		EnvironmentVariables: map[string]string{"GREETING": "hi"}},
		map[string]string{"index.py": "import os\ndef handler(event, context):\n    print('log line')\n    return os.environ['GREETING'] + ' ' + event.decode()\n"})
	for i := range 3 {
		got := invoke(t, c, "demo", "", "py", "bob", http.Header{"X-Fc-Log-Type": {"Tail"}})
		logs, _ := base64.StdEncoding.DecodeString(got.header.Get("X-Fc-Log-Result"))
		t.Logf("call %d: %d %q cold=%s init=%s logs=%q", i, got.status, got.body, got.header.Get("X-Openfc-Cold-Start"), got.header.Get("X-Openfc-Init-Duration"), logs)
	}
}
