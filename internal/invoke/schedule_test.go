package invoke

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/fc"
)

func i64(n int64) *int64 { return &n }

// TestProvisionSchedule runs the provisioner's schedule loop on a fake
// clock (synctest starts at 2000-01-01 00:00 UTC, a Saturday) and records
// the target it applies at each wake-up: cron actions in a time zone, an
// at() action, a window that ends, and reloads.
func TestProvisionSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &fc.ProvisionConfig{Target: i64(1), ScheduledActions: []fc.ScheduledAction{
			// 08:00 and 20:00 in Shanghai (UTC+8) are 00:00 and 12:00 UTC.
			{Name: "day", Target: 5, ScheduleExpression: "cron(0 0 8 * * *)", TimeZone: "Asia/Shanghai", StartTime: "2000-01-01T06:00:00Z"},
			{Name: "night", Target: 2, ScheduleExpression: "cron(0 0 20 * * *)", TimeZone: "Asia/Shanghai", EndTime: "2000-01-02T13:00:00Z"},
			{Name: "once", Target: 9, ScheduleExpression: "at(2000-01-03T03:30:00)", TimeZone: "Asia/Shanghai"},
		}}
		start := time.Now()
		type step struct {
			At     string
			Target int
		}
		var mu sync.Mutex // guards got
		var got []step
		reload := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			runSchedule(ctx, reload, func(now time.Time) time.Time {
				pl := planTarget(cfg, now, func() (int, int) { return 0, 1 })
				if pl.problem != "" {
					t.Errorf("problem at %v: %s", now, pl.problem)
				}
				mu.Lock()
				got = append(got, step{now.Sub(start).String(), pl.target})
				mu.Unlock()
				return pl.wake
			})
		}()
		time.Sleep(4 * 24 * time.Hour)
		synctest.Wait()
		want := []step{
			{"0s", 2},       // night fired last (20:00 Shanghai on the 31st); day starts at 06:00
			{"12h0m0s", 2},  // night, 20:00 Shanghai
			{"24h0m0s", 5},  // day, 08:00 Shanghai
			{"36h0m0s", 2},  // night's last fire before its end (13:00 on day 2)
			{"43h30m0s", 9}, // once: 03:30 Shanghai on the 3rd is 19:30 UTC on the 2nd
			{"48h0m0s", 5},  // day again; night has ended
			{"72h0m0s", 5},
			{"96h0m0s", 5},
		}
		mu.Lock()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("targets applied (-want +got):\n%s", diff)
		}
		// A reload applies at once.
		got = nil
		mu.Unlock()
		reload <- struct{}{}
		synctest.Wait()
		mu.Lock()
		if len(got) != 1 || got[0].Target != 5 {
			t.Errorf("after a reload: %v, want one application of target 5", got)
		}
		mu.Unlock()
		cancel()
		<-done
	})
}

// TestProvisionTargetTracking: a policy in force keeps utilisation at its
// target within minCapacity..maxCapacity and is evaluated every 10 s; out
// of its window the configured target applies.
func TestProvisionTargetTracking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &fc.ProvisionConfig{Target: i64(3), TargetTrackingPolicies: []fc.TrackingPolicy{{
			Name: "p", MetricType: fc.MetricProvisionedConcurrencyUtilization, MetricTarget: 0.5,
			MinCapacity: 2, MaxCapacity: 10, StartTime: "2000-01-01T00:01:00Z", EndTime: "2000-01-01T00:02:00Z",
		}}}
		// inFlight is written by the test and read by the loop, which the
		// fake clock wakes: an atomic, as the race detector sees no order
		// between the two.
		var inFlight atomic.Int64
		var mu sync.Mutex
		var targets []int
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			runSchedule(ctx, nil, func(now time.Time) time.Time {
				pl := planTarget(cfg, now, func() (int, int) { return int(inFlight.Load()), 2 })
				mu.Lock()
				targets = append(targets, pl.target)
				mu.Unlock()
				return pl.wake
			})
		}()
		// Load over time: 0 in flight until 00:01:15, then 7, then 30 from
		// 00:01:35 (between evaluations, so each sees one value).
		time.Sleep(75 * time.Second)
		synctest.Wait()
		inFlight.Store(7)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		inFlight.Store(30)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		// 00:00 outside the window: 3; 00:01 and 00:01:10 with 0 in flight:
		// the minimum, 2; at 00:01:20 and :30, 7 requests at 0.5 of 2 slots:
		// 7; at 00:01:40 and :50, 30 in flight: the maximum, 10; at 00:02 the
		// window ends, and so do the evaluations.
		want := []int{3, 2, 2, 7, 7, 10, 10, 3}
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff(want, targets); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
	})
}

func TestProvisionPlanProblems(t *testing.T) {
	cfg := &fc.ProvisionConfig{Target: i64(4), ScheduledActions: []fc.ScheduledAction{
		{Name: "bad", Target: 1, ScheduleExpression: "cron(nope)"},
		{Name: "tz", Target: 1, ScheduleExpression: "cron(0 0 8 * * *)", TimeZone: "Mars/Olympus"},
	}}
	pl := planTarget(cfg, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil)
	if pl.target != 4 || !strings.Contains(pl.problem, "bad") || !strings.Contains(pl.problem, "tz") {
		t.Errorf("plan = %+v, want target 4 and both actions named as problems", pl)
	}
	err := fc.ValidateProvisionConfig(cfg, func(expr string) error {
		_, err := cronParser.Parse(expr)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "cron(nope)") || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("ValidateProvisionConfig = %v, want both problems", err)
	}
}
