package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/testenv"
)

// TestNodeSDKInvoke runs e2e/node/fc2_invoke.test.js, which invokes a
// python3, a nodejs20 and a custom function through the official
// @alicloud/fc2 2.6.6 SDK (results, log tail, handled and unhandled errors)
// on `openfc serve`. Functions run in real sandboxes, so it needs root.
func TestNodeSDKInvoke(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := os.Stat(nodeBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Node.js is required in CI: %v", err)
		}
		t.Skipf("Node.js not installed at %s: %v", nodeBin, err)
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	// Read what node runs, so that go test's cache notices when it changes.
	for _, name := range []string{"fc2_invoke.test.js", "package.json", "package-lock.json"} {
		if _, err := os.ReadFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@alicloud", "fc2", "package.json")); err != nil {
		t.Logf("installing the SDK: npm ci in %s", dir)
		runCmd(t, 10*time.Minute, dir, nil, "npm", "ci", "--no-audit", "--no-fund")
	}

	s := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "data")})
	env := []string{
		"OPENFC_ENDPOINT=" + s.Creds.Endpoint,
		"OPENFC_ACCOUNT_ID=" + s.Creds.AccountID,
		"OPENFC_ACCESS_KEY_ID=" + s.Creds.AccessKeyID,
		"OPENFC_ACCESS_KEY_SECRET=" + s.Creds.AccessKeySecret,
		"OPENFC_REGION=" + s.Creds.Region,
	}
	out := runCmd(t, 5*time.Minute, dir, env, nodeBin, "--test", "--test-reporter=spec", "fc2_invoke.test.js")
	t.Logf("node --test fc2_invoke.test.js:\n%s", out)
	// After functions ran, a SIGTERM stops every instance before the
	// sandbox driver removes its cgroup, and the server exits 0.
	s.Stop(t)
}
