package flow

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Errors returned by Admit. Each refusal wraps one of them, and its text
// names the scope whose limit refused the call.
var (
	// ErrRate: an invocations-per-second limit is used up (FC answers 429
	// ResourceThrottled).
	ErrRate = errors.New("flow: invocation rate limit reached")
	// ErrConcurrency: a concurrent-requests limit is reached and the
	// function's waiting room is full or its wait timed out (429
	// ResourceExhausted).
	ErrConcurrency = errors.New("flow: concurrent requests limit reached")
	// ErrNodeBusy: the node's concurrency is used up and the function
	// already holds its fair share of it, or its waiting room is full (429
	// ResourceExhausted).
	ErrNodeBusy = errors.New("flow: the node is busy and the function holds its share of it")
)

// Refusals, built once so a refused call allocates nothing.
var (
	errAccountRate      = &refusal{"account", ErrRate}
	errServiceRate      = &refusal{"service", ErrRate}
	errFunctionRate     = &refusal{"function", ErrRate}
	errServiceConc      = &refusal{"service", ErrConcurrency}
	errFunctionConc     = &refusal{"function", ErrConcurrency}
	errNodeConcurrency  = &refusal{"node", ErrNodeBusy}
	errNodeQueueTimeout = &refusal{"node", ErrNodeBusy}
)

type refusal struct {
	scope string
	err   error
}

func (r *refusal) Error() string { return r.scope + ": " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// Scope returns the scope ("account", "service", "function" or "node")
// whose limit refused a call, or "" if err is not a refusal.
func Scope(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.scope
	}
	return ""
}

// Limits are one scope's limits; a zero field means no limit.
type Limits struct {
	// InvocationsPerSecond is the sustained rate of admitted invocations.
	InvocationsPerSecond float64
	// Burst is how many invocations may be admitted at once above the
	// rate; 0 means max(1, InvocationsPerSecond).
	Burst int
	// ConcurrentRequests caps the invocations in flight (service and
	// function scopes).
	ConcurrentRequests int
}

// zero reports whether l limits nothing.
func (l Limits) zero() bool { return l.InvocationsPerSecond <= 0 && l.ConcurrentRequests <= 0 }

// Options configures a Controller.
type Options struct {
	// QueueLength bounds each function's (and service's) waiting room for
	// a free concurrent-request slot; 0 means 100; -1 means none (refuse at
	// once).
	QueueLength int
	// QueueTimeout is how long a call waits there; 0 means 2 s.
	QueueTimeout time.Duration
	// NodeConcurrency caps the invocations in flight on the node, shared
	// fairly between functions; 0 means no cap.
	NodeConcurrency int
}

// Controller holds the limits in force and their counters.
type Controller struct {
	queueLen int64
	timeout  time.Duration
	node     *node // nil without a node-wide cap

	// any is false while no limit is set: Admit then only counts.
	any       atomic.Bool
	account   atomic.Pointer[limiter]
	services  sync.Map // service name → *scope
	functions sync.Map // fnKey → *scope
	// mu serialises Set* (not Admit), which add scopes to the maps above.
	mu sync.Mutex
}

type fnKey struct{ service, function string }

// scope is one service's or function's limits. Its limiter is replaced,
// never changed, when the limits change; calls in flight release the
// limiter they took.
type scope struct{ lim atomic.Pointer[limiter] }

type limiter struct {
	limits  Limits
	bucket  *rate.Limiter // nil: no rate limit
	sem     chan struct{} // nil: no concurrency limit
	waiting atomic.Int64
}

func newLimiter(l Limits) *limiter {
	lm := &limiter{limits: l}
	if l.InvocationsPerSecond > 0 {
		burst := l.Burst
		if burst <= 0 {
			burst = int(math.Max(1, math.Ceil(l.InvocationsPerSecond)))
		}
		lm.bucket = rate.NewLimiter(rate.Limit(l.InvocationsPerSecond), burst)
	}
	if l.ConcurrentRequests > 0 {
		lm.sem = make(chan struct{}, l.ConcurrentRequests)
	}
	return lm
}

// New returns a Controller with no limits set.
func New(opts Options) *Controller {
	c := &Controller{queueLen: int64(opts.QueueLength), timeout: opts.QueueTimeout}
	switch {
	case c.queueLen == 0:
		c.queueLen = 100
	case c.queueLen < 0:
		c.queueLen = 0
	}
	if c.timeout <= 0 {
		c.timeout = 2 * time.Second
	}
	if opts.NodeConcurrency > 0 {
		c.node = &node{limit: opts.NodeConcurrency, fns: map[fnKey]*nodeFn{}}
	}
	return c
}

// SetAccount sets the account's limits (its invocation rate; concurrency
// is ignored at this scope). The zero Limits removes them.
func (c *Controller) SetAccount(l Limits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.InvocationsPerSecond <= 0 {
		c.account.Store(nil)
	} else {
		c.account.Store(newLimiter(Limits{InvocationsPerSecond: l.InvocationsPerSecond, Burst: l.Burst}))
	}
	c.refreshLocked()
}

// SetService sets a service's limits; the zero Limits removes them.
func (c *Controller) SetService(service string, l Limits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(&c.services, service, l)
}

// SetFunction sets a function's limits; the zero Limits removes them.
func (c *Controller) SetFunction(service, function string, l Limits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(&c.functions, fnKey{service, function}, l)
}

func (c *Controller) setLocked(m *sync.Map, key any, l Limits) {
	if l.zero() {
		m.Delete(key)
	} else {
		v, _ := m.LoadOrStore(key, &scope{})
		s := v.(*scope)
		if old := s.lim.Load(); old == nil || old.limits != l {
			s.lim.Store(newLimiter(l))
		}
	}
	c.refreshLocked()
}

func (c *Controller) refreshLocked() {
	set := c.account.Load() != nil
	has := func(any, any) bool { set = true; return false }
	c.services.Range(has)
	c.functions.Range(has)
	c.any.Store(set)
}

// Ticket is an admitted invocation; Release gives its slots back. The zero
// Ticket releases nothing.
type Ticket struct {
	c        *Controller
	fn, svc  *limiter // concurrency slots taken, if any
	nodeKey  fnKey
	nodeHeld bool
}

// Release gives back the slots the invocation held. Call it once.
func (t Ticket) Release() {
	if t.fn != nil {
		<-t.fn.sem
	}
	if t.svc != nil {
		<-t.svc.sem
	}
	if t.nodeHeld {
		t.c.node.release(t.nodeKey)
	}
}

// Admit takes an invocation of a function in, waiting in the function's
// bounded queue while a concurrency limit is reached. It returns an error
// wrapping ErrRate, ErrConcurrency or ErrNodeBusy when the call is
// refused, or ctx's error when ctx ends first.
func (c *Controller) Admit(ctx context.Context, service, function string) (Ticket, error) {
	t := Ticket{c: c}
	if c.any.Load() {
		var fn, svc *limiter
		if v, ok := c.functions.Load(fnKey{service, function}); ok {
			fn = v.(*scope).lim.Load()
		}
		if v, ok := c.services.Load(service); ok {
			svc = v.(*scope).lim.Load()
		}
		// Rates first: a refusal there holds no slot.
		if a := c.account.Load(); a != nil && !a.bucket.Allow() {
			return t, errAccountRate
		}
		if svc != nil && svc.bucket != nil && !svc.bucket.Allow() {
			return t, errServiceRate
		}
		if fn != nil && fn.bucket != nil && !fn.bucket.Allow() {
			return t, errFunctionRate
		}
		if fn != nil && fn.sem != nil {
			if err := c.wait(ctx, fn, errFunctionConc); err != nil {
				return t, err
			}
			t.fn = fn
		}
		if svc != nil && svc.sem != nil {
			if err := c.wait(ctx, svc, errServiceConc); err != nil {
				t.Release()
				return Ticket{}, err
			}
			t.svc = svc
		}
	}
	if c.node != nil {
		k := fnKey{service, function}
		if err := c.node.acquire(ctx, k, c.queueLen, c.timeout); err != nil {
			t.Release()
			return Ticket{}, err
		}
		t.nodeKey, t.nodeHeld = k, true
	}
	return t, nil
}

// wait takes a slot of l's semaphore, waiting in its bounded FIFO queue
// (a channel's senders are served in order).
func (c *Controller) wait(ctx context.Context, l *limiter, refused error) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	default:
	}
	if l.waiting.Add(1) > c.queueLen {
		l.waiting.Add(-1)
		return refused
	}
	defer l.waiting.Add(-1)
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return refused
	}
}

// InFlight returns the invocations of a function in flight under its own
// concurrency limit (0 without one), for status and tests.
func (c *Controller) InFlight(service, function string) int {
	if v, ok := c.functions.Load(fnKey{service, function}); ok {
		if l := v.(*scope).lim.Load(); l != nil && l.sem != nil {
			return len(l.sem)
		}
	}
	return 0
}
