package linux

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestInitBinaryUpToDate fails when initc/init.c changed without go generate.
func TestInitBinaryUpToDate(t *testing.T) {
	src, err := os.ReadFile("initc/init.c")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("initc/init.c.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	if got := hex.EncodeToString(sum[:]); got != strings.TrimSpace(string(want)) {
		t.Errorf("initc/init.c has sha256 %s, init.bin was built from %s: run go generate", got, strings.TrimSpace(string(want)))
	}
	if len(initBinary) == 0 || string(initBinary[:4]) != "\x7fELF" {
		t.Error("the embedded init is not an ELF binary")
	}
}

// TestSeccompFilter runs the assembled filter on system calls.
func TestSeccompFilter(t *testing.T) {
	prog, err := seccompProgram()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		kill   = unix.SECCOMP_RET_KILL_PROCESS
	)
	native := uint32(unix.AUDIT_ARCH_X86_64)
	if runtime.GOARCH == "arm64" {
		native = unix.AUDIT_ARCH_AARCH64
	}
	tests := []struct {
		name string
		arch uint32
		nr   uint32
		arg0 uint64
		want uint32
	}{
		{"read", native, unix.SYS_READ, 0, allow},
		{"execve", native, unix.SYS_EXECVE, 0, allow},
		{"mount", native, unix.SYS_MOUNT, 0, eperm},
		{"unshare", native, unix.SYS_UNSHARE, unix.CLONE_NEWUSER, eperm},
		{"ptrace", native, unix.SYS_PTRACE, 0, eperm},
		{"bpf", native, unix.SYS_BPF, 0, eperm},
		{"clone thread", native, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND, allow},
		{"clone fork", native, unix.SYS_CLONE, uint64(unix.SIGCHLD), allow},
		{"clone newuser", native, unix.SYS_CLONE, unix.CLONE_NEWUSER | uint64(unix.SIGCHLD), eperm},
		{"clone newnet", native, unix.SYS_CLONE, unix.CLONE_NEWNET, eperm},
		{"clone3", native, unix.SYS_CLONE3, 0, enosys},
		{"other arch", unix.AUDIT_ARCH_I386, 21 /* i386 mount */, 0, kill},
	}
	if native == unix.AUDIT_ARCH_X86_64 {
		tests = append(tests, struct {
			name string
			arch uint32
			nr   uint32
			arg0 uint64
			want uint32
		}{"x32 abi", native, 0x40000000 | unix.SYS_READ, 0, enosys})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// struct seccomp_data as the kernel lays it out (little endian),
			// written so that the VM's big-endian 32-bit loads read the same
			// values: each 32-bit word in big-endian at its native offset.
			data := make([]byte, 64)
			binary.BigEndian.PutUint32(data[0:], tt.nr)
			binary.BigEndian.PutUint32(data[4:], tt.arch)
			binary.BigEndian.PutUint32(data[16:], uint32(tt.arg0))
			binary.BigEndian.PutUint32(data[20:], uint32(tt.arg0>>32))
			got, err := vm.Run(data)
			if err != nil {
				t.Fatal(err)
			}
			if uint32(got) != tt.want {
				t.Errorf("filter(%s) = %#x, want %#x", tt.name, uint32(got), tt.want)
			}
		})
	}
}

// TestLinuxRemovesLeftovers leaves an instance cgroup with a process in it,
// as a node that crashed would, and checks that New kills and removes it.
func TestLinuxRemovesLeftovers(t *testing.T) {
	requireRoot(t)
	parent := "openfc-sandbox-test-leftover-" + strings.TrimPrefix(t.TempDir(), os.TempDir())
	parent = strings.ReplaceAll(parent, "/", "")
	old, err := New(Options{StateDir: t.TempDir(), CgroupParent: parent, Bridge: testBridge})
	if err != nil {
		t.Fatal(err)
	}
	g, err := old.cgroups.create("leftover", limits{memoryBytes: 64 << 20, cpuShares: 1024, pids: 16})
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("/usr/bin/sleep", "100000")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill() }) // in case New did not
	if err := g.place(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// The old driver "crashes": its resources go, its cgroups stay.
	old.nets.close()
	old.init.Close()
	old.hostNet.Close()
	for _, f := range old.templates {
		f.Close()
	}

	d := newDriverParent(t, parent)
	err = sleep.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("leftover process ended with %v, want killed", err)
	}
	if left, err := d.cgroups.leftovers(); err != nil || len(left) != 0 {
		t.Errorf("leftovers after New = %d, %v; want none", len(left), err)
	}
	if v, ok := g.(*v1group); ok {
		if _, err := os.Stat(v.dir("memory")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover memory cgroup: %v", err)
		}
	}
}

// The init's memfd is exec'd by its /proc/self/fd path after the child's
// ExtraFiles took fds 3, 4, 5...: it must sit above them. (On a node whose
// memfd got fd 5, every start failed with "fork/exec /proc/self/fd/5:
// permission denied": fd 5 had become another file.)
func TestInitMemfdAboveExtraFiles(t *testing.T) {
	f, err := initMemfd()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fd := int(f.Fd()); fd < minInitFd {
		t.Errorf("init memfd is fd %d, want >= %d (above any ExtraFiles)", fd, minInitFd)
	}
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("init memfd flags = %#x, %v: want close-on-exec", flags, err)
	}
}
