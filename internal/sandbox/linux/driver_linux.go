package linux

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
)

// Defaults of Options.
const (
	DefaultStateDir     = "/run/openfc/sandbox"
	DefaultCgroupParent = "openfc-sandbox"
	DefaultUID          = 10000
	DefaultGID          = 10000
)

// Options configures a Driver. The zero value is usable.
type Options struct {
	// Logger receives lifecycle logs; nil discards them.
	Logger *slog.Logger
	// StateDir holds the empty folder each sandbox mounts its root on (in
	// its own mount namespace: the host never sees those mounts). Default
	// DefaultStateDir.
	StateDir string
	// CgroupParent is the cgroup under which instance cgroups are created:
	// relative to the node's own cgroup (the default, DefaultCgroupParent), or
	// absolute from the hierarchy's root. Everything under it belongs to
	// this driver: New removes what a previous run left there, so two nodes
	// on one machine need different parents.
	CgroupParent string
	// CgroupVersion forces cgroup v1 or v2; 0 picks v2 when its memory, cpu
	// and pids controllers are available, else v1.
	CgroupVersion int
	// ParentCPUShares is the CPU weight (cgroup v1 cpu.shares scale) of the
	// cgroup holding all instances, against the node's other processes,
	// each of whose threads weighs 1024; 0 leaves the default (1024, one
	// thread's worth). Instances share the parent's weight by their own
	// CPUShares.
	ParentCPUShares uint64
	// UID and GID run the runtime; default DefaultUID and DefaultGID. Only
	// this user is in the sandbox's /etc/passwd.
	UID, GID uint32
	// MountPoints are absolute folders created empty in the shared root, so
	// that Spec.Mounts may target them and still copy the prepared template
	// (a mount elsewhere, other than under /opt, makes every start build
	// the whole root: about 2 ms more). /opt is always one.
	MountPoints []string

	// Network is the node's mode for instances with Internet access:
	// sandbox.NetworkBridge sets up the bridge, the nftables table and the
	// pool of veths now, in New; otherwise (the default, none) that happens
	// on the first Start of a Spec with Network bridge, which then pays for
	// its veth. Instances whose Spec says none always get loopback only.
	Network sandbox.Network
	// Bridge names the host bridge of bridge-mode instances and the inet
	// nftables table of their NAT and egress policy; default DefaultBridge.
	// The driver owns both: New removes a previous run's ports and table,
	// Close removes them and the bridge. Two nodes on one machine need
	// different bridges and subnets.
	Bridge string
	// Subnet is the private IPv4 subnet of bridge-mode instances (the
	// bridge takes its first address); default DefaultSubnet.
	Subnet netip.Prefix
	// EgressAllow lists destinations bridge-mode instances may reach although
	// the egress policy denies them: private ranges, link-local, the
	// node's own addresses, other instances.
	EgressAllow []netip.Prefix

	// Rootless runs instances in user namespaces of their own, as an
	// unprivileged node must (rootless_linux.go); New sets it when the
	// process is not root. Resource limits need a delegated cgroup v2
	// subtree, the bridge network is refused, and UID and GID must be
	// zero: the runtime is the namespace's root, the node's user on the
	// host. StateDir defaults to $XDG_RUNTIME_DIR/openfc/sandbox.
	Rootless bool
}

// Driver starts instances isolated by namespaces, cgroups, seccomp and a
// read-only root.
type Driver struct {
	log      *slog.Logger
	stateDir string
	rootDir  string
	cgroups  hierarchy
	filter   []byte
	init     *os.File // memfd holding the init binary
	uid, gid uint32
	hostNet  *os.File // the node's network namespace, for Dial
	nets     *netPool

	bridgeCfg bridgeConfig
	bridgeMu  sync.Mutex // guards bridge
	bridge    *bridgeNet // nil until bridge mode is first used

	noTemplate  bool     // tests: always build the whole root
	rootless    bool     // Options.Rootless: user namespaces, see rootless_linux.go
	mountPoints []string // Options.MountPoints and /opt, cleaned

	// mu guards templates.
	mu        sync.Mutex
	templates map[string]*os.File // rootfs ("" for the host's) → template mount namespace
}

var _ sandbox.Driver = (*Driver)(nil)

// New checks that the machine can run sandboxes (root, cgroups), assembles
// the seccomp filter, and removes what a previous run left behind: instance
// cgroups under CgroupParent and their processes.
func New(opts Options) (*Driver, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		log:      log.With("component", "sandbox", "driver", "linux"),
		stateDir: opts.StateDir,
		uid:      opts.UID,
		gid:      opts.GID,
		rootless: opts.Rootless || os.Geteuid() != 0,
	}
	if d.rootless {
		if err := d.checkRootless(opts); err != nil {
			return nil, fmt.Errorf("sandbox driver linux: rootless: %w", err)
		}
		if os.Geteuid() == 0 {
			d.log.Warn("rootless sandbox mode as root: instances' root is the host's uid 0 (without capabilities); run openfc as an unprivileged user instead")
		}
	}
	if d.stateDir == "" {
		d.stateDir = DefaultStateDir
		if d.rootless {
			d.stateDir = defaultRootlessStateDir()
		}
	}
	if d.uid == 0 && !d.rootless {
		d.uid = DefaultUID
	}
	if d.gid == 0 && !d.rootless {
		d.gid = DefaultGID
	}
	d.mountPoints = []string{"/opt"}
	for _, p := range opts.MountPoints {
		p = filepath.Clean(p)
		if !filepath.IsAbs(p) || reserved(p) || p == sandbox.CodeMount {
			return nil, fmt.Errorf("sandbox driver linux: mount point %q: %w", p, sandbox.ErrInvalidSpec)
		}
		if !slices.Contains(d.mountPoints, p) {
			d.mountPoints = append(d.mountPoints, p)
		}
	}
	switch opts.Network {
	case "", sandbox.NetworkNone, sandbox.NetworkBridge:
	default:
		return nil, fmt.Errorf("sandbox driver linux: network %q is neither none nor bridge: %w", opts.Network, sandbox.ErrInvalidSpec)
	}
	d.bridgeCfg = bridgeConfig{name: opts.Bridge, subnet: opts.Subnet, allow: slices.Clone(opts.EgressAllow), stateDir: d.stateDir}
	if err := d.bridgeCfg.check(); err != nil {
		return nil, fmt.Errorf("sandbox driver linux: %w: %w", err, sandbox.ErrInvalidSpec)
	}
	parent := opts.CgroupParent
	if parent == "" {
		parent = DefaultCgroupParent
	}
	var err error
	if d.rootless {
		var why string
		d.cgroups, why = rootlessCgroups(parent)
		if d.cgroups.version() == 0 {
			pids := "processes capped by RLIMIT_NPROC"
			if os.Geteuid() == 0 {
				pids = "no process cap either (RLIMIT_NPROC does not bind root)"
			}
			d.log.Warn("rootless sandboxes run WITHOUT memory and CPU limits ("+pids+"), and OOM kills are not reported: "+why,
				"hint", "give the user a delegated cgroup v2 subtree (systemd: Delegate=yes) or run openfc as root")
		} else {
			d.log.Info("rootless sandboxes limited by a " + why)
		}
	} else if d.cgroups, err = newHierarchy(parent, opts.CgroupVersion); err != nil {
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	switch h := d.cgroups.(type) {
	case *v1:
		h.parentShares = opts.ParentCPUShares
	case *v2:
		h.parentShares = opts.ParentCPUShares
	}
	if d.filter, err = seccompFilter(); err != nil {
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	d.rootDir = filepath.Join(d.stateDir, "root")
	if err := os.MkdirAll(d.rootDir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	if d.hostNet, err = os.Open("/proc/thread-self/ns/net"); err != nil {
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	if d.init, err = initMemfd(); err != nil {
		d.hostNet.Close()
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	d.templates = map[string]*os.File{}
	if d.rootless {
		// Namespaces made ahead would belong to the node's user namespace,
		// which no instance's init could enter: each makes its own.
		d.noTemplate = true
		if err := d.removeLeftovers(); err != nil {
			d.Close()
			return nil, fmt.Errorf("sandbox driver linux: %w", err)
		}
		d.log.Info("sandbox driver ready", "mode", "rootless", "cgroup_version", d.cgroups.version(), "state_dir", d.stateDir)
		return d, nil
	}
	d.nets = newNetPool(d.hostNet, d.log)
	if err := d.removeLeftovers(); err != nil {
		d.Close()
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	if opts.Network == sandbox.NetworkBridge {
		if _, err := d.bridgeNet(); err != nil {
			d.Close()
			return nil, fmt.Errorf("sandbox driver linux: %w", err)
		}
	}
	// Build the template of the host root now, off the first cold start.
	if _, err := d.template(""); err != nil {
		d.Close()
		return nil, fmt.Errorf("sandbox driver linux: %w", err)
	}
	d.log.Info("sandbox driver ready", "cgroup_version", d.cgroups.version(), "state_dir", d.stateDir)
	return d, nil
}

// Close releases the driver's resources and removes the parent cgroup.
// Stop every instance first: Close fails (and leaves the parent) while
// instance cgroups remain.
func (d *Driver) Close() error {
	if d.nets != nil {
		d.nets.close()
	}
	var errs []error
	d.bridgeMu.Lock()
	if d.bridge != nil {
		errs = append(errs, d.bridge.close())
		d.bridge = nil
	}
	d.bridgeMu.Unlock()
	errs = append(errs, d.init.Close(), d.hostNet.Close(), d.cgroups.removeParent())
	d.mu.Lock()
	for _, f := range d.templates {
		errs = append(errs, f.Close())
	}
	d.templates = nil
	d.mu.Unlock()
	return errors.Join(errs...)
}

// template returns the mount namespace holding the shared root of rootfs,
// building it on first use: a template init builds the root as an instance
// would, the driver keeps its mount namespace open and kills it. Instances
// then copy that namespace (unshare) and add their own mounts, which is
// cheaper than building and pivoting a root each time (BenchmarkSandboxStart).
// The namespace lives in no host folder: closing the fd frees it.
func (d *Driver) template(rootfs string) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.templates[rootfs]; ok {
		return f, nil
	}
	if d.templates == nil {
		return nil, errors.New("driver closed")
	}
	ops, err := d.sharedOps(rootfs)
	if err != nil {
		return nil, err
	}
	cfg := initConfig{root: d.rootDir, dir: "/", ops: append(ops, hostsOps(defaultHostname)...), template: true, uid: d.uid, gid: d.gid}
	config, err := cfg.encode()
	if err != nil {
		return nil, err
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	repR, repW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer repR.Close()
	defer repW.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/" + strconv.Itoa(int(d.init.Fd())),
		Args:        []string{"openfc-template"},
		Env:         []string{},
		ExtraFiles:  []*os.File{cfgR, repW},
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start template init: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill() // it waits to be killed
		_ = cmd.Wait()         // killed, as intended
	}()
	cfgR.Close()
	repW.Close()
	if _, err := cfgW.Write(config); err != nil {
		return nil, fmt.Errorf("write template config: %w", err)
	}
	cfgW.Close()
	var hdr [5]byte
	if _, err := io.ReadFull(repR, hdr[:]); err != nil {
		return nil, fmt.Errorf("template init: %w", err)
	}
	data := make([]byte, binary.NativeEndian.Uint32(hdr[1:]))
	if _, err := io.ReadFull(repR, data); err != nil {
		return nil, fmt.Errorf("template init: %w", err)
	}
	if hdr[0] != repRunning {
		return nil, fmt.Errorf("template init: %s", data)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("open template mount namespace: %w", err)
	}
	d.templates[rootfs] = f
	d.log.Debug("sandbox template ready", "rootfs", rootfs)
	return f, nil
}

// bridgeNet returns the bridge mode, set up on first use.
func (d *Driver) bridgeNet() (*bridgeNet, error) {
	d.bridgeMu.Lock()
	defer d.bridgeMu.Unlock()
	if d.bridge == nil {
		b, err := newBridgeNet(d.bridgeCfg, d.hostNet, d.log)
		if err != nil {
			return nil, err
		}
		d.bridge = b
	}
	return d.bridge, nil
}

// removeLeftovers kills and removes the instance cgroups a previous run
// left, and the veths and nftables table of its bridge (the bridge itself
// is taken over when bridge mode is used, removed otherwise). Failing to
// look at the network (a kernel without nf_tables) is only logged: it
// matters to the bridge mode, whose set-up fails then.
func (d *Driver) removeLeftovers() error {
	if !d.rootless { // a rootless node has no bridge
		if err := removeBridgeNet(d.bridgeCfg.name, true); err != nil {
			d.log.Warn("remove leftover sandbox network", "bridge", d.bridgeCfg.name, "err", err)
		}
	}
	groups, err := d.cgroups.leftovers()
	if err != nil {
		return err
	}
	var errs []error
	for _, g := range groups {
		d.log.Warn("removing leftover sandbox", "instance", g.name())
		if err := g.kill(); err != nil {
			errs = append(errs, err)
			continue
		}
		// The processes were SIGKILLed: rmdir retries while they exit.
		if err := g.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Start starts an instance: see sandbox.Driver.
func (d *Driver) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Instance, error) {
	if spec.ID == "" {
		spec.ID = randomID()
	}
	if err := spec.Check(); err != nil {
		return nil, fmt.Errorf("start instance: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	if spec.PidsLimit == 0 {
		spec.PidsLimit = sandbox.DefaultPidsLimit
	}
	if spec.TmpBytes == 0 {
		spec.TmpBytes = sandbox.DefaultTmpBytes
	}
	if spec.CPUShares == 0 {
		spec.CPUShares = sandbox.DefaultCPUShares
	}
	if spec.Hostname == "" {
		spec.Hostname = defaultHostname
	}
	if spec.Dir == "" {
		spec.Dir = "/"
		if spec.CodeDir != "" {
			spec.Dir = sandbox.CodeMount
		}
	}
	in, err := d.start(ctx, &spec)
	if err != nil {
		return nil, fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	return in, nil
}

func (d *Driver) start(ctx context.Context, spec *sandbox.Spec) (*instance, error) {
	var bridge *bridgeNet
	if spec.Network == sandbox.NetworkBridge && d.rootless {
		return nil, fmt.Errorf("network bridge: %w: it needs root (veths, nftables); rootless instances have loopback only", sandbox.ErrUnsupported)
	}
	if spec.Network == sandbox.NetworkBridge {
		var err error
		if bridge, err = d.bridgeNet(); err != nil {
			return nil, err
		}
	}
	ops, err := d.instanceOps(spec)
	if err != nil {
		return nil, err
	}
	if bridge != nil {
		ops = append(ops, bindOp(bridge.resolvDir, resolvMount, roFlags, false))
	}
	var tmpl *os.File
	if d.fastOK(spec) && !d.noTemplate && !d.rootless {
		if tmpl, err = d.template(spec.RootFS); err != nil {
			return nil, err
		}
	} else {
		shared, err := d.sharedOps(spec.RootFS)
		if err != nil {
			return nil, err
		}
		ops = append(append(shared, hostsOps(spec.Hostname)...), ops...)
	}
	if spec.SocketDir != "" && !d.rootless {
		// The runtime, not root, creates its socket there. (Rootless, the
		// runtime is the node's user already.)
		if err := os.Chown(spec.SocketDir, int(d.uid), int(d.gid)); err != nil {
			return nil, fmt.Errorf("socket dir: %w", err)
		}
	}
	args := spec.Args
	if len(args) == 0 && !spec.Deferred {
		args = []string{spec.Path}
	}
	cfg := initConfig{
		root:     d.rootDir,
		hostname: spec.Hostname,
		dir:      spec.Dir,
		path:     spec.Path,
		args:     args,
		env:      spec.Env,
		filter:   d.filter,
		useNet:   !d.rootless,
		loopback: d.rootless,
		userns:   d.rootless,
		control:  d.rootless && spec.ListenAddr != "",
		nproc:    d.nprocLimit(spec),
		uid:      d.uid,
		gid:      d.gid,
		ops:      ops,
		useTmpl:  tmpl != nil,
		deferred: spec.Deferred,
	}
	config, err := cfg.encode()
	if err != nil {
		return nil, err
	}

	cg, err := d.cgroups.create(spec.ID, limits{memoryBytes: spec.MemoryBytes, cpuShares: spec.CPUShares, pids: spec.PidsLimit})
	if err != nil {
		return nil, err
	}
	in := &instance{
		d:       d,
		id:      spec.ID,
		cg:      cg,
		done:    make(chan struct{}),
		reports: make(chan report, 2),
		log:     d.log.With("instance", spec.ID),
		dir:     spec.Dir,
	}
	switch {
	case spec.ListenAddr != "":
		_, port, _ := net.SplitHostPort(spec.ListenAddr)
		in.addr = "tcp:" + net.JoinHostPort("127.0.0.1", port)
	case spec.SocketDir != "":
		in.addr = "unix:" + filepath.Join(spec.SocketDir, sandbox.SocketName)
	}
	var netns *os.File
	if d.rootless {
		// The init makes its own network namespace.
	} else if bridge != nil {
		var slot *vethSlot
		if slot, err = bridge.get(); err == nil {
			in.bridge, in.slot, netns = bridge, slot, slot.ns
		}
	} else {
		netns, err = d.nets.get()
	}
	if err != nil {
		if rerr := cg.remove(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	in.netns = netns
	if bridge != nil {
		defer bridge.refill() // once started: see bridgeNet.fill
	}
	if err := in.launch(ctx, spec, config, tmpl); err != nil {
		if in.cmd == nil {
			// The init never ran, so supervise did not clean up.
			if rerr := cg.remove(); rerr != nil {
				err = errors.Join(err, rerr)
			}
			if in.slot != nil {
				in.bridge.release(in.slot)
			} else if netns != nil {
				netns.Close()
			}
		}
		return nil, err
	}
	return in, nil
}

// launch starts the init and waits until it has exec'ed the runtime, or,
// for a deferred instance, until it has set up the sandbox.
func (in *instance) launch(ctx context.Context, spec *sandbox.Spec, config []byte, tmpl *os.File) error {
	d := in.d
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	repR, repW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer repW.Close()
	// fds 3 config, 4 reports, 5 template mount namespace (or closed),
	// 6 network namespace: the init joins those two instead of new ones.
	extra := []*os.File{cfgR, repW, tmpl, in.netns}
	flags := unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS
	if tmpl == nil {
		flags |= unix.CLONE_NEWNS
	}
	attr := &syscall.SysProcAttr{
		Cloneflags: uintptr(flags),
		// A node that dies takes its sandboxes along.
		Pdeathsig: syscall.SIGKILL,
	}
	if d.rootless {
		userAttr(attr)
		if spec.ListenAddr != "" {
			// fd 7: the init serves Dial its sockets.
			ctl, initEnd, err := controlPair()
			if err != nil {
				return err
			}
			defer initEnd.Close()
			in.ctlMu.Lock()
			in.ctl = ctl
			in.ctlMu.Unlock()
			extra = append(extra, initEnd)
		}
	}
	if spec.Deferred {
		// fd 8: the program, written by Exec.
		progR, progW, err := os.Pipe()
		if err != nil {
			return err
		}
		defer progR.Close()
		for len(extra) < 5 {
			extra = append(extra, nil)
		}
		extra = append(extra, progR)
		in.mu.Lock()
		in.progW = progW
		in.mu.Unlock()
	}
	if fd := in.cg.intoFD(); fd >= 0 {
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/" + strconv.Itoa(int(d.init.Fd())),
		Args:        []string{"openfc-init"},
		Env:         []string{},
		Stdout:      spec.Stdout,
		Stderr:      spec.Stderr,
		ExtraFiles:  extra,
		SysProcAttr: attr,
	}
	if err := cmd.Start(); err != nil {
		repR.Close()
		in.closeControl()
		in.closeProgram()
		if d.rootless && errors.Is(err, syscall.EPERM) {
			if why := UserNamespacesAllowed(); why != nil {
				err = fmt.Errorf("%w (%w)", err, why)
			}
		}
		return fmt.Errorf("start init: %w", err)
	}
	in.cmd = cmd
	in.pid = cmd.Process.Pid
	cfgR.Close()
	repW.Close()
	go in.supervise(repR)

	fail := func(err error) error {
		_ = syscall.Kill(in.pid, syscall.SIGKILL) // it may have died already
		<-in.done
		return err
	}
	// The init waits for its configuration: place it in its cgroup first,
	// so that nothing of the instance runs outside.
	if err := in.cg.place(in.pid); err != nil {
		return fail(err)
	}
	if _, err := cfgW.Write(config); err != nil {
		return fail(fmt.Errorf("write init config: %w", err))
	}
	cfgW.Close()
	want := byte(repRunning)
	if spec.Deferred {
		want = repSetUp
	}
	if err := in.await(ctx, want); err != nil {
		return fail(err)
	}
	in.log.Debug("instance started", "pid", in.pid, "deferred", spec.Deferred)
	return nil
}

// await waits for the init's next report, which must be of kind want
// (repSetUp or repRunning); running records that the runtime runs.
func (in *instance) await(ctx context.Context, want byte) error {
	select {
	case r := <-in.reports:
		if r.kind == want {
			if want == repRunning {
				in.running.Store(true)
			}
			return nil
		}
		if r.err == nil {
			r.err = fmt.Errorf("init: unexpected report %q", r.kind)
		}
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// report is what the init says before the runtime runs: set up (deferred
// instances), running, or why not.
type report struct {
	kind byte
	err  error
}

// supervise reads the init's reports until it exits, then reaps it, reads
// the OOM count, removes the cgroup and publishes the Exit. It sends
// in.reports at most two reports: repSetUp, then running or why not.
func (in *instance) supervise(r io.ReadCloser) {
	defer r.Close()
	var (
		status   int32
		haveExit bool
		setUp    bool
		sent     bool
	)
	send := func(rep report) {
		if rep.kind == repSetUp {
			if !setUp && !sent {
				setUp = true
				in.reports <- rep
			}
			return
		}
		if !sent {
			sent = true
			in.reports <- rep
		}
	}
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // EOF: the init has exited
		}
		n := binary.NativeEndian.Uint32(hdr[1:])
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			break
		}
		switch hdr[0] {
		case repRunning, repSetUp:
			send(report{kind: hdr[0]})
		case repError:
			send(report{kind: repError, err: fmt.Errorf("init: %s", data)})
		case repExit:
			if len(data) == 4 {
				status = int32(binary.NativeEndian.Uint32(data))
				haveExit = true
			}
		}
	}
	send(report{kind: repError, err: errors.New("init ended before starting the runtime")})
	// All processes of the PID namespace are gone once the init is reaped.
	waitErr := in.cmd.Wait()
	e := sandbox.Exit{Code: -1}
	ws := syscall.WaitStatus(status)
	if !haveExit {
		// The init itself was killed (Stop, OOM): its status is the answer.
		if st, ok := in.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			ws = st
		}
	}
	switch {
	case ws.Exited():
		e.Code = ws.ExitStatus()
	case ws.Signaled():
		e.Signal = ws.Signal()
	}
	if n, err := in.cg.oomKills(); err != nil {
		in.log.Warn("read oom count", "err", err)
	} else {
		e.OOMKilled = n > 0
	}
	var cleanup []error
	in.nsMu.Lock() // wait for Dials in the namespace
	if in.slot != nil {
		in.bridge.release(in.slot)
	} else if in.netns != nil {
		cleanup = append(cleanup, in.netns.Close())
	}
	in.netns = nil
	in.nsMu.Unlock()
	in.closeControl()
	in.closeProgram()
	if err := in.cg.remove(); err != nil {
		// Something outlived the namespace (cannot happen short of a
		// kernel bug): kill it and try again.
		_ = in.cg.kill() // best effort; remove reports the result
		if err := in.cg.remove(); err != nil {
			cleanup = append(cleanup, err)
		}
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		// Copying output failed; the instance's end is still known.
		in.log.Warn("instance output", "err", waitErr)
	}
	in.mu.Lock()
	e.Killed = in.stopped
	in.exit = e
	in.cleanupErr = errors.Join(cleanup...)
	in.mu.Unlock()
	close(in.done)
	in.log.Debug("instance ended", "exit", e.String())
}

func randomID() string {
	var b [8]byte
	_, _ = io.ReadFull(rand.Reader, b[:]) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b[:])
}
