package linux

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// testBridge names the bridge of drivers made in the machine's own network
// namespace, which never use it: New removes what a previous run left of
// its bridge, and must not find a real node's (DefaultBridge) there.
var testBridge = fmt.Sprintf("ofcnone%d", os.Getpid()%1000000)

// codeDir holds the test program (sandboxtest.HelperName), built once.
var codeDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if dir := os.Getenv(envCodeDir); dir != "" {
		// A test binary re-executed by a test (bridge_linux_test.go) uses
		// its parent's helper.
		codeDir = dir
		return m.Run()
	}
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
	if os.Geteuid() == 0 || rootlessMode {
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
	opts := Options{
		StateDir:     tb.TempDir(),
		CgroupParent: parent,
		Bridge:       testBridge,
	}
	if rootlessMode {
		opts = Options{StateDir: tb.TempDir(), CgroupParent: parent, Rootless: true}
	}
	d, err := New(opts)
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
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir, Isolated: true, NoLimits: noLimits(d)})
}

// TestLinuxConformanceWithoutTemplate runs the suite on the slow path, where
// each init builds and pivots its whole root.
func TestLinuxConformanceWithoutTemplate(t *testing.T) {
	skipRootless(t, "a rootless driver always builds the whole root: TestLinuxConformance covers it")
	d := newDriver(t)
	d.noTemplate = true
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir, Isolated: true})
}

// TestLinuxConformanceCgroupV2 runs the suite on cgroup v2 where its
// controllers are available.
func TestLinuxConformanceCgroupV2(t *testing.T) {
	requireRoot(t)
	b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	f := strings.Fields(string(b))
	if err != nil || !slices.Contains(f, "memory") || !slices.Contains(f, "cpu") || !slices.Contains(f, "pids") {
		t.Skipf("cgroup v2: %s has no memory, cpu and pids controllers on this machine (cgroup.controllers: %q, %v)", cgroupRoot, b, err)
	}
	d, err := New(Options{StateDir: t.TempDir(), CgroupParent: fmt.Sprintf("openfc-sandbox-test-%d-v2", os.Getpid()), CgroupVersion: 2, Bridge: testBridge})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir, Isolated: true})
}

// TestLinuxCgroupLimits checks the values written to the instance's cgroup.
func TestLinuxCgroupLimits(t *testing.T) {
	d := newDriver(t)
	requireLimits(t, d)
	spec := helperSpec("hang")
	spec.MemoryBytes = 100 << 20
	spec.CPUShares = 512
	spec.PidsLimit = 77
	in, stdout, _ := sandboxtest.Start(t, d, spec)
	stdout.Expect(t, "ready")
	read := func(file string) string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	var want map[string]string
	switch g := in.(*instance).cg.(type) {
	case *v1group:
		want = map[string]string{
			filepath.Join(g.dir("memory"), "memory.limit_in_bytes"):       "104857600",
			filepath.Join(g.dir("memory"), "memory.memsw.limit_in_bytes"): "104857600",
			filepath.Join(g.dir("cpu"), "cpu.shares"):                     "512",
			filepath.Join(g.dir("pids"), "pids.max"):                      "77",
		}
		// The runtime (pid 2 of the sandbox) is in the instance's group.
		procs := read(filepath.Join(g.dir("memory"), "cgroup.procs"))
		if n := len(strings.Fields(procs)); n != 2 {
			t.Errorf("memory cgroup holds %d processes (%q), want the init and the runtime", n, procs)
		}
	case *v2group:
		want = map[string]string{
			filepath.Join(g.dir, "memory.max"):      "104857600",
			filepath.Join(g.dir, "memory.swap.max"): "0",
			filepath.Join(g.dir, "cpu.weight"):      fmt.Sprint(sharesToWeight(512)),
			filepath.Join(g.dir, "pids.max"):        "77",
		}
	}
	for file, w := range want {
		if got := read(file); got != w {
			t.Errorf("%s = %s, want %s", file, got, w)
		}
	}

	// The optional hard CPU cap, set once the runtime runs.
	if err := in.(interface{ SetCPULimit(float64) error }).SetCPULimit(0.5); err != nil {
		t.Fatal(err)
	}
	switch g := in.(*instance).cg.(type) {
	case *v1group:
		if got := read(filepath.Join(g.dir("cpu"), "cpu.cfs_quota_us")); got != "50000" {
			t.Errorf("cpu.cfs_quota_us = %s, want 50000", got)
		}
	case *v2group:
		if got := read(filepath.Join(g.dir, "cpu.max")); got != "50000 100000" {
			t.Errorf("cpu.max = %s, want 50000 100000", got)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLinuxCgroupV2Placement exercises the cgroup v2 code paths that need no
// controllers, on a hybrid host's unified mount: placement at clone
// (CLONE_INTO_CGROUP), cgroup.kill of leftovers, removal.
func TestLinuxCgroupV2Placement(t *testing.T) {
	requireRoot(t)
	const unified = "/sys/fs/cgroup/unified"
	if _, err := os.Stat(filepath.Join(unified, "cgroup.procs")); err != nil {
		t.Skipf("no hybrid unified cgroup mount at %s: %v", unified, err)
	}
	own, err := ownCgroups()
	if err != nil {
		t.Fatal(err)
	}
	h := &v2{root: unified, parent: filepath.Join("/", own[""], fmt.Sprintf("openfc-sandbox-test-%d-unified", os.Getpid())), noLimits: true}
	d := newDriver(t)
	v1h := d.cgroups
	d.cgroups = h
	t.Cleanup(func() {
		if err := h.removeParent(); err != nil {
			t.Error(err)
		}
		d.cgroups = v1h
	})

	in, stdout, _ := sandboxtest.Start(t, d, helperSpec("hang"))
	stdout.Expect(t, "ready")
	g := in.(*instance).cg.(*v2group)
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(string(b))); n != 2 {
		t.Errorf("the v2 group holds %d processes (%q), want the init and the runtime", n, b)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.dir); err == nil {
		t.Errorf("%s remains after Stop", g.dir)
	}

	// A leftover with a process in it goes when a driver starts.
	left, err := h.create("leftover", limits{})
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("/usr/bin/sleep", "100000")
	sleep.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: left.intoFD()}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill() }) // in case the test failed first
	if err := d.removeLeftovers(); err != nil {
		t.Fatal(err)
	}
	if err := sleep.Wait(); err == nil {
		t.Error("the leftover's process was not killed")
	}
	if _, err := os.Stat(left.(*v2group).dir); err == nil {
		t.Error("the leftover cgroup remains")
	}
}
