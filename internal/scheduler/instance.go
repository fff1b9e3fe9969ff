package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
)

// Instance is one running instance of a function: its sandbox, the HTTP
// client that speaks FC's runtime protocol to it, and its output router.
type Instance struct {
	id   string
	spec *Spec // set before the instance is handed to a pool; generic instances get theirs when specialised
	// logSpec is what the output sink attributes lines to; it changes once,
	// when a generic instance is specialised, while output flows.
	logSpec atomic.Pointer[Spec]
	codeDir string // the instance's own /code folder (generic and deferred instances)
	sb      sandbox.Instance
	client  *http.Client
	tr      *transport
	router  *fnlog.Router
	done    chan struct{}
	exit    sandbox.Exit
	dir     string // per-instance host folder

	// initMu serialises the initializer; initialized is set once it ran.
	initMu      sync.Mutex
	initialized atomic.Bool

	released atomic.Bool // memory given back to the budget

	// deferred reports whether the sandbox started without its program,
	// which specialise starts (modeDeferred).
	deferred bool
}

// ID returns the instance ID.
func (i *Instance) ID() string { return i.id }

// Spec returns the spec the instance runs.
func (i *Instance) Spec() *Spec { return i.spec }

// Client returns the HTTP client to the instance's runtime; requests go to
// http://instance/...
func (i *Instance) Client() *http.Client { return i.client }

// Router returns the instance's output router.
func (i *Instance) Router() *fnlog.Router { return i.router }

// Done is closed when the instance has ended.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Exit returns how the instance ended; valid once Done is closed.
func (i *Instance) Exit() sandbox.Exit { return i.exit }

// Stop ends the instance (pre-stop hook first when one is configured and
// the instance is alive).
func (i *Instance) Stop(ctx context.Context) error {
	select {
	case <-i.done:
	default:
		if i.spec.PreStop != "" && i.initialized.Load() {
			i.preStop(ctx)
		}
	}
	err := i.sb.Stop(ctx)
	i.tr.close()
	os.RemoveAll(i.dir)
	if i.codeDir != "" {
		os.RemoveAll(i.codeDir)
	}
	return err
}

func (i *Instance) preStop(ctx context.Context) {
	t := i.spec.PreStopTimeout
	if t == 0 {
		t = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://instance/pre-stop", nil)
	if err != nil {
		return
	}
	req.Header.Set("x-fc-instance-lifecycle-pre-stop-handler", i.spec.PreStop)
	req.Header.Set("x-fc-request-id", "prestop-"+i.id)
	if resp, err := i.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// Initialize runs the function's initializer once per instance, before its
// first invocation; call is the request to send (the invoker sets headers).
// Concurrent callers wait for the first one. It returns the runtime's
// answer for a failed initializer, or nil once it succeeded.
func (i *Instance) Initialize(call func() error) error {
	if i.initialized.Load() {
		return nil
	}
	i.initMu.Lock()
	defer i.initMu.Unlock()
	if i.initialized.Load() {
		return nil
	}
	if err := call(); err != nil {
		return err
	}
	i.initialized.Store(true)
	return nil
}

// Initialized reports whether the initializer has run.
func (i *Instance) Initialized() bool { return i.initialized.Load() }

var instanceSeq atomic.Uint64

func newInstanceID() string {
	return fmt.Sprintf("c-%x-%d", time.Now().UnixNano()&0xffffffffff, instanceSeq.Add(1))
}

// runtimeSocket is where runtimes that listen on a Unix socket do, inside
// the instance.
const runtimeSocket = sandbox.SocketMount + "/" + sandbox.SocketName

// startInstance starts an instance of spec; the budget is reserved by the
// caller. A generic instance (modeGeneric) runs the runtime's bootstrap
// with an empty /code of its own and no function environment, ready to be
// specialised for any function of that runtime and memory size; a
// deferred one (modeDeferred) runs nothing yet: its sandbox waits for the
// program specialise gives it.
func (s *Scheduler) startInstance(ctx context.Context, spec *Spec, mode startMode) (*Instance, error) {
	rt, ok := runtimes.Lookup(spec.Runtime)
	if !ok {
		return nil, fmt.Errorf("runtime %q is not available on this node", spec.Runtime)
	}
	id := newInstanceID()
	var codeDir, ownCode string
	if mode != modeFunction {
		ownCode = filepath.Join(s.codeWorkDir, id)
		if err := os.MkdirAll(ownCode, 0o755); err != nil {
			return nil, fmt.Errorf("instance code folder: %w", err)
		}
		codeDir = ownCode
	} else {
		var err error
		if codeDir, err = s.blobs.Unpack(ctx, spec.CodeSHA256); err != nil {
			return nil, fmt.Errorf("unpack code: %w", err)
		}
	}
	dir := filepath.Join(s.workDir, "instances", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("instance folder: %w", err)
	}
	inst := &Instance{id: id, spec: spec, dir: dir, codeDir: ownCode, deferred: mode == modeDeferred, done: make(chan struct{})}
	inst.logSpec.Store(spec)
	inst.router = fnlog.NewRouter(s.logSink(inst))
	ok = false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
			if ownCode != "" {
				os.RemoveAll(ownCode)
			}
		}
	}()
	var mounts []sandbox.Mount
	if rt.Kind == runtimes.KindPython || rt.Kind == runtimes.KindNodejs || rt.Kind == runtimes.KindGo {
		bdir, err := s.bootstrapDir(ctx, rt)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, sandbox.Mount{Source: bdir, Target: runtimes.DefaultBootstrapDir})
	}
	if len(spec.LayerSHA256s) > 0 {
		opt, err := s.layersDir(ctx, spec.LayerSHA256s)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, sandbox.Mount{Source: opt, Target: "/opt"})
	}
	sspec := sandbox.Spec{
		ID: id, CodeDir: codeDir, Mounts: mounts,
		MemoryBytes: spec.MemoryBytes, CPUShares: cpuShares(spec.MemoryBytes),
		SocketDir: dir,
		Stdout:    inst.router.Writer("stdout"), Stderr: inst.router.Writer("stderr"),
	}
	if s.bridged(spec) {
		sspec.Network = sandbox.NetworkBridge
	}
	if rt.Listen == runtimes.ListenTCP {
		port := spec.CAPort
		if port == 0 {
			port = runtimes.CustomPort
		}
		sspec.ListenAddr = "0.0.0.0:" + strconv.Itoa(port)
	}
	switch mode {
	case modeDeferred:
		sspec.Deferred = true
	case modeGeneric:
		cmd, err := rt.Command(runtimes.CommandOptions{Interpreters: s.interpreters, Socket: runtimeSocket})
		if err != nil {
			return nil, fmt.Errorf("runtime command: %w", err)
		}
		sspec.Path, sspec.Args, sspec.Env = cmd.Args[0], cmd.Args, baseEnvironment(cmd.Env)
	default:
		args, env, err := s.program(spec, rt, id)
		if err != nil {
			return nil, err
		}
		sspec.Path, sspec.Args, sspec.Env = args[0], args, env
	}
	t0 := time.Now()
	sb, err := s.driver.Start(ctx, sspec)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	t1 := time.Now()
	inst.sb = sb
	go func() {
		inst.exit = sb.Wait()
		close(inst.done)
	}()
	inst.tr = &transport{dial: sb.Dial}
	inst.client = &http.Client{Transport: inst.tr}
	if mode != modeDeferred {
		if err := s.waitReady(ctx, inst, rt, runtimeSocket); err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			sb.Stop(stopCtx)
			return nil, err
		}
	}
	ok = true
	s.logger.LogAttrs(ctx, slog.LevelDebug, "instance started", slog.String("instance", id), slog.String("runtime", spec.Runtime),
		slog.Bool("generic", mode == modeGeneric), slog.Bool("deferred", mode == modeDeferred),
		slog.Duration("sandbox", t1.Sub(t0)), slog.Duration("ready", time.Since(t1)))
	return inst, nil
}

// program returns the arguments (program first) and environment of
// spec's runtime in instance id.
func (s *Scheduler) program(spec *Spec, rt runtimes.Runtime, id string) (args, env []string, err error) {
	cmd, err := rt.Command(runtimes.CommandOptions{
		Interpreters: s.interpreters, Socket: runtimeSocket, Handler: spec.Handler,
		InstanceConcurrency: spec.Concurrency, RuntimeAPI: "127.0.0.1:9001",
	})
	if err != nil {
		return nil, nil, fmt.Errorf("runtime command: %w", err)
	}
	if len(spec.CustomCommand) > 0 && rt.Kind == runtimes.KindCustom {
		cmd.Args = spec.CustomCommand
	}
	return cmd.Args, s.environment(spec, rt, id, cmd.Env), nil
}

// bridged reports whether spec's instances get a network of their own:
// the node's mode is bridge and the service has internetAccess.
func (s *Scheduler) bridged(spec *Spec) bool {
	return s.network == NetworkBridge && spec.InternetAccess
}

// ErrNotStarted means the runtime ended or did not listen in time.
var ErrNotStarted = errors.New("scheduler: runtime did not start")

// waitReady waits until the runtime accepts connections: the Unix socket
// exists (the bootstraps rename it into place once listening) or a TCP
// connect succeeds (custom runtimes, within FC's 120 s).
func (s *Scheduler) waitReady(ctx context.Context, inst *Instance, rt runtimes.Runtime, socket string) error {
	limit := 30 * time.Second
	if rt.Listen == runtimes.ListenTCP {
		limit = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	hostSock := filepath.Join(inst.dir, sandbox.SocketName)
	// Poll often while a fast start is likely (a backoff would overshoot a
	// 3 ms start by as much again), then back off.
	start := time.Now()
	delay := 200 * time.Microsecond
	for {
		switch rt.Listen {
		case runtimes.ListenTCP:
			c, err := inst.sb.Dial(ctx)
			if err == nil {
				c.Close()
				return nil
			}
		default:
			if _, err := os.Stat(hostSock); err == nil {
				return nil
			}
		}
		select {
		case <-inst.done:
			return fmt.Errorf("%w: it exited (%s) before accepting connections", ErrNotStarted, inst.exit)
		case <-ctx.Done():
			return fmt.Errorf("%w: not listening after %v", ErrNotStarted, limit)
		case <-time.After(delay):
		}
		if time.Since(start) > 50*time.Millisecond {
			delay = min(2*delay, 5*time.Millisecond)
		}
	}
}

// cpuShares gives CPU weight in proportion to memory, as FC does: 1024
// shares per 1 GB, at least 2.
func cpuShares(memoryBytes int64) uint64 {
	return uint64(max(memoryBytes*1024/(1<<30), 2))
}

// commonEnv is what every instance's environment starts with: search
// paths of FC's images (spec §6.1) and the code folder.
var commonEnv = []string{
	"PATH=/code:/code/bin:/opt/bin:/usr/local/bin:/usr/bin:/bin",
	"LD_LIBRARY_PATH=/code:/code/lib:/usr/local/lib:/opt/lib",
	"NODE_PATH=/opt/nodejs/node_modules",
	"PYTHONPATH=/opt/python",
	"HOME=/tmp",
	"LANG=C.UTF-8",
	"FC_FUNC_CODE_PATH=/code",
}

// baseEnvironment is the environment of a generic instance: what does not
// depend on the function.
func baseEnvironment(runtimeEnv []string) []string {
	env := append([]string(nil), commonEnv...)
	for _, kv := range runtimeEnv {
		// The handler and concurrency come with the function.
		if !strings.HasPrefix(kv, "FC_FUNCTION_HANDLER=") && !strings.HasPrefix(kv, "FC_INSTANCE_CONCURRENCY=") {
			env = append(env, kv)
		}
	}
	return dedupeEnv(env)
}

// environment builds an instance's environment (spec §6.7).
func (s *Scheduler) environment(spec *Spec, rt runtimes.Runtime, id string, runtimeEnv []string) []string {
	q := spec.Qualifier
	if q == "" {
		q = "LATEST"
	}
	port := spec.CAPort
	if port == 0 {
		port = runtimes.CustomPort
	}
	env := append([]string(nil), commonEnv...)
	env = append(env,
		"FC_ACCOUNT_ID="+spec.AccountID,
		"FC_REGION="+spec.Region,
		"FC_SERVICE_NAME="+spec.Service,
		"FC_FUNCTION_NAME="+spec.Function,
		"FC_FUNCTION_HANDLER="+spec.Handler,
		"FC_FUNCTION_MEMORY_SIZE="+strconv.FormatInt(spec.MemoryBytes>>20, 10),
		"FC_QUALIFIER="+q,
		"FC_INSTANCE_ID="+id,
	)
	env = append(env, runtimeEnv...)
	// After the runtime's own variables, which name its default port
	// (9000): a custom runtime listens where the function's caPort says.
	env = append(env,
		"FC_CUSTOM_LISTEN_PORT="+strconv.Itoa(port),
		"FC_SERVER_PORT="+strconv.Itoa(port),
	)
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	return dedupeEnv(env)
}

// dedupeEnv keeps the last value of each variable.
func dedupeEnv(env []string) []string {
	seen := map[string]int{}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := seen[k]; ok {
			out[i] = kv
			continue
		}
		seen[k] = len(out)
		out = append(out, kv)
	}
	return out
}
