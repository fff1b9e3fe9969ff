package linux

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
)

// Rootless mode: the driver runs as an unprivileged user (or is told to
// act as one, Options.Rootless). Each instance's init is cloned in a new
// user namespace too, which maps the node's user to root inside, and does
// the same set-up as with root, as the root of that namespace: new PID,
// mount, network, IPC, UTS and cgroup namespaces, the whole root file
// system built from read-only binds and pivoted, a fresh /proc, /dev from
// binds, /code read-only, size-capped /tmp, no_new_privs, every capability
// dropped and seccomp before exec. The runtime runs as the namespace's
// uid 0, which is the node's user on the host and holds no capability
// there or inside.
//
// What it loses against root:
//   - resource limits, unless the user has a delegated cgroup v2 subtree
//     with the memory, cpu and pids controllers (systemd user delegation):
//     without one, instances run without memory or CPU limits and an OOM
//     is never reported (New logs a warning). Processes stay capped at
//     Spec.PidsLimit by RLIMIT_NPROC, which the kernel counts per user per
//     user namespace, so per instance (nprocLimit);
//   - the runtime has the node's uid on the host, not a uid of its own:
//     the sandbox's mounts are all it can reach, but what it may write
//     there (SocketDir) is the node user's;
//   - the bridge network (veths, nftables): instances have loopback only;
//   - start speed: namespaces cannot be prepared ahead, since those of an
//     instance must belong to its user namespace: each start builds its
//     root and creates its network namespace (docs/BENCHMARKS.md);
//   - Dial of a TCP runtime goes through the init, which creates the
//     socket in the instance's network namespace and passes it back.

// defaultRootlessStateDir is StateDir for an unprivileged user:
// $XDG_RUNTIME_DIR/openfc/sandbox, or a folder of the user's in the
// temporary folder.
func defaultRootlessStateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "openfc", "sandbox")
	}
	return filepath.Join(os.TempDir(), "openfc-"+strconv.Itoa(os.Geteuid()), "sandbox")
}

// UserNamespacesAllowed reports whether this kernel lets an unprivileged
// user create user namespaces, and why not: the rootless mode needs them.
func UserNamespacesAllowed() error {
	read := func(f string) (string, bool) {
		b, err := os.ReadFile(f)
		return strings.TrimSpace(string(b)), err == nil
	}
	if v, ok := read("/proc/sys/kernel/unprivileged_userns_clone"); ok && v == "0" {
		return errors.New("kernel.unprivileged_userns_clone is 0")
	}
	if v, ok := read("/proc/sys/user/max_user_namespaces"); ok && v == "0" {
		return errors.New("user.max_user_namespaces is 0")
	}
	if v, ok := read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); ok && v == "1" {
		return errors.New("kernel.apparmor_restrict_unprivileged_userns is 1")
	}
	return nil
}

// rootlessCgroups returns the delegated cgroup v2 subtree of the user when
// there is one that works (a probe cgroup with the memory, cpu and pids
// controllers can be created and removed under parent), else a hierarchy
// without limits, and in both cases why, for the start-up log.
func rootlessCgroups(parent string) (hierarchy, string) {
	none := func(why string) (hierarchy, string) { return &noCgroups{why: why}, why }
	b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	if err != nil {
		// A cgroup v1 (or hybrid) host: v1 cannot be delegated to a user.
		why := fmt.Sprintf("cgroup v1 host (no cgroup v2 mount at %s), and v1 cannot be delegated to a user", cgroupRoot)
		if u, err := os.ReadFile(filepath.Join(cgroupRoot, "unified", "cgroup.controllers")); err == nil {
			why += fmt.Sprintf("; its cgroup v2 mount %s has the controllers %q only", filepath.Join(cgroupRoot, "unified"), strings.TrimSpace(string(u)))
		}
		return none(why)
	}
	f := strings.Fields(string(b))
	if !contains(f, "memory") || !contains(f, "cpu") || !contains(f, "pids") {
		return none(fmt.Sprintf("cgroup v2 at %s has no memory, cpu and pids controllers (cgroup.controllers: %q)", cgroupRoot, strings.TrimSpace(string(b))))
	}
	h, err := probeV2(parent)
	if err == nil {
		return h, "delegated cgroup v2 subtree " + h.(*v2).parent
	}
	why := fmt.Sprintf("no delegated cgroup v2 subtree writable by uid %d: %v", os.Geteuid(), err)
	// The node's own cgroup holds the node, so no controller can be
	// enabled below it (no internal processes): try under the top of the
	// subtree delegated to this user (systemd: user@UID.service), which
	// holds none.
	own, oerr := ownCgroups()
	if filepath.IsAbs(parent) || oerr != nil {
		return none(why)
	}
	top := delegationRoot(cgroupRoot, own[""], os.Geteuid())
	if top == "" || top == filepath.Clean("/"+own[""]) {
		return none(why)
	}
	h, err = probeV2(filepath.Join(top, parent))
	if err != nil {
		return none(why + fmt.Sprintf("; under %s: %v", top, err))
	}
	return h, "delegated cgroup v2 subtree " + h.(*v2).parent
}

// probeV2 returns the v2 hierarchy under parent once a probe cgroup with
// the memory, cpu and pids controllers could be made and removed there.
func probeV2(parent string) (hierarchy, error) {
	h, err := newHierarchy(parent, 2)
	if err != nil {
		return nil, err
	}
	g, err := h.create("probe-"+randomID(), limits{cpuShares: sandbox.DefaultCPUShares, pids: sandbox.DefaultPidsLimit})
	if err != nil {
		_ = h.removeParent() // made empty by the failed create, if at all
		return nil, err
	}
	if err := g.remove(); err != nil {
		return nil, err
	}
	return h, nil
}

// delegationRoot returns the topmost cgroup (a path from the hierarchy's
// root) among own and its ancestors whose folders under root all belong to
// uid: the top of the subtree delegated to that user, or "" when own is not
// the user's.
func delegationRoot(root, own string, uid int) string {
	top := ""
	for p := filepath.Clean("/" + own); p != "/"; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(root, p), &st); err != nil || int(st.Uid) != uid {
			break
		}
		top = p
	}
	return top
}

// noCgroups is the hierarchy of a rootless driver without a delegated
// cgroup subtree: instances run without limits. Nothing outlives an
// instance all the same: its PID namespace dies with its init. It keeps
// the live instance ids, which a cgroup folder would make unique.
type noCgroups struct {
	why  string // why there are no limits
	mu   sync.Mutex
	live map[string]bool
}

func (h *noCgroups) create(id string, _ limits) (group, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live[id] {
		return nil, fmt.Errorf("instance %s: %w", id, fs.ErrExist)
	}
	if h.live == nil {
		h.live = map[string]bool{}
	}
	h.live[id] = true
	return &noGroup{h: h, id: id}, nil
}
func (*noCgroups) leftovers() ([]group, error) { return nil, nil }
func (*noCgroups) version() int                { return 0 }
func (*noCgroups) removeParent() error         { return nil }

type noGroup struct {
	h  *noCgroups
	id string
}

func (*noGroup) place(int) error           { return nil }
func (*noGroup) intoFD() int               { return -1 }
func (*noGroup) oomKills() (uint64, error) { return 0, nil }
func (*noGroup) kill() error               { return nil }
func (g *noGroup) name() string            { return g.id }
func (g *noGroup) remove() error {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	delete(g.h.live, g.id)
	return nil
}
func (g *noGroup) setCPULimit(float64) error {
	return fmt.Errorf("cpu limit of %s: %w: rootless mode without a delegated cgroup", g.id, sandbox.ErrUnsupported)
}

// userAttr sets the clone flags and maps of a rootless init: a new user
// namespace (and, as the namespaces made ahead belong to the node's, a new
// network and mount namespace) mapping the node's user and group to root.
func userAttr(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWNS
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	attr.GidMappingsEnableSetgroups = false
}

// dialPatience bounds the wait for the init's socket when Dial's context
// has no deadline: the init answers at once unless it is gone.
const dialPatience = 30 * time.Second

// controlPair returns the two ends of the socket a rootless init serves
// TCP sockets on: the driver's, as a *net.UnixConn, and the init's.
func controlPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "openfc-control")
	defer ours.Close() // FileConn made its own copy
	c, err := net.FileConn(ours)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "openfc-control-init"), nil
}

// dialThroughInit connects to address (host:port on the instance's
// loopback) with a socket the init created in the instance's network
// namespace: an unprivileged driver cannot enter it.
func (in *instance) dialThroughInit(ctx context.Context, address string) (net.Conn, error) {
	ap, err := net.ResolveTCPAddr("tcp", address)
	if err != nil {
		return nil, err
	}
	fd, err := in.socketFromInit(ctx, ap.IP.To4() == nil)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	var sa unix.Sockaddr
	if ip4 := ap.IP.To4(); ip4 != nil {
		s := &unix.SockaddrInet4{Port: ap.Port}
		copy(s.Addr[:], ip4)
		sa = s
	} else {
		s := &unix.SockaddrInet6{Port: ap.Port}
		copy(s.Addr[:], ap.IP.To16())
		sa = s
	}
	f := os.NewFile(uintptr(fd), "tcp:"+address) // non-blocking: pollable
	defer f.Close()                              // FileConn makes its own copy
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: ap, Err: os.NewSyscallError("connect", err)}
	} else if err == unix.EINPROGRESS {
		stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) }) // wakes the wait below
		defer stop()
		rc, err := f.SyscallConn()
		if err != nil {
			return nil, err
		}
		var cerr error
		werr := rc.Write(func(fd uintptr) bool {
			v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
			switch {
			case err != nil:
				cerr = err
			case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
				return false
			case v != 0:
				cerr = unix.Errno(v)
			default:
				if _, err := unix.Getpeername(int(fd)); err != nil {
					return false // not connected yet
				}
			}
			return true
		})
		if werr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, werr
		}
		if cerr != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: ap, Err: os.NewSyscallError("connect", cerr)}
		}
	}
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// socketFromInit asks the init for a TCP socket (IPv6 when v6) and returns
// its fd.
func (in *instance) socketFromInit(ctx context.Context, v6 bool) (int, error) {
	in.ctlMu.Lock()
	defer in.ctlMu.Unlock()
	if in.ctl == nil {
		return -1, sandbox.ErrNotRunning
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(dialPatience)
	}
	stop := context.AfterFunc(ctx, func() { _ = in.ctl.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := in.ctl.SetDeadline(dl); err != nil {
		return -1, err
	}
	req := []byte{4}
	if v6 {
		req[0] = 6
	}
	if _, err := in.ctl.Write(req); err != nil {
		return -1, ctlErr(ctx, err)
	}
	var errno [4]byte
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := in.ctl.ReadMsgUnix(errno[:], oob)
	if err != nil {
		return -1, ctlErr(ctx, err)
	}
	if n == 0 {
		return -1, sandbox.ErrNotRunning // the init has gone
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, fmt.Errorf("socket from init: %w", err)
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil && len(fds) == 1 {
			return fds[0], nil
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if e := unix.Errno(binary.NativeEndian.Uint32(errno[:])); e != 0 {
		return -1, fmt.Errorf("socket from init: %w", e)
	}
	return -1, errors.New("socket from init: no socket in the answer")
}

func ctlErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return sandbox.ErrNotRunning
	}
	return fmt.Errorf("socket from init: %w", err)
}

// checkRootless rejects options a rootless driver cannot honour.
func (d *Driver) checkRootless(opts Options) error {
	if opts.Network == sandbox.NetworkBridge {
		return fmt.Errorf("network bridge needs root (veths, nftables); rootless instances have loopback only: %w", sandbox.ErrUnsupported)
	}
	if opts.UID != 0 || opts.GID != 0 {
		return fmt.Errorf("uid %d gid %d: the runtime of a rootless instance is its namespace's root, mapped to the node's user: %w", opts.UID, opts.GID, sandbox.ErrUnsupported)
	}
	if opts.CgroupVersion == 1 {
		return fmt.Errorf("cgroup v1 cannot be delegated to a user: %w", sandbox.ErrUnsupported)
	}
	if err := UserNamespacesAllowed(); err != nil {
		return fmt.Errorf("unprivileged user namespaces refused by the kernel: %s: %w", err, sandbox.ErrUnsupported)
	}
	return nil
}

// nprocLimit is the RLIMIT_NPROC a rootless init sets for its instance:
// Spec.PidsLimit. Each instance is the only user of its user namespace,
// where the kernel counts processes (and threads) per user, so the limit
// is the instance's own, as pids.max would be; it is what contains a fork
// bomb without a pids cgroup. The kernel does not enforce it for the
// host's root (a rootless mode forced as root) or with CAP_SYS_RESOURCE.
func (d *Driver) nprocLimit(spec *sandbox.Spec) uint32 {
	if !d.rootless || spec.PidsLimit <= 0 {
		return 0
	}
	return uint32(min(spec.PidsLimit, 1<<31))
}
