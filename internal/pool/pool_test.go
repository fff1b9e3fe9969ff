package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// testInstance stands in for a sandbox: the pool's logic (slots, order,
// timers) is tested inside synctest bubbles, which cannot wait on real
// processes. Real instances go through the pool in the invoke and e2e
// tests.
type testInstance struct {
	id      string
	done    chan struct{}
	stopped atomic.Bool
	once    sync.Once
}

func (t *testInstance) ID() string            { return t.id }
func (t *testInstance) Done() <-chan struct{} { return t.done }
func (t *testInstance) Stop(context.Context) error {
	t.stopped.Store(true)
	t.crash()
	return nil
}
func (t *testInstance) crash() { t.once.Do(func() { close(t.done) }) }

type starter struct {
	mu    sync.Mutex
	insts []*testInstance
	fail  error
}

func (s *starter) start(ctx context.Context) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	i := &testInstance{id: fmt.Sprintf("i%d", len(s.insts)), done: make(chan struct{})}
	s.insts = append(s.insts, i)
	return i, nil
}

func (s *starter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.insts)
}

func TestPoolReusesWarmInstance(t *testing.T) {
	st := &starter{}
	p := New(Options{Concurrency: 1, Start: st.start})
	s1, err := p.Acquire(t.Context())
	if err != nil || !s1.Cold {
		t.Fatalf("first Acquire = %+v, %v; want a cold slot", s1, err)
	}
	s1.Release(true)
	s2, err := p.Acquire(t.Context())
	if err != nil || s2.Cold || s2.Instance() != s1.Instance() {
		t.Fatalf("second Acquire = %+v, %v; want the warm instance", s2, err)
	}
	s2.Release(true)
	if st.count() != 1 {
		t.Errorf("started %d instances, want 1", st.count())
	}
}

func TestPoolConcurrencySlots(t *testing.T) {
	st := &starter{}
	p := New(Options{Concurrency: 10, Start: st.start})
	var slots []*Slot
	for range 20 {
		s, err := p.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	if st.count() != 2 {
		t.Errorf("20 calls on concurrency 10 started %d instances, want 2", st.count())
	}
	if s := p.Stats(); s.InFlight != 20 || s.Instances != 2 {
		t.Errorf("Stats = %+v", s)
	}
	for _, s := range slots {
		s.Release(true)
	}
}

func TestPoolPicksMostRecentlyUsed(t *testing.T) {
	st := &starter{}
	p := New(Options{Concurrency: 1, Start: st.start})
	a, _ := p.Acquire(t.Context())
	b, _ := p.Acquire(t.Context())
	a.Release(true)
	b.Release(true) // b is now the most recently used
	c, _ := p.Acquire(t.Context())
	if c.Instance() != b.Instance() {
		t.Errorf("Acquire chose %s, want the most recently used %s", c.Instance().ID(), b.Instance().ID())
	}
	c.Release(true)
}

func TestPoolLimitQueuesThenBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		p := New(Options{Concurrency: 1, MaxInstances: 1, Start: st.start, QueueTimeout: time.Second})
		defer p.Drain(context.Background())
		s, _ := p.Acquire(t.Context())
		// A waiter gets the slot when it is released.
		got := make(chan *Slot)
		go func() {
			w, err := p.Acquire(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- w
		}()
		synctest.Wait()
		s.Release(true)
		w := <-got
		if w.Instance() != s.Instance() {
			t.Errorf("waiter got another instance")
		}
		// With the slot held, the next call waits its timeout and fails.
		if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrBusy) {
			t.Errorf("Acquire at the limit = %v, want ErrBusy", err)
		}
		w.Release(true)
		if st.count() != 1 {
			t.Errorf("started %d instances, want 1", st.count())
		}
	})
}

func TestPoolKeepAliveScalesToZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		p := New(Options{Start: st.start, KeepAlive: time.Minute})
		defer p.Drain(context.Background())
		s, _ := p.Acquire(t.Context())
		s.Release(true)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := p.Stats().Instances; n != 1 {
			t.Fatalf("before the keep-alive: %d instances, want 1", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := p.Stats().Instances; n != 0 {
			t.Errorf("after the keep-alive: %d instances, want 0", n)
		}
		if !st.insts[0].stopped.Load() {
			t.Errorf("idle instance not stopped")
		}
	})
}

func TestPoolMaxLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		p := New(Options{Start: st.start, KeepAlive: time.Hour, MaxLifetime: 2 * time.Hour})
		defer p.Drain(context.Background())
		for range 3 {
			s, _ := p.Acquire(t.Context())
			time.Sleep(50 * time.Minute)
			s.Release(true)
		}
		// The instance is 2.5 h old: released after its lifetime, replaced.
		s, _ := p.Acquire(t.Context())
		if !s.Cold {
			t.Errorf("instance older than its lifetime was reused")
		}
		s.Release(true)
		synctest.Wait()
		if !st.insts[0].stopped.Load() {
			t.Errorf("old instance not stopped")
		}
	})
}

func TestPoolReplacesCrashedInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		var stoppedN atomic.Int32
		p := New(Options{Start: st.start, Stopped: func(Instance) { stoppedN.Add(1) }})
		defer p.Drain(context.Background())
		s, _ := p.Acquire(t.Context())
		s.Release(true)
		st.insts[0].crash()
		synctest.Wait()
		s2, _ := p.Acquire(t.Context())
		if !s2.Cold {
			t.Errorf("a crashed instance was reused")
		}
		s2.Release(true)
		if stoppedN.Load() != 1 {
			t.Errorf("Stopped called %d times, want 1", stoppedN.Load())
		}
		// An unhealthy release retires the instance.
		s3, _ := p.Acquire(t.Context())
		s3.Release(false)
		synctest.Wait()
		if p.Stats().Instances != 0 {
			t.Errorf("retired instance still in the pool")
		}
	})
}

func TestPoolDrainWaitsForInflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		p := New(Options{Concurrency: 1, Start: st.start})
		defer p.Drain(context.Background())
		busy, _ := p.Acquire(t.Context())
		idle, _ := p.Acquire(t.Context())
		idle.Release(true)
		drained := make(chan struct{})
		go func() { p.Drain(context.Background()); close(drained) }()
		synctest.Wait()
		if !idle.Instance().(*testInstance).stopped.Load() {
			t.Errorf("idle instance not stopped by Drain")
		}
		if busy.Instance().(*testInstance).stopped.Load() {
			t.Errorf("busy instance stopped during its call")
		}
		if _, err := p.Acquire(t.Context()); !errors.Is(err, ErrDraining) {
			t.Errorf("Acquire while draining = %v, want ErrDraining", err)
		}
		busy.Release(true)
		<-drained
		synctest.Wait()
		if !busy.Instance().(*testInstance).stopped.Load() {
			t.Errorf("busy instance not stopped after its call")
		}
	})
}

func TestPoolStartError(t *testing.T) {
	st := &starter{fail: errors.New("no sandbox")}
	p := New(Options{Start: st.start})
	if _, err := p.Acquire(t.Context()); err == nil {
		t.Fatal("Acquire succeeded when starting fails")
	}
	if s := p.Stats(); s.Starting != 0 || s.Instances != 0 {
		t.Errorf("Stats after a failed start = %+v", s)
	}
}

// Calls that arrive while instances start share those instances' slots
// instead of each starting one: 20 parallel calls on concurrency 10 from
// cold start 2 instances.
func TestPoolSharesStartingInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		st := &starter{}
		p := New(Options{Concurrency: 10, Start: func(ctx context.Context) (Instance, error) {
			<-gate // every call arrives while the first instances start
			return st.start(ctx)
		}})
		defer p.Drain(context.Background())
		slots := make(chan *Slot, 20)
		for range 20 {
			go func() {
				s, err := p.Acquire(context.Background())
				if err != nil {
					t.Error(err)
				}
				slots <- s
			}()
		}
		synctest.Wait()
		close(gate)
		for range 20 {
			(<-slots).Release(true)
		}
		if n := st.count(); n != 2 {
			t.Errorf("20 parallel calls on concurrency 10 started %d instances, want 2", n)
		}
	})
}

// When a start fails, the callers waiting for its slots try again.
func TestPoolStartFailureWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var calls atomic.Int32
		st := &starter{}
		p := New(Options{Concurrency: 4, Start: func(ctx context.Context) (Instance, error) {
			if calls.Add(1) == 1 {
				<-gate
				return nil, errors.New("first start fails")
			}
			return st.start(ctx)
		}})
		defer p.Drain(context.Background())
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				s, err := p.Acquire(context.Background())
				if err == nil {
					defer s.Release(true)
				}
				errs <- err
			}()
		}
		synctest.Wait()
		close(gate)
		failed := 0
		for range 3 {
			if err := <-errs; err != nil {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("%d calls failed, want only the one whose start failed", failed)
		}
	})
}

func TestPoolProvisionedInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &starter{}
		p := New(Options{Start: st.start, KeepAlive: time.Minute})
		defer p.Drain(context.Background())
		p.SetMin(2)
		synctest.Wait()
		if n := p.Stats().Instances; n != 2 {
			t.Fatalf("after SetMin(2): %d instances, want 2", n)
		}
		// The first call is warm: it takes a provisioned instance.
		s, err := p.Acquire(context.Background())
		if err != nil || s.Cold {
			t.Fatalf("Acquire = %+v, %v; want a warm provisioned slot", s, err)
		}
		s.Release(true)
		// They outlive the keep-alive, and are not evicted for others.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := p.Stats().Instances; n != 2 {
			t.Errorf("after the keep-alive: %d instances, want the 2 provisioned", n)
		}
		if p.EvictIdle() {
			t.Errorf("EvictIdle evicted a provisioned instance")
		}
		// A crashed one is replaced.
		st.insts[0].crash()
		synctest.Wait()
		if n, started := p.Stats().Instances, st.count(); n != 2 || started != 3 {
			t.Errorf("after a crash: %d instances, %d started; want 2 and 3", n, started)
		}
		// Released: they idle out like any other.
		p.SetMin(0)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n := p.Stats().Instances; n != 0 {
			t.Errorf("after SetMin(0) and the keep-alive: %d instances, want 0", n)
		}
	})
}
