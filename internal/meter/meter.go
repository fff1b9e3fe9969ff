package meter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
)

// Kinds of usage records.
const (
	KindInvocation  = "invocation"
	KindProvisioned = "provisioned"
)

// Options configures a Meter.
type Options struct {
	JS jetstream.JetStream
	// KV holds the aggregates (broker.BucketUsage).
	KV jetstream.KeyValue
	// Stream and Subject name the usage stream and its subject prefix;
	// defaults OPENFC_USAGE and openfc.usage.
	Stream, Subject string
	// AccountID is the account of this node's invocations.
	AccountID string
	// Granularity is the billing unit durations are rounded up to; 0
	// means 100 ms (FC's), 1 ms bills exactly.
	Granularity time.Duration
	// BufferSize bounds the records waiting to be published; 0 means
	// 16384 (80,000 calls a second at the default FlushInterval). A full
	// buffer drops records (counted), never blocks a call.
	BufferSize int
	// FlushInterval is how often buffered records are published; 0
	// means 200 ms. A kill -9 loses at most this much of records.
	FlushInterval time.Duration
	// ProvisionInterval is how often provisioned instances are sampled
	// and billed; 0 means one minute.
	ProvisionInterval time.Duration
	// Provisioned, if set, returns the provisioned instances up now.
	Provisioned func() []Provisioned
	// Registerer receives the meter's own metrics; nil keeps them
	// unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Invocation is one finished invocation to meter.
type Invocation struct {
	End                                                time.Time
	Service, Function, Qualifier, VersionID, RequestID string
	// Retry is the async attempt number: attempts of one request ID are
	// billed separately.
	Retry       int
	Duration    time.Duration
	MemoryBytes int64
}

// Provisioned is the number of provisioned instances of one function
// version up at a sample.
type Provisioned struct {
	Service, Function, Qualifier, VersionID string
	MemoryBytes                             int64
	Instances                               int
}

// Meter meters usage; see the package doc.
type Meter struct {
	opts   Options
	logger *slog.Logger
	ch     chan Invocation

	dropped, failed prometheus.Counter

	cancel context.CancelFunc
	stop   chan struct{} // closed by Shutdown: flush and end the writer
	writer sync.WaitGroup
	wg     sync.WaitGroup // the sampler and the aggregator
	once   sync.Once
}

// New returns a Meter; Start runs it.
func New(opts Options) *Meter {
	if opts.Stream == "" {
		opts.Stream = "OPENFC_USAGE"
	}
	if opts.Subject == "" {
		opts.Subject = "openfc.usage"
	}
	if opts.Granularity <= 0 {
		opts.Granularity = 100 * time.Millisecond
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 16384
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.ProvisionInterval <= 0 {
		opts.ProvisionInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	m := &Meter{opts: opts, logger: l.With("component", "meter"), ch: make(chan Invocation, opts.BufferSize),
		stop: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_usage_records_dropped_total",
			Help: "Usage records dropped because the meter's buffer was full."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_usage_publish_failures_total",
			Help: "Usage records JetStream did not acknowledge after a retry (lost)."}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(m.dropped, m.failed)
	}
	return m
}

// Start runs the writer, the provisioned-instance sampler and the
// aggregator until Shutdown.
func (m *Meter) Start(ctx context.Context) error {
	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.writer.Go(m.write)
	if m.opts.Provisioned != nil {
		m.wg.Go(func() { m.sample(bg) })
	}
	m.wg.Go(func() { m.aggregate(bg) })
	return nil
}

// Shutdown publishes the buffered records (until ctx ends), then stops.
func (m *Meter) Shutdown(ctx context.Context) error {
	m.once.Do(func() { close(m.stop) })
	done := make(chan struct{})
	go func() {
		m.writer.Wait()
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if m.cancel != nil {
			m.cancel()
		}
		return fmt.Errorf("meter shutdown: %w", ctx.Err())
	}
}

// Record hands over a finished invocation. It never blocks: with the
// buffer full the record is dropped and counted.
func (m *Meter) Record(inv Invocation) {
	select {
	case m.ch <- inv:
	default:
		m.dropped.Inc()
	}
}

// Billed rounds d up to the billing granularity.
func (m *Meter) Billed(d time.Duration) time.Duration {
	g := m.opts.Granularity
	if d <= 0 {
		return 0
	}
	return (d + g - 1) / g * g
}

// write publishes the buffered records every FlushInterval, in messages
// of up to 512 records, until Shutdown, then the rest. It sleeps between
// flushes rather than waiting on the buffer, so handing over a record
// wakes no goroutine: the warm path pays one channel send.
func (m *Meter) write() {
	const maxBatch = 512
	batch := make([]fc.UsageRecord, 0, maxBatch)
	ids := make([]string, 0, maxBatch)
	t := time.NewTicker(m.opts.FlushInterval)
	defer t.Stop()
	for {
		stopping := false
		select {
		case <-t.C:
		case <-m.stop:
			stopping = true
		}
	drain:
		for {
			select {
			case inv := <-m.ch:
				batch, ids = m.add(batch, ids, inv)
				if len(batch) == maxBatch {
					m.publish(batch, ids)
					batch, ids = batch[:0], ids[:0]
				}
			default:
				break drain
			}
		}
		m.publish(batch, ids)
		batch, ids = batch[:0], ids[:0]
		if stopping {
			return
		}
	}
}

func (m *Meter) add(batch []fc.UsageRecord, ids []string, inv Invocation) ([]fc.UsageRecord, []string) {
	billed := m.Billed(inv.Duration)
	mb := inv.MemoryBytes >> 20
	q := inv.Qualifier
	if q == "" {
		q = "LATEST"
	}
	r := fc.UsageRecord{Kind: KindInvocation, Time: inv.End.UTC().Format(time.RFC3339Nano), AccountID: m.opts.AccountID,
		Service: inv.Service, Function: inv.Function, Qualifier: q, VersionID: inv.VersionID, RequestID: inv.RequestID,
		DurationUs: inv.Duration.Microseconds(), BilledMs: billed.Milliseconds(), MemoryMB: mb,
		GBSeconds: gbSeconds(mb * billed.Milliseconds())}
	// The message ID lets JetStream drop a duplicate when a publish is
	// retried; async attempts of one request are billed separately.
	return append(batch, r), append(ids, "i."+inv.RequestID+"."+strconv.Itoa(inv.Retry))
}

// gbSeconds converts MB·ms to GB·s.
func gbSeconds(mbMs int64) float64 { return float64(mbMs) / 1024 / 1000 }

// publish stores a batch of records as one message (newline-separated
// JSON; one message per batch keeps the stream's cost per invocation
// small) and waits for its ack, retrying once: the message ID, derived
// from the first record's, makes the retry safe.
func (m *Meter) publish(batch []fc.UsageRecord, ids []string) {
	if len(batch) == 0 {
		return
	}
	// The first line sums the batch per hourly aggregate (see summary).
	data, err := json.Marshal(summarize(batch))
	if err != nil {
		m.failed.Add(float64(len(batch)))
		return
	}
	data = append(data, '\n')
	for _, r := range batch {
		line, err := json.Marshal(r)
		if err != nil {
			m.failed.Inc()
			continue
		}
		data = append(append(data, line...), '\n')
	}
	msg := &nats.Msg{Subject: m.opts.Subject + "." + token(m.opts.AccountID), Data: data,
		Header: nats.Header{jetstream.MsgIDHeader: {ids[0] + "+" + strconv.Itoa(len(batch))}}}
	for attempt := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := m.opts.JS.PublishMsg(ctx, msg)
		cancel()
		if err == nil {
			return
		}
		if attempt == 1 {
			m.failed.Add(float64(len(batch)))
			m.logger.Warn("usage records lost", "records", len(batch), "err", err)
		}
	}
}

// token makes s usable as one NATS subject token or KV key token (FC's
// names are letters, digits, - and _ already).
func token(s string) string {
	if s == "" {
		return "_"
	}
	ok := true
	for i := 0; i < len(s); i++ {
		if !keyChar(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !keyChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// sample bills provisioned instances once per interval: instances up at
// the sample times the time since the previous sample.
func (m *Meter) sample(ctx context.Context) {
	t := time.NewTicker(m.opts.ProvisionInterval)
	defer t.Stop()
	last := m.opts.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := m.opts.Now()
		elapsed := now.Sub(last)
		last = now
		var batch []fc.UsageRecord
		var ids []string
		for _, p := range m.opts.Provisioned() {
			if p.Instances <= 0 {
				continue
			}
			ms := elapsed.Milliseconds() * int64(p.Instances)
			mb := p.MemoryBytes >> 20
			batch = append(batch, fc.UsageRecord{Kind: KindProvisioned, Time: now.UTC().Format(time.RFC3339Nano),
				AccountID: m.opts.AccountID, Service: p.Service, Function: p.Function, Qualifier: p.Qualifier,
				VersionID: p.VersionID, DurationUs: ms * 1000, BilledMs: ms, MemoryMB: mb, GBSeconds: gbSeconds(mb * ms),
				Instances: p.Instances})
			ids = append(ids, strings.Join([]string{"p", p.Service, p.Function, p.VersionID, strconv.FormatInt(now.UnixNano(), 10)}, "."))
		}
		m.publish(batch, ids)
	}
}
