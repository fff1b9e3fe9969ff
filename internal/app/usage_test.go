package app_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// allUsageRecords reads every usage record, a small page at a time (so
// pagination is exercised).
func allUsageRecords(ctx context.Context, c *client.Client) ([]fc.UsageRecord, error) {
	var all []fc.UsageRecord
	next := ""
	for {
		page, _, err := c.UsageRecords(ctx, client.UsageRecordOptions{Limit: 3, NextToken: next})
		if err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
		if page.NextToken == "" {
			return all, nil
		}
		next = page.NextToken
	}
}

// usageMatches checks that the hourly and daily aggregates, grouped by
// function, equal the sums of the records, and that there are want
// invocation records.
func usageMatches(ctx context.Context, c *client.Client, want int) error {
	recs, err := allUsageRecords(ctx, c)
	if err != nil {
		return err
	}
	if len(recs) != want {
		return fmt.Errorf("%d usage records, want %d", len(recs), want)
	}
	type sum struct {
		n, durUs, billed int64
		gbs              float64
	}
	sums := map[string]*sum{}
	for _, r := range recs {
		s := sums[r.Function]
		if s == nil {
			s = &sum{}
			sums[r.Function] = s
		}
		s.n++
		s.durUs += r.DurationUs
		s.billed += r.BilledMs
		s.gbs += r.GBSeconds
	}
	for _, interval := range []string{"hour", "day"} {
		rep, _, err := c.Usage(ctx, client.UsageOptions{GroupBy: []string{"function"}, Interval: interval})
		if err != nil {
			return err
		}
		got := map[string]*sum{}
		for _, row := range rep.Rows {
			s := got[row.Function]
			if s == nil {
				s = &sum{}
				got[row.Function] = s
			}
			s.n += row.Invocations
			s.durUs += row.DurationUs
			s.billed += row.BilledMs
			s.gbs += row.GBSeconds
		}
		for fn, w := range sums {
			g := got[fn]
			if g == nil || g.n != w.n || g.durUs != w.durUs || g.billed != w.billed || math.Abs(g.gbs-w.gbs) > 1e-9 {
				return fmt.Errorf("%s usage of %s = %+v, want the records' sums %+v", interval, fn, g, w)
			}
		}
		if len(got) != len(sums) {
			return fmt.Errorf("%s usage has functions %v, want %v", interval, got, sums)
		}
	}
	return nil
}

// TestUsageTotalsAcrossRestart: every invocation leaves one usage record
// with its billed duration rounded up to 100 ms and its GB-seconds; the
// aggregates by hour and day equal the sums of the records, and still do
// after the node restarts on the same data dir and runs more calls (no
// record counted twice, none lost).
func TestUsageTotalsAcrossRestart(t *testing.T) {
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "data")
	n := testenv.Platform(t, func(c *config.Config) { c.DataDir = dir })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "u"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		mb   int64
	}{{"f", 256}, {"g", 128}} {
		if _, _, err := n.Client.CreateFunction(ctx, "u", &fc.FunctionInput{
			Function: fc.Function{FunctionName: f.name, Runtime: "python3", Handler: "index.handler", MemorySize: int(f.mb)},
			Code:     &fc.Code{ZipFile: pyZip(t, "def handler(event, context):\n    return 'ok'\n")},
		}); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(c *client.Client, fn string, times int) {
		t.Helper()
		for range times {
			if _, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/u/functions/" + fn + "/invocations"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	invoke(n.Client, "f", 5)
	invoke(n.Client, "g", 3)
	testenv.Eventually(t, 30*time.Second, func() error { return usageMatches(ctx, n.Client, 8) })

	recs, err := allUsageRecords(ctx, n.Client)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		mb := map[string]int64{"f": 256, "g": 128}[r.Function]
		minBilled := (r.DurationUs + 999) / 1000
		if r.Kind != "invocation" || r.Service != "u" || r.Qualifier != "LATEST" || r.RequestID == "" || r.AccountID != n.Creds.AccountID ||
			r.MemoryMB != mb || r.BilledMs%100 != 0 || r.BilledMs < minBilled || r.BilledMs >= minBilled+100 ||
			math.Abs(r.GBSeconds-float64(mb)/1024*float64(r.BilledMs)/1000) > 1e-12 {
			t.Errorf("usage record %+v: want an invocation of u/%s at LATEST, %d MB, billed = duration rounded up to 100 ms, GB-s = GB × billed s", r, r.Function, mb)
		}
	}

	n.Stop(t)
	n = testenv.Platform(t, func(c *config.Config) { c.DataDir = dir })
	invoke(n.Client, "f", 2)
	testenv.Eventually(t, 30*time.Second, func() error { return usageMatches(ctx, n.Client, 10) })
}

// TestUsageExactBilling: with --billing-granularity 1ms the billed
// duration is the duration rounded up to the millisecond.
func TestUsageExactBilling(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) { c.Observability.BillingGranularity = time.Millisecond })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "u"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Client.CreateFunction(ctx, "u", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: pyZip(t, "def handler(event, context):\n    return 'ok'\n")},
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := n.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/u/functions/f/invocations"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 30*time.Second, func() error { return usageMatches(ctx, n.Client, 3) })
	recs, err := allUsageRecords(ctx, n.Client)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if want := (r.DurationUs + 999) / 1000; r.BilledMs != want {
			t.Errorf("billed %d ms for %d µs at 1 ms granularity, want %d", r.BilledMs, r.DurationUs, want)
		}
	}
}

// TestUsageBadRequests: bad parameters get FC's InvalidArgument; with
// metering off the usage API says so.
func TestUsageBadRequests(t *testing.T) {
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	for name, o := range map[string]client.UsageOptions{
		"interval": {Interval: "week"},
		"group":    {GroupBy: []string{"color"}},
		"from":     {From: "yesterday"},
		"range":    {From: "2026-01-02T00:00:00Z", To: "2026-01-01T00:00:00Z"},
	} {
		_, _, err := n.Client.Usage(ctx, o)
		var e *client.Error
		if !errorsAs(err, &e) || e.Status != 400 || e.Code != fc.CodeInvalidArgument {
			t.Errorf("%s: Usage(%+v) = %v, want 400 InvalidArgument", name, o, err)
		}
	}
	off := testenv.Platform(t, func(c *config.Config) { c.Observability.Metering = false })
	_, _, err := off.Client.Usage(ctx, client.UsageOptions{})
	var e *client.Error
	if !errorsAs(err, &e) || e.Status != 503 {
		t.Errorf("Usage with metering off = %v, want 503", err)
	}
}
