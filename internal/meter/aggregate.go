package meter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// cursorKey holds the stream sequence up to which every record is folded
// into the aggregates.
const cursorKey = "cursor"

// aggregate is one aggregate key's value.
type aggregate struct {
	// LastSeq is the last stream sequence folded in: records at or before
	// it are skipped when the aggregator reads them again.
	LastSeq               uint64 `json:"lastSeq"`
	Invocations           int64  `json:"invocations"`
	DurationUs            int64  `json:"durationUs"`
	BilledMs              int64  `json:"billedMs"`
	MBMs                  int64  `json:"mbMs"`
	ProvisionedInstanceMs int64  `json:"provisionedInstanceMs"`
	ProvisionedMBMs       int64  `json:"provisionedMbMs"`
}

func (a *aggregate) add(r *fc.UsageRecord) {
	switch r.Kind {
	case KindProvisioned:
		a.ProvisionedInstanceMs += r.BilledMs
		a.ProvisionedMBMs += r.BilledMs * r.MemoryMB
	default:
		a.Invocations++
		a.DurationUs += r.DurationUs
		a.BilledMs += r.BilledMs
		a.MBMs += r.BilledMs * r.MemoryMB
	}
}

// seqDelta is what one message adds to one hourly aggregate (and to its
// day's).
type seqDelta struct {
	seq   uint64
	hour  string // <account>.<service>.<function>.<qualifier>.<YYYYMMDDHH>
	delta aggregate
}

// merge adds another aggregate's sums.
func (a *aggregate) merge(d *aggregate) {
	a.Invocations += d.Invocations
	a.DurationUs += d.DurationUs
	a.BilledMs += d.BilledMs
	a.MBMs += d.MBMs
	a.ProvisionedInstanceMs += d.ProvisionedInstanceMs
	a.ProvisionedMBMs += d.ProvisionedMBMs
}

// hourKey names the hourly aggregate of a record (without the "h."
// prefix); false when its time is unreadable.
func hourKey(r *fc.UsageRecord) (string, bool) {
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return "", false
	}
	return token(r.AccountID) + "." + token(r.Service) + "." + token(r.Function) + "." + token(r.Qualifier) + "." + t.UTC().Format("2006010215"), true
}

// summary is the first line of a usage message: the sums of its records
// per hourly aggregate, so the aggregator reads one line per message
// rather than decoding every record.
type summary struct {
	Sums []summaryItem `json:"sums"`
}

type summaryItem struct {
	Hour string    `json:"hour"`
	Sum  aggregate `json:"sum"`
}

// summarize returns the summary of records.
func summarize(recs []fc.UsageRecord) summary {
	idx := map[string]int{}
	var s summary
	for i := range recs {
		k, ok := hourKey(&recs[i])
		if !ok {
			continue
		}
		j, seen := idx[k]
		if !seen {
			j = len(s.Sums)
			idx[k] = j
			s.Sums = append(s.Sums, summaryItem{Hour: k})
		}
		s.Sums[j].Sum.add(&recs[i])
	}
	return s
}

var summaryPrefix = []byte(`{"sums":`)

// messageDeltas returns what a message adds per hourly aggregate: from
// its summary line, or, for a message without one, from its records.
func messageDeltas(seq uint64, data []byte) []seqDelta {
	if bytes.HasPrefix(data, summaryPrefix) {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i]
		}
		var s summary
		if json.Unmarshal(line, &s) == nil {
			out := make([]seqDelta, 0, len(s.Sums))
			for _, it := range s.Sums {
				out = append(out, seqDelta{seq: seq, hour: it.Hour, delta: it.Sum})
			}
			return out
		}
	}
	var out []seqDelta
	for _, r := range decodeRecords(data) {
		k, ok := hourKey(r)
		if !ok {
			continue
		}
		var d aggregate
		d.add(r)
		out = append(out, seqDelta{seq: seq, hour: k, delta: d})
	}
	return out
}

// aggregate folds the usage stream into the KV aggregates, from the
// cursor on, in batches, until ctx ends.
func (m *Meter) aggregate(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := m.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		m.logger.Warn("usage aggregation interrupted, resuming from the cursor", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// follow reads the stream from the cursor and folds batches until an
// error or ctx ends.
func (m *Meter) follow(ctx context.Context) error {
	cursor, _, err := m.cursor(ctx)
	if err != nil {
		return err
	}
	cons, err := m.opts.JS.OrderedConsumer(ctx, m.opts.Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: cursor + 1,
	})
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return err
		}
		var recs []seqDelta
		var last uint64
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			last = meta.Sequence.Stream
			recs = append(recs, messageDeltas(last, msg.Data())...)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if last == 0 {
			continue
		}
		if err := m.fold(ctx, recs, last); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fold adds a batch of messages' deltas (in stream order) to their hour
// and day aggregates, then moves the cursor to last.
func (m *Meter) fold(ctx context.Context, recs []seqDelta, last uint64) error {
	byKey := map[string][]seqDelta{}
	var order []string
	for _, sr := range recs {
		if len(sr.hour) < 3 {
			continue
		}
		for _, k := range [2]string{"h." + sr.hour, "d." + sr.hour[:len(sr.hour)-2]} {
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], sr)
		}
	}
	for _, k := range order {
		if err := m.foldKey(ctx, k, byKey[k]); err != nil {
			return err
		}
	}
	return m.advance(ctx, last)
}

// foldKey adds records to one aggregate with compare-and-swap, skipping
// those at or before its LastSeq (already folded in before a restart, or
// by another node reading the same records).
func (m *Meter) foldKey(ctx context.Context, key string, recs []seqDelta) error {
	for {
		var a aggregate
		var rev uint64
		e, err := m.opts.KV.Get(ctx, key)
		switch {
		case err == nil:
			if err := json.Unmarshal(e.Value(), &a); err != nil {
				return err
			}
			rev = e.Revision()
		case errors.Is(err, jetstream.ErrKeyNotFound):
		default:
			return err
		}
		changed := false
		// One message holds several records, which share its sequence:
		// compare with what was stored, not with what this loop adds.
		stored := a.LastSeq
		for _, sr := range recs {
			if sr.seq <= stored {
				continue
			}
			a.merge(&sr.delta)
			a.LastSeq = sr.seq
			changed = true
		}
		if !changed {
			return nil
		}
		val, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = m.opts.KV.Create(ctx, key, val)
		} else {
			_, err = m.opts.KV.Update(ctx, key, val, rev)
		}
		if err == nil || !isConflict(err) {
			return err
		}
		// Another node folded into this key meanwhile: read it again.
	}
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// cursor returns the stream sequence every record up to which is folded
// in, and the cursor key's revision (0: none yet).
func (m *Meter) cursor(ctx context.Context) (uint64, uint64, error) {
	e, err := m.opts.KV.Get(ctx, cursorKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return n, e.Revision(), nil
}

// advance moves the cursor forward to seq (never back).
func (m *Meter) advance(ctx context.Context, seq uint64) error {
	for {
		cur, rev, err := m.cursor(ctx)
		if err != nil {
			return err
		}
		if cur >= seq {
			return nil
		}
		val := []byte(strconv.FormatUint(seq, 10))
		if rev == 0 {
			_, err = m.opts.KV.Create(ctx, cursorKey, val)
		} else {
			_, err = m.opts.KV.Update(ctx, cursorKey, val, rev)
		}
		if err == nil || !isConflict(err) {
			return err
		}
	}
}

// decodeRecords splits a message into its records (newline-separated
// JSON); unreadable lines are skipped.
func decodeRecords(data []byte) []*fc.UsageRecord {
	var out []*fc.UsageRecord
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		var r fc.UsageRecord
		if json.Unmarshal(line, &r) == nil && r.Kind != "" {
			out = append(out, &r)
		}
	}
	return out
}
