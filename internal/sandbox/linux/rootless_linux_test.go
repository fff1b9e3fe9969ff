package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// The rootless mode is tested for real, as an unprivileged user:
// TestRootless (root) copies this test binary and the test program into
// folders of uid rootlessUID and runs the conformance, escape and abuse
// tests there as that user, with envRootless set, so that newDriver makes
// rootless drivers. The TestRootlessNS tests run only there.

const (
	// envRootless is set in the unprivileged copy of the test binary.
	envRootless = "OPENFC_LINUX_TEST_ROOTLESS"
	// envRootlessFiles names the folder the root parent prepared for the
	// TestRootlessNS tests.
	envRootlessFiles = "OPENFC_LINUX_TEST_ROOTLESS_FILES"
	// envRootMarker names a root-only marker file the parent left in /root.
	envRootMarker = "OPENFC_LINUX_TEST_ROOT_MARKER"
	rootlessUID   = 10001
)

// rootlessMode reports whether this test binary is the unprivileged copy.
var rootlessMode = os.Getenv(envRootless) != ""

// rootlessTests are run by the unprivileged copy.
const rootlessTests = "^(TestLinuxConformance|TestLinuxDeferred.*|TestEscape.*|TestAbuse.*|TestLinuxMountsAndHostname|TestLinuxRootFS|TestLinuxDuplicateID|TestRootlessNS.*)$"

func skipRootless(t *testing.T, why string) {
	t.Helper()
	if rootlessMode {
		t.Skip(why)
	}
}

// noLimits says why d enforces no resource limits, or "".
func noLimits(d *Driver) string {
	if h, ok := d.cgroups.(*noCgroups); ok {
		return "a rootless driver without a delegated cgroup v2 subtree runs instances without limits: " + h.why
	}
	return ""
}

// requirePidsLimit skips a test that needs the pids limit where d has
// none. A rootless driver without cgroups has RLIMIT_NPROC instead, which
// the kernel enforces on any user but the host's root: it is checked here
// before any fork bomb is let loose.
func requirePidsLimit(t *testing.T, d *Driver) {
	t.Helper()
	if _, ok := d.cgroups.(*noCgroups); !ok {
		return
	}
	if os.Geteuid() == 0 {
		t.Skip("a rootless driver forced as root: the kernel does not enforce RLIMIT_NPROC, its pids limit, for the host's root")
	}
	spec := sandbox.Spec{Path: "/usr/bin/sh", Args: []string{"sh", "-c", "grep 'Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3"}, Env: []string{"PATH=/usr/bin:/bin"}, PidsLimit: 77}
	if got := attempt(t, d, spec); got != "77" {
		t.Fatalf("RLIMIT_NPROC in a rootless instance with PidsLimit 77 = %q: no pids limit", got)
	}
}

func requireLimits(t *testing.T, d *Driver) {
	t.Helper()
	if why := noLimits(d); why != "" {
		t.Skip("needs resource limits: " + why)
	}
}

func TestRootless(t *testing.T) {
	requireRoot(t)
	if rootlessMode {
		t.Skip("already the unprivileged run")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the tests as another, unprivileged user")
	}
	if err := UserNamespacesAllowed(); err != nil {
		t.Skipf("the kernel refuses unprivileged user namespaces: %v", err)
	}
	// Not t.TempDir: its parent folder is root's only.
	base, err := os.MkdirTemp("", "openfc-rootless-test-")
	mustDo(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	mustDo(t, os.Chmod(base, 0o755))
	own := func(p string, mode os.FileMode) {
		t.Helper()
		mustDo(t, os.Chmod(p, mode))
		mustDo(t, os.Chown(p, rootlessUID, rootlessUID))
	}
	exe, err := os.Executable()
	mustDo(t, err)
	bin := filepath.Join(base, "linux.test")
	copyFile(t, exe, bin, 0o755)
	code := filepath.Join(base, "code")
	mustDo(t, os.Mkdir(code, 0o755))
	own(code, 0o755)
	copyFile(t, filepath.Join(codeDir, sandboxtest.HelperName), filepath.Join(code, sandboxtest.HelperName), 0o755)
	own(filepath.Join(code, sandboxtest.HelperName), 0o755)
	tmp := filepath.Join(base, "tmp")
	mustDo(t, os.Mkdir(tmp, 0o700))
	own(tmp, 0o700)

	// For TestRootlessNSWriteRootOwned: a folder of the user's, holding
	// a file and a folder of root's.
	files := filepath.Join(base, "files")
	mustDo(t, os.Mkdir(files, 0o755))
	own(files, 0o755)
	mustDo(t, os.WriteFile(filepath.Join(files, "rootfile"), []byte("root's\n"), 0o644))
	mustDo(t, os.Mkdir(filepath.Join(files, "rootdir"), 0o755))
	// For TestRootlessNSHostMarkers: a marker only root may read, in /root.
	marker, err := os.CreateTemp("/root", "openfc-marker-")
	mustDo(t, err)
	t.Cleanup(func() { os.Remove(marker.Name()) })
	marker.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", rootlessTests, "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp,
		envRootless + "=1", envCodeDir + "=" + code, envRootlessFiles + "=" + files, envRootMarker + "=" + marker.Name(),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: rootlessUID, Gid: rootlessUID, Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL,
	}
	b, err := cmd.CombinedOutput()
	out := string(b)
	t.Logf("as uid %d:\n%s", rootlessUID, out)
	if err != nil {
		t.Fatalf("the rootless tests failed: %v", err)
	}
	for _, name := range []string{
		"TestLinuxConformance", "TestRootlessNSHostView", "TestRootlessNSReap", "TestRootlessNSWriteRootOwned",
		"TestRootlessNSHostMarkers", "TestRootlessNSBridgeRefused", "TestEscapeHostFilesystemHidden",
		"TestEscapeCapabilitiesAndUser", "TestEscapeNamespaces", "TestEscapeMount", "TestAbuseNoSurvivorAfterStop",
		"TestAbuseFillTmp", "TestEscapeSeeProcesses", "TestEscapeHostLoopback",
		"TestAbuseForkBombContained", "TestAbuseShellForkBombStopped",
	} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass as uid %d", name, rootlessUID)
		}
	}
	// The conformance subtests that need no limits ran, tcp (Dial through the
	// init) among them.
	for _, sub := range []string{"tcp", "unix_socket", "stop_graceful", "no_child_outlives_stop", "concurrent"} {
		if !strings.Contains(out, "--- PASS: TestLinuxConformance/"+sub+" ") {
			t.Errorf("TestLinuxConformance/%s did not pass as uid %d", sub, rootlessUID)
		}
	}
}

// TestRootlessNSHostView looks at a rootless instance from the host: its
// processes are the node's user, with no capability in the host's user
// namespace, and the instance's root is that user.
func TestRootlessNSHostView(t *testing.T) {
	skipUnlessRootless(t)
	d := newDriver(t)
	marker := fmt.Sprintf("hostview-%d-%d", os.Getpid(), time.Now().UnixNano())
	in, stdout, _ := sandboxtest.Start(t, d, helperSpec("spawn", marker))
	stdout.Expect(t, "spawned")
	pids := sandboxtest.HostProcesses(t, marker)
	if len(pids) != 2 {
		t.Fatalf("host processes with the marker: %v, want the runtime and its child", pids)
	}
	uid := fmt.Sprint(os.Geteuid())
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
		mustDo(t, err)
		status := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			status[k] = strings.Join(strings.Fields(v), " ")
		}
		for k, want := range map[string]string{
			"Uid": strings.Repeat(uid+" ", 3) + uid, "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
			"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2",
		} {
			if status[k] != want {
				t.Errorf("host /proc/%s/status %s = %q, want %q", pid, k, status[k], want)
			}
		}
		m, err := os.ReadFile(filepath.Join("/proc", pid, "uid_map"))
		mustDo(t, err)
		if f := strings.Fields(string(m)); strings.Join(f, " ") != "0 "+uid+" 1" {
			t.Errorf("uid_map of %s = %q, want the node's uid %s mapped to 0 only", pid, m, uid)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	mustDo(t, in.Stop(ctx))
}

// TestRootlessNSReap: an orphan that exits is reaped by the instance's PID 1.
func TestRootlessNSReap(t *testing.T) {
	skipUnlessRootless(t)
	d := newDriver(t)
	// The orphan records its pid and exits; its parent is gone already, so
	// only PID 1 can reap it: its /proc entry stays while it is a zombie.
	script := `(sh -c 'echo $$ > /tmp/pid; exit 0' &)
i=0
while [ $i -lt 1200 ]; do
  if [ -s /tmp/pid ] && [ ! -e /proc/$(cat /tmp/pid) ]; then echo reaped; exit 0; fi
  sleep 0.05; i=$((i+1))
done
echo "not reaped: $(cat /proc/$(cat /tmp/pid)/stat)"`
	spec := sandbox.Spec{Path: "/usr/bin/sh", Args: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}}
	if got := attempt(t, d, spec); got != "reaped" {
		t.Errorf("orphan: %q, want reaped", got)
	}
}

// TestRootlessNSWriteRootOwned: the instance's root is not the host's:
// root's files in a folder mounted read-write stay out of reach.
func TestRootlessNSWriteRootOwned(t *testing.T) {
	skipUnlessRootless(t)
	d := newDriver(t)
	files := os.Getenv(envRootlessFiles)
	spec := helperSpec("write", sandbox.SocketMount+"/rootfile")
	spec.SocketDir = files
	wantErr(t, "write root's file", attempt(t, d, spec), "EACCES")
	spec.Args = []string{sandboxtest.HelperName, "write", sandbox.SocketMount + "/rootdir/new"}
	wantErr(t, "write in root's folder", attempt(t, d, spec), "EACCES")
	// The test tests: the user's own folder is writable.
	spec.Args = []string{sandboxtest.HelperName, "write", sandbox.SocketMount + "/mine"}
	if got := attempt(t, d, spec); got != "ok" {
		t.Errorf("write in the user's own folder = %q, want ok", got)
	}
	if b, err := os.ReadFile(filepath.Join(files, "rootfile")); err != nil || string(b) != "root's\n" {
		t.Errorf("root's file now holds %q (%v)", b, err)
	}
	if _, err := os.Stat(filepath.Join(files, "rootdir", "new")); err == nil {
		t.Error("a file was created in root's folder")
	}
}

// TestRootlessNSHostMarkers: the host's /tmp and /root are not in the
// instance's view, not even the marker only root could read.
func TestRootlessNSHostMarkers(t *testing.T) {
	skipUnlessRootless(t)
	d := newDriver(t)
	wantErr(t, "read host /root marker", try(t, d, "read", os.Getenv(envRootMarker)), "ENOENT")
	wantErr(t, "ls /root", try(t, d, "ls", "/root"), "ENOENT")
}

// TestRootlessNSBridgeRefused: the bridge network needs root.
func TestRootlessNSBridgeRefused(t *testing.T) {
	skipUnlessRootless(t)
	d := newDriver(t)
	spec := helperSpec("hello")
	spec.Network = sandbox.NetworkBridge
	if in, err := d.Start(t.Context(), spec); !errors.Is(err, sandbox.ErrUnsupported) || !strings.Contains(fmt.Sprint(err), "needs root") {
		if in != nil {
			in.Stop(t.Context())
		}
		t.Errorf("Start with network bridge = %v, want ErrUnsupported saying it needs root", err)
	}
	if _, err := New(Options{StateDir: t.TempDir(), Rootless: true, Network: sandbox.NetworkBridge}); !errors.Is(err, sandbox.ErrUnsupported) {
		t.Errorf("New with network bridge = %v, want ErrUnsupported", err)
	}
	if _, err := New(Options{StateDir: t.TempDir(), Rootless: true, UID: 1000}); !errors.Is(err, sandbox.ErrUnsupported) {
		t.Errorf("New with a uid = %v, want ErrUnsupported", err)
	}
}

// TestRootlessNSDefault: an unprivileged process gets the
// rootless mode without asking.
func TestRootlessNSDefault(t *testing.T) {
	skipUnlessRootless(t)
	d, err := New(Options{StateDir: t.TempDir()})
	mustDo(t, err)
	defer d.Close()
	if !d.rootless {
		t.Error("New as an unprivileged user did not choose the rootless mode")
	}
	if got := attempt(t, d, helperSpec("hello")); got != "hello" {
		t.Errorf("hello = %q", got)
	}
}

func skipUnlessRootless(t *testing.T) {
	t.Helper()
	if !rootlessMode {
		t.Skip("runs as an unprivileged user, in TestRootless")
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	mustDo(t, err)
	mustDo(t, os.WriteFile(dst, b, mode))
}

// TestDelegationRoot finds the top of a user's delegated cgroup subtree in
// a fake hierarchy: folders owned by the user up to user@UID.service.
func TestDelegationRoot(t *testing.T) {
	requireRoot(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown the fake hierarchy")
	}
	root := t.TempDir()
	own := "/user.slice/user-1000.slice/user@1000.service/app.slice/openfc.service"
	mustDo(t, os.MkdirAll(filepath.Join(root, own), 0o755))
	for _, p := range []string{"/user.slice/user-1000.slice/user@1000.service", "/user.slice/user-1000.slice/user@1000.service/app.slice", own} {
		mustDo(t, os.Chown(filepath.Join(root, p), rootlessUID, rootlessUID))
	}
	if got, want := delegationRoot(root, own, rootlessUID), "/user.slice/user-1000.slice/user@1000.service"; got != want {
		t.Errorf("delegationRoot = %q, want %q", got, want)
	}
	if got := delegationRoot(root, own, rootlessUID+1); got != "" {
		t.Errorf("delegationRoot of another user = %q, want none", got)
	}
	if got := delegationRoot(root, "/", rootlessUID); got != "" {
		t.Errorf("delegationRoot of the root cgroup = %q, want none", got)
	}
}
