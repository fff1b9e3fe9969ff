package linux

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
)

// instance is one sandbox: its init (PID 1 of the sandbox), cgroup and
// network namespace.
type instance struct {
	d    *Driver
	id   string
	addr string
	cg   group
	cmd  *exec.Cmd
	pid  int // of the init, on the host
	log  *slog.Logger

	// nsMu guards netns: Dial reads it, supervise closes it.
	nsMu  sync.RWMutex
	netns *os.File // the instance's network namespace, nil once ended

	bridge *bridgeNet // bridge mode: where slot goes back

	// ctlMu guards ctl: Dial asks the init of a rootless instance for its
	// sockets over it (one at a time); supervise closes it.
	ctlMu sync.Mutex
	ctl   *net.UnixConn
	slot  *vethSlot // bridge mode: netns, veth and address

	done    chan struct{} // closed by supervise once exit and cleanupErr are set
	reports chan report   // from supervise: set up (deferred), then running or why not
	dir     string        // Spec.Dir with its default: a deferred program's default

	running atomic.Bool // the runtime has been exec'ed

	// mu guards stopped, progW, exit and cleanupErr.
	mu         sync.Mutex
	stopped    bool
	progW      *os.File // deferred: where Exec writes the program, nil once written
	exit       sandbox.Exit
	cleanupErr error
}

var (
	_ sandbox.Instance = (*instance)(nil)
	_ sandbox.Execer   = (*instance)(nil)
)

func (in *instance) ID() string   { return in.id }
func (in *instance) Addr() string { return in.addr }

func (in *instance) Wait() sandbox.Exit {
	<-in.done
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.exit
}

// Stop sends SIGTERM to the init, which forwards it to the runtime; when ctx
// is done it SIGKILLs the init, and the kernel kills everything else in the
// PID namespace. It returns once the cgroup has been removed.
func (in *instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	select {
	case <-in.done:
		err := in.cleanupErr
		in.mu.Unlock()
		return err
	default:
	}
	in.stopped = true
	sig := syscall.SIGTERM
	if !in.running.Load() {
		// A deferred instance whose program never ran: nothing to end
		// gracefully, and its init, waiting with no signal handler, would
		// ignore SIGTERM.
		sig = syscall.SIGKILL
	}
	in.mu.Unlock()
	// The pid cannot have been reused: supervise has not reaped the init.
	_ = syscall.Kill(in.pid, sig) // it may be exiting already
	select {
	case <-in.done:
	case <-ctx.Done():
		_ = syscall.Kill(in.pid, syscall.SIGKILL) // as above
		<-in.done
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cleanupErr
}

// SetCPULimit caps the instance's CPU time at cpus CPUs (cgroup CFS quota;
// 0 removes the cap), on top of its CPU shares. Apply it once the runtime
// is ready, never while it starts: a cap during start slows it down (a
// 0.5-CPU cap made Node's start 50% slower). A scheduler that wants this
// declares its own interface with this method; the linux driver's
// instances implement it.
func (in *instance) SetCPULimit(cpus float64) error {
	select {
	case <-in.done:
		return fmt.Errorf("cpu limit of instance %s: %w", in.id, sandbox.ErrNotRunning)
	default:
	}
	if cpus < 0 {
		return fmt.Errorf("cpu limit of instance %s: %w: negative", in.id, sandbox.ErrInvalidSpec)
	}
	return in.cg.setCPULimit(cpus)
}

// Dial connects to the runtime. A TCP socket is created inside the
// instance's network namespace: on a locked OS thread switched there and
// back, so no relay and no veth are needed.
func (in *instance) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case <-in.done:
		return nil, fmt.Errorf("dial instance %s: %w", in.id, sandbox.ErrNotRunning)
	default:
	}
	if !in.running.Load() {
		// A deferred instance before Exec: nothing can listen yet (and a
		// rootless init, waiting for its program, serves no sockets).
		return nil, fmt.Errorf("dial instance %s: program not started: %w", in.id, syscall.ECONNREFUSED)
	}
	network, address, err := sandbox.SplitAddr(in.addr)
	if err != nil {
		return nil, fmt.Errorf("dial instance %s: %w", in.id, err)
	}
	var dialer net.Dialer
	if network == "unix" {
		c, err := dialer.DialContext(ctx, network, address)
		if err != nil {
			return nil, fmt.Errorf("dial instance %s: %w", in.id, err)
		}
		return c, nil
	}
	if in.d.rootless {
		c, err := in.dialThroughInit(ctx, address)
		if err != nil {
			return nil, fmt.Errorf("dial instance %s: %w", in.id, err)
		}
		return c, nil
	}
	type result struct {
		c   net.Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		// This goroutine owns the thread while it is in the instance's
		// namespace. If switching back fails it exits still locked, and the
		// runtime destroys the thread instead of reusing it.
		runtime.LockOSThread()
		in.nsMu.RLock()
		if in.netns == nil {
			in.nsMu.RUnlock()
			runtime.UnlockOSThread()
			res <- result{err: sandbox.ErrNotRunning}
			return
		}
		err := unix.Setns(int(in.netns.Fd()), unix.CLONE_NEWNET)
		in.nsMu.RUnlock()
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{err: fmt.Errorf("enter network namespace: %w", err)}
			return
		}
		// The socket belongs to the namespace it is created in; the connect
		// may finish on any thread.
		c, err := dialer.DialContext(ctx, network, address)
		if serr := unix.Setns(int(in.d.hostNet.Fd()), unix.CLONE_NEWNET); serr != nil {
			if c != nil {
				c.Close()
			}
			res <- result{err: fmt.Errorf("leave network namespace: %w", serr)}
			return
		}
		runtime.UnlockOSThread()
		res <- result{c, err}
	}()
	r := <-res
	if r.err != nil {
		return nil, fmt.Errorf("dial instance %s: %w", in.id, r.err)
	}
	return r.c, nil
}

// Exec starts the program of a deferred instance: see sandbox.Execer. The
// init applies to it what it applies to any runtime (uid, capabilities,
// no_new_privs, seccomp); the program's environment is p.Env alone.
func (in *instance) Exec(ctx context.Context, p sandbox.Program) error {
	if err := p.Check(); err != nil {
		return fmt.Errorf("exec in instance %s: %w", in.id, err)
	}
	if p.Dir == "" {
		p.Dir = in.dir
	}
	args := p.Args
	if len(args) == 0 {
		args = []string{p.Path}
	}
	prog, err := encodeProgram(p.Path, args, p.Env, p.Dir)
	if err != nil {
		return fmt.Errorf("exec in instance %s: %w", in.id, err)
	}
	in.mu.Lock()
	w := in.progW
	in.progW = nil
	in.mu.Unlock()
	select {
	case <-in.done:
		if w != nil {
			w.Close()
		}
		return fmt.Errorf("exec in instance %s: %w", in.id, sandbox.ErrNotRunning)
	default:
	}
	if w == nil {
		return fmt.Errorf("exec in instance %s: %w: not deferred, or Exec called before", in.id, sandbox.ErrInvalidSpec)
	}
	// The init reads until EOF; a pipe holds the program unless it is
	// huge, and then the init is reading it.
	_, err = w.Write(prog)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = in.await(ctx, repRunning)
	}
	if err != nil {
		_ = syscall.Kill(in.pid, syscall.SIGKILL) // it may have ended already
		<-in.done
		return fmt.Errorf("exec in instance %s: %w", in.id, err)
	}
	in.log.Debug("instance program started", "pid", in.pid)
	return nil
}

// closeProgram closes the write end of a deferred instance's program pipe,
// if still open: its init, if waiting, fails and ends.
func (in *instance) closeProgram() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.progW != nil {
		in.progW.Close()
		in.progW = nil
	}
}

// closeControl closes the driver's end of a rootless init's control
// socket, if any.
func (in *instance) closeControl() {
	in.ctlMu.Lock()
	defer in.ctlMu.Unlock()
	if in.ctl != nil {
		in.ctl.Close()
		in.ctl = nil
	}
}
