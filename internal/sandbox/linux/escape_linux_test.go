package linux

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// The escape and abuse suite: each test runs the test program inside a
// sandbox and has it try one thing it must not be able to do.

// helperSpec runs the test program with args.
func helperSpec(args ...string) sandbox.Spec {
	return sandbox.Spec{
		Path:        sandboxtest.HelperPath,
		Args:        append([]string{sandboxtest.HelperName}, args...),
		CodeDir:     codeDir,
		MemoryBytes: 256 << 20,
		Env:         []string{"PATH=/usr/bin:/bin"},
	}
}

// attempt runs the test program with args in a new sandbox of d and returns
// the line it printed.
func attempt(t *testing.T, d *Driver, spec sandbox.Spec) string {
	t.Helper()
	in, stdout, stderr := sandboxtest.Start(t, d, spec)
	e := sandboxtest.Wait(t, in)
	lines := stdout.Rest()
	if len(lines) == 0 {
		t.Fatalf("%q printed nothing (exit %v, stderr %q)", spec.Args, e, stderr.Rest())
	}
	return lines[0]
}

func try(t *testing.T, d *Driver, args ...string) string {
	t.Helper()
	return attempt(t, d, helperSpec(args...))
}

// wantErr fails the test unless got reports one of the errors in want
// ("err EPERM").
func wantErr(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if got == "err "+w {
			return
		}
	}
	t.Errorf("%s: %q, want err %s", what, got, strings.Join(want, " or "))
}

func TestEscapeReadHostTmpMarker(t *testing.T) {
	d := newDriver(t)
	f, err := os.CreateTemp("/tmp", "openfc-marker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	f.WriteString("secret")
	f.Close()
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		t.Fatal(err)
	}
	// ENOENT, not EACCES: the host's /tmp is not there at all.
	wantErr(t, "read host /tmp marker", try(t, d, "read", f.Name()), "ENOENT")
}

func TestEscapeReadHostRootMarker(t *testing.T) {
	skipRootless(t, "an unprivileged test cannot write /root: TestRootlessNSHostMarkers reads the marker its root parent left there")
	d := newDriver(t)
	f, err := os.CreateTemp("/root", "openfc-marker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	f.Close()
	wantErr(t, "read host /root marker", try(t, d, "read", f.Name()), "ENOENT")
}

func TestEscapeHostFilesystemHidden(t *testing.T) {
	d := newDriver(t)
	want := []string{"code", "dev", "etc", "opt", "proc", "run", "tmp"}
	for _, name := range systemDirs {
		if _, err := os.Lstat("/" + name); err == nil {
			want = append(want, name)
		}
	}
	slices.Sort(want)
	spec := helperSpec("ls", "/")
	spec.SocketDir = t.TempDir()
	if got, w := try(t, d, "ls", "/"), "ok "+strings.Join(want, " "); got != w {
		t.Errorf("ls / = %q, want %q", got, w)
	}
	if got := attempt(t, d, spec); !strings.HasPrefix(got, "ok ") {
		t.Errorf("ls / with a socket dir = %q", got)
	}
	if got := try(t, d, "ls", "/run/openfc"); got != "ok " {
		t.Errorf("ls /run/openfc without a socket dir = %q, want nothing", got)
	}
	if got := try(t, d, "read", "/etc/passwd"); got != "ok" {
		t.Fatalf("read /etc/passwd = %q", got)
	}
	for _, p := range []string{"/home", "/root", "/var", "/sys", d.stateDir, codeDir} {
		wantErr(t, "ls "+p, try(t, d, "ls", p), "ENOENT")
	}
}

func TestEscapeWriteCode(t *testing.T) {
	d := newDriver(t)
	// A code folder everyone may write: only the read-only mount stops it.
	code := t.TempDir()
	if err := os.Chmod(code, 0o777); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(codeDir, sandboxtest.HelperName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(code, sandboxtest.HelperName), b, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := helperSpec("write", "/code/escaped")
	spec.CodeDir = code
	wantErr(t, "write /code", attempt(t, d, spec), "EROFS")
	if _, err := os.Stat(filepath.Join(code, "escaped")); err == nil {
		t.Error("the file written in /code reached the host")
	}
}

func TestEscapeWriteUsr(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "write /usr", try(t, d, "write", "/usr/openfc-escaped"), "EROFS", "EACCES")
	wantErr(t, "write /usr/bin/env", try(t, d, "write", "/usr/bin/env"), "EROFS", "EACCES")
	if _, err := os.Stat("/usr/openfc-escaped"); err == nil {
		os.Remove("/usr/openfc-escaped")
		t.Error("the file written in /usr reached the host")
	}
}

func TestEscapeWriteEtc(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "write /etc/passwd", try(t, d, "write", "/etc/passwd"), "EROFS", "EACCES")
	wantErr(t, "write /etc/new", try(t, d, "write", "/etc/openfc-escaped"), "EROFS", "EACCES")
	wantErr(t, "write /", try(t, d, "write", "/openfc-escaped"), "EROFS", "EACCES")
}

func TestEscapeMount(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "mount", try(t, d, "mount"), "EPERM")
	wantErr(t, "umount /code", try(t, d, "umount", "/code"), "EPERM")
	wantErr(t, "chroot", try(t, d, "chroot"), "EPERM")
}

func TestEscapePtrace(t *testing.T) {
	d := newDriver(t)
	// Its own child, same uid: only seccomp refuses this one.
	wantErr(t, "ptrace own child", try(t, d, "ptrace-child"), "EPERM")
	wantErr(t, "ptrace init", try(t, d, "ptrace", "1"), "EPERM")
}

func TestEscapeNamespaces(t *testing.T) {
	d := newDriver(t)
	for _, ns := range []string{"user", "net", "mount", "pid"} {
		wantErr(t, "unshare "+ns, try(t, d, "unshare", ns), "EPERM")
	}
	wantErr(t, "clone CLONE_NEWUSER", try(t, d, "clone-newuser"), "EPERM")
	wantErr(t, "setns", try(t, d, "setns"), "EPERM", "EACCES")
}

func TestEscapeClone3IsENOSYS(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "clone3", try(t, d, "clone3"), "ENOSYS")
}

func TestEscapeKernelInterfaces(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "bpf", try(t, d, "bpf"), "EPERM")
	wantErr(t, "keyctl", try(t, d, "keyctl"), "EPERM")
	if !rootlessMode { // there the runtime is uid 0 of its namespace already
		wantErr(t, "setuid 0", try(t, d, "setuid"), "EPERM")
	}
}

func TestEscapeRawSocket(t *testing.T) {
	d := newDriver(t)
	wantErr(t, "raw socket", try(t, d, "raw-socket"), "EPERM")
	wantErr(t, "packet socket", try(t, d, "packet-socket"), "EPERM")
}

func TestEscapeCapabilitiesAndUser(t *testing.T) {
	d := newDriver(t)
	got := try(t, d, "status")
	user := []string{"Uid=10000,10000,10000,10000", "Gid=10000,10000,10000,10000", "Groups= "}
	if rootlessMode {
		// The namespace's root, the node's user on the host (TestRootlessNSHostView).
		user = []string{"Uid=0,0,0,0", "Gid=0,0,0,0"}
	}
	for _, w := range append(user,
		"CapInh=0000000000000000", "CapPrm=0000000000000000", "CapEff=0000000000000000",
		"CapBnd=0000000000000000", "CapAmb=0000000000000000", "NoNewPrivs=1", "Seccomp=2",
	) {
		if !strings.Contains(got+" ", w) {
			t.Errorf("status %q lacks %q", got, w)
		}
	}
}

func TestEscapeHostLoopback(t *testing.T) {
	d := newDriver(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wantErr(t, "dial host loopback", try(t, d, "dial", l.Addr().String()), "ECONNREFUSED")
	// Nothing reached the listener: Accept returns at once with a timeout
	// unless a connection is queued.
	l.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Error("the sandbox reached the host's loopback")
	}
	// The host's other addresses: no route in a namespace with loopback only,
	// so nothing is sent.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ip, ok := a.(*net.IPNet)
		if !ok || ip.IP.IsLoopback() || ip.IP.To4() == nil {
			continue
		}
		wantErr(t, "dial "+ip.IP.String(), try(t, d, "dial", net.JoinHostPort(ip.IP.String(), "22")), "ENETUNREACH")
	}
}

func TestEscapeSeeProcesses(t *testing.T) {
	d := newDriver(t)
	// Another instance runs meanwhile; neither it nor the host may be seen.
	other, stdout, _ := sandboxtest.Start(t, d, helperSpec("hang"))
	stdout.Expect(t, "ready")
	if got := try(t, d, "ps"); got != "ok 1 2" {
		t.Errorf("processes seen = %q, want the init and itself: ok 1 2", got)
	}
	// It ignores SIGTERM: Stop kills it at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := other.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAbuseForkBombContained(t *testing.T) {
	d := newDriver(t)
	requirePidsLimit(t, d)
	marker := fmt.Sprintf("0.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	spec := helperSpec("forkbomb", marker)
	spec.PidsLimit = 64
	in, stdout, _ := sandboxtest.Start(t, d, spec)
	line := stdout.ExpectPrefix(t, "err EAGAIN after ")
	var n int
	fmt.Sscanf(strings.TrimPrefix(line, "err EAGAIN after "), "%d", &n)
	if n <= 0 || n >= 64 {
		t.Errorf("forked %d processes, want between 1 and 63 under pids.max 64", n)
	}
	if len(sandboxtest.HostProcesses(t, marker)) == 0 {
		t.Fatal("no forked process seen on the host: the test does not test")
	}
	// The node is still responsive: another sandbox starts and runs.
	if got := try(t, d, "hello"); got != "hello" {
		t.Errorf("another sandbox during the bomb printed %q", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := in.Wait(); !e.Killed {
		t.Errorf("Wait = %v, want Killed", e)
	}
	if pids := sandboxtest.HostProcesses(t, marker); len(pids) > 0 {
		t.Errorf("forked processes %v survived Stop", pids)
	}
}

func TestAbuseShellForkBombStopped(t *testing.T) {
	d := newDriver(t)
	requirePidsLimit(t, d)
	spec := sandbox.Spec{
		Path: "/usr/bin/sh",
		// The top-level shell never ends by itself (its loop forks
		// nothing), so only Stop can end the instance: with "wait" alone it
		// could exit 0 once the bomb hit the pids limit, before Stop.
		Args:        []string{"sh", "-c", "echo go; b() { b | b & }; b; while :; do wait; done"},
		MemoryBytes: 128 << 20,
		PidsLimit:   128,
	}
	in, stdout, _ := sandboxtest.Start(t, d, spec)
	stdout.Expect(t, "go")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := in.Wait(); !e.Killed {
		t.Errorf("Wait = %v, want Killed", e)
	}
	// Stop returned after the cgroup was removed, which needs it empty.
	var dir string
	switch g := in.(*instance).cg.(type) {
	case *v1group:
		dir = g.dir("pids")
	case *v2group:
		dir = g.dir
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the instance's cgroup %s still exists", dir)
	}
}

func TestAbuseMemoryOOMReported(t *testing.T) {
	d := newDriver(t)
	requireLimits(t, d)
	spec := helperSpec("alloc", "1024")
	spec.MemoryBytes = 32 << 20
	in, _, _ := sandboxtest.Start(t, d, spec)
	if e := sandboxtest.Wait(t, in); !e.OOMKilled || e.Signal != syscall.SIGKILL {
		t.Errorf("Wait = %+v, want OOMKilled", e)
	}
	// A sandbox that stays under its limit is not reported as OOM.
	spec = helperSpec("alloc", "8")
	spec.MemoryBytes = 64 << 20
	in, _, _ = sandboxtest.Start(t, d, spec)
	if e := sandboxtest.Wait(t, in); !e.Success() {
		t.Errorf("Wait = %+v, want exit 0", e)
	}
}

func TestAbuseFillTmp(t *testing.T) {
	d := newDriver(t)
	spec := helperSpec("filltmp")
	spec.TmpBytes = 8 << 20
	got := attempt(t, d, spec)
	var n int64
	if _, err := fmt.Sscanf(got, "err ENOSPC after %d", &n); err != nil || n > 8<<20 {
		t.Errorf("fill /tmp = %q, want ENOSPC after at most %d bytes", got, 8<<20)
	}
	if _, err := os.Stat("/tmp/fill"); err == nil {
		t.Error("the sandbox's /tmp/fill is on the host")
	}
}

func TestAbuseTmpCountsAgainstMemory(t *testing.T) {
	d := newDriver(t)
	requireLimits(t, d)
	spec := helperSpec("filltmp")
	spec.TmpBytes = 512 << 20
	spec.MemoryBytes = 48 << 20
	in, _, _ := sandboxtest.Start(t, d, spec)
	if e := sandboxtest.Wait(t, in); !e.OOMKilled {
		t.Errorf("Wait = %+v, want OOMKilled: tmpfs pages count against the memory limit", e)
	}
}

func TestAbuseNoSurvivorAfterStop(t *testing.T) {
	d := newDriver(t)
	// A daemon in its own session, then the runtime exits: the daemon must
	// go with the instance.
	marker := fmt.Sprintf("daemon-%d-%d", os.Getpid(), time.Now().UnixNano())
	in, stdout, _ := sandboxtest.Start(t, d, helperSpec("daemon", marker))
	stdout.Expect(t, "spawned")
	sandboxtest.Wait(t, in)
	if pids := sandboxtest.HostProcesses(t, marker); len(pids) > 0 {
		t.Errorf("daemon %v survived its instance", pids)
	}
	// The same, stopped while the runtime still runs.
	marker += "-stop"
	in, stdout, _ = sandboxtest.Start(t, d, helperSpec("spawn", marker))
	stdout.Expect(t, "spawned")
	if err := in.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if pids := sandboxtest.HostProcesses(t, marker); len(pids) > 0 {
		t.Errorf("child %v survived Stop", pids)
	}
}

func TestLinuxMountsAndHostname(t *testing.T) {
	requireRoot(t)
	d, err := New(Options{
		StateDir:     t.TempDir(),
		CgroupParent: fmt.Sprintf("openfc-sandbox-test-%d-mounts", os.Getpid()),
		MountPoints:  []string{"/var/runtime"},
		Bridge:       testBridge,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	layer := t.TempDir()
	if err := os.Chmod(layer, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "lib.txt"), []byte("layer"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, target, hostname string
		template               bool
	}{
		{"under opt", "/opt/layer", "", true},
		{"opt", "/opt", "", true},
		{"mount point", "/var/runtime", "", true},
		{"other target", "/data/layer", "", false},
		{"custom hostname", "/opt/layer", "fn-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			with := func(args ...string) sandbox.Spec {
				s := helperSpec(args...)
				s.Mounts = []sandbox.Mount{{Source: layer, Target: tc.target}}
				s.Hostname = tc.hostname
				return s
			}
			probe := with()
			if probe.Hostname == "" {
				probe.Hostname = defaultHostname
			}
			if got := d.fastOK(&probe); got != tc.template {
				t.Errorf("fastOK = %v, want %v", got, tc.template)
			}
			if got := attempt(t, d, with("read", tc.target+"/lib.txt")); got != "ok" {
				t.Errorf("read the layer: %q", got)
			}
			wantErr(t, "write the layer", attempt(t, d, with("write", tc.target+"/new")), "EROFS")
			wantErr(t, "write beside the layer", attempt(t, d, with("write", filepath.Dir(tc.target)+"/new")), "EROFS", "EACCES")
			want := tc.hostname
			if want == "" {
				want = defaultHostname
			}
			in, stdout, _ := sandboxtest.Start(t, d, with("info"))
			sandboxtest.Wait(t, in)
			lines := stdout.Rest()
			if len(lines) < 4 || lines[3] != "hostname="+want {
				t.Errorf("info = %q, want hostname=%s", lines, want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(layer, "new")); err == nil {
		t.Error("a write reached the layer on the host")
	}
}

func TestLinuxRootFS(t *testing.T) {
	d := newDriver(t)
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(rootfs, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(codeDir, sandboxtest.HelperName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "prog"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, template := range []bool{true, false} {
		d.noTemplate = !template
		spec := sandbox.Spec{Path: "/app/prog", Args: []string{"prog", "ls", "/"}, RootFS: rootfs}
		if got, want := attempt(t, d, spec), "ok app code dev etc opt proc run tmp"; got != want {
			t.Errorf("template %v: ls / = %q, want %q (the runtime root file system, not the host's)", template, got, want)
		}
		spec.Args = []string{"prog", "write", "/app/new"}
		wantErr(t, "write the rootfs", attempt(t, d, spec), "EROFS", "EACCES")
	}
}

func TestLinuxDuplicateID(t *testing.T) {
	d := newDriver(t)
	spec := helperSpec("hang")
	spec.ID = "same-id"
	in, stdout, _ := sandboxtest.Start(t, d, spec)
	stdout.Expect(t, "ready")
	if in2, err := d.Start(t.Context(), spec); err == nil {
		in2.Stop(t.Context())
		t.Fatal("a second instance with the same ID started")
	}
	// The first one is unharmed.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if e := in.Wait(); e.Signal != syscall.SIGKILL || !e.Killed {
		t.Errorf("Wait = %v, want killed by Stop", e)
	}
}
