package pool

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Instance is what the pool needs of a running instance.
type Instance interface {
	ID() string
	// Stop ends the instance; the pool calls it once, never while a slot
	// of the instance is taken, except on Drain's deadline.
	Stop(ctx context.Context) error
	// Done is closed when the instance ended on its own (crash, OOM).
	Done() <-chan struct{}
}

// Errors returned by Acquire.
var (
	// ErrBusy: every instance is busy, the pool is at its limit, and no
	// slot freed up within the queue timeout (FC answers 429).
	ErrBusy = errors.New("pool: no free instance within the limits")
	// ErrDraining: the pool is being drained (function updated or deleted).
	ErrDraining = errors.New("pool: draining")
)

// Options configures a Pool.
type Options struct {
	// Concurrency is the number of slots per instance (>= 1).
	Concurrency int
	// MaxInstances caps the pool's instances; 0 means no cap of its own.
	MaxInstances int
	// Start starts a new instance. It is called without the pool's lock,
	// inside the request that needs it.
	Start func(ctx context.Context) (Instance, error)
	// Stopped, if set, is told when an instance has been stopped or has
	// ended, so the caller can give back its resources.
	Stopped func(Instance)
	// KeepAlive is how long an idle instance lives; 0 means 5 minutes.
	KeepAlive time.Duration
	// MaxLifetime is the age after which an instance is replaced; 0 means
	// 4 hours.
	MaxLifetime time.Duration
	// QueueTimeout is how long Acquire waits for a slot when it cannot
	// start an instance; 0 means 5 s. QueueLength bounds the waiters; 0
	// means 1000.
	QueueTimeout time.Duration
	QueueLength  int
	Logger       *slog.Logger
}

// Pool holds one function version's instances.
type Pool struct {
	opts   Options
	logger *slog.Logger

	// mu guards everything below.
	mu       sync.Mutex
	insts    []*entry // least recently used first
	starting int
	waiters  []*waiter
	draining bool
	timer    *time.Timer // fires at the next keep-alive or lifetime expiry

	stops sync.WaitGroup // instance stops in flight, which Drain waits for

	// min is the number of provisioned instances: kept warm, exempt from
	// the keep-alive, started in the background when missing.
	min int
	// fillErr is why the last provisioned instance failed to start, nil
	// once one started (FC's currentError). Guarded by mu.
	fillErr error
}

type entry struct {
	inst     Instance
	inflight int
	lastUsed time.Time
	started  time.Time
	retired  bool // stop once its slots are free
}

type waiter struct {
	ch chan *entry // receives the entry whose slot was handed over, or nil: retry
	// forStart marks a caller waiting for a slot of an instance being
	// started, which has no queue timeout (a start may take long).
	forStart bool
}

// New returns an empty Pool.
func New(opts Options) *Pool {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 5 * time.Minute
	}
	if opts.MaxLifetime == 0 {
		opts.MaxLifetime = 4 * time.Hour
	}
	if opts.QueueTimeout == 0 {
		opts.QueueTimeout = 5 * time.Second
	}
	if opts.QueueLength == 0 {
		opts.QueueLength = 1000
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Pool{opts: opts, logger: l}
}

// Slot is a taken slot of an instance; Release gives it back.
type Slot struct {
	p    *Pool
	e    *entry
	once sync.Once
	// Cold reports whether Acquire started the instance for this call.
	Cold bool
	// StartDuration is how long starting the instance took (cold only).
	StartDuration time.Duration
}

// Instance returns the slot's instance.
func (s *Slot) Instance() Instance { return s.e.inst }

// Release gives the slot back. healthy false retires the instance (a
// timeout, crash or protocol error): it is stopped, not reused.
func (s *Slot) Release(healthy bool) {
	s.once.Do(func() { s.p.release(s.e, healthy) })
}

// Acquire takes a slot, starting an instance when needed and allowed.
func (p *Pool) Acquire(ctx context.Context) (*Slot, error) {
	p.mu.Lock()
	if p.draining {
		p.mu.Unlock()
		return nil, ErrDraining
	}
	if e := p.freeSlotLocked(); e != nil {
		e.inflight++
		p.mu.Unlock()
		return &Slot{p: p, e: e}, nil
	}
	// Instances being started will have spare slots: wait for one of
	// those rather than starting yet another instance (20 parallel calls
	// on concurrency 10 need 2 instances, not 20).
	if p.starting > 0 && p.startWaitersLocked() < p.starting*(p.opts.Concurrency-1) {
		return p.wait(ctx, true)
	}
	if p.opts.MaxInstances == 0 || len(p.insts)+p.starting < p.opts.MaxInstances {
		p.starting++
		p.mu.Unlock()
		return p.start(ctx)
	}
	if len(p.waiters) >= p.opts.QueueLength {
		p.mu.Unlock()
		return nil, ErrBusy
	}
	return p.wait(ctx, false)
}

func (p *Pool) startWaitersLocked() int {
	n := 0
	for _, w := range p.waiters {
		if w.forStart {
			n++
		}
	}
	return n
}

// wait queues the caller (p.mu held, released here) until a slot is
// handed over, the queue timeout passes (not for forStart) or ctx ends.
func (p *Pool) wait(ctx context.Context, forStart bool) (*Slot, error) {
	w := &waiter{ch: make(chan *entry, 1), forStart: forStart}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	var timeout <-chan time.Time
	if !forStart {
		t := time.NewTimer(p.opts.QueueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case e, ok := <-w.ch:
		return p.handed(ctx, e, ok)
	case <-timeout:
	case <-ctx.Done():
	}
	p.mu.Lock()
	for i, o := range p.waiters {
		if o == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	// A slot may have been handed over just as the wait ended.
	select {
	case e, ok := <-w.ch:
		return p.handed(ctx, e, ok)
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, ErrBusy
}

// handed turns what a waiter received into Acquire's result: a slot, a
// closed channel (Drain), or nil (the start it waited for failed: try
// again).
func (p *Pool) handed(ctx context.Context, e *entry, ok bool) (*Slot, error) {
	if !ok {
		return nil, ErrDraining
	}
	if e == nil {
		return p.Acquire(ctx)
	}
	return &Slot{p: p, e: e}, nil
}

// freeSlotLocked returns the most recently used live instance with a free
// slot.
func (p *Pool) freeSlotLocked() *entry {
	for i := len(p.insts) - 1; i >= 0; i-- {
		e := p.insts[i]
		if e.inflight < p.opts.Concurrency && !e.retired && !ended(e.inst) {
			return e
		}
	}
	return nil
}

func ended(i Instance) bool {
	select {
	case <-i.Done():
		return true
	default:
		return false
	}
}

func (p *Pool) start(ctx context.Context) (*Slot, error) {
	t0 := time.Now()
	inst, err := p.opts.Start(ctx)
	d := time.Since(t0)
	p.mu.Lock()
	p.starting--
	if err != nil {
		// Callers waiting for this instance's slots try again themselves.
		n := p.opts.Concurrency - 1
		keep := p.waiters[:0]
		for _, w := range p.waiters {
			if w.forStart && n > 0 {
				n--
				w.ch <- nil
				continue
			}
			keep = append(keep, w)
		}
		p.waiters = keep
		p.mu.Unlock()
		return nil, err
	}
	e := p.addLocked(inst, 1)
	p.mu.Unlock()
	go p.watch(e)
	return &Slot{p: p, e: e, Cold: true, StartDuration: d}, nil
}

// addLocked adds a started instance with taken slots already in use and
// hands its other slots to waiting callers; p.mu must be held.
func (p *Pool) addLocked(inst Instance, taken int) *entry {
	now := time.Now()
	e := &entry{inst: inst, inflight: taken, lastUsed: now, started: now, retired: p.draining}
	p.insts = append(p.insts, e)
	for e.inflight < p.opts.Concurrency && len(p.waiters) > 0 && !e.retired {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		e.inflight++
		w.ch <- e
	}
	p.armLocked(now)
	return e
}

// watch removes an instance that ended on its own.
func (p *Pool) watch(e *entry) {
	<-e.inst.Done()
	p.mu.Lock()
	removed := p.removeLocked(e)
	p.mu.Unlock()
	if removed && p.opts.Stopped != nil {
		p.opts.Stopped(e.inst)
	}
	if removed {
		p.fill()
	}
}

func (p *Pool) removeLocked(e *entry) bool {
	for i, o := range p.insts {
		if o == e {
			p.insts = append(p.insts[:i], p.insts[i+1:]...)
			return true
		}
	}
	return false
}

func (p *Pool) release(e *entry, healthy bool) {
	now := time.Now()
	p.mu.Lock()
	e.lastUsed = now
	if !healthy || ended(e.inst) {
		e.retired = true
	}
	if !e.retired && now.Sub(e.started) >= p.opts.MaxLifetime {
		e.retired = true
	}
	if !e.retired && len(p.waiters) > 0 {
		// Hand the slot over directly: the waiter was first.
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.ch <- e
		p.mu.Unlock()
		return
	}
	e.inflight--
	var stop []*entry
	if e.retired {
		if e.inflight == 0 && p.removeLocked(e) {
			stop = append(stop, e)
		}
	} else {
		// Move to the most-recently-used end.
		if p.removeLocked(e) {
			p.insts = append(p.insts, e)
		}
	}
	p.armLocked(now)
	p.addStopsLocked(stop)
	p.mu.Unlock()
	p.stopAll(stop)
	if len(stop) > 0 {
		p.fill() // a provisioned instance was recycled: replace it
	}
}

// armLocked sets the timer to the next idle or lifetime expiry.
func (p *Pool) armLocked(now time.Time) {
	var next time.Time
	protected := len(p.insts) - p.min
	for i, e := range p.insts {
		var at time.Time
		if e.inflight == 0 && i < protected {
			at = e.lastUsed.Add(p.opts.KeepAlive)
		}
		if life := e.started.Add(p.opts.MaxLifetime); e.inflight == 0 && (at.IsZero() || life.Before(at)) {
			at = life
		}
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if next.IsZero() {
		if p.timer != nil {
			p.timer.Stop()
		}
		return
	}
	d := max(next.Sub(now), 0)
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.reap)
	} else {
		p.timer.Reset(d)
	}
}

// reap stops instances idle past the keep-alive or older than their
// lifetime.
func (p *Pool) reap() {
	now := time.Now()
	p.mu.Lock()
	var stop []*entry
	keep := p.insts[:0]
	// Provisioned instances do not idle out: the min most recently used
	// (the end of the list) are kept whatever their idle time.
	protected := len(p.insts) - p.min
	for i, e := range p.insts {
		aged := now.Sub(e.started) >= p.opts.MaxLifetime
		idle := now.Sub(e.lastUsed) >= p.opts.KeepAlive && i < protected
		if e.inflight == 0 && (idle || aged || e.retired) {
			stop = append(stop, e)
			continue
		}
		keep = append(keep, e)
	}
	p.insts = keep
	p.armLocked(now)
	p.addStopsLocked(stop)
	p.mu.Unlock()
	p.stopAll(stop)
	p.fill()
}

// SetMin sets the number of provisioned instances: the pool starts
// instances in the background until it has n, and keeps n of them warm.
func (p *Pool) SetMin(n int) {
	p.mu.Lock()
	p.min = n
	p.armLocked(time.Now())
	p.mu.Unlock()
	p.fill()
}

// FillError returns why the last provisioned instance failed to start,
// or nil once one has started since.
func (p *Pool) FillError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fillErr
}

// Min returns the number of provisioned instances asked for.
func (p *Pool) Min() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.min
}

// fill starts idle instances until the pool holds min of them.
func (p *Pool) fill() {
	p.mu.Lock()
	missing := p.min - len(p.insts) - p.starting
	if p.draining || missing <= 0 {
		p.mu.Unlock()
		return
	}
	p.starting += missing
	p.mu.Unlock()
	for range missing {
		p.stops.Go(func() { // counted like stops, so Drain waits for it
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			inst, err := p.opts.Start(ctx)
			p.mu.Lock()
			p.starting--
			if err != nil {
				p.fillErr = err
				p.mu.Unlock()
				p.logger.Warn("provisioned instance failed to start", "err", err)
				return
			}
			p.fillErr = nil
			// Callers waiting for a slot take it at once.
			e := p.addLocked(inst, 0)
			var stop []*entry
			if e.retired && p.removeLocked(e) {
				stop = p.addStopsLocked([]*entry{e})
			}
			p.mu.Unlock()
			p.stopAll(stop)
			go p.watch(e)
		})
	}
}

// stopAll stops instances in the background. Callers count them in
// p.stops while still holding p.mu (addStopsLocked), so that Drain, which
// waits for p.stops once no instance is left, cannot miss one.
func (p *Pool) stopAll(es []*entry) {
	for _, e := range es {
		go func() {
			defer p.stops.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.inst.Stop(ctx); err != nil {
				p.logger.Warn("instance stop failed", "instance", e.inst.ID(), "err", err)
			}
			if p.opts.Stopped != nil {
				p.opts.Stopped(e.inst)
			}
		}()
	}
}

// addStopsLocked counts instances about to be stopped; p.mu must be held.
func (p *Pool) addStopsLocked(es []*entry) []*entry {
	p.stops.Add(len(es))
	return es
}

// EvictIdle stops the pool's least recently used idle instance, to free
// memory for another function, and reports whether there was one.
func (p *Pool) EvictIdle() bool {
	p.mu.Lock()
	if len(p.insts) <= p.min {
		p.mu.Unlock()
		return false // provisioned instances are not evicted
	}
	for _, e := range p.insts {
		if e.inflight == 0 {
			p.removeLocked(e)
			p.armLocked(time.Now())
			stop := p.addStopsLocked([]*entry{e})
			p.mu.Unlock()
			p.stopAll(stop)
			return true
		}
	}
	p.mu.Unlock()
	return false
}

// OldestIdle returns when the pool's least recently used idle instance was
// last used, or the zero time when it has none.
func (p *Pool) OldestIdle() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.insts) <= p.min {
		return time.Time{}
	}
	for _, e := range p.insts {
		if e.inflight == 0 {
			return e.lastUsed
		}
	}
	return time.Time{}
}

// Stats is a snapshot of the pool.
type Stats struct {
	Instances int // live instances
	Busy      int // instances with at least one slot taken
	InFlight  int // taken slots
	Starting  int
	Waiting   int
	// Slots is the slot capacity of the live instances (Instances ×
	// Concurrency); Provisioned counts the live provisioned ones.
	Slots       int
	Provisioned int
}

// Stats returns a snapshot of the pool.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Instances: len(p.insts), Starting: p.starting, Waiting: len(p.waiters),
		Slots: len(p.insts) * p.opts.Concurrency, Provisioned: min(len(p.insts), p.min)}
	for _, e := range p.insts {
		s.InFlight += e.inflight
		if e.inflight > 0 {
			s.Busy++
		}
	}
	return s
}

// Instances returns the IDs of the live instances.
func (p *Pool) Instances() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, len(p.insts))
	for i, e := range p.insts {
		ids[i] = e.inst.ID()
	}
	return ids
}

// Drain retires every instance: no new slots are given out, idle instances
// stop now and busy ones when their calls finish. It returns once all are
// stopped (their Stop calls returned, so what they held is released) or
// ctx ends (then the rest are stopped anyway).
func (p *Pool) Drain(ctx context.Context) {
	p.mu.Lock()
	p.draining = true
	var stop []*entry
	keep := p.insts[:0]
	for _, e := range p.insts {
		e.retired = true
		if e.inflight == 0 {
			stop = append(stop, e)
		} else {
			keep = append(keep, e)
		}
	}
	p.insts = keep
	for _, w := range p.waiters {
		close(w.ch)
	}
	p.waiters = nil
	if p.timer != nil {
		p.timer.Stop()
	}
	p.addStopsLocked(stop)
	p.mu.Unlock()
	p.stopAll(stop)
	for {
		p.mu.Lock()
		// A start in progress adds its (retired) instance later.
		n := len(p.insts) + p.starting
		p.mu.Unlock()
		if n == 0 {
			p.stops.Wait()
			return
		}
		select {
		case <-ctx.Done():
			p.mu.Lock()
			rest := p.insts
			p.insts = nil
			p.addStopsLocked(rest)
			p.mu.Unlock()
			p.stopAll(rest)
			p.stops.Wait()
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
