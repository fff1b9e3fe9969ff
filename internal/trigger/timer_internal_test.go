package trigger

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata" // CRON_TZ zones whether or not the machine has a zoneinfo database

	"github.com/robfig/cron/v3"
)

func mustParse(t *testing.T, expr string) cron.Schedule {
	t.Helper()
	s, err := CronParser.Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

func utc(s string) time.Time {
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return at
}

// The nodes of a platform compute a tick's message ID from its time, so
// two nodes that started at different moments must compute the same ticks,
// or JetStream sees different IDs and "@every 5m" runs once per node.
func TestTimerEveryAlignedToEpoch(t *testing.T) {
	a := utc("2026-03-04T05:06:07.3Z")
	b := a.Add(time.Minute + 42900*time.Millisecond) // 05:07:50.2: another second, another parity
	for expr, first := range map[string]string{
		"@every 1s":                       "2026-03-04T05:06:08Z",
		"@every 2s":                       "2026-03-04T05:06:08Z",
		"@every 7s":                       "2026-03-04T05:06:14Z", // 7 divides no minute: still the epoch's multiples (05:06:07 is one)
		"@every 5m":                       "2026-03-04T05:10:00Z",
		"@every 90m":                      "2026-03-04T06:00:00Z",
		"@every 1500ms":                   "2026-03-04T05:06:08Z", // robfig/cron truncates to 1s
		"CRON_TZ=Asia/Shanghai @every 5m": "2026-03-04T05:10:00Z",
	} {
		s := mustParse(t, expr)
		if got := s.Next(a); !got.Equal(utc(first)) {
			t.Errorf("%s: first tick after %s = %s, want %s", expr, a, got, first)
		}
		// Node A's ticks, followed past the moment node B starts ...
		at := s.Next(a)
		for !at.After(b) {
			at = s.Next(at)
		}
		// ... are node B's.
		if got := s.Next(b); !got.Equal(at) {
			t.Errorf("%s: node started at %s ticks at %s, node started at %s at %s", expr, b.Format(time.TimeOnly), got, a.Format(time.TimeOnly), at)
		}
	}
}

// Six fields, seconds first, as FC writes them, in UTC.
func TestTimerCronSecondsFirst(t *testing.T) {
	from := utc("2026-03-04T05:06:07.3Z")
	for expr, want := range map[string][]string{
		"30 * * * * *":        {"2026-03-04T05:06:30Z", "2026-03-04T05:07:30Z", "2026-03-04T05:08:30Z"},
		"*/20 * * * * *":      {"2026-03-04T05:06:20Z", "2026-03-04T05:06:40Z", "2026-03-04T05:07:00Z"},
		"0 0/5 * * * *":       {"2026-03-04T05:10:00Z", "2026-03-04T05:15:00Z", "2026-03-04T05:20:00Z"},
		"0 0 4 * * *":         {"2026-03-05T04:00:00Z", "2026-03-06T04:00:00Z", "2026-03-07T04:00:00Z"},
		"0 15 10 ? * MON-FRI": {"2026-03-04T10:15:00Z", "2026-03-05T10:15:00Z", "2026-03-06T10:15:00Z", "2026-03-09T10:15:00Z"},
		"@daily":              {"2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"},
	} {
		s := mustParse(t, expr)
		at := from
		for _, w := range want {
			at = s.Next(at)
			if !at.Equal(utc(w)) {
				t.Errorf("%s: tick %s, want %s", expr, at.UTC(), w)
				break
			}
		}
	}
}

// "CRON_TZ=<zone> " evaluates the rest in that zone: 04:00 in Shanghai
// (UTC+8) is 20:00 UTC the day before.
func TestTimerCronTZ(t *testing.T) {
	from := utc("2026-03-04T05:06:07Z")
	for expr, want := range map[string]string{
		"CRON_TZ=Asia/Shanghai 0 0 4 * * *":     "2026-03-04T20:00:00Z",
		"TZ=Asia/Shanghai 0 0 4 * * *":          "2026-03-04T20:00:00Z",
		"CRON_TZ=America/New_York 0 30 9 * * *": "2026-03-04T14:30:00Z", // EST, UTC-5
		"CRON_TZ=UTC 0 0 4 * * *":               "2026-03-05T04:00:00Z",
	} {
		if got := mustParse(t, expr).Next(from); !got.Equal(utc(want)) {
			t.Errorf("%s: next after %s = %s, want %s", expr, from, got.UTC(), want)
		}
	}
}

// FC evaluates an expression without CRON_TZ in UTC; robfig/cron would use
// the node's time.Local, so nodes in different zones would disagree. The
// test cannot change time.Local safely (other tests read it concurrently)
// and on a UTC machine time.Local behaves as UTC, so besides the ticks it
// checks the schedule's zone itself.
func TestTimerCronDefaultsToUTC(t *testing.T) {
	from := utc("2026-03-04T05:06:07Z")
	for _, expr := range []string{"0 0 4 * * *", "CRON_TZ=Local 0 0 4 * * *"} {
		s := mustParse(t, expr)
		if loc := s.(*cron.SpecSchedule).Location; loc != time.UTC {
			t.Errorf("%s: evaluated in %q, want UTC", expr, loc)
		}
		if got := s.Next(from); !got.Equal(utc("2026-03-05T04:00:00Z")) {
			t.Errorf("%s: next after %s = %s, want 04:00 UTC", expr, from, got.UTC())
		}
	}
}

// robfig/cron panics on a zone prefix with nothing after it.
func TestTimerCronZoneOnly(t *testing.T) {
	for _, expr := range []string{"CRON_TZ=Asia/Shanghai", "TZ=UTC", "CRON_TZ="} {
		if _, err := CronParser.Parse(expr); err == nil {
			t.Errorf("Parse(%q) accepted it", expr)
		}
	}
}

// fired is what a tick loop fired: the tick, and the (fake) time it fired.
type fired struct{ at, now time.Time }

// runTicks runs the tick loop for expr from now on until stop is called;
// stop returns what it fired. slow, if set, runs inside each fire.
func runTicks(t *testing.T, expr string, slow func(at time.Time)) (stop func() []fired) {
	sched := mustParse(t, expr)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var got []fired
	go func() {
		defer close(done)
		tick(ctx, sched, func(at time.Time) {
			got = append(got, fired{at, time.Now()})
			if slow != nil {
				slow(at)
			}
		})
	}()
	return func() []fired {
		cancel()
		<-done
		return got
	}
}

func ticksAt(t *testing.T, got []fired) []time.Time {
	t.Helper()
	var out []time.Time
	for _, f := range got {
		if !f.now.Equal(f.at) {
			t.Errorf("tick %s fired at %s", f.at.UTC(), f.now.UTC())
		}
		out = append(out, f.at.UTC())
	}
	return out
}

func wantTicks(t *testing.T, got []time.Time, want ...string) {
	t.Helper()
	var w []time.Time
	for _, s := range want {
		w = append(w, utc(s))
	}
	if !slices.EqualFunc(got, w, time.Time.Equal) {
		t.Errorf("ticks %v, want %v", got, w)
	}
}

// The loop fires a six-field expression at its times, on the second. In a
// synctest bubble the clock starts at 2000-01-01T00:00:00Z and only moves
// when every goroutine waits, so the times are exact.
func TestTimerTickFiresOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(7300 * time.Millisecond)
		stop := runTicks(t, "15,45 * * * * *", nil)
		time.Sleep(2 * time.Minute) // to 00:02:07.3
		wantTicks(t, ticksAt(t, stop()),
			"2000-01-01T00:00:15Z", "2000-01-01T00:00:45Z", "2000-01-01T00:01:15Z", "2000-01-01T00:01:45Z")
	})
}

// Two nodes that start their loops 1m42.9s apart fire "@every 5m" and
// "@every 2s" at the same times, so the ticks' message IDs match.
func TestTimerNodesTickTogether(t *testing.T) {
	for _, expr := range []string{"@every 2s", "@every 5m"} {
		t.Run(expr, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(7300 * time.Millisecond)
				stopA := runTicks(t, expr, nil)
				time.Sleep(time.Minute + 42900*time.Millisecond)
				bStart := time.Now()
				stopB := runTicks(t, expr, nil)
				time.Sleep(20 * time.Minute)
				a, b := ticksAt(t, stopA()), ticksAt(t, stopB())
				a = slices.DeleteFunc(a, func(at time.Time) bool { return at.Before(bStart) })
				if len(b) == 0 || !slices.EqualFunc(a, b, time.Time.Equal) {
					t.Errorf("node A ticked at %v, node B at %v", a, b)
				}
			})
		})
	}
}

// After downtime only future ticks fire, never a burst of the missed ones:
// neither when a node comes back (a new loop) nor when a fire stalls for
// several periods (an enqueue waiting for the broker).
func TestTimerNoStormAfterDowntime(t *testing.T) {
	t.Run("node restarted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			time.Sleep(500 * time.Millisecond)
			stop := runTicks(t, "@every 2s", nil)
			time.Sleep(5 * time.Second) // to 00:00:05.5, then down for 26 s
			wantTicks(t, ticksAt(t, stop()), "2000-01-01T00:00:02Z", "2000-01-01T00:00:04Z")
			time.Sleep(26 * time.Second)
			stop = runTicks(t, "@every 2s", nil)
			time.Sleep(3 * time.Second) // to 00:00:34.5
			wantTicks(t, ticksAt(t, stop()), "2000-01-01T00:00:32Z", "2000-01-01T00:00:34Z")
		})
	})
	t.Run("fire stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			time.Sleep(500 * time.Millisecond)
			stalled := false
			stop := runTicks(t, "@every 2s", func(time.Time) {
				if !stalled {
					stalled = true
					time.Sleep(11 * time.Second) // from 00:00:02 to 00:00:13
				}
			})
			time.Sleep(16500 * time.Millisecond) // to 00:00:17
			wantTicks(t, ticksAt(t, stop()), "2000-01-01T00:00:02Z", "2000-01-01T00:00:14Z", "2000-01-01T00:00:16Z")
		})
	})
}
