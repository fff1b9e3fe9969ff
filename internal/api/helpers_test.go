package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/crc64"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

const prefix = "/2016-08-15"

var etagRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// zipOf builds a zip archive holding files (name → content).
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatalf("zip %s: %v", name, err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("close zip: %v", err)
	}
	return buf.Bytes()
}

// symlinkZip builds a zip holding one symlink name → target.
func symlinkZip(t testing.TB, name, target string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Store}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, target)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// crc is FC's codeChecksum of data: CRC-64/XZ as a decimal string.
func crc(data []byte) string {
	return strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10)
}

// defaultZip is the code most tests deploy.
func defaultZip(t testing.TB) []byte {
	return zipOf(t, map[string]string{"index.py": "def handler(event, context):\n    return 'hi'\n"})
}

// apiError returns err as the client's *Error, failing the test when it is
// not one with the given status and code, or when its request ID is not a
// UUID.
func apiError(t testing.TB, call string, err error, status int, code string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error = %v, want %d %s", call, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("%s = %d %s (%s), want %d %s", call, e.Status, e.Code, e.Message, status, code)
	}
	if _, perr := uuid.Parse(e.RequestID); perr != nil || len(e.RequestID) != 36 {
		t.Errorf("%s RequestId = %q, want a 36-character UUID", call, e.RequestID)
	}
	return e
}

// must fails the test when err is not nil.
func must(t testing.TB, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}

func mkService(t testing.TB, n *testenv.Node, name string) *fc.Service {
	t.Helper()
	s, _, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: name})
	must(t, "CreateService("+name+")", err)
	return s
}

func mkFunction(t testing.TB, n *testenv.Node, service, name string, fn fc.Function, code []byte) (*fc.Function, *client.Response) {
	t.Helper()
	fn.FunctionName = name
	if fn.Runtime == "" {
		fn.Runtime = "python3.9"
	}
	if fn.Handler == "" {
		fn.Handler = "index.handler"
	}
	f, r, err := n.Client.CreateFunction(t.Context(), service, &fc.FunctionInput{Function: fn, Code: &fc.Code{ZipFile: b64(code)}})
	must(t, "CreateFunction("+service+", "+name+")", err)
	return f, r
}

func httpTrigger(name string) *fc.Trigger {
	return &fc.Trigger{TriggerName: name, TriggerType: "http", TriggerConfig: json.RawMessage(`{"authType":"anonymous","methods":["GET","POST"]}`)}
}

// call sends a signed request with a raw body (nil for none) and returns
// the status, headers and body bytes, for checks of the exact wire form.
func call(t testing.TB, n *testenv.Node, method, path string, body []byte, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	req := client.Request{Method: method, Path: path, Header: header}
	if p, rawQuery, ok := strings.Cut(path, "?"); ok {
		q, err := url.ParseQuery(rawQuery)
		must(t, "parse query", err)
		req.Path, req.Query = p, q
	}
	if body != nil {
		req.Body = body
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/json")
		}
	}
	resp, err := n.Client.Send(t.Context(), req)
	must(t, method+" "+path, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	must(t, "read "+method+" "+path, err)
	return resp.StatusCode, resp.Header, data
}

// rawJSON decodes a JSON object body into its raw top-level fields.
func rawJSON(t testing.TB, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	return m
}

// compact returns raw JSON without insignificant spaces.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// wantErrorBody checks FC's error response form: JSON content type and
// {ErrorCode, ErrorMessage, RequestId} with the header's request ID.
func wantErrorBody(t testing.TB, what string, status int, h http.Header, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s status = %d (%s), want %d", what, status, body, wantStatus)
	}
	if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s Content-Type = %q, want application/json; charset=utf-8", what, ct)
	}
	var e struct {
		ErrorCode, ErrorMessage, RequestId string
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s body %q is not JSON: %v", what, body, err)
	}
	if e.ErrorCode != wantCode || e.ErrorMessage == "" {
		t.Errorf("%s body = %s, want ErrorCode %s and an ErrorMessage", what, body, wantCode)
	}
	id := h.Get("X-Fc-Request-Id")
	if len(id) != 36 || e.RequestId != id {
		t.Errorf("%s RequestId = %q, header X-Fc-Request-Id = %q, want the same 36-character UUID", what, e.RequestId, id)
	}
	if keys := rawJSON(t, body); len(keys) != 3 {
		t.Errorf("%s error body has keys %v, want exactly ErrorCode, ErrorMessage, RequestId", what, keys)
	}
}

// ignoreTimes ignores lastModifiedTime, which moves on every update.
var ignoreTimes = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && sf.Name() == "LastModifiedTime"
}, cmp.Ignore())

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
