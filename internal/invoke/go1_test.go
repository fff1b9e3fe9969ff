package invoke_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestInvokeGo1 runs a go1 function (a pull-API client, testdata/go1fn)
// through the platform: event results, initializer, errors, log tail and a
// crash followed by a healthy call.
func TestInvokeGo1(t *testing.T) {
	testenv.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "main")
	build := exec.Command("go", "build", "-o", bin, "./testdata/go1fn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build go1 function: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	n := testenv.Platform(t, nil)
	c := n.Client
	if _, _, err := c.CreateService(t.Context(), &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	createFunction(t, c, "demo", fc.Function{FunctionName: "go", Runtime: "go1", Handler: "main", Initializer: "main.init",
		EnvironmentVariables: map[string]string{"GREETING": "hi"}}, map[string]string{"main!": string(data)})

	got := invoke(t, c, "demo", "", "go", "one", http.Header{"X-Fc-Log-Type": {"Tail"}})
	if got.status != 200 || got.body != "go1 one calls=1 init=yes env=hi deadline=true" || got.header.Get("X-Openfc-Cold-Start") != "true" {
		t.Errorf("first call = %d %q cold=%s", got.status, got.body, got.header.Get("X-Openfc-Cold-Start"))
	}
	logs, _ := base64.StdEncoding.DecodeString(got.header.Get("X-Fc-Log-Result"))
	if !strings.Contains(string(logs), "go1 log line") || !strings.Contains(string(logs), "FC Invoke End RequestId") {
		t.Errorf("log tail = %q", logs)
	}
	got = invoke(t, c, "demo", "", "go", "two", nil)
	if got.body != "go1 two calls=2 init=yes env=hi deadline=true" || got.header.Get("X-Openfc-Cold-Start") != "false" {
		t.Errorf("second call = %q cold=%s", got.body, got.header.Get("X-Openfc-Cold-Start"))
	}
	got = invoke(t, c, "demo", "", "go", "fail", nil)
	if got.header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || !strings.Contains(got.body, "go1 failed") {
		t.Errorf("failing call = %d %q %s", got.status, got.body, got.header.Get("X-Fc-Error-Type"))
	}
	got = invoke(t, c, "demo", "", "go", "crash", nil)
	if got.header.Get("X-Fc-Error-Type") != "UnhandledInvocationError" || !strings.Contains(got.body, "Process exited unexpectedly") {
		t.Errorf("crashing call = %d %q", got.status, got.body)
	}
	got = invoke(t, c, "demo", "", "go", "again", nil)
	if got.body != "go1 again calls=1 init=yes env=hi deadline=true" || got.header.Get("X-Openfc-Cold-Start") != "true" {
		t.Errorf("call after the crash = %q cold=%s; want a new instance", got.body, got.header.Get("X-Openfc-Cold-Start"))
	}

	// Once a go1 function has started, the node keeps sandboxes of go1's
	// memory size prepared (deferred instances, no program yet): a new go1
	// function's cold start takes one and runs the shim and its own
	// executable there, with its own environment.
	testenv.Eventually(t, time.Minute, func() error {
		if p := testenv.Metric(t, n.URL, "openfc_instances_prestarted"); p != 2 {
			return fmt.Errorf("%v instances prepared, want 2", p)
		}
		return nil
	})
	createFunction(t, c, "demo", fc.Function{FunctionName: "go-second", Runtime: "go1", Handler: "main", Initializer: "main.init",
		EnvironmentVariables: map[string]string{"GREETING": "deferred"}}, map[string]string{"main!": string(data)})
	got = invoke(t, c, "demo", "", "go-second", "first", nil)
	if got.body != "go1 first calls=1 init=yes env=deferred deadline=true" || got.header.Get("X-Openfc-Cold-Start") != "true" {
		t.Errorf("first call of a second go1 function = %d %q cold=%s", got.status, got.body, got.header.Get("X-Openfc-Cold-Start"))
	}
}
