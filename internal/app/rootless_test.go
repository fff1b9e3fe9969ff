package app_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestRootlessSandbox: --sandbox-rootless reaches the linux driver, whose
// instances then run in a user namespace of their own. As root the mode is
// forced, so the namespace maps root to itself, one uid only (the initial
// namespace maps all 2^32). The unprivileged run of the driver is
// internal/sandbox/linux's TestRootless.
func TestRootlessSandbox(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("forcing the rootless mode of the linux driver is tested as root")
	}
	n := testenv.Platform(t, func(c *config.Config) { c.Instances.Rootless = true })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	src := "import os\ndef handler(event, context):\n    return ' '.join(open('/proc/self/uid_map').read().split() + [str(os.getuid())])\n"
	if _, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "py", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: pyZip(t, src)},
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // cold, then warm
		var out []byte
		if _, err := n.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/demo/functions/py/invocations"}, &out); err != nil {
			t.Fatalf("invoke under the rootless sandbox: %v", err)
		}
		if want := "0 0 1 0"; string(out) != want {
			t.Errorf("uid_map and uid inside = %s, want %s (a user namespace mapping one uid)", out, want)
		}
	}
}
