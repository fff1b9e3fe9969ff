package fnlog

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/broker"
)

// Record is one stored line of function output, as kept in OPENFC_LOGS and
// returned by queries (one JSON object per line).
type Record struct {
	Time       time.Time `json:"time"`
	Service    string    `json:"service"`
	Function   string    `json:"function"`
	Qualifier  string    `json:"qualifier,omitempty"`
	Version    string    `json:"version,omitempty"`
	InstanceID string    `json:"instanceId"`
	RequestID  string    `json:"requestId,omitempty"`
	Stream     string    `json:"stream"`
	Message    string    `json:"message"`
}

// StoreOptions configures a Store.
type StoreOptions struct {
	// Conn is the connection to the NATS server holding OPENFC_LOGS (the
	// broker creates the stream with its age and size limits).
	Conn *nats.Conn
	// BufferLines bounds the lines waiting to be published; when full, new
	// lines are dropped and counted. 0 means 16384.
	BufferLines int
	// Registerer receives openfc_function_log_lines_dropped_total; nil
	// keeps it unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Store writes function log lines to JetStream and reads them back.
//
// Add never blocks: lines go into a bounded buffer that one goroutine
// publishes asynchronously in batches, so a function flooding its output
// costs the invocation path at most a failed channel send per line. Query
// and Follow read the stream through short-lived consumers filtered by
// subject (openfc.logs.<service>.<function>.<request>), so one request's
// lines are found from the stream's subject index without a scan.
type Store struct {
	js      jetstream.JetStream
	nc      *nats.Conn
	ch      chan Record
	dropped prometheus.Counter
	// droppedN mirrors dropped for Dropped.
	droppedN atomic.Int64
	logger   *slog.Logger

	// mu guards closed, so Add never sends on a closed channel.
	mu     sync.RWMutex
	closed bool

	done chan struct{} // closed when the publisher goroutine returned
}

// NewStore returns a Store; Start runs its publisher.
func NewStore(opts StoreOptions) (*Store, error) {
	if opts.Conn == nil {
		return nil, errors.New("fnlog: Conn is required")
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	n := opts.BufferLines
	if n <= 0 {
		n = 16384
	}
	s := &Store{ch: make(chan Record, n), logger: l.With("component", "fnlog"), done: make(chan struct{})}
	s.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "openfc_function_log_lines_dropped_total",
		Help: "Function log lines not stored: the publish buffer was full or JetStream refused them.",
	})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.dropped); err != nil {
			return nil, fmt.Errorf("register fnlog metrics: %w", err)
		}
	}
	js, err := jetstream.New(opts.Conn)
	if err != nil {
		return nil, fmt.Errorf("fnlog jetstream: %w", err)
	}
	s.js = js
	s.nc = opts.Conn
	return s, nil
}

// Dropped returns how many lines were dropped so far.
func (s *Store) Dropped() int64 { return s.droppedN.Load() }

func (s *Store) drop() {
	s.dropped.Inc()
	s.droppedN.Add(1)
}

// Start runs the publisher until Shutdown.
func (s *Store) Start() {
	go s.publish()
}

// Add queues one line for storage. It never blocks: when the buffer is
// full the line is dropped and counted. Safe for concurrent use, also
// after Shutdown (lines are then dropped).
func (s *Store) Add(r Record) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.drop()
		return
	}
	select {
	case s.ch <- r:
	default:
		s.drop()
	}
}

// Batching: the publisher collects lines for up to linger (or batchLines
// lines) and stores the lines of one subject (one request) as one message
// of JSON lines, so a warm invocation costs JetStream one message rather
// than one per line (its Start marker, its output, its End marker).
const (
	batchLines = 512
	linger     = 2 * time.Millisecond
	// maxMessage bounds one message (NATS's default max_payload is 1 MB;
	// a message larger than the stream's byte limit would be refused).
	maxMessage = 64 << 10
)

// batch is the publisher's lines grouped by subject, in arrival order.
type batch struct {
	bufs  map[string]*bytes.Buffer
	order []string
	free  []*bytes.Buffer
	enc   []byte // one encoded line

	lastService, lastFunction, lastRequest, lastSubject string
}

func (s *Store) publish() {
	defer close(s.done)
	b := &batch{bufs: make(map[string]*bytes.Buffer)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		r, ok := <-s.ch
		if !ok {
			return
		}
		s.add(b, r)
		timer.Reset(linger)
	collect:
		for n := 1; n < batchLines; n++ {
			select {
			case r, ok := <-s.ch:
				if !ok {
					s.flush(b)
					return
				}
				s.add(b, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		s.flush(b)
	}
}

// add appends r to its subject's message.
func (s *Store) add(b *batch, r Record) {
	// Consecutive lines mostly share their request: reuse its subject.
	if r.Service != b.lastService || r.Function != b.lastFunction || r.RequestID != b.lastRequest {
		b.lastService, b.lastFunction, b.lastRequest = r.Service, r.Function, r.RequestID
		b.lastSubject = Subject(r.Service, r.Function, r.RequestID)
	}
	subj := b.lastSubject
	buf := b.bufs[subj]
	if buf == nil {
		if n := len(b.free); n > 0 {
			buf, b.free = b.free[n-1], b.free[:n-1]
		} else {
			buf = new(bytes.Buffer)
		}
		b.bufs[subj] = buf
		b.order = append(b.order, subj)
	}
	if buf.Len() > 0 && buf.Len()+len(r.Message)+256 > maxMessage {
		s.send(subj, buf.Bytes())
		buf.Reset()
	}
	b.enc = appendRecord(b.enc[:0], &r)
	buf.Write(b.enc)
}

// flush publishes every subject's message of the batch.
func (s *Store) flush(b *batch) {
	for _, subj := range b.order {
		buf := b.bufs[subj]
		if buf.Len() > 0 {
			s.send(subj, buf.Bytes())
		}
		buf.Reset()
		b.free = append(b.free, buf)
		delete(b.bufs, subj)
	}
	b.order = b.order[:0]
}

// send publishes one message of lines. A plain NATS publish, which the
// stream captures, costs the node about half of a JetStream publish with
// its acknowledgement; what it gives up is word of a message the stream
// refused, which with OPENFC_LOGS's DiscardOld limits happens only when
// the stream is unavailable. A publish the connection cannot take (too
// large, reconnect buffer full) is counted as dropped.
func (s *Store) send(subject string, data []byte) {
	// Publish copies data into the connection's buffer.
	if err := s.nc.Publish(subject, data); err != nil {
		s.dropLines(data)
		s.logger.Debug("log lines not stored", "err", err)
	}
}

// dropLines counts the lines of an unstored message as dropped.
func (s *Store) dropLines(data []byte) {
	n := bytes.Count(data, []byte("\n"))
	s.dropped.Add(float64(n))
	s.droppedN.Add(int64(n))
}

// Shutdown stops accepting lines, publishes the buffered ones and flushes
// them to the server until ctx ends. Call it before the connection
// closes.
func (s *Store) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("fnlog shutdown: %w", ctx.Err())
	}
	flush := func() error { return s.nc.FlushTimeout(10 * time.Second) }
	if _, ok := ctx.Deadline(); ok {
		flush = func() error { return s.nc.FlushWithContext(ctx) }
	}
	if err := flush(); err != nil {
		return fmt.Errorf("fnlog shutdown: flush: %w", err)
	}
	return nil
}

// Subject returns the subject a line of (service, function, request ID) is
// stored under.
func Subject(service, function, requestID string) string {
	return subjectPrefix + Token(service) + "." + Token(function) + "." + Token(requestID)
}

const subjectPrefix = "openfc.logs."

var _ = broker.SubjectLogs // the stream captures subjectPrefix + ">"

// noRequest is the token of lines that belong to no request.
const noRequest = "~"

// Token makes s one NATS subject token: names made of letters, digits, '_'
// and '-' (every FC service and function name, UUID request IDs) stay as
// they are; anything else, including "", becomes '~' and its hex, which
// cannot collide with a name kept as is.
func Token(s string) string {
	if s == "" {
		return noRequest
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return noRequest + hex.EncodeToString([]byte(s))
		}
	}
	return s
}
