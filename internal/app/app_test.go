package app_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// A function whose runtime cannot run on the node (its interpreter is
// missing) is refused when it is created, with a clear error.
func TestUnavailableRuntimeRefused(t *testing.T) {
	n := testenv.Platform(t, func(c *config.Config) { c.Instances.Python = "/nonexistent/python3" })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}, // an empty zip
	})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != fc.CodeInvalidArgument || !strings.Contains(e.Message, "not available on this node") {
		t.Fatalf("CreateFunction with a missing interpreter = %v, want 400 InvalidArgument naming the runtime", err)
	}
	// Runtimes whose interpreter exists are still accepted.
	if _, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "g", Runtime: "nodejs20", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
	}); err != nil {
		t.Fatalf("CreateFunction nodejs20 = %v", err)
	}
}

// A relative --data-dir (the default ./openfc-data) works: sandboxes need
// absolute paths, which the node derives at start.
func TestRelativeDataDir(t *testing.T) {
	testenv.RequireRoot(t)
	t.Chdir(t.TempDir())
	n := testenv.Platform(t, func(c *config.Config) { c.DataDir = "./openfc-data" })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: pyZip(t, "def handler(event, context):\n    return 'ok'\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	if _, err := n.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/demo/functions/f/invocations"}, &out); err != nil || string(out) != "ok" {
		t.Fatalf("invoke with a relative data dir = %q, %v", out, err)
	}
}

// GetFunctionCode links carry the node's address even when the client's
// Host header has no port (as @alicloud/fc2 sends it).
func TestFunctionCodeLinkHasPort(t *testing.T) {
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "nodejs20", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: pyZip(t, "x")},
	}); err != nil {
		t.Fatal(err)
	}
	var out fc.GetFunctionCodeOutput
	if _, err := n.Client.Do(ctx, client.Request{Method: "GET", Path: "/2016-08-15/services/demo/functions/f/code",
		Header: map[string][]string{"Host": {"127.0.0.1"}}}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.URL, n.URL+"/") {
		t.Errorf("code link %q does not start with the node's endpoint %s", out.URL, n.URL)
	}
}

func pyZip(t *testing.T, src string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("index.py")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(src))
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func pyZipNamed(t *testing.T, name, src string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(src))
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// TestProcessSandbox: with --sandbox process (development without root)
// the built-in runtimes run: the driver maps /code, the socket folder and
// the bootstrap folder onto the host in arguments and environment.
func TestProcessSandbox(t *testing.T) {
	n := testenv.Platform(t, func(c *config.Config) { c.Instances.Sandbox = "process" })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ runtime, file, src string }{
		{"python3", "index.py", "import os\ndef handler(event, context):\n    return 'python ' + os.environ['FC_FUNCTION_NAME']\n"},
		{"nodejs20", "index.js", "exports.handler = (e, c, cb) => cb(null, 'node ' + process.env.FC_FUNCTION_NAME);\n"},
	} {
		name := strings.TrimSuffix(f.runtime, "20")
		if _, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
			Function: fc.Function{FunctionName: name, Runtime: f.runtime, Handler: "index.handler"},
			Code:     &fc.Code{ZipFile: pyZipNamed(t, f.file, f.src)},
		}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // cold, then warm
			var out []byte
			if _, err := n.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/demo/functions/" + name + "/invocations"}, &out); err != nil {
				t.Fatalf("invoke %s under the process driver: %v", f.runtime, err)
			}
			want := map[string]string{"python3": "python python3", "nodejs20": "node nodejs"}[f.runtime]
			if string(out) != want {
				t.Errorf("invoke %s = %q, want %q", f.runtime, out, want)
			}
		}
	}
}

// TestCPULimitStrict: with --cpu-limit strict a ready instance is capped at
// one CPU per 2 GB (a 1024 MB function: half a CPU); without it, no cap.
func TestCPULimitStrict(t *testing.T) {
	testenv.RequireRoot(t)
	for _, mode := range []string{"strict", "none"} {
		t.Run(mode, func(t *testing.T) {
			n := testenv.Platform(t, func(c *config.Config) { c.Instances.CPULimit = mode })
			ctx := t.Context()
			if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "c"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := n.Client.CreateFunction(ctx, "c", &fc.FunctionInput{
				Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler", MemorySize: 1024},
				Code:     &fc.Code{ZipFile: pyZip(t, "def handler(event, context):\n    return 'ok'\n")},
			}); err != nil {
				t.Fatal(err)
			}
			r, err := n.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/c/functions/f/invocations"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := r.Header.Get("X-Openfc-Instance-Id")
			// cgroup v1 (this machine) or v2.
			files, _ := filepath.Glob("/sys/fs/cgroup/cpu/*/" + id + "/cpu.cfs_quota_us")
			more, _ := filepath.Glob("/sys/fs/cgroup/cpu/*/*/" + id + "/cpu.cfs_quota_us")
			files = append(files, more...)
			v2, _ := filepath.Glob("/sys/fs/cgroup/*/" + id + "/cpu.max")
			files = append(files, v2...)
			if len(files) != 1 {
				t.Fatalf("cgroup CPU file of instance %s: found %q", id, files)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Fields(string(b))[0]
			want := map[string][]string{"strict": {"50000"}, "none": {"-1", "max"}}[mode]
			if !slices.Contains(want, got) {
				t.Errorf("%s = %s, want one of %q", files[0], got, want)
			}
		})
	}
}
