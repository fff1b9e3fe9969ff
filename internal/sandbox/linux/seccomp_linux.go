package linux

import (
	"bytes"
	"encoding/binary"
	"fmt"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside a sandbox: they change mounts,
// namespaces, the kernel or other processes, or open kernel interfaces with
// a history of privilege escalations. Capabilities are dropped as well, so
// most of them would fail anyway; seccomp is the second wall.
var deniedSyscalls = []string{
	// mounts and roots
	"mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	// namespaces
	"unshare", "setns",
	// other processes
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	// the kernel itself
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "vhangup",
	"uselib", "sysfs", "lookup_dcookie", "open_by_handle_at", "name_to_handle_at",
	// kernel interfaces with a record of exploits
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
}

// cloneNamespaceFlags are the clone(2) flags that create namespaces.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// clone3Marker is the action go-seccomp-bpf assembles for clone3, rewritten
// afterwards to ERRNO(ENOSYS): the library's errno action is always EPERM,
// and EPERM from clone3 stops glibc (Python, Node) from falling back to
// clone when they start threads.
const clone3Marker = seccomp.ActionTrace

// seccompFilter assembles the filter the init installs before exec, as the
// raw bytes of a struct sock_filter array.
func seccompFilter() ([]byte, error) {
	prog, err := seccompProgram()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp filter: %w", err)
	}
	if len(raw) > 4096 {
		return nil, fmt.Errorf("assemble seccomp filter: %d instructions, more than 4096", len(raw))
	}
	var buf bytes.Buffer
	for _, r := range raw {
		// struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }
		_ = binary.Write(&buf, binary.NativeEndian, r) // a bytes.Buffer does not fail
	}
	return buf.Bytes(), nil
}

// seccompProgram is the filter as BPF instructions.
func seccompProgram() ([]bpf.Instruction, error) {
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno, Names: deniedSyscalls},
			{Action: seccomp.ActionErrno, NamesWithCondtions: []seccomp.NameWithConditions{{
				Name:       "clone",
				Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: cloneNamespaceFlags}},
			}}},
			{Action: clone3Marker, Names: []string{"clone3"}},
		},
	}
	insts, err := policy.Assemble()
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp policy: %w", err)
	}
	native, err := arch.GetInfo("")
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp policy: %w", err)
	}
	enosys := uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)
	rewritten := 0
	for i, in := range insts {
		if r, ok := in.(bpf.RetConstant); ok && r.Val == uint32(clone3Marker) {
			insts[i] = bpf.RetConstant{Val: enosys}
			rewritten++
		}
	}
	if rewritten != 1 {
		return nil, fmt.Errorf("assemble seccomp policy: %d clone3 returns, want 1", rewritten)
	}
	// go-seccomp-bpf lets system calls of another architecture through (its
	// arch check jumps to the default action): a 64-bit process can still
	// make 32-bit calls with int 0x80. Refuse them all first.
	return append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(native.ID), SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)},
	}, insts...), nil
}
