package invoke_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// The code packages of the runtimes under test, built once in TestMain.
// Every handler takes a command as its event, "name" or "name:arg" (see
// pythonCode, nodeCode and testdata/fcserver).
var (
	pythonZip string
	nodeZip   string
	customZip string // testdata/fcserver, a static Go binary, as /code/bootstrap
)

func TestMain(m *testing.M) {
	if err := buildZips(); err != nil {
		fmt.Fprintln(os.Stderr, "invoke_test:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func buildZips() error {
	var err error
	if pythonZip, err = buildZip(map[string]string{"index.py": pythonCode}); err != nil {
		return err
	}
	if nodeZip, err = buildZip(map[string]string{"index.js": nodeCode}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fcserver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/fcserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build testdata/fcserver: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	customZip, err = buildZip(map[string]string{"bootstrap!": string(exe)})
	return err
}

// pythonCode is the python3 test function: handler, initializer and the
// commands shared with nodeCode and testdata/fcserver.
const pythonCode = `import json, os, sys, time

counter = 0
ENV = ["FC_FUNC_CODE_PATH", "FC_ACCOUNT_ID", "FC_REGION", "FC_SERVICE_NAME", "FC_FUNCTION_NAME",
       "FC_FUNCTION_HANDLER", "FC_FUNCTION_MEMORY_SIZE", "FC_QUALIFIER", "FC_INSTANCE_ID",
       "FC_CUSTOM_LISTEN_PORT", "GREETING"]


def initializer(context):
    global counter
    counter = 1


def handler(event, context):
    global counter
    cmd, _, arg = event.decode().partition(":")
    if cmd == "str":
        return "str " + arg
    if cmd == "bytes":
        return b"\x00\xffbin"
    if cmd == "int":
        return 2
    if cmd == "ctx":
        return json.dumps({"requestId": context.request_id, "function": context.function.name,
                           "handler": context.function.handler, "memory": context.function.memory,
                           "timeout": context.function.timeout, "service": context.service.name,
                           "qualifier": context.service.qualifier, "versionId": context.service.version_id,
                           "region": context.region, "accountId": context.account_id})
    if cmd == "env":
        return json.dumps({k: os.environ.get(k, "") for k in ENV})
    if cmd == "error":
        raise ValueError("boom")
    if cmd == "log":
        print("line one")
        print("line two")
        return "logged"
    if cmd == "biglog":
        for i in range(200):
            print("line %03d %s" % (i, "x" * 60))
        return "logged"
    if cmd == "crash":
        os._exit(3)
    if cmd == "oom":
        hog = []
        while True:
            hog.append(b"x" * (16 << 20))
    if cmd == "sleep":
        time.sleep(int(arg) / 1000)
        return "slept"
    if cmd == "count":
        counter += 1
        return str(counter)
    raise ValueError("unknown command " + cmd)
`

// nodeCode is the nodejs test function (callback handler, async handler
// aio, initializer).
const nodeCode = `'use strict';
let counter = 0;
const ENV = ['FC_FUNC_CODE_PATH', 'FC_ACCOUNT_ID', 'FC_REGION', 'FC_SERVICE_NAME', 'FC_FUNCTION_NAME',
  'FC_FUNCTION_HANDLER', 'FC_FUNCTION_MEMORY_SIZE', 'FC_QUALIFIER', 'FC_INSTANCE_ID',
  'FC_CUSTOM_LISTEN_PORT', 'GREETING'];

exports.initializer = (context, callback) => { counter = 1; callback(null, ''); };

exports.aio = async (event, context) => 'async ' + event.toString();

exports.handler = (event, context, callback) => {
  const s = event.toString();
  const i = s.indexOf(':');
  const cmd = i < 0 ? s : s.slice(0, i);
  const arg = i < 0 ? '' : s.slice(i + 1);
  switch (cmd) {
    case 'str': return callback(null, 'str ' + arg);
    case 'bytes': return callback(null, Buffer.from([0, 0xff, 0x62, 0x69, 0x6e]));
    case 'json': return callback(null, { a: 1, b: 'x' });
    case 'ctx': return callback(null, JSON.stringify({
      requestId: context.requestId, function: context.function.name, handler: context.function.handler,
      memory: context.function.memory, timeout: context.function.timeout, service: context.service.name,
      qualifier: context.service.qualifier, versionId: context.service.versionId,
      region: context.region, accountId: context.accountId,
    }));
    case 'env': return callback(null, JSON.stringify(Object.fromEntries(ENV.map((k) => [k, process.env[k] || '']))));
    case 'error': throw new Error('boom');
    case 'handled': return callback(new Error('handled boom'));
    case 'log': console.log('line one'); console.log('line two'); return callback(null, 'logged');
    case 'biglog':
      for (let n = 0; n < 200; n++) console.log('line ' + String(n).padStart(3, '0') + ' ' + 'x'.repeat(60));
      return callback(null, 'logged');
    case 'crash': process.exit(3);
    case 'oom': { const hog = []; for (;;) hog.push(Buffer.alloc(16 << 20, 1)); }
    case 'sleep': setTimeout(() => callback(null, 'slept'), Number(arg)); return;
    case 'count': counter++; return callback(null, String(counter));
  }
  callback(new Error('unknown command ' + cmd));
};
`

// A runtimeUnderTest is a runtime with its test code package.
type runtimeUnderTest struct {
	name        string // subtest and function name suffix
	runtime     string
	handler     string
	initializer string
	zip         *string
}

var runtimesUnderTest = []runtimeUnderTest{
	{"python3", "python3", "index.handler", "index.initializer", &pythonZip},
	{"nodejs20", "nodejs20", "index.handler", "index.initializer", &nodeZip},
	{"nodejs12", "nodejs12", "index.handler", "index.initializer", &nodeZip},
	{"custom", "custom", "bootstrap", "init", &customZip},
}

// function returns a function of rt named prefix-rt.name.
func (rt runtimeUnderTest) function(prefix string) fc.Function {
	return fc.Function{FunctionName: prefix + "-" + rt.name, Runtime: rt.runtime, Handler: rt.handler}
}

// buildZip and zipOf build code packages (testenv.BuildZip).
func buildZip(files map[string]string) (string, error) { return testenv.BuildZip(files) }

func zipOf(t testing.TB, files map[string]string) string { t.Helper(); return testenv.Zip(t, files) }

type invocation struct {
	status int
	header http.Header
	body   string
	code   string // the API error code of a non-2xx answer
}

// tryInvoke invokes a function synchronously; API errors (non-2xx) are
// returned as an invocation with status, code and body "code: message".
func tryInvoke(ctx context.Context, c *client.Client, service, qualifier, function, payload string, header http.Header) (invocation, error) {
	path := "/2016-08-15/services/" + service
	if qualifier != "" {
		path += "." + qualifier
	}
	path += "/functions/" + function + "/invocations"
	var out []byte
	r, err := c.Do(ctx, client.Request{Method: "POST", Path: path, Body: []byte(payload), Header: header}, &out)
	if err != nil {
		var e *client.Error
		if asErr(err, &e) {
			return invocation{status: e.Status, code: e.Code, body: e.Code + ": " + e.Message}, nil
		}
		return invocation{}, fmt.Errorf("invoke %s: %w", function, err)
	}
	return invocation{status: r.Status, header: r.Header, body: string(out)}, nil
}

func invoke(t testing.TB, c *client.Client, service, qualifier, function, payload string, header http.Header) invocation {
	t.Helper()
	got, err := tryInvoke(context.Background(), c, service, qualifier, function, payload, header)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func asErr(err error, target **client.Error) bool {
	return errors.As(err, target)
}

func createFunction(t testing.TB, c *client.Client, service string, f fc.Function, files map[string]string) {
	t.Helper()
	createFunctionZip(t, c, service, f, zipOf(t, files))
}

func createFunctionZip(t testing.TB, c *client.Client, service string, f fc.Function, zipFile string) {
	t.Helper()
	if _, _, err := c.CreateFunction(context.Background(), service, &fc.FunctionInput{Function: f, Code: &fc.Code{ZipFile: zipFile}}); err != nil {
		t.Fatalf("create function %s: %v", f.FunctionName, err)
	}
}

func createService(t testing.TB, c *client.Client, name string) {
	t.Helper()
	if _, _, err := c.CreateService(context.Background(), &fc.Service{ServiceName: name}); err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
}

// ok invokes and fails the test unless the call succeeded with want.
func ok(t testing.TB, c *client.Client, service, qualifier, function, payload, want string) invocation {
	t.Helper()
	got := invoke(t, c, service, qualifier, function, payload, nil)
	if got.status != 200 || got.header.Get("X-Fc-Error-Type") != "" || got.body != want {
		t.Fatalf("invoke %s %q = %d %s %q, want 200 %q", function, payload, got.status, got.header.Get("X-Fc-Error-Type"), got.body, want)
	}
	return got
}

// errorMessage returns the errorMessage of a function error body.
func errorMessage(t testing.TB, body string) string {
	t.Helper()
	var e struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorMessage == nil {
		t.Fatalf("function error body %q: not {\"errorMessage\": ...} (%v)", body, err)
	}
	return *e.ErrorMessage
}

func instanceID(inv invocation) string { return inv.header.Get("X-Openfc-Instance-Id") }
func cold(inv invocation) bool         { return inv.header.Get("X-Openfc-Cold-Start") == "true" }

// listInstances returns the instance IDs GET .../instances lists.
func listInstances(c *client.Client, service, qualifier, function string) ([]string, error) {
	svc := service
	if qualifier != "" {
		svc += "." + qualifier
	}
	var out struct {
		Instances []struct {
			InstanceID string `json:"instanceId"`
		} `json:"instances"`
	}
	if _, err := c.Do(context.Background(), client.Request{Method: "GET", Path: "/2016-08-15/services/" + svc + "/functions/" + function + "/instances"}, &out); err != nil {
		return nil, err
	}
	ids := []string{}
	for _, in := range out.Instances {
		ids = append(ids, in.InstanceID)
	}
	return ids, nil
}

// waitInstances waits up to within for the function to have exactly want
// live instances.
func waitInstances(t *testing.T, c *client.Client, service, function string, want int, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		ids, err := listInstances(c, service, "", function)
		if err == nil && len(ids) != want {
			err = fmt.Errorf("instances %v, want %d", ids, want)
		}
		return err
	})
}

func TestEventHandlers(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "events")
	type result struct{ event, want string }
	type failure struct{ event, errorType, message, jsErrorType string }
	common := []result{{"str:bob", "str bob"}, {"bytes", "\x00\xffbin"}, {"str:", "str "}}
	results := map[string][]result{
		"python3":  {{"int", "2"}}, // non-str results are stringified
		"nodejs20": {{"json", `{"a":1,"b":"x"}`}},
		"nodejs12": {{"json", `{"a":1,"b":"x"}`}},
	}
	failures := map[string][]failure{
		"python3":  {{"error", "UnhandledInvocationError", "boom", "ValueError"}},
		"nodejs20": {{"error", "UnhandledInvocationError", "boom", "Error"}, {"handled", "HandledInvocationError", "handled boom", "Error"}},
		"nodejs12": {{"error", "UnhandledInvocationError", "boom", "Error"}, {"handled", "HandledInvocationError", "handled boom", "Error"}},
		"custom":   {{"error", "UnhandledInvocationError", "boom", "Error"}},
	}
	for _, rt := range runtimesUnderTest {
		t.Run(rt.name, func(t *testing.T) {
			t.Parallel()
			f := rt.function("main")
			f.EnvironmentVariables = map[string]string{"GREETING": "hello"}
			createFunctionZip(t, c, "events", f, *rt.zip)

			t.Run("results", func(t *testing.T) {
				for _, r := range append(common, results[rt.name]...) {
					ok(t, c, "events", "", f.FunctionName, r.event, r.want)
				}
				if strings.HasPrefix(rt.name, "nodejs") {
					af := rt.function("aio")
					af.Handler = "index.aio"
					createFunctionZip(t, c, "events", af, *rt.zip)
					ok(t, c, "events", "", af.FunctionName, "ev", "async ev")
				}
			})

			t.Run("context", func(t *testing.T) {
				got := invoke(t, c, "events", "", f.FunctionName, "ctx", nil)
				var ctx map[string]any
				if err := json.Unmarshal([]byte(got.body), &ctx); err != nil {
					t.Fatalf("ctx %q: %v", got.body, err)
				}
				want := map[string]any{
					"requestId": got.header.Get("X-Fc-Request-Id"), "function": f.FunctionName, "handler": rt.handler,
					"memory": float64(fc.DefaultMemorySize), "timeout": float64(fc.DefaultTimeout), "service": "events",
					"qualifier": "LATEST", "versionId": "", "region": n.Creds.Region, "accountId": n.Creds.AccountID,
				}
				if got.header.Get("X-Fc-Request-Id") == "" {
					t.Error("no X-Fc-Request-Id in the answer")
				}
				if diff := cmp.Diff(want, ctx); diff != "" {
					t.Errorf("context (-want +got):\n%s", diff)
				}
			})

			t.Run("env", func(t *testing.T) {
				got := invoke(t, c, "events", "", f.FunctionName, "env", nil)
				var env map[string]string
				if err := json.Unmarshal([]byte(got.body), &env); err != nil {
					t.Fatalf("env %d %q: %v", got.status, got.body, err)
				}
				want := map[string]string{
					"FC_FUNC_CODE_PATH": "/code", "FC_ACCOUNT_ID": n.Creds.AccountID, "FC_REGION": n.Creds.Region,
					"FC_SERVICE_NAME": "events", "FC_FUNCTION_NAME": f.FunctionName, "FC_FUNCTION_HANDLER": rt.handler,
					"FC_FUNCTION_MEMORY_SIZE": "128", "FC_QUALIFIER": "LATEST", "FC_INSTANCE_ID": instanceID(got),
					"FC_CUSTOM_LISTEN_PORT": "9000", "GREETING": "hello",
				}
				if diff := cmp.Diff(want, env); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
			})

			t.Run("errors", func(t *testing.T) {
				for _, e := range failures[rt.name] {
					got := invoke(t, c, "events", "", f.FunctionName, e.event, nil)
					if got.status != 200 || got.header.Get("X-Fc-Error-Type") != e.errorType {
						t.Errorf("invoke %q = %d, X-Fc-Error-Type %q, want 200, %q", e.event, got.status, got.header.Get("X-Fc-Error-Type"), e.errorType)
					}
					if ct := got.header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("invoke %q: Content-Type %q, want application/json", e.event, ct)
					}
					var body struct {
						ErrorMessage string `json:"errorMessage"`
						ErrorType    string `json:"errorType"`
					}
					if err := json.Unmarshal([]byte(got.body), &body); err != nil {
						t.Fatalf("invoke %q: body %q: %v", e.event, got.body, err)
					}
					if body.ErrorMessage != e.message || body.ErrorType != e.jsErrorType {
						t.Errorf("invoke %q: error %q of type %q, want %q of type %q", e.event, body.ErrorMessage, body.ErrorType, e.message, e.jsErrorType)
					}
				}
				// The instance survives a function error.
				ok(t, c, "events", "", f.FunctionName, "str:after", "str after")
			})

			t.Run("logtail", func(t *testing.T) {
				tail := http.Header{"X-Fc-Log-Type": {"Tail"}}
				got := invoke(t, c, "events", "", f.FunctionName, "log", tail)
				if got.body != "logged" {
					t.Fatalf("invoke log = %d %q", got.status, got.body)
				}
				logs := logResult(t, got)
				rid := got.header.Get("X-Fc-Request-Id")
				want := []string{"FC Invoke Start RequestId: " + rid, "line one", "line two", "FC Invoke End RequestId: " + rid}
				at := 0
				for _, w := range want {
					i := strings.Index(logs[at:], w)
					if i < 0 {
						t.Fatalf("log tail %q: no %q after offset %d", logs, w, at)
					}
					at += i + len(w)
				}
				if got := invoke(t, c, "events", "", f.FunctionName, "str:x", nil); got.header.Get("X-Fc-Log-Result") != "" {
					t.Errorf("X-Fc-Log-Result without X-Fc-Log-Type: Tail: %q", got.header.Get("X-Fc-Log-Result"))
				}

				got = invoke(t, c, "events", "", f.FunctionName, "biglog", tail)
				logs = logResult(t, got)
				if len(logs) > 4096 || !strings.Contains(logs, "line 199 ") || strings.Contains(logs, "line 000 ") {
					t.Errorf("log tail of 200 lines: %d bytes, want the last ≤ 4096 bytes (line 199, not line 000):\n%s", len(logs), logs)
				}
			})
		})
	}
}

func logResult(t testing.TB, inv invocation) string {
	t.Helper()
	raw := inv.header.Get("X-Fc-Log-Result")
	logs, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || raw == "" {
		t.Fatalf("X-Fc-Log-Result %q: want base64 of the log tail (%v)", raw, err)
	}
	return string(logs)
}

func TestInitializer(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "init")
	for _, rt := range runtimesUnderTest {
		t.Run(rt.name, func(t *testing.T) {
			t.Parallel()
			f := rt.function("count")
			f.Initializer = rt.initializer
			createFunctionZip(t, c, "init", f, *rt.zip)
			// As FC's SDK tests: the initializer sets the counter to 1 and
			// each call increments it.
			first := ok(t, c, "init", "", f.FunctionName, "count", "2")
			second := ok(t, c, "init", "", f.FunctionName, "count", "3")
			if !cold(first) || cold(second) || instanceID(first) != instanceID(second) {
				t.Errorf("cold starts %v, %v on instances %s, %s: want one cold start, then the same instance",
					cold(first), cold(second), instanceID(first), instanceID(second))
			}
		})
	}
}

func TestFailures(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "fail")
	for _, rt := range runtimesUnderTest {
		t.Run(rt.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name    string
				timeout int
				event   string
				message string // prefix of errorMessage
			}{
				{"timeout", 1, "sleep:5000", "Function timed out after 1 seconds"},
				{"crash", 0, "crash", "Process exited unexpectedly before completing request"},
				{"oom", 0, "oom", "Function ran out of memory"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					f := rt.function(tt.name)
					f.Timeout = tt.timeout
					createFunctionZip(t, c, "fail", f, *rt.zip)
					warm := ok(t, c, "fail", "", f.FunctionName, "str:warm", "str warm")
					got := invoke(t, c, "fail", "", f.FunctionName, tt.event, nil)
					if got.status != 200 || got.header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" {
						t.Fatalf("invoke %q = %d, X-Fc-Error-Type %q (%s), want 200, UnhandledInvocationError",
							tt.event, got.status, got.header.Get("X-Fc-Error-Type"), got.body)
					}
					if msg := errorMessage(t, got.body); !strings.HasPrefix(msg, tt.message) {
						t.Errorf("invoke %q: errorMessage %q, want prefix %q", tt.event, msg, tt.message)
					}
					// The failed instance is gone; the next call gets a new,
					// healthy one.
					next := ok(t, c, "fail", "", f.FunctionName, "str:next", "str next")
					if !cold(next) || instanceID(next) == instanceID(warm) {
						t.Errorf("call after %s: cold %v on instance %s (failed instance %s), want a new instance",
							tt.name, cold(next), instanceID(next), instanceID(warm))
					}
				})
			}
		})
	}
}

func TestInstanceConcurrency(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "conc")
	f := runtimesUnderTest[0].function("ten")
	f.InstanceConcurrency = 10
	createFunctionZip(t, c, "conc", f, pythonZip)

	// Twenty calls from cold, then twenty on the warm instances.
	ids := map[string]int{}
	for round := range 2 {
		var wg sync.WaitGroup
		got := make([]invocation, 20)
		errs := make([]error, 20)
		for i := range got {
			wg.Go(func() {
				got[i], errs[i] = tryInvoke(t.Context(), c, "conc", "", f.FunctionName, "sleep:300", nil)
			})
		}
		wg.Wait()
		for i, g := range got {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if g.status != 200 || g.body != "slept" {
				t.Errorf("round %d, call %d = %d %q, want 200 slept", round, i, g.status, g.body)
			}
			ids[instanceID(g)]++
		}
	}
	if len(ids) > 2 {
		t.Errorf("2×20 parallel calls at instanceConcurrency 10 ran on %d instances, want at most 2: %v", len(ids), ids)
	}
}

func TestThrottled(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "thr")
	f := runtimesUnderTest[0].function("one")
	f.InstanceConcurrency = 1
	createFunctionZip(t, c, "thr", f, pythonZip)
	one := int64(1)
	if _, _, err := c.PutOnDemandConfig(t.Context(), "thr", "LATEST", f.FunctionName, &fc.OnDemandConfig{MaximumInstanceCount: &one}, ""); err != nil {
		t.Fatal(err)
	}

	// The first call holds the only slot of the only instance...
	hold, cancel := context.WithCancel(t.Context())
	held := make(chan error, 1)
	go func() {
		_, err := tryInvoke(hold, c, "thr", "", f.FunctionName, "sleep:30000", nil)
		held <- err
	}()
	waitInstances(t, c, "thr", f.FunctionName, 1, 10*time.Second)
	// ... so the next ones wait out the queue timeout and are refused.
	var wg sync.WaitGroup
	got := make([]invocation, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Go(func() {
			got[i], errs[i] = tryInvoke(t.Context(), c, "thr", "", f.FunctionName, "str:x", nil)
		})
	}
	wg.Wait()
	cancel()
	<-held
	for i, g := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if g.status != http.StatusTooManyRequests || g.code != "ResourceExhausted" {
			t.Errorf("call beyond maximumInstanceCount 1 = %d %s, want 429 ResourceExhausted", g.status, g.body)
		}
	}
}

func TestKeepAlive(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, func(c *config.Config) { c.Instances.KeepAlive = time.Second })
	c := n.Client
	createService(t, c, "ka")
	f := runtimesUnderTest[0].function("idle")
	createFunctionZip(t, c, "ka", f, pythonZip)

	first := ok(t, c, "ka", "", f.FunctionName, "str:a", "str a")
	ids, err := listInstances(c, "ka", "", f.FunctionName)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{instanceID(first)}; !cmp.Equal(ids, want) {
		t.Errorf("instances after a call = %v, want %v", ids, want)
	}
	waitInstances(t, c, "ka", f.FunctionName, 0, 15*time.Second)
	if next := ok(t, c, "ka", "", f.FunctionName, "str:b", "str b"); !cold(next) {
		t.Errorf("call after scale to zero: X-Openfc-Cold-Start %q, want true", next.header.Get("X-Openfc-Cold-Start"))
	}
}

// versionedCode is a Python function whose answer names its code version
// and environment; "hold" waits 1.5 s (raising the started flag that
// "started" reports).
func versionedCode(version string) map[string]string {
	return map[string]string{"index.py": `import json, os, time
started = False
def handler(event, context):
    global started
    cmd = event.decode()
    if cmd == "hold":
        started = True
        time.sleep(1.5)
        return "` + version + ` held"
    if cmd == "started":
        return "yes" if started else "no"
    if cmd == "ctx":
        return json.dumps([context.service.qualifier, context.service.version_id])
    return "` + version + `" + os.environ.get("TAG", "")
`}
}

func TestUpdateDrains(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "upd")
	f := fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler", InstanceConcurrency: 2}
	createFunction(t, c, "upd", f, versionedCode("v1"))
	old := ok(t, c, "upd", "", "f", "x", "v1")

	// A slow call in flight on the old instance...
	type answer struct {
		inv invocation
		err error
	}
	slow := make(chan answer, 1)
	go func() {
		inv, err := tryInvoke(context.Background(), c, "upd", "", "f", "hold", nil)
		slow <- answer{inv, err}
	}()
	testenv.Eventually(t, 10*time.Second, func() error {
		got, err := tryInvoke(t.Context(), c, "upd", "", "f", "started", nil)
		if err == nil && got.body != "yes" {
			err = fmt.Errorf("hold not started on the instance: %d %q", got.status, got.body)
		}
		return err
	})

	// ... while the code changes: new calls get a new instance with the new
	// code, the slow call finishes with the old.
	if _, _, err := c.UpdateFunction(t.Context(), "upd", "f", map[string]any{"code": fc.Code{ZipFile: zipOf(t, versionedCode("v2"))}}, ""); err != nil {
		t.Fatal(err)
	}
	v2 := ok(t, c, "upd", "", "f", "x", "v2")
	if !cold(v2) || instanceID(v2) == instanceID(old) {
		t.Errorf("first call after the code update: cold %v on instance %s (old %s), want a new instance", cold(v2), instanceID(v2), instanceID(old))
	}
	a := <-slow
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.inv.status != 200 || a.inv.body != "v1 held" || instanceID(a.inv) != instanceID(old) {
		t.Errorf("call in flight during the update = %d %q on %s, want 200 \"v1 held\" on the old instance %s",
			a.inv.status, a.inv.body, instanceID(a.inv), instanceID(old))
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		ids, err := listInstances(c, "upd", "", "f")
		if want := []string{instanceID(v2)}; err == nil && !cmp.Equal(ids, want) {
			err = fmt.Errorf("instances %v, want only the new one %v", ids, want)
		}
		return err
	})

	// An environment change drains too.
	if _, _, err := c.UpdateFunction(t.Context(), "upd", "f", map[string]any{"environmentVariables": map[string]string{"TAG": "-blue"}}, ""); err != nil {
		t.Fatal(err)
	}
	if env := ok(t, c, "upd", "", "f", "x", "v2-blue"); !cold(env) {
		t.Errorf("first call after the environment update: X-Openfc-Cold-Start %q, want true", env.header.Get("X-Openfc-Cold-Start"))
	}
}

func TestVersionsAndAliases(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "ver")
	createFunction(t, c, "ver", fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"}, versionedCode("v1"))
	v, _, err := c.PublishVersion(t.Context(), "ver", "first", "")
	if err != nil {
		t.Fatal(err)
	}
	if v.VersionID != "1" {
		t.Fatalf("published version %q, want 1", v.VersionID)
	}
	if _, _, err := c.CreateAlias(t.Context(), "ver", &fc.Alias{AliasName: "prod", VersionID: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunction(t.Context(), "ver", "f", map[string]any{"code": fc.Code{ZipFile: zipOf(t, versionedCode("v2"))}}, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		qualifier, want, version, ctx string
	}{
		{"", "v2", "", `["LATEST", ""]`},
		{"LATEST", "v2", "", `["LATEST", ""]`},
		{"1", "v1", "1", `["1", "1"]`},
		{"prod", "v1", "1", `["prod", "1"]`},
	}
	for _, tt := range tests {
		t.Run("q="+tt.qualifier, func(t *testing.T) {
			got := ok(t, c, "ver", tt.qualifier, "f", "x", tt.want)
			if v := got.header.Get("X-Fc-Invocation-Service-Version"); v != tt.version {
				t.Errorf("X-Fc-Invocation-Service-Version %q, want %q", v, tt.version)
			}
			ok(t, c, "ver", tt.qualifier, "f", "ctx", tt.ctx)
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "errs")
	f := runtimesUnderTest[0].function("main")
	f.MemorySize = 512 // room for a 32 MB event and its echo
	createFunctionZip(t, c, "errs", f, pythonZip)
	tests := []struct {
		name, qualifier, function, payload string
		status                             int
		code                               string
	}{
		{"too large", "", "main-python3", strings.Repeat("x", fc.MaxSyncPayloadBytes+1), 400, "EntityTooLarge"},
		{"no function", "", "nope", "", 404, "FunctionNotFound"},
		{"no version", "9", "main-python3", "", 404, "VersionNotFound"},
		{"no alias", "nope", "main-python3", "", 404, "AliasNotFound"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", ""), func(t *testing.T) {
			got := invoke(t, c, "errs", tt.qualifier, tt.function, tt.payload, nil)
			if got.status != tt.status || got.code != tt.code {
				t.Errorf("invoke = %d %s, want %d %s", got.status, got.body, tt.status, tt.code)
			}
		})
	}
	// The largest payload passes.
	got := invoke(t, c, "errs", "", "main-python3", "str:"+strings.Repeat("y", fc.MaxSyncPayloadBytes-4), nil)
	if got.status != 200 || got.header.Get("X-Fc-Error-Type") != "" || len(got.body) != fc.MaxSyncPayloadBytes {
		t.Errorf("invoke with a 32 MB payload = %d %s, %d bytes, want 200 and the payload back", got.status, got.header.Get("X-Fc-Error-Type"), len(got.body))
	}
}
