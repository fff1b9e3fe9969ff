//go:build linux

package process

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
)

// Options configures a Driver.
type Options struct {
	// Logger receives lifecycle logs; nil discards them.
	Logger *slog.Logger
}

// Driver runs instances as plain child processes.
type Driver struct {
	log *slog.Logger
}

var _ sandbox.Driver = (*Driver)(nil)

// New returns a Driver. It logs a warning: nothing it starts is isolated.
func New(opts Options) (*Driver, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sandbox", "driver", "process")
	log.Warn("sandbox driver without isolation: functions run as plain processes with the node's rights")
	return &Driver{log: log}, nil
}

// Start starts spec's program as a child process.
func (d *Driver) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Instance, error) {
	if spec.ID == "" {
		spec.ID = randomID()
	}
	if err := spec.Check(); err != nil {
		return nil, fmt.Errorf("start instance: %w", err)
	}
	if spec.Network == sandbox.NetworkBridge {
		return nil, fmt.Errorf("start instance %s: network bridge: %w", spec.ID, sandbox.ErrUnsupported)
	}
	if spec.Deferred {
		// Without a sandbox there is nothing to prepare ahead.
		return nil, fmt.Errorf("start instance %s: deferred: %w", spec.ID, sandbox.ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	// Without a mount namespace, paths inside the "sandbox" are mapped to
	// the host folders they would be mounted from: the code, the socket
	// folder and every extra mount (runtime bootstraps, layers).
	type mount struct{ inside, host string }
	mounts := []mount{{sandbox.CodeMount, spec.CodeDir}, {sandbox.SocketMount, spec.SocketDir}}
	for _, m := range spec.Mounts {
		mounts = append(mounts, mount{m.Target, m.Source})
	}
	mapPath := func(p string) string {
		for _, m := range mounts {
			if m.host == "" {
				continue
			}
			if p == m.inside {
				return m.host
			}
			if rest, ok := strings.CutPrefix(p, m.inside+"/"); ok {
				return filepath.Join(m.host, rest)
			}
		}
		return p
	}
	dir := spec.Dir
	if dir == "" && spec.CodeDir != "" {
		dir = sandbox.CodeMount
	}
	dir = mapPath(dir)
	path := mapPath(spec.Path)
	if !strings.Contains(path, "/") {
		p, err := lookPath(path, spec.Env)
		if err != nil {
			return nil, fmt.Errorf("start instance %s: %w", spec.ID, err)
		}
		path = p
	}
	args := spec.Args
	if len(args) == 0 {
		args = []string{spec.Path}
	}
	mapped := make([]string, len(args))
	for i, a := range args {
		mapped[i] = mapPath(a)
	}
	// Environment values too: one path, or a ':'-separated list of them
	// (PATH, PYTHONPATH, ...).
	env := make([]string, len(spec.Env))
	for i, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		parts := strings.Split(v, ":")
		for j, part := range parts {
			parts[j] = mapPath(part)
		}
		env[i] = k + "=" + strings.Join(parts, ":")
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   mapped,
		Env:    env,
		Dir:    dir,
		Stdout: spec.Stdout,
		Stderr: spec.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
		// Output pipes are closed at the latest this long after the process
		// group has been killed (a child that left the group may hold them).
		WaitDelay: time.Second,
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	in := &instance{
		id:   spec.ID,
		cmd:  cmd,
		done: make(chan struct{}),
		log:  d.log.With("instance", spec.ID),
	}
	switch {
	case spec.ListenAddr != "":
		_, port, _ := net.SplitHostPort(spec.ListenAddr)
		in.addr = "tcp:" + net.JoinHostPort("127.0.0.1", port)
	case spec.SocketDir != "":
		in.addr = "unix:" + filepath.Join(spec.SocketDir, sandbox.SocketName)
	}
	go in.wait()
	in.log.Debug("instance started", "pid", cmd.Process.Pid)
	return in, nil
}

type instance struct {
	id   string
	addr string
	cmd  *exec.Cmd
	log  *slog.Logger

	done chan struct{} // closed when exit is set
	exit sandbox.Exit

	// mu guards stopped.
	mu      sync.Mutex
	stopped bool
}

func (in *instance) ID() string   { return in.id }
func (in *instance) Addr() string { return in.addr }

func (in *instance) wait() {
	pid := in.cmd.Process.Pid
	// Reap the runtime first, then kill what is left of its group: Wait also
	// waits for the output pipes, which a child of the group may hold.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			// On another error the group is killed after the reap below.
			break
		}
	}
	// The runtime is a zombie now, so its process group id is still taken.
	killGroup(pid)
	_ = in.cmd.Wait() // the status is read below
	in.mu.Lock()
	stopped := in.stopped
	in.mu.Unlock()
	e := sandbox.Exit{Code: -1, Killed: stopped}
	if st, ok := in.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case st.Exited():
			e.Code = st.ExitStatus()
		case st.Signaled():
			e.Signal = st.Signal()
		}
	}
	in.exit = e
	close(in.done)
	in.log.Debug("instance ended", "exit", e.String())
}

func (in *instance) Wait() sandbox.Exit {
	<-in.done
	return in.exit
}

func (in *instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	select {
	case <-in.done:
		in.mu.Unlock()
		return nil
	default:
	}
	in.stopped = true
	in.mu.Unlock()
	_ = in.cmd.Process.Signal(syscall.SIGTERM) // it may have ended already
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
	}
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL) // the group may be gone
	<-in.done
	return nil
}

func (in *instance) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case <-in.done:
		return nil, fmt.Errorf("dial instance %s: %w", in.id, sandbox.ErrNotRunning)
	default:
	}
	network, address, err := sandbox.SplitAddr(in.addr)
	if err != nil {
		return nil, fmt.Errorf("dial instance %s: %w", in.id, err)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("dial instance %s: %w", in.id, err)
	}
	return c, nil
}

// lookPath finds file in the PATH of env (not of the node).
func lookPath(file string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("look up %q in PATH %q: %w", file, path, exec.ErrNotFound)
}

func randomID() string {
	var b [8]byte
	_, _ = io.ReadFull(rand.Reader, b[:]) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b[:])
}

// killGroup kills process group pgid and waits until its members have
// exited, so that none is seen alive once the instance is reported ended.
func killGroup(pgid int) {
	for range 100 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // the group may be empty
		var fds []unix.PollFd
		for _, pid := range groupMembers(pgid) {
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		}
		if len(fds) == 0 {
			return
		}
		// A pidfd becomes readable when its process has exited.
		for pending := len(fds); pending > 0; {
			n, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				break
			}
			pending -= n
			for i := range fds {
				if fds[i].Revents != 0 {
					fds[i].Fd, fds[i].Events, fds[i].Revents = -1, 0, 0
				}
			}
		}
		for _, f := range fds {
			if f.Fd >= 0 {
				unix.Close(int(f.Fd))
			}
		}
	}
}

// groupMembers lists the live processes of process group pgid, zombies
// excluded.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces): state ppid pgrp.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}
