package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/runtimes"
)

// Pre-started generic instances (ARCHITECTURE.md §3, cold start fast
// path): for each (runtime kind, memory size) that functions use, the
// scheduler keeps a few instances whose sandbox and runtime bootstrap are
// already running (the interpreter started, the bootstrap imported and
// listening). A cold start then only links the function's code into the
// instance's /code, sends it the function's environment (POST /specialize)
// and makes the first call. Functions with layers, and custom and go1
// runtimes, whose program is the user's, start the ordinary way.

// stock holds one key's ready generic instances.
type stock struct {
	ready    []*Instance
	starting int
}

func genericKey(rt runtimes.Runtime, memoryBytes int64, bridged bool) string {
	k := string(rt.Kind) + "/" + strconv.FormatInt(memoryBytes, 10)
	if bridged {
		k += "/bridge" // with a network of their own: see Options.Network
	}
	return k
}

// canPrestart reports whether spec's instances can come from the stock.
func canPrestart(rt runtimes.Runtime, spec *Spec) bool {
	return (rt.Kind == runtimes.KindPython || rt.Kind == runtimes.KindNodejs) && len(spec.LayerSHA256s) == 0
}

// takeGeneric returns a ready generic instance for spec, or nil. The
// caller refills the stock (refillFor) once its own start is done, so the
// refill does not compete with it for the CPU.
func (s *Scheduler) takeGeneric(spec *Spec, rt runtimes.Runtime) *Instance {
	if s.prewarm <= 0 || !canPrestart(rt, spec) {
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
	if s.prewarm > 0 && canPrestart(rt, spec) {
		bridged := s.bridged(spec)
		s.refill(genericKey(rt, spec.MemoryBytes, bridged), rt, spec.MemoryBytes, bridged)
	}
}

// refill starts generic instances until the key's stock is full.
func (s *Scheduler) refill(key string, rt runtimes.Runtime, memoryBytes int64, bridged bool) {
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
		inst, err := s.startInstance(ctx, spec, true)
		s.mu.Lock()
		st.starting--
		if err != nil || s.closed {
			s.used -= memoryBytes
			s.mu.Unlock()
			if err != nil {
				s.logger.Warn("pre-starting an instance failed", "runtime", rt.Name, "err", err)
			} else {
				stopQuietly(inst)
			}
			return
		}
		st.ready = append(st.ready, inst)
		s.mu.Unlock()
		s.refill(key, rt, memoryBytes, bridged)
	})
}

// specialise makes a generic instance an instance of spec.
func (s *Scheduler) specialise(ctx context.Context, inst *Instance, spec *Spec, rt runtimes.Runtime) error {
	src, err := s.blobs.Unpack(ctx, spec.CodeSHA256)
	if err != nil {
		return fmt.Errorf("unpack code: %w", err)
	}
	if err := linkTree(src, inst.codeDir); err != nil {
		return fmt.Errorf("place code: %w", err)
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

func stopQuietly(inst *Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inst.sb.Stop(ctx)
}
