package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/store"
)

// CronParser parses FC's timer expressions: six fields with seconds first
// ("0 0 4 * * *"), descriptors such as "@every 5m", and a "CRON_TZ=<zone> "
// prefix. Every node must compute the same ticks from the same expression,
// since a tick's message ID is what keeps one per platform, so its
// schedules depend on nothing of the node's: a cron expression without
// CRON_TZ is in UTC (as in FC), not in the node's local zone, and "@every D"
// fires at the multiples of D since the Unix epoch, not D after the node
// started.
var CronParser timerParser

// timerParser is CronParser's type; app validates expressions with it too.
type timerParser struct{}

var robfigParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse returns the schedule of a timer expression.
func (timerParser) Parse(expr string) (cron.Schedule, error) {
	// robfig/cron slices up to the first space after a zone prefix and
	// panics when there is none ("CRON_TZ=Asia/Shanghai").
	if (strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=")) && !strings.Contains(expr, " ") {
		return nil, fmt.Errorf("cron expression %q has a time zone but no schedule", expr)
	}
	sched, err := robfigParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	switch s := sched.(type) {
	case *cron.SpecSchedule:
		// robfig/cron's default zone, and CRON_TZ=Local's, is time.Local.
		if s.Location == time.Local {
			s.Location = time.UTC
		}
	case cron.ConstantDelaySchedule:
		return epochSchedule{period: int64(s.Delay / time.Second)}, nil
	}
	return sched, nil
}

// epochSchedule is "@every D" (D whole seconds, at least 1) aligned to the
// Unix epoch: it fires at the multiples of D since 1970-01-01T00:00:00Z,
// so for any D all nodes agree on the ticks. robfig/cron's own schedule
// for it (ConstantDelaySchedule) fires D after whenever it is asked: nodes
// started at different seconds would tick at different times, with
// different message IDs, and "@every 5m" would run once per node.
type epochSchedule struct{ period int64 }

// Next returns the first multiple of the period after t.
func (s epochSchedule) Next(t time.Time) time.Time {
	n := t.Unix() // whole seconds, rounded down, so a tick at n is not after t
	rem := n % s.period
	if rem < 0 {
		rem += s.period
	}
	return time.Unix(n-rem+s.period, 0).UTC()
}

// TimerOptions configures Timers.
type TimerOptions struct {
	Store  *store.Store
	Queue  *queue.Queue
	Logger *slog.Logger
}

// Timers runs the enabled timer triggers of every function. Every node
// runs them all: a tick is published as an async invocation whose message
// ID (and request ID) derives from the trigger and the tick's time, so
// JetStream's de-duplication stores it once however many nodes fire it
// (FC: once per platform). Only future ticks are scheduled, so a node
// that was down does not replay the ticks it missed.
type Timers struct {
	store  *store.Store
	queue  *queue.Queue
	logger *slog.Logger

	reload chan struct{}
	// mu guards running.
	mu      sync.Mutex
	running map[string]*timer // by service/function/trigger
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

type timer struct {
	config string // what it runs: the trigger's JSON, to see changes
	stop   context.CancelFunc
}

// NewTimers returns Timers; Start runs them.
func NewTimers(opts TimerOptions) *Timers {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Timers{store: opts.Store, queue: opts.Queue, logger: l.With("component", "trigger"),
		reload: make(chan struct{}, 1), running: map[string]*timer{}}
}

// Changed tells Timers that triggers changed; it never blocks.
func (t *Timers) Changed() {
	select {
	case t.reload <- struct{}{}:
	default:
	}
}

// Start schedules the timers and follows changes until Shutdown.
func (t *Timers) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.sync(wctx)
	t.wg.Go(func() {
		for {
			select {
			case <-t.reload:
				t.sync(wctx)
			case <-wctx.Done():
				return
			}
		}
	})
	return nil
}

// Shutdown stops every timer.
func (t *Timers) Shutdown(ctx context.Context) error {
	if t.cancel != nil {
		t.cancel()
	}
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sync starts, restarts and stops timers to match the stored triggers.
func (t *Timers) sync(ctx context.Context) {
	want := map[string]*fc.Trigger{}
	owner := map[string][2]string{}
	t.logger.Debug("timer triggers sync")
	t.store.AllTriggers(func(service, function string, tr *fc.Trigger) {
		if tr.TriggerType != fc.TriggerTimer {
			return
		}
		key := service + "/" + function + "/" + tr.TriggerName
		want[key], owner[key] = tr, [2]string{service, function}
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, r := range t.running {
		if tr, ok := want[key]; !ok || string(tr.TriggerConfig)+tr.Qualifier != r.config {
			r.stop()
			delete(t.running, key)
		}
	}
	for key, tr := range want {
		if _, ok := t.running[key]; ok {
			continue
		}
		var cfg fc.TimerTriggerConfig
		if err := json.Unmarshal(tr.TriggerConfig, &cfg); err != nil || (cfg.Enable != nil && !*cfg.Enable) {
			continue
		}
		sched, err := CronParser.Parse(cfg.CronExpression)
		if err != nil {
			t.logger.Warn("timer trigger skipped: bad cron expression", "trigger", key, "err", err)
			continue
		}
		tctx, stop := context.WithCancel(ctx)
		t.running[key] = &timer{config: string(tr.TriggerConfig) + tr.Qualifier, stop: stop}
		o := owner[key]
		spec := timerSpec{service: o[0], function: o[1], qualifier: tr.Qualifier, name: tr.TriggerName, payload: cfg.Payload, key: key}
		t.wg.Go(func() { t.run(tctx, sched, spec) })
	}
}

type timerSpec struct {
	service, function, qualifier, name, payload, key string
}

// timerNamespace makes tick request IDs (UUID v5) from trigger and time.
var timerNamespace = uuid.MustParse("6f0e3e52-6a55-4d3c-9d0e-7c1b7a0f5e21")

func (t *Timers) run(ctx context.Context, sched cron.Schedule, s timerSpec) {
	tick(ctx, sched, func(at time.Time) { t.fire(ctx, s, at) })
}

// tick calls fire with each of sched's times, at that time, until ctx ends.
// Each wait is computed from the clock, never from the previous tick, so
// only future ticks fire: a node that was down, or a fire that took several
// periods, skips the ticks it missed rather than firing them in a burst. A
// clock stepped back does not fire a tick again either.
func tick(ctx context.Context, sched cron.Schedule, fire func(at time.Time)) {
	var last time.Time
	for {
		now := time.Now()
		next := sched.Next(now)
		if !last.IsZero() && !next.After(last) {
			next = sched.Next(last)
		}
		if next.IsZero() {
			return
		}
		wait := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		fire(next)
		last = next
	}
}

// fire publishes one tick as FC's timer event.
func (t *Timers) fire(ctx context.Context, s timerSpec, at time.Time) {
	event, _ := json.Marshal(map[string]string{ // strings always encode
		"triggerTime": at.UTC().Format(time.RFC3339),
		"triggerName": s.name,
		"payload":     s.payload,
	})
	id := uuid.NewSHA1(timerNamespace, []byte(s.key+"#"+strconv.FormatInt(at.Unix(), 10))).String()
	t.logger.Debug("timer tick", "trigger", s.key, "request_id", id)
	err := t.queue.Enqueue(ctx, queue.Invocation{Service: s.service, Qualifier: s.qualifier, Function: s.function,
		RequestID: id, Payload: event})
	if err != nil && ctx.Err() == nil {
		t.logger.Warn("timer trigger tick not enqueued", "trigger", s.key, "request_id", id, "err", err)
	}
}
