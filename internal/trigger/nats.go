package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/store"
)

// EventsOptions configures Events.
type EventsOptions struct {
	// Conn is the platform's NATS connection, used by sources without a Url.
	Conn  *nats.Conn
	Store *store.Store
	Queue *queue.Queue
	// Registerer receives the sources' metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Events runs the triggers that read NATS: eventbridge triggers whose
// eventSourceType is NATS, and oss triggers with a natsSubject. Every node
// runs every enabled one; a plain subject is read through a queue group and
// a stream through one durable consumer, so each message is delivered once
// per platform however many nodes run. Each batch goes to the async path
// (queue.Enqueue), which stores it before the source is acknowledged.
type Events struct {
	conn   *nats.Conn
	store  *store.Store
	queue  *queue.Queue
	logger *slog.Logger

	reload chan struct{}
	// mu guards running and consumers.
	mu      sync.Mutex
	running map[string]*source // by service/function/trigger
	// consumers are the derived durable consumers of the stream triggers
	// seen at the last sync, removed when their trigger is deleted.
	consumers map[string]consumerRef
	wg        sync.WaitGroup
	cancel    context.CancelFunc

	messages, batches, dropped prometheus.Counter
}

type consumerRef struct{ url, stream, name string }

type source struct {
	config string // the trigger's config, qualifier and source, to see changes
	stop   context.CancelFunc
	done   chan struct{}
}

// NewEvents returns Events; Start runs them.
func NewEvents(opts EventsOptions) *Events {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	e := &Events{conn: opts.Conn, store: opts.Store, queue: opts.Queue, logger: l.With("component", "trigger"),
		reload: make(chan struct{}, 1), running: map[string]*source{}, consumers: map[string]consumerRef{},
		messages: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_trigger_nats_messages_total",
			Help: "Messages NATS event triggers delivered to the async queue."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_trigger_nats_batches_total",
			Help: "Batches (async invocations) NATS event triggers enqueued."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_trigger_nats_dropped_total",
			Help: "Messages NATS event triggers dropped: over the async payload limit, or not enqueued from a plain subject."}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(e.messages, e.batches, e.dropped)
	}
	return e
}

// Changed tells Events that triggers changed; it never blocks.
func (e *Events) Changed() {
	select {
	case e.reload <- struct{}{}:
	default:
	}
}

// Start runs the sources and follows trigger changes until Shutdown.
func (e *Events) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.sync(wctx)
	e.wg.Go(func() {
		for {
			select {
			case <-e.reload:
				e.sync(wctx)
			case <-wctx.Done():
				return
			}
		}
	})
	return nil
}

// Shutdown stops every source; batches already read are delivered first.
func (e *Events) Shutdown(ctx context.Context) error {
	if e.cancel != nil {
		e.cancel()
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// spec is what one source runs.
type spec struct {
	key, service, function, qualifier, trigger string
	nats                                       fc.NATSTrigger
	oss                                        *fc.Trigger // set for an oss trigger's natsSubject
}

// sync starts, restarts and stops sources to match the stored triggers.
func (e *Events) sync(ctx context.Context) {
	want := map[string]spec{}
	fingerprint := map[string]string{}
	consumers := map[string]consumerRef{}
	e.store.AllTriggers(func(service, function string, tr *fc.Trigger) {
		key := service + "/" + function + "/" + tr.TriggerName
		s := spec{key: key, service: service, function: function, qualifier: tr.Qualifier, trigger: tr.TriggerName}
		switch tr.TriggerType {
		case fc.TriggerEventBridge:
			cfg, ok, problems := fc.ParseNATSTrigger(tr.TriggerConfig)
			if !ok || len(problems) > 0 {
				return
			}
			if cfg.Source.Stream != "" && cfg.Source.Consumer == "" {
				consumers[key] = consumerRef{url: cfg.Source.URL, stream: cfg.Source.Stream, name: durableName(s)}
			}
			if !cfg.Enabled {
				return
			}
			s.nats = cfg
		case fc.TriggerOSS:
			var src fc.OSSTriggerSource
			if json.Unmarshal(tr.TriggerConfig, &src) != nil || src.NATSSubject == "" {
				return
			}
			s.nats = fc.NATSTrigger{Enabled: true, Source: fc.NATSSourceParameters{URL: src.NATSURL, Subject: src.NATSSubject}, BatchSize: 1}
			s.oss = tr
		default:
			return
		}
		arn := ""
		if tr.SourceARN != nil {
			arn = *tr.SourceARN
		}
		want[key], fingerprint[key] = s, string(tr.TriggerConfig)+"\x00"+tr.Qualifier+"\x00"+arn+"\x00"+tr.TriggerID
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	for key, r := range e.running {
		if fp, ok := fingerprint[key]; !ok || fp != r.config {
			r.stop()
			<-r.done // a restarted source must not overlap the old one
			delete(e.running, key)
		}
	}
	for key, ref := range e.consumers {
		if now, ok := consumers[key]; !ok || now != ref {
			e.deleteConsumer(ctx, ref)
		}
	}
	e.consumers = consumers
	for key, s := range want {
		if _, ok := e.running[key]; ok {
			continue
		}
		sctx, stop := context.WithCancel(ctx)
		r := &source{config: fingerprint[key], stop: stop, done: make(chan struct{})}
		e.running[key] = r
		e.wg.Go(func() {
			defer close(r.done)
			e.run(sctx, s)
		})
	}
}

// deleteConsumer removes the durable consumer openfc made for a deleted
// trigger, so a new trigger of that name starts afresh. Every node tries;
// all but one find it gone.
func (e *Events) deleteConsumer(ctx context.Context, ref consumerRef) {
	nc, closeConn, err := e.connect(ref.url)
	if err != nil {
		return
	}
	defer closeConn()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := js.DeleteConsumer(dctx, ref.stream, ref.name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		e.logger.Debug("trigger consumer not deleted", "stream", ref.stream, "consumer", ref.name, "err", err)
	}
}

// connect returns the platform's connection for an empty url, else a new
// one (closed by the returned func).
func (e *Events) connect(url string) (*nats.Conn, func(), error) {
	if url == "" {
		if e.conn == nil {
			return nil, nil, errors.New("no platform NATS connection")
		}
		return e.conn, func() {}, nil
	}
	nc, err := nats.Connect(url, nats.Name("openfc-trigger"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	return nc, nc.Close, nil
}

// run reads one source until ctx ends, reconnecting after errors.
func (e *Events) run(ctx context.Context, s spec) {
	log := e.logger.With("trigger", s.key)
	for ctx.Err() == nil {
		err := e.read(ctx, s, log)
		if ctx.Err() != nil {
			return
		}
		log.Warn("trigger source failed; retrying in 2 s", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

func (e *Events) read(ctx context.Context, s spec, log *slog.Logger) error {
	nc, closeConn, err := e.connect(s.nats.Source.URL)
	if err != nil {
		return err
	}
	defer closeConn()
	if s.nats.Source.Stream != "" {
		return e.readStream(ctx, nc, s, log)
	}
	return e.readSubject(ctx, nc, s, log)
}

// queueGroup is the group a plain subject is read in: one per trigger, so
// the nodes share its messages.
func queueGroup(s spec) string {
	if s.nats.Source.QueueGroup != "" {
		return s.nats.Source.QueueGroup
	}
	return "openfc." + s.service + "." + s.function + "." + s.trigger
}

// durableName is the consumer a stream trigger reads when it names none.
func durableName(s spec) string {
	return "openfc_" + s.service + "_" + s.function + "_" + s.trigger
}

// readSubject reads a plain subject. Messages are at most once: one that
// cannot be enqueued (function deleted, say) is logged and dropped, as core
// NATS has no redelivery.
func (e *Events) readSubject(ctx context.Context, nc *nats.Conn, s spec, log *slog.Logger) error {
	ch := make(chan *nats.Msg, 65536)
	sub, err := nc.ChanQueueSubscribe(s.nats.Source.Subject, queueGroup(s), ch)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", s.nats.Source.Subject, err)
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		sub.Unsubscribe()
		return fmt.Errorf("subscribe to %s: %w", s.nats.Source.Subject, err)
	}
	log.Debug("trigger subscribed", "subject", s.nats.Source.Subject, "queue", queueGroup(s))
	var pending []*nats.Msg // a message that did not fit the previous batch
	for {
		var first *nats.Msg
		if len(pending) > 0 {
			first, pending = pending[0], pending[1:]
		} else {
			select {
			case <-ctx.Done():
				sub.Unsubscribe()
				e.drainSubject(s, ch, log)
				return nil
			case first = <-ch:
			}
		}
		b := newBatch(s)
		if !b.add(subjectEvent(first)) {
			log.Warn("trigger message dropped: larger than an async event", "subject", first.Subject, "bytes", len(first.Data))
			e.dropped.Inc()
			continue
		}
		timer := time.NewTimer(s.nats.BatchWindow)
	collect:
		for b.n < s.nats.BatchSize {
			var m *nats.Msg
			if s.nats.BatchWindow <= 0 {
				select {
				case m = <-ch:
				default:
					break collect
				}
			} else {
				select {
				case m = <-ch:
				case <-timer.C:
					break collect
				case <-ctx.Done():
					break collect
				}
			}
			if !b.add(subjectEvent(m)) {
				pending = append(pending, m)
				break
			}
		}
		timer.Stop()
		dctx, cancel := deliveryContext(ctx)
		id, err := e.deliver(dctx, s, b, uuid.NewString())
		cancel()
		if err != nil {
			log.Warn("trigger batch dropped: not enqueued", "messages", b.n, "request_id", id, "err", err)
			e.dropped.Add(float64(b.n))
		}
	}
}

// drainSubject delivers what was received before the source stopped.
func (e *Events) drainSubject(s spec, ch chan *nats.Msg, log *slog.Logger) {
	for {
		b := newBatch(s)
	fill:
		for b.n < s.nats.BatchSize {
			select {
			case m := <-ch:
				if !b.add(subjectEvent(m)) {
					break fill
				}
			default:
				break fill
			}
		}
		if b.n == 0 {
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := e.deliver(dctx, s, b, uuid.NewString()); err != nil {
			log.Warn("trigger batch dropped at stop", "messages", b.n, "err", err)
			e.dropped.Add(float64(b.n))
		}
		cancel()
	}
}

// deliveryContext lets a batch in hand be enqueued after its source is
// told to stop.
func deliveryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// readStream reads a durable JetStream consumer. A batch is acknowledged
// only once the async path has stored it; a batch that could not be is
// redelivered (at least once).
func (e *Events) readStream(ctx context.Context, nc *nats.Conn, s spec, log *slog.Logger) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	src := s.nats.Source
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := js.Stream(cctx, src.Stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", src.Stream, err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       src.Consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       60 * time.Second,
		MaxAckPending: max(1000, 2*s.nats.BatchSize),
		FilterSubject: src.Subject,
	}
	switch strings.ToLower(src.DeliverPolicy) {
	case "new":
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case "last":
		cfg.DeliverPolicy = jetstream.DeliverLastPolicy
	}
	var cons jetstream.Consumer
	if src.Consumer == "" {
		cfg.Durable = durableName(s)
		cons, err = stream.CreateOrUpdateConsumer(cctx, cfg)
	} else if cons, err = stream.Consumer(cctx, src.Consumer); errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = stream.CreateConsumer(cctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("consumer %s of stream %s: %w", cfg.Durable, src.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(max(100, min(s.nats.BatchSize, 1000))))
	if err != nil {
		return fmt.Errorf("read consumer %s: %w", cfg.Durable, err)
	}
	defer func() {
		// What was pulled and not delivered goes back at once, not
		// after AckWait: the trigger may be restarted with a new config.
		it.Drain()
		for {
			m, err := it.Next(jetstream.NextMaxWait(time.Second))
			if err != nil {
				return
			}
			m.Nak()
		}
	}()
	log.Debug("trigger consuming", "stream", src.Stream, "consumer", cfg.Durable)
	var pending jetstream.Msg
	for {
		first := pending
		pending = nil
		if first == nil {
			first, err = it.Next(jetstream.NextContext(ctx))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		b := newBatch(s)
		if !b.add(streamEvent(first, src.Stream)) {
			log.Warn("trigger message dropped: larger than an async event", "stream", src.Stream, "subject", first.Subject(), "bytes", len(first.Data()))
			first.Term()
			e.dropped.Inc()
			continue
		}
		msgs := []jetstream.Msg{first}
		window := s.nats.BatchWindow
		if window <= 0 {
			window = 2 * time.Millisecond // what is already here
		}
		wctx, wcancel := context.WithTimeout(ctx, window)
		for b.n < s.nats.BatchSize {
			m, err := it.Next(jetstream.NextContext(wctx))
			if err != nil {
				break
			}
			if !b.add(streamEvent(m, src.Stream)) {
				pending = m
				break
			}
			msgs = append(msgs, m)
		}
		wcancel()
		// The same messages make the same request ID: a batch redelivered
		// whole is stored once.
		h := sha256.New()
		for _, m := range msgs {
			md, _ := m.Metadata()
			if md != nil {
				fmt.Fprintf(h, "%d,", md.Sequence.Stream)
			}
		}
		id := uuid.NewSHA1(natsNamespace, fmt.Appendf(nil, "%s#%s/%s#%x", s.key, src.Stream, cfg.Durable, h.Sum(nil))).String()
		dctx, cancel := deliveryContext(ctx)
		_, err := e.deliver(dctx, s, b, id)
		cancel()
		for _, m := range msgs {
			if err != nil {
				m.NakWithDelay(5 * time.Second)
			} else {
				m.Ack()
			}
		}
		if err != nil {
			log.Warn("trigger batch not enqueued; it will be redelivered", "messages", b.n, "request_id", id, "err", err)
		}
		if ctx.Err() != nil {
			if pending != nil {
				pending.Nak()
			}
			return nil
		}
	}
}

var natsNamespace = uuid.MustParse("5d7f1a0e-1c55-4b7e-a4a3-0e57b0f8c3d2")

// deliver enqueues a batch (or, for an oss trigger, the notification).
func (e *Events) deliver(ctx context.Context, s spec, b *batch, id string) (string, error) {
	var err error
	if s.oss != nil {
		for _, raw := range b.raw {
			var res OSSWebhookResult
			res, err = deliverOSS(ctx, e.queue, s.service, s.function, s.oss, raw)
			id = res.RequestID
		}
	} else {
		err = e.queue.Enqueue(ctx, queue.Invocation{Service: s.service, Qualifier: s.qualifier, Function: s.function,
			RequestID: id, Payload: b.payload()})
	}
	if err == nil {
		e.messages.Add(float64(b.n))
		e.batches.Inc()
	}
	return id, err
}

// Event is one NATS message as a function receives it: a CloudEvents 1.0
// envelope, like FC's eventbridge sources. The function gets a JSON array
// of them per invocation (one batch).
type Event struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	// Data is the message body: the JSON value itself when the body is
	// JSON, else a string when it is UTF-8 text.
	Data json.RawMessage `json:"data,omitempty"`
	// DataBase64 holds a binary body.
	DataBase64 string `json:"data_base64,omitempty"`
	// NATSHeaders are the message's headers, if any.
	NATSHeaders map[string][]string `json:"natsheaders,omitempty"`
	// NATSStream and NATSSequence locate a JetStream message.
	NATSStream   string `json:"natsstream,omitempty"`
	NATSSequence uint64 `json:"natssequence,omitempty"`
}

func newEvent(subject string, data []byte, header nats.Header, at time.Time) Event {
	ev := Event{SpecVersion: "1.0", Source: "openfc:nats", Type: "nats:Subject:Message", Subject: subject,
		Time: at.UTC().Format(time.RFC3339Nano)}
	switch {
	case json.Valid(data) && len(data) > 0:
		ev.DataContentType, ev.Data = "application/json", json.RawMessage(data)
	case utf8.Valid(data):
		s, _ := json.Marshal(string(data)) // strings always encode
		ev.DataContentType, ev.Data = "text/plain; charset=utf-8", s
	default:
		ev.DataContentType, ev.DataBase64 = "application/octet-stream", base64.StdEncoding.EncodeToString(data)
	}
	if len(header) > 0 {
		ev.NATSHeaders = header
	}
	return ev
}

func subjectEvent(m *nats.Msg) (Event, []byte) {
	ev := newEvent(m.Subject, m.Data, m.Header, time.Now())
	ev.ID = uuid.NewString()
	return ev, m.Data
}

func streamEvent(m jetstream.Msg, stream string) (Event, []byte) {
	at := time.Now()
	md, _ := m.Metadata()
	var seq uint64
	if md != nil {
		at, seq = md.Timestamp, md.Sequence.Stream
	}
	ev := newEvent(m.Subject(), m.Data(), m.Headers(), at)
	ev.Type, ev.NATSStream, ev.NATSSequence = "nats:JetStream:Message", stream, seq
	ev.ID = stream + ":" + strconv.FormatUint(seq, 10)
	return ev, m.Data()
}

// batch is a JSON array of events kept under the async payload limit.
type batch struct {
	buf []byte
	n   int
	oss bool
	raw [][]byte // oss: the notifications themselves
}

func newBatch(s spec) *batch { return &batch{buf: []byte{'['}, oss: s.oss != nil} }

// add appends an event unless the batch would go over the async payload
// limit; a first event always fits unless it alone is too big.
func (b *batch) add(ev Event, raw []byte) bool {
	if b.oss {
		b.raw = append(b.raw, raw)
		b.n++
		return true
	}
	enc, err := json.Marshal(ev)
	if err != nil {
		return false
	}
	if len(b.buf)+len(enc)+2 > fc.MaxAsyncPayloadBytes {
		return false
	}
	if b.n > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, enc...)
	b.n++
	return true
}

func (b *batch) payload() []byte { return append(b.buf, ']') }
