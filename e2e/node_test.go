package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeBin is the Node.js the compatibility test runs (the one CI has).
const nodeBin = "/usr/bin/node"

// TestNodeSDKCompat runs e2e/node/fc2_compat.test.js, which drives the
// official @alicloud/fc2 2.6.6 SDK through service, function and trigger
// CRUD and the error cases, against `openfc serve`.
func TestNodeSDKCompat(t *testing.T) {
	runNodeTest(t, "fc2_compat.test.js", nil)
}

// runNodeTest runs one JS test file of e2e/node with Node's test runner
// against a fresh `openfc serve` (endpoint and keys in OPENFC_*
// variables, plus extra), installing the SDK first when needed, then stops
// the server and checks it exits 0.
func runNodeTest(t *testing.T, file string, extra []string) {
	t.Helper()
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
	for _, name := range []string{file, "common.js", "package.json", "package-lock.json"} {
		if _, err := os.ReadFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@alicloud", "fc2", "package.json")); err != nil {
		// scripts/test.sh installs it first; this covers `go test ./e2e/`
		// on a fresh checkout.
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
	env = append(env, extra...)
	out := runCmd(t, 5*time.Minute, dir, env, nodeBin, "--test", "--test-reporter=spec", file)
	t.Logf("node --test %s:\n%s", file, out)
	// A SIGTERM stops every instance before the sandbox driver removes its
	// cgroup, and the server exits 0.
	s.Stop(t)
}

// runCmd runs a command in dir with extra env and fails the test, showing
// its output, unless it exits 0. It returns the combined output.
func runCmd(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out)
	}
	return string(out)
}
