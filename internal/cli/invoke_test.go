package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/testenv"
)

func TestDeployAndInvoke(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.py", "def handler(event, context):\n    print('hello log')\n    if event == b'fail':\n        raise ValueError('bad event')\n    return 'v1 ' + event.decode()\n")
	// Deploying to a missing function without --runtime is a usage error.
	cli(t, vars, "function", "deploy", dir, "--name", "demo/hello").fails(t, "deploy without runtime", ExitUsage, "--runtime")
	r := cli(t, vars, "function", "deploy", dir, "--name", "demo/hello", "--runtime", "python3", "--handler", "index.handler")
	r.ok(t, "first deploy")
	if !strings.Contains(r.stderr, "created service demo") || !strings.Contains(r.stderr, "created function demo/hello") {
		t.Errorf("first deploy stderr = %q", r.stderr)
	}
	out := cli(t, vars, "invoke", "demo/hello", "--data", "bob").ok(t, "invoke")
	if out != "v1 bob\n" {
		t.Errorf("invoke stdout = %q, want %q", out, "v1 bob\n")
	}
	// A second deploy updates the code.
	write("index.py", "def handler(event, context):\n    return 'v2 ' + event.decode()\n")
	r = cli(t, vars, "function", "deploy", dir, "--name", "demo/hello")
	r.ok(t, "second deploy")
	if !strings.Contains(r.stderr, "updated function demo/hello") {
		t.Errorf("second deploy stderr = %q", r.stderr)
	}
	out = cliIn(t, vars, "alice", "invoke", "demo/hello", "--file", "-").ok(t, "invoke from stdin")
	if out != "v2 alice\n" {
		t.Errorf("invoke after update = %q, want %q", out, "v2 alice\n")
	}
	// --log prints the tail on stderr; a function error exits 1 with the
	// error JSON on stdout.
	write("index.py", "def handler(event, context):\n    print('hello log')\n    raise ValueError('bad event')\n")
	cli(t, vars, "function", "deploy", dir, "--name", "demo/hello").ok(t, "third deploy")
	r = cli(t, vars, "invoke", "demo/hello", "--log")
	if r.code != ExitFail || !strings.Contains(r.stderr, "openfc: the function failed (UnhandledInvocationError") {
		t.Errorf("failing invoke: exit %d, stderr %q; want exit 1 naming the error type", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "bad event") {
		t.Errorf("failing invoke stdout = %q, want the error JSON", r.stdout)
	}
	if !strings.Contains(r.stderr, "hello log") || !strings.Contains(r.stderr, "FC Invoke Start RequestId") {
		t.Errorf("--log stderr = %q, want the log tail", r.stderr)
	}
	r = cli(t, vars, "invoke", "demo/hello", "--async", "--data", "later")
	if out := r.ok(t, "async invoke"); !strings.HasPrefix(out, "accepted, request ID ") {
		t.Errorf("async invoke stdout = %q, want the accepted request ID", out)
	}
	cli(t, vars, "invoke", "demo/missing").fails(t, "invoke missing", ExitFail, "FunctionNotFound")
	cli(t, vars, "invoke", "nofunction").fails(t, "bad name", ExitUsage)
}
