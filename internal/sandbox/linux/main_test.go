package linux

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// codeDir holds the test program (sandboxtest.HelperName), built once.
var codeDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "openfc-linux-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	codeDir = filepath.Join(dir, "code")
	if err := os.Mkdir(codeDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := sandboxtest.BuildHelper(codeDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// requireRoot skips a test that needs root on a developer machine, and fails
// it in CI.
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("the linux sandbox driver needs root, and CI is set")
	}
	tb.Skip("the linux sandbox driver needs root")
}

// newDriver returns a Driver with its own cgroup parent and state folder,
// removed at the end of the test.
func newDriver(tb testing.TB) *Driver {
	tb.Helper()
	return newDriverParent(tb, fmt.Sprintf("openfc-sandbox-test-%d-%s", os.Getpid(), filepath.Base(tb.TempDir())))
}

func newDriverParent(tb testing.TB, parent string) *Driver {
	tb.Helper()
	requireRoot(tb)
	d, err := New(Options{
		StateDir:     tb.TempDir(),
		CgroupParent: parent,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d
}

func TestLinuxConformance(t *testing.T) {
	d := newDriver(t)
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir, Isolated: true})
}

// TestLinuxConformanceWithoutTemplate runs the suite on the slow path, where
// each init builds and pivots its whole root.
func TestLinuxConformanceWithoutTemplate(t *testing.T) {
	d := newDriver(t)
	d.noTemplate = true
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir, Isolated: true})
}
