package trigger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// customZip holds the custom-runtime test server (internal/invoke's
// testdata/fcserver, a static Go binary) as /code/bootstrap, built once.
var customZip string

func TestMain(m *testing.M) {
	if err := buildCustom(); err != nil {
		fmt.Fprintln(os.Stderr, "trigger_test:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func buildCustom() error {
	dir, err := os.MkdirTemp("", "fcserver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../invoke/testdata/fcserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build ../invoke/testdata/fcserver: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	customZip, err = buildZip(map[string]string{"bootstrap!": string(exe)})
	return err
}

// wsgiCode is a Python WSGI HTTP function: it echoes the request as JSON
// with status 202 and header X-Custom: yes; a path ending in /crash exits
// the process.
const wsgiCode = `import json, os

def handler(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["PATH_INFO"].endswith("/crash"):
        os._exit(3)
    ctx = environ["fc.context"]
    out = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                      "query": environ["QUERY_STRING"], "body": body.decode(),
                      "in": environ.get("HTTP_X_CUSTOM_IN", ""), "requestId": ctx.request_id})
    start_response("202 Accepted", [("Content-Type", "application/json"), ("X-Custom", "yes")])
    return [out.encode()]
`

// nodeHTTPCode is the same function as wsgiCode for Node.js.
const nodeHTTPCode = `'use strict';
exports.handler = (req, resp, context) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.path.endsWith('/crash')) process.exit(3);
    const q = req.queries;
    resp.setStatusCode(202);
    resp.setHeader('Content-Type', 'application/json');
    resp.setHeader('X-Custom', 'yes');
    resp.send(JSON.stringify({
      method: req.method, path: req.path,
      query: Object.keys(q).sort().map((k) => k + '=' + q[k]).join('&'),
      body: Buffer.concat(chunks).toString(), in: req.headers['x-custom-in'] || '',
      requestId: context.requestId,
    }));
  });
};
`

// versionCode is a WSGI function answering its code version.
func versionCode(v string) map[string]string {
	return map[string]string{"index.py": `def handler(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"` + v + `"]
`}
}

// buildZip and zipOf build code packages (testenv.BuildZip).
func buildZip(files map[string]string) (string, error) { return testenv.BuildZip(files) }

func zipOf(t testing.TB, files map[string]string) string { t.Helper(); return testenv.Zip(t, files) }

func createService(t testing.TB, c *client.Client, name string) {
	t.Helper()
	if _, _, err := c.CreateService(context.Background(), &fc.Service{ServiceName: name}); err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
}

func createFunction(t testing.TB, c *client.Client, service string, f fc.Function, zipFile string) {
	t.Helper()
	if _, _, err := c.CreateFunction(context.Background(), service, &fc.FunctionInput{Function: f, Code: &fc.Code{ZipFile: zipFile}}); err != nil {
		t.Fatalf("create function %s: %v", f.FunctionName, err)
	}
}

// createHTTPTrigger adds an http trigger to a function.
func createHTTPTrigger(t testing.TB, c *client.Client, service, function, name, qualifier, authType string, methods ...string) {
	t.Helper()
	cfg, _ := json.Marshal(fc.HTTPTriggerConfig{AuthType: authType, Methods: methods})
	tr := &fc.Trigger{TriggerName: name, TriggerType: fc.TriggerHTTP, Qualifier: qualifier, TriggerConfig: cfg}
	if _, _, err := c.CreateTrigger(context.Background(), service, function, tr); err != nil {
		t.Fatalf("create trigger %s of %s: %v", name, function, err)
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// send sends r and returns the answer.
func send(t testing.TB, r *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", r.Method, r.URL, err)
	}
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func newRequest(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// errorCode returns the ErrorCode of an API error answer.
func errorCode(a answer) string {
	var e struct{ ErrorCode string }
	json.Unmarshal([]byte(a.body), &e)
	return e.ErrorCode
}

// echo is what the echoing test functions answer.
type echo struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Body      string `json:"body"`
	In        string `json:"in"`
	RequestID string `json:"requestId"`
	// custom runtime only
	URI      string `json:"uri,omitempty"`
	BasePath string `json:"basePath,omitempty"`
}

func decodeEcho(t testing.TB, a answer) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("answer %d %q: not the function's echo: %v", a.status, a.body, err)
	}
	return e
}

func TestHTTPTrigger(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "web")
	functions := []struct {
		name    string
		runtime string
		zip     string
		custom  bool // sees the full proxy path
	}{
		{"py", "python3", zipOf(t, map[string]string{"index.py": wsgiCode}), false},
		{"node", "nodejs20", zipOf(t, map[string]string{"index.js": nodeHTTPCode}), false},
		{"custom", "custom", customZip, true},
	}
	for _, f := range functions {
		createFunction(t, c, "web", fc.Function{FunctionName: f.name, Runtime: f.runtime, Handler: "index.handler"}, f.zip)
		createHTTPTrigger(t, c, "web", f.name, "http", "", "anonymous", "GET", "POST")
	}

	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			for _, method := range []string{"POST", "GET"} {
				body := ""
				if method == "POST" {
					body = "ping"
				}
				r := newRequest(t, method, n.URL+"/2016-08-15/proxy/web/"+f.name+"/hello/world?a=1&b=two", body)
				r.Header.Set("X-Custom-In", "in-value")
				got := send(t, r)
				if got.status != http.StatusAccepted || got.header.Get("X-Custom") != "yes" {
					t.Fatalf("%s = %d, X-Custom %q (%s), want 202, yes", method, got.status, got.header.Get("X-Custom"), got.body)
				}
				want := echo{Method: method, Path: "/hello/world", Query: "a=1&b=two", Body: body, In: "in-value",
					RequestID: got.header.Get("X-Fc-Request-Id")}
				if f.custom {
					// A custom runtime sees the whole proxy path (spec §4.1).
					want.Path = "/2016-08-15/proxy/web/custom/hello/world"
					want.URI = want.Path + "?a=1&b=two"
					want.BasePath = "/2016-08-15/proxy/web/custom/"
				}
				if diff := cmp.Diff(want, decodeEcho(t, got)); diff != "" {
					t.Errorf("%s: request seen by the function (-want +got):\n%s", method, diff)
				}
			}

			t.Run("methods", func(t *testing.T) {
				got := send(t, newRequest(t, "PUT", n.URL+"/2016-08-15/proxy/web/"+f.name+"/x", "body"))
				if got.status != http.StatusMethodNotAllowed || errorCode(got) != "MethodNotAllowed" {
					t.Errorf("PUT on a GET, POST trigger = %d %s, want 405 MethodNotAllowed", got.status, got.body)
				}
			})

			t.Run("crash", func(t *testing.T) {
				got := send(t, newRequest(t, "GET", n.URL+"/2016-08-15/proxy/web/"+f.name+"/crash", ""))
				var e struct {
					ErrorMessage string `json:"errorMessage"`
					ErrorCode    *string
				}
				if err := json.Unmarshal([]byte(got.body), &e); err != nil || got.status != http.StatusBadGateway ||
					!strings.HasPrefix(e.ErrorMessage, "Process exited unexpectedly") || e.ErrorCode != nil {
					t.Errorf("crashing function = %d %s, want 502 {\"errorMessage\": \"Process exited unexpectedly ...\"}", got.status, got.body)
				}
				// A new instance serves the next request.
				if got := send(t, newRequest(t, "GET", n.URL+"/2016-08-15/proxy/web/"+f.name+"/again", "")); got.status != http.StatusAccepted {
					t.Errorf("request after a crash = %d %s, want 202", got.status, got.body)
				}
			})
		})
	}
}

func TestHTTPTriggerAuth(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "auth")
	createFunction(t, c, "auth", fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		zipOf(t, map[string]string{"index.py": wsgiCode}))
	createHTTPTrigger(t, c, "auth", "f", "http", "", "function", "GET", "POST")
	target := n.URL + "/2016-08-15/proxy/auth/f/path?q=1"
	key, secret := n.Creds.AccessKeyID, n.Creds.AccessKeySecret
	signedURL := func(expires time.Time) string {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		fc.SignURL(u, "GET", key, secret, "", expires, nil)
		return u.String()
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"unsigned", func() *http.Request { return newRequest(t, "GET", target, "") }, http.StatusForbidden},
		{"signed", func() *http.Request {
			r := newRequest(t, "GET", target, "")
			fc.SignRequest(r, key, secret, "")
			return r
		}, http.StatusAccepted},
		{"badsignature", func() *http.Request {
			r := newRequest(t, "GET", target, "")
			fc.SignRequest(r, key, "not the secret", "")
			return r
		}, http.StatusForbidden},
		{"signedurl", func() *http.Request { return newRequest(t, "GET", signedURL(time.Now().Add(time.Minute)), "") }, http.StatusAccepted},
		{"expiredurl", func() *http.Request { return newRequest(t, "GET", signedURL(time.Now().Add(-time.Minute)), "") }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := send(t, tt.req())
			if got.status != tt.status {
				t.Errorf("status %d (%s), want %d", got.status, got.body, tt.status)
			}
			if got.status == http.StatusAccepted {
				if e := decodeEcho(t, got); e.Path != "/path" || e.Query == "" {
					t.Errorf("function saw path %q, query %q, want /path and the query", e.Path, e.Query)
				}
			}
		})
	}
}

func TestHTTPTriggerQualifier(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "q")
	createFunction(t, c, "q", fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"}, zipOf(t, versionCode("v1")))
	if _, _, err := c.PublishVersion(t.Context(), "q", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateAlias(t.Context(), "q", &fc.Alias{AliasName: "prod", VersionID: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunction(t.Context(), "q", "f", map[string]any{"code": fc.Code{ZipFile: zipOf(t, versionCode("v2"))}}, ""); err != nil {
		t.Fatal(err)
	}
	createHTTPTrigger(t, c, "q", "f", "prod", "prod", "anonymous", "GET")
	createHTTPTrigger(t, c, "q", "f", "latest", "LATEST", "anonymous", "GET")
	tests := []struct {
		svcq, want, version string
	}{
		{"q.prod", "v1", "1"},
		{"q", "v2", ""},
		{"q.LATEST", "v2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.svcq, func(t *testing.T) {
			got := send(t, newRequest(t, "GET", n.URL+"/2016-08-15/proxy/"+tt.svcq+"/f/", ""))
			if got.status != 200 || got.body != tt.want || got.header.Get("X-Fc-Invocation-Service-Version") != tt.version {
				t.Errorf("GET = %d %q, version %q, want 200 %q, version %q", got.status, got.body,
					got.header.Get("X-Fc-Invocation-Service-Version"), tt.want, tt.version)
			}
		})
	}
	// Version 1 has no trigger of its own.
	if got := send(t, newRequest(t, "GET", n.URL+"/2016-08-15/proxy/q.1/f/", "")); got.status != http.StatusNotFound || errorCode(got) != "TriggerNotFound" {
		t.Errorf("GET on a qualifier without trigger = %d %s, want 404 TriggerNotFound", got.status, got.body)
	}
}

func TestCustomDomain(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "dom")
	createFunction(t, c, "dom", fc.Function{FunctionName: "custom", Runtime: "custom", Handler: "index.handler"}, customZip)
	createHTTPTrigger(t, c, "dom", "custom", "http", "", "anonymous", "GET", "POST")
	createFunction(t, c, "dom", fc.Function{FunctionName: "py", Runtime: "python3", Handler: "index.handler"},
		zipOf(t, map[string]string{"index.py": wsgiCode}))
	createHTTPTrigger(t, c, "dom", "py", "http", "", "anonymous", "GET", "POST")
	if _, _, err := c.CreateCustomDomain(t.Context(), &fc.CustomDomain{DomainName: "example.test", Protocol: "HTTP",
		RouteConfig: &fc.RouteConfig{Routes: []fc.PathRoute{
			{Path: "/api/*", ServiceName: "dom", FunctionName: "custom"},
			{Path: "/py/*", ServiceName: "dom", FunctionName: "py"},
		}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       echo
	}{
		{"custom", "/api/users/7?x=1", echo{Method: "POST", Path: "/api/users/7", Query: "x=1", URI: "/api/users/7?x=1", Body: "b"}},
		{"python", "/py/hello?x=1", echo{Method: "POST", Path: "/py/hello", Query: "x=1", Body: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "POST", n.URL+tt.path, "b")
			r.Host = "example.test"
			got := send(t, r)
			if got.status != http.StatusAccepted {
				t.Fatalf("POST %s on example.test = %d %s, want 202", tt.path, got.status, got.body)
			}
			tt.want.RequestID = got.header.Get("X-Fc-Request-Id")
			if diff := cmp.Diff(tt.want, decodeEcho(t, got)); diff != "" {
				t.Errorf("request seen by the function (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("noroute", func(t *testing.T) {
		r := newRequest(t, "GET", n.URL+"/other", "")
		r.Host = "example.test"
		if got := send(t, r); got.status != http.StatusNotFound {
			t.Errorf("GET /other on example.test = %d %s, want 404", got.status, got.body)
		}
	})
}
