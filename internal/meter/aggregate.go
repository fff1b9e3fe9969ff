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

type seqRecord struct {
	seq uint64
	rec *fc.UsageRecord
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
		var recs []seqRecord
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			for _, r := range decodeRecords(msg.Data()) {
				recs = append(recs, seqRecord{meta.Sequence.Stream, r})
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if len(recs) == 0 {
			continue
		}
		if err := m.fold(ctx, recs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fold adds a batch of records (in stream order) to their hour and day
// aggregates, then moves the cursor past them.
func (m *Meter) fold(ctx context.Context, recs []seqRecord) error {
	byKey := map[string][]seqRecord{}
	var order []string
	for _, sr := range recs {
		t, err := time.Parse(time.RFC3339Nano, sr.rec.Time)
		if err != nil {
			continue
		}
		for _, k := range aggregateKeys(sr.rec, t) {
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
	return m.advance(ctx, recs[len(recs)-1].seq)
}

// aggregateKeys names the hour and day aggregates of a record:
// h.<account>.<service>.<function>.<qualifier>.<YYYYMMDDHH> and
// d.<...>.<YYYYMMDD>, in UTC.
func aggregateKeys(r *fc.UsageRecord, t time.Time) [2]string {
	t = t.UTC()
	base := token(r.AccountID) + "." + token(r.Service) + "." + token(r.Function) + "." + token(r.Qualifier) + "."
	return [2]string{"h." + base + t.Format("2006010215"), "d." + base + t.Format("20060102")}
}

// foldKey adds records to one aggregate with compare-and-swap, skipping
// those at or before its LastSeq (already folded in before a restart, or
// by another node reading the same records).
func (m *Meter) foldKey(ctx context.Context, key string, recs []seqRecord) error {
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
			a.add(sr.rec)
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
