package invoke

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/openfc/openfc/internal/fc"
)

// cronParser reads FC's six-field cron (seconds first), as timer triggers.
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// trackingInterval is how often target-tracking policies are evaluated.
const trackingInterval = 10 * time.Second

// plan is what a provision config asks for at one time.
type plan struct {
	target int
	// wake is when the target may change by itself next (a scheduled
	// action fires, a policy starts or ends, tracking is due); zero: never.
	wake time.Time
	// problem says why part of the config is ignored (currentError).
	problem string
}

// planTarget returns the target a provision config asks for at now (FC's
// scheduled actions and target tracking):
//   - target, until a scheduled action fires; then the target of the action
//     that fired last, as FC's actions set the target when they fire. An
//     action fires at its scheduleExpression's times (cron or at, in its
//     timeZone) between its startTime and endTime. The answer depends on
//     now only, so every node and every restart computes the same one.
//   - while target-tracking policies are in force (between their startTime
//     and endTime), the largest of theirs instead: the instances that keep
//     ProvisionedConcurrencyUtilization (requests in flight over the
//     instances' slots) at metricTarget, within minCapacity..maxCapacity.
//
// load returns the requests in flight and the slots per instance of the
// function version; it is called only when a policy is in force.
func planTarget(c *fc.ProvisionConfig, now time.Time, load func() (inFlight, concurrency int)) plan {
	var pl plan
	if c.Target != nil {
		pl.target = int(*c.Target)
	}
	var problems []string
	wakeAt := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (pl.wake.IsZero() || t.Before(pl.wake)) {
			pl.wake = t
		}
	}
	var lastFire time.Time
	for _, a := range c.ScheduledActions {
		last, next, err := actionFires(a, now)
		if err != nil {
			problems = append(problems, "scheduled action "+a.Name+": "+err.Error())
			continue
		}
		if !last.IsZero() && last.After(lastFire) {
			lastFire, pl.target = last, int(a.Target)
		}
		wakeAt(next)
	}
	tracked, any := 0, false
	for _, tp := range c.TargetTrackingPolicies {
		loc, err := fc.ScheduleLocation(tp.TimeZone)
		if err != nil {
			problems = append(problems, "target tracking policy "+tp.Name+": "+err.Error())
			continue
		}
		start, err1 := fc.ScheduleTime(tp.StartTime, loc)
		end, err2 := fc.ScheduleTime(tp.EndTime, loc)
		if err1 != nil || err2 != nil || tp.MetricTarget <= 0 {
			problems = append(problems, "target tracking policy "+tp.Name+": bad startTime, endTime or metricTarget")
			continue
		}
		wakeAt(start)
		wakeAt(end)
		if (!start.IsZero() && now.Before(start)) || (!end.IsZero() && !now.Before(end)) {
			continue
		}
		inFlight, conc := load()
		want := int(math.Ceil(float64(inFlight) / (tp.MetricTarget * float64(max(1, conc)))))
		want = min(max(want, int(tp.MinCapacity)), int(tp.MaxCapacity))
		if !any || want > tracked {
			tracked = want
		}
		any = true
	}
	if any {
		pl.target = tracked
		wakeAt(now.Add(trackingInterval))
	}
	pl.problem = strings.Join(problems, "; ")
	return pl
}

// lookbacks are the spans searched, newest first, for a cron action's
// last fire: a frequent schedule is found in the first, a yearly one in
// the last, without stepping through every fire of a long span.
var lookbacks = []time.Duration{time.Hour, 25 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour}

// actionFires returns a scheduled action's last fire at or before now and
// its next fire after now (zero when there is none), within its window.
func actionFires(a fc.ScheduledAction, now time.Time) (last, next time.Time, err error) {
	loc, err := fc.ScheduleLocation(a.TimeZone)
	if err != nil {
		return last, next, err
	}
	start, err := fc.ScheduleTime(a.StartTime, loc)
	if err != nil {
		return last, next, err
	}
	end, err := fc.ScheduleTime(a.EndTime, loc)
	if err != nil {
		return last, next, err
	}
	in := func(t time.Time) bool { return !t.Before(start) && (end.IsZero() || !t.After(end)) }
	kind, body, err := fc.ScheduleExpression(a.ScheduleExpression)
	if err != nil {
		return last, next, err
	}
	if kind == "at" {
		t, err := fc.ScheduleTime(body, loc)
		if err != nil {
			return last, next, err
		}
		switch {
		case !in(t):
		case t.After(now):
			next = t
		default:
			last = t
		}
		return last, next, nil
	}
	sched, err := cronParser.Parse(body)
	if err != nil {
		return last, next, err
	}
	local := now.In(loc)
	from := local
	if !start.IsZero() && start.After(now) {
		from = start.In(loc).Add(-time.Second)
	}
	if n := sched.Next(from); !n.IsZero() && in(n) {
		next = n
	}
	covered := time.Duration(0)
	for _, lb := range lookbacks {
		lo, hi := local.Add(-lb), local.Add(-covered)
		if !start.IsZero() && lo.Before(start) {
			lo = start.In(loc)
		}
		covered = lb
		if !lo.Before(hi) {
			continue
		}
		// Step through the span's fires, at most 4000 of them (a cron
		// firing every second is found in the last hour).
		for t, n := sched.Next(lo.Add(-time.Second)), 0; !t.IsZero() && !t.After(hi) && n < 4000; t, n = sched.Next(t), n+1 {
			if in(t) {
				last = t
			}
		}
		if !last.IsZero() {
			return last, next, nil
		}
	}
	return last, next, nil
}

// runSchedule calls apply at once, again on each reload and at each time
// apply returns (zero: none), until ctx ends. apply gets the current time.
func runSchedule(ctx context.Context, reload <-chan struct{}, apply func(now time.Time) time.Time) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		wake := apply(time.Now())
		if !wake.IsZero() {
			timer.Reset(time.Until(wake))
		}
		select {
		case <-ctx.Done():
			return
		case <-reload:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
