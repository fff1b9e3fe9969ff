package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openfc/openfc/internal/testenv"
)

// TestNodeSDKInvoke runs e2e/node/fc2_invoke.test.js, which invokes a
// python3, a nodejs20, a custom and a go1 function through the official
// @alicloud/fc2 2.6.6 SDK (results, log tail, handled and unhandled errors)
// on `openfc serve`. Functions run in real sandboxes, so it needs root.
func TestNodeSDKInvoke(t *testing.T) {
	testenv.RequireRoot(t)
	// The go1 function is a static Go program (testdata/go1echo).
	bin := filepath.Join(t.TempDir(), "main")
	build := exec.Command("go", "build", "-o", bin, "./testdata/go1echo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the go1 function: %v\n%s", err, out)
	}
	runNodeTest(t, "fc2_invoke.test.js", []string{"OPENFC_GO1_BINARY=" + bin})
}
