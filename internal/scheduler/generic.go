package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
)

// Pre-started generic instances (ARCHITECTURE.md §3, cold start fast
// path): for each (runtime kind, memory size) that functions use, the
// scheduler keeps a few instances whose sandbox and runtime bootstrap are
// already running (the interpreter started, the bootstrap imported and
// listening). A cold start then only links the function's code into the
// instance's /code, sends it the function's environment (POST /specialize)
// and makes the first call.
//
// Custom and go1 runtimes run the user's program (or a shim that starts
// it), so nothing of the runtime can run ahead; their stock holds
// deferred instances instead (sandbox.Spec.Deferred): sandbox, cgroup,
// mounts and network set up, the init waiting for its program. A cold
// start links the code into the instance's /code and execs the runtime
// with the function's arguments and environment (sandbox.Execer).
// Functions with layers, and custom functions on another port than FC's
// default, start the ordinary way.

// stock holds one key's ready generic or deferred instances.
type stock struct {
	ready    []*Instance
	starting int
}

// startMode is how startInstance starts an instance.
type startMode int

const (
	modeFunction startMode = iota // the function's runtime, ready to serve
	modeGeneric                   // a runtime's bootstrap, ready to be specialised
	modeDeferred                  // a sandbox waiting for its program (sandbox.Execer)
)

func genericKey(rt runtimes.Runtime, memoryBytes int64, bridged bool) string {
	k := string(rt.Kind) + "/" + strconv.FormatInt(memoryBytes, 10)
	if bridged {
		k += "/bridge" // with a network of their own: see Options.Network
	}
	return k
}

// prestartMode returns how spec's instances can be started ahead, or
// modeFunction when they cannot.
func (s *Scheduler) prestartMode(rt runtimes.Runtime, spec *Spec) startMode {
	if s.prewarm <= 0 || len(spec.LayerSHA256s) > 0 {
		return modeFunction
	}
	switch rt.Kind {
	case runtimes.KindPython, runtimes.KindNodejs:
		return modeGeneric
	case runtimes.KindCustom, runtimes.KindGo:
		// The port is fixed when the sandbox starts (its address).
		if s.noDefer.Load() || (rt.Listen == runtimes.ListenTCP && spec.CAPort != 0 && spec.CAPort != runtimes.CustomPort) {
			return modeFunction
		}
		return modeDeferred
	}
	return modeFunction
}

// takeGeneric returns a ready generic instance for spec, or nil. The
// caller refills the stock (refillFor) once its own start is done, so the
// refill does not compete with it for the CPU.
func (s *Scheduler) takeGeneric(spec *Spec, rt runtimes.Runtime) *Instance {
	if s.prestartMode(rt, spec) == modeFunction {
		return nil
	}
	key := genericKey(rt, spec.MemoryBytes, s.bridged(spec))
	s.mu.Lock()
	st := s.stocks[key]
	if st == nil {
		st = &stock{}
		s.stocks[key] = st
	}
	var inst *Instance
	for len(st.ready) > 0 && inst == nil {
		cand := st.ready[len(st.ready)-1]
		st.ready = st.ready[:len(st.ready)-1]
		select {
		case <-cand.done: // died while waiting: give back its memory
			s.used -= cand.spec.MemoryBytes
		default:
			inst = cand
		}
	}
	s.mu.Unlock()
	return inst
}

// refillFor refills the stock spec's instances come from.
func (s *Scheduler) refillFor(spec *Spec, rt runtimes.Runtime) {
	if mode := s.prestartMode(rt, spec); mode != modeFunction {
		bridged := s.bridged(spec)
		s.refill(genericKey(rt, spec.MemoryBytes, bridged), rt, spec.MemoryBytes, bridged, mode)
	}
}

// refill starts generic or deferred instances until the key's stock is
// full.
func (s *Scheduler) refill(key string, rt runtimes.Runtime, memoryBytes int64, bridged bool, mode startMode) {
	s.mu.Lock()
	st := s.stocks[key]
	if s.closed || st == nil || len(st.ready)+st.starting >= s.prewarm {
		s.mu.Unlock()
		return
	}
	if s.budget != 0 && s.used+memoryBytes > s.budget {
		s.mu.Unlock()
		return // the budget goes to functions first
	}
	st.starting++
	s.used += memoryBytes
	s.mu.Unlock()
	s.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		spec := &Spec{Runtime: rt.Name, MemoryBytes: memoryBytes, Concurrency: 100, InternetAccess: bridged}
		inst, err := s.startInstance(ctx, spec, mode)
		s.mu.Lock()
		st.starting--
		if err != nil || s.closed {
			s.used -= memoryBytes
			s.mu.Unlock()
			switch {
			case mode == modeDeferred && errors.Is(err, sandbox.ErrUnsupported):
				// The sandbox driver (process) cannot defer: such
				// functions start the ordinary way from now on.
				if s.noDefer.CompareAndSwap(false, true) {
					s.logger.Info("the sandbox driver cannot prepare instances ahead; custom and go1 functions start without", "err", err)
				}
			case err != nil:
				s.logger.Warn("pre-starting an instance failed", "runtime", rt.Name, "err", err)
			default:
				stopQuietly(inst)
			}
			return
		}
		st.ready = append(st.ready, inst)
		s.mu.Unlock()
		s.refill(key, rt, memoryBytes, bridged, mode)
	})
}

// specialise makes a generic or deferred instance an instance of spec.
func (s *Scheduler) specialise(ctx context.Context, inst *Instance, spec *Spec, rt runtimes.Runtime) error {
	src, err := s.blobs.Unpack(ctx, spec.CodeSHA256)
	if err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	if err := linkTree(src, inst.codeDir); err != nil {
		return fmt.Errorf("place code: %w", err)
	}
	if inst.deferred {
		return s.execDeferred(ctx, inst, spec, rt)
	}
	cmd, err := rt.Command(runtimes.CommandOptions{Interpreters: s.interpreters, Socket: "/run/openfc/invoke.sock",
		Handler: spec.Handler, InstanceConcurrency: spec.Concurrency})
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, kv := range s.environment(spec, rt, inst.id, cmd.Env) {
		body.WriteString(kv)
		body.WriteByte(0)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://instance/specialize", &body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Fc-Instance-Concurrency", strconv.Itoa(spec.Concurrency))
	resp, err := inst.client.Do(req)
	if err != nil {
		return fmt.Errorf("specialise: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("specialise: runtime answered %s", resp.Status)
	}
	inst.spec = spec
	inst.logSpec.Store(spec)
	return nil
}

// execDeferred starts spec's runtime in a deferred instance whose /code
// holds spec's code, and waits until it is ready.
func (s *Scheduler) execDeferred(ctx context.Context, inst *Instance, spec *Spec, rt runtimes.Runtime) error {
	ex, ok := inst.sb.(sandbox.Execer)
	if !ok {
		return fmt.Errorf("instance %s: the sandbox cannot exec a deferred program", inst.id)
	}
	args, env, err := s.program(spec, rt, inst.id)
	if err != nil {
		return err
	}
	// Attribute the runtime's output to the function from its first line.
	inst.spec = spec
	inst.logSpec.Store(spec)
	t0 := time.Now()
	if err := ex.Exec(ctx, sandbox.Program{Path: args[0], Args: args, Env: env}); err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	t1 := time.Now()
	if err := s.waitReady(ctx, inst, rt, runtimeSocket); err != nil {
		return err
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "instance started", slog.String("instance", inst.id), slog.String("runtime", spec.Runtime),
		slog.Bool("deferred", true), slog.Duration("exec", t1.Sub(t0)), slog.Duration("ready", time.Since(t1)))
	return nil
}

// takeStockedLocked takes a ready pre-started instance out of the
// fullest stock and gives its memory back to the budget, or returns nil
// when every stock is empty. s.mu must be held.
func (s *Scheduler) takeStockedLocked() *Instance {
	var from *stock
	for _, st := range s.stocks {
		if len(st.ready) > 0 && (from == nil || len(st.ready) > len(from.ready)) {
			from = st
		}
	}
	if from == nil {
		return nil
	}
	inst := from.ready[len(from.ready)-1]
	from.ready = from.ready[:len(from.ready)-1]
	s.used -= inst.spec.MemoryBytes
	return inst
}

// discard stops a pre-started instance that was never given a function
// and removes its folders.
func discard(inst *Instance) {
	stopQuietly(inst)
	removeDirs(inst)
}

// removeDirs removes an instance's socket and /code folders.
func removeDirs(inst *Instance) {
	os.RemoveAll(inst.dir)
	os.RemoveAll(inst.codeDir)
}

func stopQuietly(inst *Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inst.sb.Stop(ctx)
}
