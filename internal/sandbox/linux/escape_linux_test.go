package linux

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"

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

// TestEscapeEtcNamesOnlySandboxUser checks the generated /etc/passwd and
// /etc/group: one entry each, the sandbox user's, whose IDs the runtime runs
// with; none of the host's users, nor those of a runtime root file system.
func TestEscapeEtcNamesOnlySandboxUser(t *testing.T) {
	d := newDriver(t)
	// A runtime root file system whose own passwd and group list more.
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"app", "etc"} {
		if err := os.Mkdir(filepath.Join(rootfs, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(codeDir, sandboxtest.HelperName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "app", "prog"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\nrootfsuser:x:1000:1000::/home/u:/bin/sh\n",
		"group":  "root:x:0:\nrootfsgroup:x:1000:\n",
	} {
		if err := os.WriteFile(filepath.Join(rootfs, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uid, gid := strconv.Itoa(int(d.uid)), strconv.Itoa(int(d.gid))
	for _, tc := range []struct {
		name string
		spec func(args ...string) sandbox.Spec
	}{
		{"host system folders", helperSpec},
		{"runtime rootfs", func(args ...string) sandbox.Spec {
			return sandbox.Spec{Path: "/app/prog", Args: append([]string{"prog"}, args...), RootFS: rootfs}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				path string
				want []string // the fields of its one line that name and number
			}{
				{"/etc/passwd", []string{"sandbox", "x", uid, gid}},
				{"/etc/group", []string{"sandbox", "x", gid}},
			} {
				got := attempt(t, d, tc.spec("cat", f.path))
				q, ok := strings.CutPrefix(got, "ok ")
				content, err := strconv.Unquote(q)
				if !ok || err != nil {
					t.Errorf("cat %s = %q", f.path, got)
					continue
				}
				lines := strings.Split(strings.TrimSpace(content), "\n")
				if len(lines) != 1 {
					t.Errorf("%s has %d entries, want the sandbox user's only: %q", f.path, len(lines), content)
					continue
				}
				fields := strings.Split(lines[0], ":")
				if len(fields) < len(f.want) || !slices.Equal(fields[:len(f.want)], f.want) {
					t.Errorf("%s = %q, want an entry beginning %s", f.path, content, strings.Join(f.want, ":"))
				}
			}
			// The runtime runs as the user passwd names.
			if got := attempt(t, d, tc.spec("status")); !strings.Contains(got+" ", "Uid="+uid+",") || !strings.Contains(got+" ", "Gid="+gid+",") {
				t.Errorf("status = %q, want uid %s and gid %s, those of /etc/passwd", got, uid, gid)
			}
		})
	}
}

// TestEscapeMinimalDev checks /dev: the devices the driver binds from the
// host (null, zero, full, random, urandom, tty: see doc.go), the /proc/self
// fd links and an empty shm mount point; none of the host's other entries
// (disks, kmsg, kvm, loop devices, ptmx...), and no way to add any.
func TestEscapeMinimalDev(t *testing.T) {
	d := newDriver(t)
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	want := []string{"shm"}
	for name := range links {
		want = append(want, name)
	}
	hostDev := map[string]string{}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		var st unix.Stat_t
		if err := unix.Stat("/dev/"+name, &st); err != nil {
			t.Logf("the host has no /dev/%s: %v", name, err)
			continue
		}
		hostDev[name] = fmt.Sprintf("ok char %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		want = append(want, name)
	}
	for _, name := range []string{"null", "zero", "random", "urandom"} {
		if hostDev[name] == "" {
			t.Errorf("the host has no /dev/%s: the test does not test it", name)
		}
	}
	slices.Sort(want)
	if got, w := try(t, d, "ls", "/dev"), "ok "+strings.Join(want, " "); got != w {
		t.Errorf("ls /dev = %q, want %q", got, w)
	}
	for name, w := range hostDev {
		if got := try(t, d, "stat", "/dev/"+name); got != w {
			t.Errorf("stat /dev/%s = %q, want the host's device: %q", name, got, w)
		}
	}
	for name, target := range links {
		if got, w := try(t, d, "stat", "/dev/"+name), "ok symlink "+target; got != w {
			t.Errorf("stat /dev/%s = %q, want %q", name, got, w)
		}
	}
	if got := try(t, d, "ls", "/dev/shm"); got != "ok " {
		t.Errorf("ls /dev/shm = %q, want it empty", got)
	}
	// The devices work: the runtime may read and write /dev/null.
	if got := try(t, d, "write", "/dev/null"); got != "ok" {
		t.Errorf("write /dev/null = %q, want ok", got)
	}
	wantErr(t, "create /dev/sda", try(t, d, "write", "/dev/sda"), "EROFS", "EACCES")
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

// TestEscapeDeniedSyscalls makes every system call of the seccomp deny list
// from inside a sandbox and expects EPERM. The arguments are harmless: where
// the kernel would run the call, it does nothing or fails on them. Calls
// marked bare get no EPERM when a process of an unprivileged user, without
// capabilities, makes them outside a sandbox (checked here too): for them
// seccomp is the only wall.
func TestEscapeDeniedSyscalls(t *testing.T) {
	d := newDriver(t)
	native, err := arch.GetInfo("")
	if err != nil {
		t.Fatal(err)
	}
	const atFDCWD = "-100"
	calls := []struct {
		name string
		args []string // integers, or "pid": the caller's own process ID
		bare bool
	}{
		// mounts and roots
		{"mount", []string{"0", "0", "0", "0", "0"}, true}, // EFAULT: no target
		{"umount2", []string{"0", "0"}, false},
		{"pivot_root", []string{"0", "0"}, false},
		{"chroot", []string{"0"}, true}, // EFAULT: the path is looked up first
		{"open_tree", []string{"-1", "0", "0"}, true},
		{"move_mount", []string{"-1", "0", "-1", "0", "0"}, false},
		{"fsopen", []string{"0", "0"}, false},
		{"fsconfig", []string{"-1", "0", "0", "0", "0"}, true},
		{"fsmount", []string{"-1", "0", "0"}, false},
		{"fspick", []string{"-1", "0", "0"}, false},
		{"mount_setattr", []string{"-1", "0", "0", "0", "0"}, true},
		// namespaces
		{"unshare", []string{"0"}, true},     // no flags: succeeds
		{"setns", []string{"-1", "0"}, true}, // EBADF
		// other processes
		{"ptrace", []string{"2", "0", "0", "0"}, true},                        // PTRACE_PEEKDATA of no one: ESRCH
		{"process_vm_readv", []string{"pid", "0", "0", "0", "0", "0"}, true},  // nothing from itself: succeeds
		{"process_vm_writev", []string{"pid", "0", "0", "0", "0", "0"}, true}, // nothing to itself: succeeds
		{"kcmp", []string{"pid", "pid", "0", "0", "0"}, true},                 // its fd 0 with itself
		{"pidfd_getfd", []string{"-1", "0", "0"}, true},                       // EBADF
		// the kernel itself
		{"kexec_load", []string{"0", "0", "0", "0"}, false},
		{"kexec_file_load", []string{"-1", "-1", "0", "0", "0"}, false},
		{"init_module", []string{"0", "0", "0"}, false},
		{"finit_module", []string{"-1", "0", "0"}, false},
		{"delete_module", []string{"0", "0"}, false},
		{"reboot", []string{"0", "0", "0", "0"}, false}, // no magic: EINVAL even with CAP_SYS_BOOT
		{"swapon", []string{"0", "0"}, false},
		{"swapoff", []string{"0"}, false},
		{"acct", []string{"0"}, false},
		{"quotactl", []string{"0", "0", "0", "0"}, true}, // no device: ENODEV
		{"syslog", []string{"10", "0", "0"}, false},      // SYSLOG_ACTION_SIZE_BUFFER, refused by kernel.dmesg_restrict
		{"iopl", []string{"0"}, true},                    // not above the current level: succeeds
		{"ioperm", []string{"0", "0", "0"}, true},        // an empty range: EINVAL
		{"settimeofday", []string{"0", "0"}, false},
		{"clock_settime", []string{"0", "0"}, true}, // EFAULT
		{"clock_adjtime", []string{"0", "0"}, true}, // EFAULT
		{"adjtimex", []string{"0"}, true},           // EFAULT
		{"vhangup", nil, false},
		{"uselib", []string{"0"}, true},
		{"sysfs", []string{"3"}, true}, // the number of file system types
		{"lookup_dcookie", []string{"0", "0", "0"}, true},
		{"open_by_handle_at", []string{"-1", "0", "0"}, false},
		{"name_to_handle_at", []string{atFDCWD, "0", "0", "0", "0"}, true}, // EFAULT
		// kernel interfaces with a record of exploits
		{"bpf", []string{"0", "0", "0"}, false},                        // kernel.unprivileged_bpf_disabled may refuse it
		{"perf_event_open", []string{"0", "0", "-1", "-1", "0"}, true}, // EFAULT: the attributes are read first
		{"userfaultfd", []string{"3"}, true},                           // UFFD_USER_MODE_ONLY and an unknown flag: EINVAL
		{"keyctl", []string{"0", "0", "0"}, true},
		{"add_key", []string{"0", "0", "0", "0", "0"}, true},              // EFAULT
		{"request_key", []string{"0", "0", "0", "0"}, true},               // EFAULT
		{"io_uring_setup", []string{"0", "0"}, false},                     // kernel.io_uring_disabled may refuse it
		{"io_uring_enter", []string{"-1", "0", "0", "0", "0", "0"}, true}, // EBADF
		{"io_uring_register", []string{"-1", "0", "0", "0"}, true},
	}
	var names []string
	for _, c := range calls {
		names = append(names, c.name)
	}
	for _, n := range deniedSyscalls {
		if !slices.Contains(names, n) {
			t.Errorf("%s is denied but not tested: add it to the table", n)
		}
	}
	control := unconfined(t)
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if !slices.Contains(deniedSyscalls, c.name) {
				t.Errorf("%s is not in deniedSyscalls", c.name)
			}
			nr, ok := native.SyscallNames[c.name]
			if !ok {
				t.Fatalf("no number for %s on %s", c.name, native.Name)
			}
			args := append([]string{"syscall", strconv.Itoa(nr)}, c.args...)
			wantErr(t, c.name+" in a sandbox", try(t, d, args...), "EPERM")
			got := control(args...)
			t.Logf("%s outside: %s", c.name, got)
			if c.bare && got == "err EPERM" {
				t.Errorf("%s outside a sandbox, without capabilities: %q; the test does not test seccomp", c.name, got)
			}
		})
	}
}

// unconfined returns a function that runs the test program outside any
// sandbox as an unprivileged user without capabilities, and returns the line
// it printed.
func unconfined(t *testing.T) func(args ...string) string {
	t.Helper()
	prog := filepath.Join(codeDir, sandboxtest.HelperName)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// Not t.TempDir: its parent folder is root's only.
		dir, err := os.MkdirTemp("", "openfc-unconfined-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(prog)
		if err != nil {
			t.Fatal(err)
		}
		prog = filepath.Join(dir, sandboxtest.HelperName)
		if err := os.WriteFile(prog, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: DefaultUID, Gid: DefaultGID, Groups: []uint32{}}
	}
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.Output()
		line, _, _ := strings.Cut(string(out), "\n")
		if err != nil || line == "" {
			t.Fatalf("%s %q outside a sandbox: %q, %v", prog, args, out, err)
		}
		return line
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
