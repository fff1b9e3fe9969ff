package meter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/meter"
	"github.com/openfc/openfc/internal/testenv"
)

func TestMeterBilled(t *testing.T) {
	for _, tc := range []struct {
		granularity, d, want time.Duration
	}{
		{0, 0, 0},
		{0, time.Microsecond, 100 * time.Millisecond},
		{0, 100 * time.Millisecond, 100 * time.Millisecond},
		{0, 100*time.Millisecond + 1, 200 * time.Millisecond},
		{time.Millisecond, 1500 * time.Microsecond, 2 * time.Millisecond},
		{time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond},
	} {
		m := meter.New(meter.Options{Granularity: tc.granularity})
		if got := m.Billed(tc.d); got != tc.want {
			t.Errorf("Billed(%v) at granularity %v = %v, want %v", tc.d, tc.granularity, got, tc.want)
		}
	}
}

// totals sums a report's rows.
func totals(rep *fc.UsageReport) fc.UsageRow {
	var s fc.UsageRow
	for _, r := range rep.Rows {
		s.Invocations += r.Invocations
		s.DurationUs += r.DurationUs
		s.BilledMs += r.BilledMs
		s.ProvisionedInstanceMs += r.ProvisionedInstanceMs
	}
	return s
}

func start(t *testing.T, b *broker.Broker, opts meter.Options) *meter.Meter {
	t.Helper()
	opts.JS, opts.KV, opts.AccountID, opts.Logger = b.JS, b.Usage, "123", testenv.Logger(t)
	m := meter.New(opts)
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func waitTotals(t *testing.T, m *meter.Meter, want fc.UsageRow) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		for _, interval := range []string{"hour", "day"} {
			rep, err := m.Query(t.Context(), meter.Query{Interval: interval, GroupBy: []string{"function"}})
			if err != nil {
				return err
			}
			if got := totals(rep); got != want {
				return fmt.Errorf("%s totals = %+v, want %+v", interval, got, want)
			}
		}
		return nil
	})
}

// TestMeterExactlyOnceAfterCrash: records published before a stop are
// all folded in after a restart, and folding the same records again (a
// crash after the aggregates were written but before the cursor moved,
// caused here by putting the cursor back) counts none of them twice.
func TestMeterExactlyOnceAfterCrash(t *testing.T) {
	b := testenv.NATS(t)
	m := start(t, b, meter.Options{})
	var want fc.UsageRow
	end := time.Now()
	for i := range 250 {
		d := time.Duration(i*997) * time.Microsecond
		m.Record(meter.Invocation{End: end, Service: "s", Function: fmt.Sprintf("f%d", i%3), Qualifier: "LATEST",
			RequestID: fmt.Sprintf("r%d", i), Duration: d, MemoryBytes: 128 << 20})
		want.Invocations++
		want.DurationUs += d.Microseconds()
		want.BilledMs += m.Billed(d).Milliseconds()
	}
	waitTotals(t, m, want)
	if err := m.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The crash window: the aggregates hold every record, the cursor
	// does not say so.
	if err := b.Usage.Purge(t.Context(), "cursor"); err != nil {
		t.Fatal(err)
	}
	m2 := start(t, b, meter.Options{})
	m2.Record(meter.Invocation{End: end, Service: "s", Function: "f0", Qualifier: "LATEST", RequestID: "after", Duration: time.Second, MemoryBytes: 128 << 20})
	want.Invocations++
	want.DurationUs += time.Second.Microseconds()
	want.BilledMs += 1000
	waitTotals(t, m2, want)

	recs, next, err := m2.Records(t.Context(), meter.RecordQuery{Limit: 1000})
	if err != nil || next != 0 || len(recs) != 251 {
		t.Fatalf("Records = %d records, next %d, %v; want 251, 0, nil", len(recs), next, err)
	}
}

// TestMeterProvisioned: provisioned instances are billed per sample, as
// records and in the aggregates.
func TestMeterProvisioned(t *testing.T) {
	b := testenv.NATS(t)
	m := start(t, b, meter.Options{ProvisionInterval: 20 * time.Millisecond, Provisioned: func() []meter.Provisioned {
		return []meter.Provisioned{{Service: "s", Function: "p", Qualifier: "prod", VersionID: "1", MemoryBytes: 512 << 20, Instances: 2}}
	}})
	var recs []fc.UsageRecord
	testenv.Eventually(t, 20*time.Second, func() error {
		var err error
		recs, _, err = m.Records(t.Context(), meter.RecordQuery{Limit: 1000})
		if err != nil {
			return err
		}
		if len(recs) < 3 {
			return fmt.Errorf("%d provisioned records, want at least 3", len(recs))
		}
		return nil
	})
	m.Shutdown(t.Context())
	recs, _, err := m.Records(t.Context(), meter.RecordQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var want fc.UsageRow
	for _, r := range recs {
		if r.Kind != meter.KindProvisioned || r.Instances != 2 || r.MemoryMB != 512 || r.Qualifier != "prod" || r.VersionID != "1" {
			t.Errorf("record %+v, want a provisioned record of 2 instances of 512 MB of s/p at prod (version 1)", r)
		}
		want.ProvisionedInstanceMs += r.BilledMs
	}
	m2 := start(t, b, meter.Options{})
	waitTotals(t, m2, want)
}

// TestMeterMessageWithoutSummary: a usage message that lacks the summary
// line (written by another writer, or by hand) is still folded in, from
// its records.
func TestMeterMessageWithoutSummary(t *testing.T) {
	b := testenv.NATS(t)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	data := `{"kind":"invocation","time":"` + now + `","accountId":"123","serviceName":"s","functionName":"f","qualifier":"LATEST","durationUs":1500,"billedMs":100,"memoryMB":128}` + "\n" +
		`{"kind":"invocation","time":"` + now + `","accountId":"123","serviceName":"s","functionName":"f","qualifier":"LATEST","durationUs":250000,"billedMs":300,"memoryMB":128}` + "\n"
	if _, err := b.JS.Publish(t.Context(), "openfc.usage.123", []byte(data)); err != nil {
		t.Fatal(err)
	}
	m := start(t, b, meter.Options{})
	waitTotals(t, m, fc.UsageRow{Invocations: 2, DurationUs: 251500, BilledMs: 400})

	// Time ranges select the periods that overlap them.
	for _, tc := range []struct {
		name     string
		from, to time.Time
		interval string
		rows     int
	}{
		{"hour, since half an hour", time.Now().Add(-30 * time.Minute), time.Time{}, "hour", 1},
		{"hour, from later", time.Now().Add(2 * time.Hour), time.Time{}, "hour", 0},
		{"hour, before", time.Time{}, time.Now().Add(-2 * time.Hour), "hour", 0},
		{"day, since an hour", time.Now().Add(-time.Hour), time.Time{}, "day", 1},
		{"day, from tomorrow", time.Now().Add(48 * time.Hour), time.Time{}, "day", 0},
	} {
		rep, err := m.Query(t.Context(), meter.Query{Interval: tc.interval, From: tc.from, To: tc.to})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != tc.rows {
			t.Errorf("%s: %d rows, want %d: %+v", tc.name, len(rep.Rows), tc.rows, rep.Rows)
		}
	}
}
