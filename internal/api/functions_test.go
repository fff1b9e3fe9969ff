package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestFunctionCRUDWireForm(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	code := defaultZip(t)

	// FC's SDKs may capitalise keys (PascalCase from the Go SDK's broken tags).
	body := `{"FunctionName":"hello","Runtime":"python3.9","Handler":"index.handler","EnvironmentVariables":{"K":"V"},` +
		`"description":null,"memorySize":null,"code":{"zipFile":"` + b64(code) + `"}}`
	status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions", []byte(body), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateFunction = %d %s, want 200", status, resp)
	}
	if !etagRE.MatchString(h.Get("ETag")) {
		t.Errorf("CreateFunction ETag = %q, want 32 hex", h.Get("ETag"))
	}
	m := rawJSON(t, resp)
	if _, ok := m["code"]; ok {
		t.Errorf("CreateFunction body has the code: %s", resp)
	}
	var created fc.Function
	must(t, "decode", json.Unmarshal(resp, &created))
	if _, err := uuid.Parse(created.FunctionID); err != nil {
		t.Errorf("functionId = %q, want a UUID", created.FunctionID)
	}
	want := fc.Function{
		FunctionName: "hello", FunctionID: created.FunctionID, Runtime: "python3.9", Handler: "index.handler",
		Timeout: 60, InitializationTimeout: 3, MemorySize: 128, InstanceConcurrency: 1, InstanceType: "e1", CAPort: 9000,
		CodeSize: int64(len(code)), CodeChecksum: crc(code), EnvironmentVariables: map[string]string{"K": "V"},
		CreatedTime: created.CreatedTime, LastModifiedTime: created.CreatedTime,
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateFunction mismatch (-want +got):\n%s", diff)
	}

	got, r, err := n.Client.GetFunction(t.Context(), "svc", "", "hello")
	must(t, "GetFunction", err)
	if r.ETag != h.Get("ETag") {
		t.Errorf("GetFunction ETag = %q, want %q", r.ETag, h.Get("ETag"))
	}
	if diff := cmp.Diff(&created, got); diff != "" {
		t.Errorf("GetFunction mismatch (-create +get):\n%s", diff)
	}

	t.Run("duplicate", func(t *testing.T) {
		_, _, err := n.Client.CreateFunction(t.Context(), "svc", &fc.FunctionInput{
			Function: fc.Function{FunctionName: "hello", Runtime: "python3.9", Handler: "h"}, Code: &fc.Code{ZipFile: b64(code)}})
		apiError(t, "CreateFunction(hello) again", err, http.StatusConflict, fc.CodeFunctionAlreadyExists)
	})
	t.Run("missing service", func(t *testing.T) {
		_, _, err := n.Client.CreateFunction(t.Context(), "nosvc", &fc.FunctionInput{
			Function: fc.Function{FunctionName: "f", Runtime: "python3.9", Handler: "h"}, Code: &fc.Code{ZipFile: b64(code)}})
		apiError(t, "CreateFunction(nosvc)", err, http.StatusNotFound, fc.CodeServiceNotFound)
		_, _, err = n.Client.GetFunction(t.Context(), "nosvc", "", "f")
		apiError(t, "GetFunction(nosvc)", err, http.StatusNotFound, fc.CodeServiceNotFound)
		_, _, err = n.Client.ListFunctions(t.Context(), "nosvc", "", client.ListOptions{})
		apiError(t, "ListFunctions(nosvc)", err, http.StatusNotFound, fc.CodeServiceNotFound)
	})
	t.Run("missing function", func(t *testing.T) {
		status, h, body := call(t, n, "GET", prefix+"/services/svc/functions/nope", nil, nil)
		wantErrorBody(t, "GetFunction(nope)", status, h, body, http.StatusNotFound, fc.CodeFunctionNotFound)
		_, _, err := n.Client.UpdateFunction(t.Context(), "svc", "nope", map[string]any{"description": "x"}, "")
		apiError(t, "UpdateFunction(nope)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
		_, err = n.Client.DeleteFunction(t.Context(), "svc", "nope", "")
		apiError(t, "DeleteFunction(nope)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
		_, _, err = n.Client.GetFunctionCode(t.Context(), "svc", "", "nope")
		apiError(t, "GetFunctionCode(nope)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
	})
	t.Run("delete", func(t *testing.T) {
		mkFunction(t, n, "svc", "tmp", fc.Function{}, code)
		status, h, body := call(t, n, "DELETE", prefix+"/services/svc/functions/tmp", nil, nil)
		if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
			t.Errorf("DeleteFunction = %d %q Content-Type %q, want 204, no body, no Content-Type", status, body, h.Get("Content-Type"))
		}
		_, _, err := n.Client.GetFunction(t.Context(), "svc", "", "tmp")
		apiError(t, "GetFunction(tmp) after delete", err, http.StatusNotFound, fc.CodeFunctionNotFound)
	})
	t.Run("delete with triggers", func(t *testing.T) {
		mkFunction(t, n, "svc", "trg", fc.Function{}, code)
		_, _, err := n.Client.CreateTrigger(t.Context(), "svc", "trg", httpTrigger("h"))
		must(t, "CreateTrigger", err)
		_, err = n.Client.DeleteFunction(t.Context(), "svc", "trg", "")
		apiError(t, "DeleteFunction with a trigger", err, http.StatusBadRequest, fc.CodeFunctionNotEmpty)
		_, err = n.Client.DeleteTrigger(t.Context(), "svc", "trg", "h", "")
		must(t, "DeleteTrigger", err)
		_, err = n.Client.DeleteFunction(t.Context(), "svc", "trg", "")
		must(t, "DeleteFunction once empty", err)
	})
}

func TestFunctionPartialUpdate(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	code := defaultZip(t)
	orig, _ := mkFunction(t, n, "svc", "f", fc.Function{Description: "d", MemorySize: 256, Timeout: 30,
		EnvironmentVariables: map[string]string{"A": "1", "B": "2"}}, code)
	code2 := zipOf(t, map[string]string{"index.py": "# v2\n"})

	tests := []struct {
		name   string
		body   string
		change func(*fc.Function)
	}{
		{"empty", `{}`, func(*fc.Function) {}},
		{"go sdk all null", `{"functionName":null,"description":null,"runtime":null,"handler":null,"initializer":null,` +
			`"initializationTimeout":null,"timeout":null,"memorySize":null,"instanceConcurrency":null,"instanceType":null,` +
			`"caPort":null,"environmentVariables":null,"customContainerConfig":null,"layers":null,"code":null}`, func(*fc.Function) {}},
		{"code keeps env", `{"code":{"zipFile":"` + b64(code2) + `"}}`, func(f *fc.Function) {
			f.CodeSize, f.CodeChecksum = int64(len(code2)), crc(code2)
		}},
		{"memory only", `{"memorySize":512}`, func(f *fc.Function) { f.MemorySize = 512 }},
		{"case-insensitive", `{"MemorySize":1024,"Timeout":90}`, func(f *fc.Function) { f.MemorySize, f.Timeout = 1024, 90 }},
		{"empty description", `{"description":""}`, func(f *fc.Function) { f.Description = "" }},
		{"env replaced whole", `{"environmentVariables":{"C":"3"}}`, func(f *fc.Function) { f.EnvironmentVariables = map[string]string{"C": "3"} }},
		{"env cleared", `{"environmentVariables":{}}`, func(f *fc.Function) { f.EnvironmentVariables = map[string]string{} }},
		{"immutable and readonly ignored", `{"functionName":"g","functionId":"x","codeSize":1,"codeChecksum":"1"}`, func(*fc.Function) {}},
	}
	cur := *orig
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := call(t, n, "PUT", prefix+"/services/svc/functions/f", []byte(tt.body), nil)
			if status != http.StatusOK {
				t.Fatalf("UpdateFunction(%s) = %d %s, want 200", tt.body, status, body)
			}
			var got fc.Function
			must(t, "decode", json.Unmarshal(body, &got))
			tt.change(&cur)
			if diff := cmp.Diff(cur, got, ignoreTimes); diff != "" {
				t.Errorf("UpdateFunction(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
			fetched, _, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
			must(t, "GetFunction", err)
			if diff := cmp.Diff(got, *fetched); diff != "" {
				t.Errorf("GetFunction after UpdateFunction(%s) mismatch (-update +get):\n%s", tt.body, diff)
			}
		})
	}
	if _, _, err := n.Client.GetFunction(t.Context(), "svc", "", "g"); err == nil {
		t.Errorf("GetFunction(g) found a function renamed by an update")
	}
}

func TestFunctionETag(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	_, r := mkFunction(t, n, "svc", "f", fc.Function{Description: "v0"}, defaultZip(t))
	e0 := r.ETag
	_, r1, err := n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": "v1"}, e0)
	must(t, "UpdateFunction(If-Match current)", err)
	if r1.ETag == e0 || !etagRE.MatchString(r1.ETag) {
		t.Fatalf("UpdateFunction ETag = %q, want a new 32-hex ETag (was %q)", r1.ETag, e0)
	}
	_, _, err = n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": "lost", "memorySize": 512}, e0)
	apiError(t, "UpdateFunction(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
	_, err = n.Client.DeleteFunction(t.Context(), "svc", "f", e0)
	apiError(t, "DeleteFunction(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
	got, r2, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
	must(t, "GetFunction", err)
	if got.Description != "v1" || got.MemorySize != 128 || r2.ETag != r1.ETag {
		t.Errorf("GetFunction after 412 = %q %d %s, want v1 128 %s", got.Description, got.MemorySize, r2.ETag, r1.ETag)
	}
	_, r3, err := n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": "v2"}, `"`+r1.ETag+`"`)
	must(t, "UpdateFunction(quoted If-Match)", err)
	_, err = n.Client.DeleteFunction(t.Context(), "svc", "f", r3.ETag)
	must(t, "DeleteFunction(If-Match current)", err)
}

func TestFunctionCode(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	code := zipOf(t, map[string]string{"index.py": "print(1)\n", "lib/util.py": strings.Repeat("x = 1\n", 500)})
	f, _ := mkFunction(t, n, "svc", "f", fc.Function{}, code)
	if f.CodeSize != int64(len(code)) || f.CodeChecksum != crc(code) {
		t.Errorf("CreateFunction codeSize, codeChecksum = %d, %s, want %d, %s", f.CodeSize, f.CodeChecksum, len(code), crc(code))
	}

	out, _, err := n.Client.GetFunctionCode(t.Context(), "svc", "", "f")
	must(t, "GetFunctionCode", err)
	if out.Checksum != crc(code) {
		t.Errorf("GetFunctionCode checksum = %s, want %s", out.Checksum, crc(code))
	}
	status, data := download(t, out.URL)
	if status != http.StatusOK || string(data) != string(code) {
		t.Errorf("GET code url = %d, %d bytes, want 200 and the %d-byte zip", status, len(data), len(code))
	}
	if s, _ := download(t, strings.Replace(out.URL, "token=", "token=0", 1)); s != http.StatusForbidden {
		t.Errorf("GET tampered code url = %d, want 403", s)
	}

	t.Run("checksum header", func(t *testing.T) {
		in := &fc.FunctionInput{Function: fc.Function{FunctionName: "g", Runtime: "python3.9", Handler: "h"}, Code: &fc.Code{ZipFile: b64(code)}}
		_, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/functions", Body: in,
			Header: http.Header{"X-Fc-Code-Checksum": {"12345"}}}, nil)
		e := apiError(t, "CreateFunction(wrong X-Fc-Code-Checksum)", err, http.StatusBadRequest, fc.CodeInvalidArgument)
		if !strings.Contains(e.Message, "X-Fc-Code-Checksum") {
			t.Errorf("CreateFunction(wrong checksum) message %q does not name X-Fc-Code-Checksum", e.Message)
		}
		_, _, err = n.Client.GetFunction(t.Context(), "svc", "", "g")
		apiError(t, "GetFunction(g) after refused create", err, http.StatusNotFound, fc.CodeFunctionNotFound)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/functions", Body: in,
			Header: http.Header{"X-Fc-Code-Checksum": {crc(code)}}}, nil)
		must(t, "CreateFunction(right X-Fc-Code-Checksum)", err)
	})

	bad := []struct {
		name  string
		code  string
		words string
	}{
		{"zip slip", b64(zipOf(t, map[string]string{"../evil.py": "x"})), "escapes"},
		{"deep zip slip", b64(zipOf(t, map[string]string{"a/../../evil.py": "x"})), "escapes"},
		{"absolute path", b64(zipOf(t, map[string]string{"/etc/evil": "x"})), "escapes"},
		{"symlink out", b64(symlinkZip(t, "link", "../../etc/passwd")), "outside"},
		{"absolute symlink", b64(symlinkZip(t, "link", "/etc/passwd")), "outside"},
		{"corrupt", b64([]byte("PK\x03\x04 this is not really a zip archive")), "zip"},
		{"truncated", b64(code[:len(code)/2]), "zip"},
		{"not base64", "%%%not base64%%%", "base64"},
		{"empty", "", "code"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"functionName":"bad","runtime":"python3.9","handler":"h","code":{"zipFile":"` + tt.code + `"}}`
			status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions", []byte(body), nil)
			wantErrorBody(t, "CreateFunction("+tt.name+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
			if !strings.Contains(string(resp), tt.words) {
				t.Errorf("CreateFunction(%s) error %s does not mention %q", tt.name, resp, tt.words)
			}
			_, _, err := n.Client.GetFunction(t.Context(), "svc", "", "bad")
			apiError(t, "GetFunction(bad) after refused create", err, http.StatusNotFound, fc.CodeFunctionNotFound)

			// The same bad code in an update leaves the function's code alone.
			status, h, resp = call(t, n, "PUT", prefix+"/services/svc/functions/f", []byte(`{"code":{"zipFile":"`+tt.code+`"}}`), nil)
			wantErrorBody(t, "UpdateFunction("+tt.name+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
			got, _, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
			must(t, "GetFunction(f)", err)
			if got.CodeChecksum != crc(code) {
				t.Errorf("GetFunction(f) codeChecksum = %s after a refused update, want %s", got.CodeChecksum, crc(code))
			}
		})
	}
	t.Run("no code", func(t *testing.T) {
		status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions", []byte(`{"functionName":"nocode","runtime":"python3.9","handler":"h"}`), nil)
		wantErrorBody(t, "CreateFunction(no code)", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	})
	t.Run("oss code", func(t *testing.T) {
		status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions",
			[]byte(`{"functionName":"oss","runtime":"python3.9","handler":"h","code":{"ossBucketName":"b","ossObjectName":"o"}}`), nil)
		wantErrorBody(t, "CreateFunction(oss code)", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	})
}

// download fetches a code link, which carries its own token instead of an
// FC signature.
func download(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	must(t, "new request", err)
	resp, err := (&http.Client{}).Do(req)
	must(t, "GET "+url, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	must(t, "read code", err)
	return resp.StatusCode, data
}

func TestFunctionBadInputChangesNothing(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	zip64 := b64(defaultZip(t))
	body := func(fields string) string {
		return `{"functionName":"f","runtime":"python3.9","handler":"index.handler",` + fields + `"code":{"zipFile":"` + zip64 + `"}}`
	}
	tests := []struct {
		name  string
		body  string
		words []string
	}{
		{"malformed", `{"functionName":"f",`, []string{"JSON"}},
		{"wrong type", body(`"memorySize":"lots",`), []string{"memorySize"}},
		{"wrong env type", body(`"environmentVariables":{"A":1},`), []string{"environmentVariables"}},
		{"bad name", `{"functionName":"9f","runtime":"python3.9","handler":"h","code":{"zipFile":"` + zip64 + `"}}`, []string{"9f"}},
		{"name too long", `{"functionName":"` + strings.Repeat("f", 65) + `","runtime":"python3.9","handler":"h","code":{"zipFile":"` + zip64 + `"}}`, []string{"functionName"}},
		{"bad runtime", body(`"runtime":"cobol85",`), []string{"Runtime is set to an invalid value"}},
		{"memory not multiple of 64", body(`"memorySize":200,`), []string{"memorySize 200"}},
		{"memory too big", body(`"memorySize":3136,`), []string{"memorySize 3136"}},
		{"timeout too long", body(`"timeout":86401,`), []string{"timeout"}},
		{"negative timeout", body(`"timeout":-5,`), []string{"timeout"}},
		{"concurrency too high", body(`"instanceConcurrency":101,`), []string{"instanceConcurrency"}},
		{"reserved env", body(`"environmentVariables":{"FC_REGION":"x"},`), []string{"FC_REGION", "reserved"}},
		{"reserved legacy env", body(`"environmentVariables":{"accessKeySecret":"x"},`), []string{"accessKeySecret"}},
		{"bad env name", body(`"environmentVariables":{"1BAD":"x"},`), []string{"1BAD"}},
		{"env too big", body(`"environmentVariables":{"A":"` + strings.Repeat("x", 5000) + `"},`), []string{"limit"}},
		{"missing layer", body(`"layers":["acs:fc:local:1:layers/nope/versions/1"],`), []string{"nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions", []byte(tt.body), nil)
			wantErrorBody(t, "CreateFunction("+tt.name+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
			for _, w := range tt.words {
				if !strings.Contains(string(resp), w) {
					t.Errorf("CreateFunction(%s) error %s does not mention %q", tt.name, resp, w)
				}
			}
		})
	}
	list, _, err := n.Client.ListFunctions(t.Context(), "svc", "", client.ListOptions{})
	must(t, "ListFunctions", err)
	if len(list.Functions) != 0 {
		t.Errorf("ListFunctions after bad creates = %d functions, want 0", len(list.Functions))
	}

	orig, r := mkFunction(t, n, "svc", "keep", fc.Function{EnvironmentVariables: map[string]string{"A": "1"}}, defaultZip(t))
	for _, patch := range []string{`{"memorySize":100}`, `{"runtime":"java8"}`, `{"environmentVariables":{"FC_X":"1"}}`,
		`{"timeout":"long"}`, `{"memorySize":256,"instanceConcurrency":0,"timeout":-1}`, `not json`} {
		status, h, resp := call(t, n, "PUT", prefix+"/services/svc/functions/keep", []byte(patch), nil)
		wantErrorBody(t, "UpdateFunction("+patch+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	got, r2, err := n.Client.GetFunction(t.Context(), "svc", "", "keep")
	must(t, "GetFunction(keep)", err)
	if diff := cmp.Diff(orig, got); diff != "" || r2.ETag != r.ETag {
		t.Errorf("GetFunction(keep) after refused updates changed (ETag %s → %s):\n%s", r.ETag, r2.ETag, diff)
	}
}
