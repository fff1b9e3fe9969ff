package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// Paths inside every sandbox.
const (
	// CodeMount is where Spec.CodeDir appears, read-only.
	CodeMount = "/code"
	// SocketMount is where Spec.SocketDir appears, read-write.
	SocketMount = "/run/openfc"
	// SocketName is the name, in SocketMount, of the Unix socket the runtime
	// listens on when Spec.ListenAddr is empty.
	SocketName = "invoke.sock"
)

// Defaults applied to a zero Spec field.
const (
	DefaultPidsLimit = 1024
	DefaultTmpBytes  = 512 << 20
	DefaultCPUShares = 1024
)

// Network is the network an instance gets.
type Network string

const (
	// NetworkNone gives an instance its own network namespace with loopback
	// only: no egress, and nothing of the host's network reachable.
	NetworkNone Network = "none"
	// NetworkBridge adds a veth pair onto a host bridge with NAT and the
	// operator's egress policy.
	NetworkBridge Network = "bridge"
)

// Errors returned by drivers; check with errors.Is.
var (
	// ErrUnsupported means the driver cannot provide what the Spec asks for.
	ErrUnsupported = errors.New("sandbox: not supported by this driver")
	// ErrInvalidSpec means the Spec is malformed.
	ErrInvalidSpec = errors.New("sandbox: invalid spec")
	// ErrNotRunning is returned by Dial once the instance has ended.
	ErrNotRunning = errors.New("sandbox: instance not running")
)

// Mount is an extra read-only bind mount of a host folder (or file).
type Mount struct {
	Source string // host path
	Target string // absolute path inside the sandbox
}

// Spec describes one instance. Paths in Path, Dir and Mount.Target are
// inside the sandbox; CodeDir, SocketDir, RootFS and Mount.Source are on the
// host.
type Spec struct {
	// ID names the instance (cgroup names, logs). It must be unique among the
	// live instances of a node and match [A-Za-z0-9_.-]{1,64}; a random one is
	// generated when empty.
	ID string

	// Path is the program to run. Without a slash it is looked up in the PATH
	// of Env; a relative path with a slash is relative to Dir.
	Path string
	// Args is the full argument vector, argv[0] included; empty means {Path}.
	Args []string
	// Env is the complete environment ("KEY=value"); nothing of the host's
	// environment is inherited.
	Env []string
	// Dir is the working directory; default CodeMount when CodeDir is set,
	// else "/".
	Dir string

	// CodeDir is the host folder shown read-only at CodeMount; optional.
	CodeDir string
	// Mounts are extra read-only binds (layers under /opt, ...).
	Mounts []Mount
	// RootFS is a host folder holding a runtime's root file system, used
	// read-only instead of the host's /usr; optional.
	RootFS string

	// MemoryBytes is the memory limit, swap excluded (no swap is allowed);
	// 0 means no limit. /tmp pages count against it in the linux driver.
	MemoryBytes int64
	// CPUShares is the relative CPU weight under contention (cgroup v1
	// cpu.shares scale, 2-262144; converted for cgroup v2); 0 means
	// DefaultCPUShares. Idle CPU stays usable by anyone.
	CPUShares uint64
	// PidsLimit caps processes and threads; 0 means DefaultPidsLimit.
	PidsLimit int64
	// TmpBytes caps /tmp; 0 means DefaultTmpBytes.
	TmpBytes int64
	// Network is the instance's network; "" means NetworkNone.
	Network Network

	// SocketDir is a per-instance host folder shown read-write at
	// SocketMount; the runtime listens on SocketName there unless ListenAddr
	// is set. The driver may change its owner to the sandbox user.
	SocketDir string
	// ListenAddr is the TCP address ("0.0.0.0:9000", ":9000") a runtime
	// listens on inside its own network; Dial connects to its port on the
	// instance's loopback.
	ListenAddr string

	// Hostname is the instance's host name; default "openfc".
	Hostname string

	// Stdout and Stderr receive the instance's output; nil discards it. A
	// writer that is not an *os.File is fed by a goroutine the driver owns;
	// Wait returns only after all output has been written.
	Stdout io.Writer
	Stderr io.Writer

	// Deferred starts the sandbox without its program: namespaces, limits
	// and mounts are set up, and the instance waits until Exec (of the
	// Execer the instance then is) names the program; Path, Args, Env and
	// Dir must be empty. Until Exec, Dial fails, and Stop ends the instance
	// at once. A driver that cannot defer returns
	// ErrUnsupported.
	Deferred bool
}

// Program is what a deferred instance runs (see Spec.Deferred); its fields
// mean what Spec's of the same names do.
type Program struct {
	Path string
	Args []string
	Env  []string
	Dir  string
}

// Execer is implemented by the instances of drivers that can defer their
// program (Spec.Deferred).
type Execer interface {
	// Exec starts p in an instance started with Spec.Deferred, with every
	// restriction of the sandbox applied to it, and returns once p has been
	// exec'ed, as Driver.Start does. It may be called once; it fails on an
	// instance that was not deferred or has ended. If p cannot be started
	// the instance ends.
	Exec(ctx context.Context, p Program) error
}

// Exit is how an instance ended.
type Exit struct {
	// Code is the exit status of the runtime, or -1 when a signal ended it.
	Code int
	// Signal is the signal that ended the runtime, or 0.
	Signal syscall.Signal
	// OOMKilled reports whether the kernel killed a process of the
	// instance for going over its memory limit (read from the cgroup).
	OOMKilled bool
	// Killed reports whether Stop ended the instance.
	Killed bool
}

// Success reports whether the runtime exited with status 0 on its own.
func (e Exit) Success() bool {
	return e.Code == 0 && e.Signal == 0 && !e.OOMKilled && !e.Killed
}

// String describes the exit for logs: "exit 3", "signal killed (oom)".
func (e Exit) String() string {
	var b strings.Builder
	if e.Signal != 0 {
		fmt.Fprintf(&b, "signal %v", e.Signal)
	} else {
		fmt.Fprintf(&b, "exit %d", e.Code)
	}
	if e.OOMKilled {
		b.WriteString(" (oom)")
	}
	if e.Killed {
		b.WriteString(" (stopped)")
	}
	return b.String()
}

// Driver starts isolated instances. Implementations are safe for concurrent
// use.
type Driver interface {
	// Start starts an instance and returns once its program has been
	// exec'ed (not once it is ready to serve). ctx bounds the start only; the
	// instance lives until it exits or is stopped. On error nothing of the
	// instance is left behind.
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// Instance is one running sandbox. A crash, timeout or OOM of the code inside
// is reported by Wait as an Exit; errors are for failures of the platform
// itself.
type Instance interface {
	// ID returns Spec.ID (or the generated one).
	ID() string
	// Addr returns where the runtime accepts invocations: "unix:" and a host
	// path to a socket in Spec.SocketDir, or "tcp:" and host:port, reachable
	// only through Dial when the instance has its own network.
	Addr() string
	// Dial connects to Addr. For "tcp:" it opens the socket inside the
	// instance's network namespace.
	Dial(ctx context.Context) (net.Conn, error)
	// Wait blocks until the instance has ended and everything it ran is gone,
	// and returns how it ended. It may be called many times.
	Wait() Exit
	// Stop ends the instance: SIGTERM to the runtime, SIGKILL to everything
	// when ctx is done, then waits for the end and removes everything the
	// instance created. It is idempotent and safe to call after the instance
	// ended on its own; it returns an error only when clean-up failed.
	Stop(ctx context.Context) error
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Check reports the first problem of a Spec, wrapping ErrInvalidSpec, or nil.
// Drivers call it after filling in a generated ID.
func (s *Spec) Check() error {
	var errs []error
	if !idPattern.MatchString(s.ID) || s.ID == "." || s.ID == ".." {
		errs = append(errs, fmt.Errorf("id %q does not match [A-Za-z0-9_.-]{1,64}", s.ID))
	}
	if s.Deferred {
		if s.Path != "" || len(s.Args) > 0 || len(s.Env) > 0 || s.Dir != "" {
			errs = append(errs, errors.New("a deferred spec names no program: path, args, env and dir come with Exec"))
		}
	} else {
		errs = append(errs, checkProgram(Program{Path: s.Path, Dir: s.Dir})...)
	}
	for _, m := range s.Mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
			errs = append(errs, fmt.Errorf("mount %q on %q: paths must be absolute", m.Source, m.Target))
		}
	}
	for _, p := range []struct{ name, v string }{{"code dir", s.CodeDir}, {"socket dir", s.SocketDir}, {"rootfs", s.RootFS}} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			errs = append(errs, fmt.Errorf("%s %q is not absolute", p.name, p.v))
		}
	}
	if s.MemoryBytes < 0 || s.PidsLimit < 0 || s.TmpBytes < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	if s.CPUShares != 0 && (s.CPUShares < 2 || s.CPUShares > 262144) {
		errs = append(errs, fmt.Errorf("cpu shares %d outside 2-262144", s.CPUShares))
	}
	switch s.Network {
	case "", NetworkNone, NetworkBridge:
	default:
		errs = append(errs, fmt.Errorf("network %q is neither none nor bridge", s.Network))
	}
	if s.ListenAddr != "" {
		if _, _, err := net.SplitHostPort(s.ListenAddr); err != nil {
			errs = append(errs, fmt.Errorf("listen addr: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
	}
	return nil
}

// Check reports the first problem of a Program, wrapping ErrInvalidSpec, or
// nil.
func (p *Program) Check() error {
	if errs := checkProgram(*p); len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
	}
	return nil
}

func checkProgram(p Program) []error {
	var errs []error
	if p.Path == "" {
		errs = append(errs, errors.New("path is empty"))
	}
	if p.Dir != "" && !filepath.IsAbs(p.Dir) {
		errs = append(errs, fmt.Errorf("dir %q is not absolute", p.Dir))
	}
	return errs
}

// SplitAddr splits an Instance.Addr into a network for net.Dial ("unix",
// "tcp") and an address.
func SplitAddr(addr string) (network, address string, err error) {
	network, address, ok := strings.Cut(addr, ":")
	if !ok || (network != "unix" && network != "tcp") || address == "" {
		return "", "", fmt.Errorf("sandbox: bad address %q", addr)
	}
	return network, address, nil
}
