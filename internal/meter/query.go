package meter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// Grouping fields of Query.
var GroupFields = []string{"account", "service", "function", "qualifier"}

// Query selects aggregates: Service, Function and Qualifier filter when
// set; From and To bound the periods (a period is included when it
// overlaps [From, To): aggregates have no finer resolution; zero means
// unbounded).
type Query struct {
	AccountID, Service, Function, Qualifier string
	From, To                                time.Time
	// Interval is "hour" or "day" (default day).
	Interval string
	// GroupBy lists GroupFields; none sums every function per period.
	GroupBy []string
}

// Query returns the aggregated usage, one row per group and period,
// ordered by period then group. It reads only aggregate keys, never
// records.
func (m *Meter) Query(ctx context.Context, q Query) (*fc.UsageReport, error) {
	prefix, layout, length := "d", "20060102", 24*time.Hour
	if q.Interval == "hour" {
		prefix, layout, length = "h", "2006010215", time.Hour
	} else {
		q.Interval = "day"
	}
	part := func(s string) string {
		if s == "" {
			return "*"
		}
		return token(s)
	}
	filter := strings.Join([]string{prefix, part(q.AccountID), part(q.Service), part(q.Function), part(q.Qualifier), "*"}, ".")
	w, err := m.opts.KV.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read usage aggregates: %w", err)
	}
	defer w.Stop()
	group := map[string]bool{}
	for _, g := range q.GroupBy {
		group[g] = true
	}
	rows := map[string]*fc.UsageRow{}
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e == nil {
			break // the current values are all delivered
		}
		parts := strings.Split(e.Key(), ".")
		if len(parts) != 6 {
			continue
		}
		start, err := time.ParseInLocation(layout, parts[5], time.UTC)
		if err != nil || (!q.From.IsZero() && !start.Add(length).After(q.From)) || (!q.To.IsZero() && !start.Before(q.To)) {
			continue
		}
		var a aggregate
		if err := json.Unmarshal(e.Value(), &a); err != nil {
			continue
		}
		row := fc.UsageRow{Period: start.Format(time.RFC3339)}
		if group["account"] {
			row.AccountID = parts[1]
		}
		if group["service"] {
			row.Service = parts[2]
		}
		if group["function"] {
			row.Function = parts[3]
		}
		if group["qualifier"] {
			row.Qualifier = parts[4]
		}
		k := strings.Join([]string{row.Period, row.AccountID, row.Service, row.Function, row.Qualifier}, "\x00")
		r := rows[k]
		if r == nil {
			r = &row
			rows[k] = r
		}
		r.Invocations += a.Invocations
		r.DurationUs += a.DurationUs
		r.BilledMs += a.BilledMs
		r.GBSeconds += gbSeconds(a.MBMs)
		r.ProvisionedInstanceMs += a.ProvisionedInstanceMs
		r.ProvisionedGBSeconds += gbSeconds(a.ProvisionedMBMs)
	}
	out := &fc.UsageReport{Interval: q.Interval, GroupBy: q.GroupBy, Rows: make([]fc.UsageRow, 0, len(rows))}
	if out.GroupBy == nil {
		out.GroupBy = []string{}
	}
	for _, r := range rows {
		out.Rows = append(out.Rows, *r)
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		a, b := out.Rows[i], out.Rows[j]
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		return a.AccountID+"\x00"+a.Service+"\x00"+a.Function+"\x00"+a.Qualifier <
			b.AccountID+"\x00"+b.Service+"\x00"+b.Function+"\x00"+b.Qualifier
	})
	return out, nil
}

// RecordQuery selects raw usage records: Service and Function filter when
// set; From and To bound the records' times; AfterSeq continues a page
// (records after that stream sequence).
type RecordQuery struct {
	AccountID, Service, Function string
	From, To                     time.Time
	AfterSeq                     uint64
	// Limit bounds the page; 0 means 100, at most 1000. Records are
	// stored in batches and a page ends at a batch's end, so it may hold
	// a few hundred records more.
	Limit int
}

// Records returns a page of raw usage records in stream order, and the
// sequence to continue after (0 when there are no more).
func (m *Meter) Records(ctx context.Context, q RecordQuery) ([]fc.UsageRecord, uint64, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	acct := "*"
	if q.AccountID != "" {
		acct = token(q.AccountID)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{m.opts.Subject + "." + acct}, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case q.AfterSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.AfterSeq+1
	case !q.From.IsZero():
		// Records are stored shortly after their time: start a little
		// earlier and filter by time below.
		from := q.From.Add(-time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	recs := []fc.UsageRecord{}
	next, err := readStream(ctx, m.opts.JS, m.opts.Stream, cfg, func(seq uint64, data []byte) (more bool) {
		if len(recs) >= q.Limit {
			return false
		}
		for _, r := range decodeRecords(data) {
			t, err := time.Parse(time.RFC3339Nano, r.Time)
			if err != nil || (!q.From.IsZero() && t.Before(q.From)) || (!q.To.IsZero() && !t.Before(q.To)) {
				continue
			}
			if (q.Service != "" && r.Service != q.Service) || (q.Function != "" && r.Function != q.Function) {
				continue
			}
			r.Seq = seq
			recs = append(recs, *r)
		}
		return true
	})
	if err != nil {
		return nil, 0, err
	}
	return recs, next, nil
}

// readStream hands each message of a stream to each, in order, until each
// says stop or the stream's end as it was when the read began. It returns
// the sequence of the last message handed over when each stopped (so a
// next page continues after it), or 0 at the end.
func readStream(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig,
	each func(seq uint64, data []byte) (more bool)) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	last := s.CachedInfo().State.LastSeq
	if last == 0 || (cfg.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && cfg.OptStartSeq > last) {
		return 0, nil
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", stream, err)
	}
	var prev uint64
	for {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		n := 0
		stopped, end := false, false
		var next uint64
		for msg := range batch.Messages() {
			n++
			if stopped || end {
				continue // drain the batch
			}
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq := meta.Sequence.Stream
			if !each(seq, msg.Data()) {
				stopped, next = true, prev
				continue
			}
			prev = seq
			if seq >= last || meta.NumPending == 0 {
				end = true
			}
		}
		if stopped {
			return next, nil
		}
		if end {
			return 0, nil
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		if n == 0 {
			return 0, nil
		}
	}
}
