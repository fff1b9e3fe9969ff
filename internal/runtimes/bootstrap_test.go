package runtimes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBootstrapInvokeResults(t *testing.T) {
	tests := map[string][]struct {
		name, handler, event, want string
	}{
		"python3": {
			{"str", "index.echo", "hi", "echo:hi"},
			{"empty event", "index.echo", "", "echo:"},
			{"bytes", "index.ret_bytes", "", "\x00\xff"},
			{"none", "index.ret_none", "", ""},
			{"other", "index.ret_list", "", "[1, 'a']"},
			{"int", "index.count", "", "0"},
		},
		"nodejs20": {
			{"string", "index.echo", "hi", "echo:hi"},
			{"buffer", "index.retBuffer", "", "\x00\xff"},
			{"object", "index.retObject", "", `{"a":1,"b":"x"}`},
			{"undefined", "index.retUndefined", "", ""},
			{"number", "index.count", "", "0"},
			{"async", "index.asyncEcho", "hi", "async:hi"},
			{"sync return", "index.syncReturn", "", "returned"},
		},
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			for i, tt := range tests[name] {
				t.Run(tt.name, func(t *testing.T) {
					r := in.do(t, call{handler: tt.handler, rid: fmt.Sprintf("req-%d", i), body: tt.event})
					if r.status != http.StatusOK || r.body != tt.want {
						t.Errorf("invoke %s = %d %q, want 200 %q", tt.handler, r.status, r.body, tt.want)
					}
					if et := r.header.Get("x-fc-error-type"); et != "" {
						t.Errorf("invoke %s: x-fc-error-type = %q, want none", tt.handler, et)
					}
				})
			}
		})
	}
}

type fnError struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

func TestBootstrapInvokeErrors(t *testing.T) {
	tests := map[string][]struct {
		name, handler, errorType string
		want                     fnError
		stackHas                 string // a stack line contains this; "" = no stack
	}{
		"python3": {
			{"exception", "index.fail", "UnhandledInvocationError", fnError{ErrorMessage: "boom", ErrorType: "ValueError"}, "index.py"},
			{"missing function", "index.nothing", "UnhandledInvocationError", fnError{ErrorType: "HandlerNotFound"}, ""},
			{"missing module", "nomodule.handler", "UnhandledInvocationError", fnError{ErrorType: "ModuleNotFoundError"}, ""},
		},
		"nodejs20": {
			{"throw", "index.fail", "UnhandledInvocationError", fnError{ErrorMessage: "boom", ErrorType: "TypeError"}, "index.js"},
			{"reject", "index.reject", "UnhandledInvocationError", fnError{ErrorMessage: "rejected", ErrorType: "RangeError"}, "index.js"},
			{"callback error", "index.handled", "HandledInvocationError", fnError{ErrorMessage: "nope", ErrorType: "Error"}, "index.js"},
			{"callback string", "index.handledString", "HandledInvocationError", fnError{ErrorMessage: "plain failure"}, ""},
			{"missing function", "index.nothing", "UnhandledInvocationError", fnError{ErrorType: "HandlerNotFound"}, ""},
		},
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			for _, tt := range tests[name] {
				t.Run(tt.name, func(t *testing.T) {
					r := in.do(t, call{handler: tt.handler, rid: "req-err"})
					if r.status != http.StatusNotFound || r.header.Get("x-fc-status") != "404" {
						t.Errorf("invoke %s: status %d, x-fc-status %q, want 404, 404", tt.handler, r.status, r.header.Get("x-fc-status"))
					}
					if got := r.header.Get("x-fc-error-type"); got != tt.errorType {
						t.Errorf("invoke %s: x-fc-error-type = %q, want %q", tt.handler, got, tt.errorType)
					}
					var got fnError
					if err := json.Unmarshal([]byte(r.body), &got); err != nil {
						t.Fatalf("invoke %s: body %q: %v", tt.handler, r.body, err)
					}
					if tt.want.ErrorMessage == "" && got.ErrorMessage == "" {
						t.Errorf("invoke %s: empty errorMessage", tt.handler)
					}
					if tt.want.ErrorMessage != "" && got.ErrorMessage != tt.want.ErrorMessage || got.ErrorType != tt.want.ErrorType {
						t.Errorf("invoke %s: error %q %q, want %q %q", tt.handler, got.ErrorType, got.ErrorMessage, tt.want.ErrorType, tt.want.ErrorMessage)
					}
					if tt.stackHas != "" && !strings.Contains(strings.Join(got.StackTrace, "\n"), tt.stackHas) {
						t.Errorf("invoke %s: stackTrace %q does not mention %s", tt.handler, got.StackTrace, tt.stackHas)
					}
					if strings.Contains(strings.Join(got.StackTrace, "\n"), "bootstrap") {
						t.Errorf("invoke %s: stackTrace %q shows bootstrap frames", tt.handler, got.StackTrace)
					}
				})
			}
			// The instance survives its function's errors.
			if r := in.do(t, call{handler: "index.echo", body: "x"}); r.body != "echo:x" {
				t.Errorf("invoke after errors = %d %q, want echo:x", r.status, r.body)
			}
		})
	}
}

func TestBootstrapInitializerRunsOnce(t *testing.T) {
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			init := map[string]string{"x-fc-function-initializer": "index.initializer"}
			for _, rid := range []string{"init-1", "init-2"} {
				if r := in.do(t, call{path: "/initialize", rid: rid, headers: init}); r.status != http.StatusOK {
					t.Fatalf("initialize %s = %d %q, want 200", rid, r.status, r.body)
				}
			}
			if r := in.do(t, call{handler: "index.count"}); r.body != "1" {
				t.Errorf("counter after two /initialize = %q, want 1", r.body)
			}
			out := in.stdout.waitFor(t, "FC Initialize End RequestId: init-1")
			if strings.Contains(out, "init-2") {
				t.Errorf("second /initialize ran the initializer again; stdout:\n%s", out)
			}
			if r := in.do(t, call{path: "/initialize"}); r.status != http.StatusOK {
				t.Errorf("initialize without initializer = %d, want 200", r.status)
			}
		})
	}
}

func TestBootstrapInitializerError(t *testing.T) {
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			r := in.do(t, call{path: "/initialize", headers: map[string]string{"x-fc-function-initializer": "index.fail"}})
			if r.status != http.StatusNotFound || r.header.Get("x-fc-error-type") != "UnhandledInvocationError" {
				t.Errorf("failing initializer = %d %q %q, want 404 UnhandledInvocationError", r.status, r.header.Get("x-fc-error-type"), r.body)
			}
		})
	}
}

func encodeParams(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestBootstrapHTTPHandler(t *testing.T) {
	params := map[string]any{
		"path":       "/a/b",
		"method":     "PUT",
		"requestURI": "/a/b?x=1",
		"clientIP":   "192.0.2.1",
		"host":       "example.com",
		"queriesMap": map[string][]string{"x": {"1"}},
		"headersMap": map[string][]string{"X-Custom": {"v"}, "Content-Type": {"text/plain"}},
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			r := in.do(t, call{handler: "index.http", rid: "req-http", body: "payload",
				headers: map[string]string{"x-fc-http-params": encodeParams(t, params)}})
			if r.status != http.StatusOK {
				t.Fatalf("http invoke = %d %q, want 200", r.status, r.body)
			}
			if want := "PUT /a/b x=1 v payload req-http"; r.body != want {
				t.Errorf("http invoke body = %q, want %q", r.body, want)
			}
			raw, err := base64.StdEncoding.DecodeString(r.header.Get("x-fc-http-params"))
			if err != nil {
				t.Fatalf("reply x-fc-http-params %q: %v", r.header.Get("x-fc-http-params"), err)
			}
			var got struct {
				Status     int                 `json:"status"`
				HeadersMap map[string][]string `json:"headersMap"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("reply x-fc-http-params %s: %v", raw, err)
			}
			want := map[string][]string{"Content-Type": {"text/plain"}, "X-Reply": {"yes"}, "Set-Cookie": {"a=1", "b=2"}}
			if got.Status != 201 || !cmp.Equal(got.HeadersMap, want) {
				t.Errorf("reply params = %d %v, want 201 %v", got.Status, got.HeadersMap, want)
			}
		})
	}
}

func TestBootstrapHTTPHandlerError(t *testing.T) {
	params := map[string]any{"path": "/", "method": "GET", "requestURI": "/"}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			// An event handler that fails is as much an error on the HTTP path.
			r := in.do(t, call{handler: "index.fail", headers: map[string]string{"x-fc-http-params": encodeParams(t, params)}})
			if r.status != http.StatusNotFound || r.header.Get("x-fc-error-type") != "UnhandledInvocationError" || r.header.Get("x-fc-http-params") != "" {
				t.Errorf("failing http handler = %d %v, want 404 UnhandledInvocationError without x-fc-http-params", r.status, r.header)
			}
		})
	}
}

func TestBootstrapContext(t *testing.T) {
	headers := map[string]string{
		"x-fc-access-key-id":                     "AK",
		"x-fc-access-key-secret":                 "SK",
		"x-fc-security-token":                    "TOKEN",
		"x-fc-function-name":                     "fn",
		"x-fc-function-memory":                   "256",
		"x-fc-function-timeout":                  "30",
		"x-fc-service-name":                      "svc",
		"x-fc-qualifier":                         "prod",
		"x-fc-version-id":                        "3",
		"x-fc-region":                            "cn-test",
		"x-fc-account-id":                        "123456",
		"x-fc-retry-count":                       "2",
		"x-fc-tracing-opentracing-span-context":  "span",
		"x-fc-tracing-opentracing-span-baggages": base64.StdEncoding.EncodeToString([]byte(`{"k":"bag"}`)),
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			r := in.do(t, call{handler: "index.ctx", rid: "req-ctx", headers: headers})
			want := "req-ctx|AK|SK|TOKEN|fn|index.ctx|256|30|svc|prod|3|cn-test|123456|2|span|bag"
			if r.body != want {
				t.Errorf("context = %q, want %q", r.body, want)
			}
		})
	}
}

// logPrefix matches "<ISO time> <rid> [<LEVEL>] ".
func logLine(rid, level, msg string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ` + regexp.QuoteMeta(rid) + ` \[` + level + `\] ` + regexp.QuoteMeta(msg) + `$`)
}

func TestBootstrapLogs(t *testing.T) {
	tests := map[string]struct {
		lines   []*regexp.Regexp
		printed string // how print/console.log output appears
	}{
		"python3": {
			lines:   []*regexp.Regexp{logLine("req-log", "INFO", "logged ev"), logLine("req-log", "WARNING", "warned ev")},
			printed: "\nprinted ev\n",
		},
		"nodejs20": {
			lines: []*regexp.Regexp{logLine("req-log", "INFO", "logged ev"), logLine("req-log", "WARN", "warned ev"),
				logLine("req-log", "INFO", "printed ev")},
		},
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			if r := in.do(t, call{handler: "index.log", rid: "req-log", body: "ev"}); r.body != "ok" {
				t.Fatalf("invoke = %d %q, want ok", r.status, r.body)
			}
			out := in.stdout.waitFor(t, "FC Invoke End RequestId: req-log\n")
			start := strings.Index(out, "FC Invoke Start RequestId: req-log\n")
			end := strings.Index(out, "FC Invoke End RequestId: req-log\n")
			if start < 0 || end < start {
				t.Fatalf("no Start/End markers around the invocation; stdout:\n%s", out)
			}
			inside := out[start:end]
			for _, re := range tests[name].lines {
				if !re.MatchString(inside) {
					t.Errorf("stdout between the markers has no line matching %s; stdout:\n%s", re, out)
				}
			}
			if p := tests[name].printed; p != "" && !strings.Contains(inside, p) {
				t.Errorf("stdout between the markers lacks %q; stdout:\n%s", p, out)
			}
		})
	}
}

func TestBootstrapConcurrentRequestsTagged(t *testing.T) {
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{concurrency: 2})
			var wg sync.WaitGroup
			replies := make([]reply, 2)
			for i := range replies {
				wg.Go(func() {
					rid := fmt.Sprintf("req-c%d", i)
					replies[i] = in.do(t, call{handler: "index.wait", rid: rid, body: rid})
				})
			}
			wg.Wait()
			for i, r := range replies {
				if r.body != "ok" {
					t.Errorf("request %d = %d %q, want ok", i, r.status, r.body)
				}
			}
			out := in.stdout.waitFor(t, "FC Invoke End RequestId: req-c0", "FC Invoke End RequestId: req-c1")
			for i := range replies {
				rid := fmt.Sprintf("req-c%d", i)
				if re := logLine(rid, "INFO", "line "+rid); !re.MatchString(out) {
					t.Errorf("stdout has no line matching %s; stdout:\n%s", re, out)
				}
			}
		})
	}
}

func TestBootstrapLifecycleHooks(t *testing.T) {
	hooks := map[string]map[string]string{
		"python3":  {"x-fc-instance-lifecycle-pre-stop-handler": "index.pre_stop", "x-fc-instance-lifecycle-pre-freeze-handler": "index.pre_stop"},
		"nodejs20": {"x-fc-instance-lifecycle-pre-stop-handler": "index.preStop", "x-fc-instance-lifecycle-pre-freeze-handler": "index.preStop"},
	}
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			in := startInstance(t, name, instanceOptions{})
			for _, tt := range []struct{ path, label string }{{"/pre-stop", "PreStop"}, {"/pre-freeze", "PreFreeze"}} {
				rid := "req" + tt.path
				if r := in.do(t, call{method: http.MethodGet, path: tt.path, rid: rid, headers: hooks[name]}); r.status != http.StatusOK {
					t.Fatalf("GET %s = %d %q, want 200", tt.path, r.status, r.body)
				}
				in.stdout.waitFor(t, "FC "+tt.label+" Start RequestId: "+rid+"\n", "stopping "+rid+"\n", "FC "+tt.label+" End RequestId: "+rid+"\n")
				// Without a configured hook the call is a no-op.
				if r := in.do(t, call{method: http.MethodGet, path: tt.path}); r.status != http.StatusOK {
					t.Errorf("GET %s without hook = %d, want 200", tt.path, r.status)
				}
			}
		})
	}
}

// TestBootstrapPythonZygote checks that the Python bootstrap can be
// imported and preloaded by a parent that forks and serves in the child.
func TestBootstrapPythonZygote(t *testing.T) {
	in := launch(t, "python3", instanceOptions{})
	// Replace the command: a zygote that imports, preloads and forks.
	in.stop()
	if err := os.Remove(in.socket); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	rt, _ := Lookup("python3")
	cmd, err := rt.Command(CommandOptions{BootstrapDir: bootDir, CodeDir: in.codeDir, Socket: in.socket})
	if err != nil {
		t.Fatal(err)
	}
	zygote := "import os,sys;sys.path.insert(0,sys.argv[1]);import openfc_bootstrap as b;b.preload()\n" +
		"pid=os.fork()\n" +
		"if pid==0: b.serve(os.environ['FC_SERVER_SOCKET'])\n" +
		"os.waitpid(pid,0)"
	z := relaunch(t, in, cmd, []string{cmd.Args[0], "-B", "-c", zygote, bootDir})
	z.waitReady(t)
	if r := z.do(t, call{handler: "index.echo", rid: "req-z", body: "fork"}); r.body != "echo:fork" {
		t.Errorf("invoke through forked child = %d %q, want echo:fork", r.status, r.body)
	}
}
