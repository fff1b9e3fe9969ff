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
// costs the invocation path at most a short locked append per line. Query
// and Follow read the stream through short-lived consumers filtered by
// subject (openfc.logs.<service>.<function>.<bucket>, see Subject), so one
// request's lines are read from its bucket alone, found through the
// stream's subject index without a scan.
type Store struct {
	js      jetstream.JetStream
	nc      *nats.Conn
	dropped prometheus.Counter
	// droppedN mirrors dropped for Dropped.
	droppedN atomic.Int64
	logger   *slog.Logger
	max      int // lines the buffer holds

	// mu guards lines, bytes and closed. The publisher swaps lines out
	// once per window: a line costs Add a locked append, and the
	// publisher one wake-up per window rather than one per line (a
	// channel receive per line woke it about three times per warm call).
	mu     sync.Mutex
	lines  []Record
	spare  []Record // the publisher's previous slice, reused
	bytes  int      // message bytes in lines, to end a window early
	closed bool

	wake chan struct{} // 1-buffered: the first line of an empty buffer, a full window, or Shutdown
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
	s := &Store{max: n, logger: l.With("component", "fnlog"), wake: make(chan struct{}, 1), done: make(chan struct{})}
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
	s.mu.Lock()
	if s.closed || len(s.lines) >= s.max {
		s.mu.Unlock()
		s.drop()
		return
	}
	s.lines = append(s.lines, r)
	s.bytes += len(r.Message)
	wake := len(s.lines) == 1 || s.bytes >= maxWindow && s.bytes-len(r.Message) < maxWindow
	s.mu.Unlock()
	if wake {
		s.signal()
	}
}

// signal wakes the publisher without blocking (a wake-up already pending
// will do).
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Batching: the publisher collects lines for a window of linger from the
// first one and stores the lines of one (service, function, bucket) as one
// message of JSON lines, the bucket a hash of the request ID (bucketOf).
// A warm invocation writes about three lines (its Start marker, its
// output, its End marker); storing each request's lines under a subject
// of its own cost JetStream one message and one new subject per
// invocation, about a tenth of a busy node's throughput. With buckets, a
// function costs at most buckets+1 messages per window however many
// requests it serves, and the subjects are a fixed set; a query by request
// ID still reads only its bucket (1/buckets of the function's lines) and
// skips the lines of other requests without decoding them.
//
// Storing a message costs the node's embedded JetStream tens of
// microseconds whatever its size, so the window's length sets most of
// logging's cost: at 50 ms, a python3 function called one call at a time
// (~2,700 calls/s) cost ~0.24 stored messages and +23 µs of node CPU per
// call; 200 ms took 11 µs of that off (fcbench ab), and a query by
// request ID reads fewer, larger messages. Lines reach queries and live
// tails up to 200 ms after they were written.
const (
	linger = 200 * time.Millisecond
	// buckets is how many subjects a function's request lines are spread
	// over; lines outside requests have one more (noRequest).
	buckets = 32
	// maxMessage bounds one message (NATS's default max_payload is 1 MB;
	// a message larger than the stream's byte limit would be refused).
	maxMessage = 64 << 10
	// maxWindow bounds the bytes a window holds before it is published
	// early, whatever the time.
	maxWindow = 4 << 20
)

// bucketKey names one message of a window.
type bucketKey struct {
	service, function string
	bucket            int // -1: lines of no request
}

// pending is one message being collected.
type pending struct {
	subject string
	buf     bytes.Buffer
}

// batch is the publisher's lines of one window grouped by bucket, in the
// order each bucket got its first line.
type batch struct {
	msgs  map[bucketKey]*pending
	order []*pending
	free  []*pending // reused with their buffers
	size  int
	enc   []byte // one encoded line
	// subjects caches the subject of every bucket seen, so a line costs
	// a hash and a map lookup.
	subjects map[bucketKey]string

	last    bucketKey
	lastMsg *pending
}

// publish runs the windows: it sleeps until a first line arrives, lets
// lines gather for linger (less when the window fills or the store shuts
// down), then takes them all and publishes them grouped by bucket.
func (s *Store) publish() {
	defer close(s.done)
	b := &batch{msgs: make(map[bucketKey]*pending), subjects: make(map[bucketKey]string)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		<-s.wake
		if !s.takeable() {
			timer.Reset(linger)
			select {
			case <-timer.C:
			case <-s.wake: // the window is full, or Shutdown
				timer.Stop()
			}
		}
		s.mu.Lock()
		lines := s.lines
		s.lines, s.spare = s.spare[:0], nil
		s.bytes = 0
		closed := s.closed
		s.mu.Unlock()
		for i := range lines {
			s.add(b, lines[i])
			if b.size >= maxWindow {
				s.flush(b)
			}
		}
		s.flush(b)
		clear(lines) // let the messages' strings go
		s.mu.Lock()
		if s.spare == nil && cap(lines) <= 4*s.max {
			s.spare = lines[:0]
		}
		s.mu.Unlock()
		if closed {
			return
		}
	}
}

// takeable reports whether the publisher should take the lines at once,
// without waiting for the window: the window is full or the store is
// shutting down.
func (s *Store) takeable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.bytes >= maxWindow
}

// add appends r to its bucket's message.
func (s *Store) add(b *batch, r Record) {
	k := bucketKey{r.Service, r.Function, bucketOf(r.RequestID)}
	m := b.lastMsg
	if m == nil || k != b.last {
		m = b.msgs[k]
		if m == nil {
			subj, ok := b.subjects[k]
			if !ok {
				subj = subjectOf(r.Service, r.Function, k.bucket)
				if len(b.subjects) >= 1<<16 {
					clear(b.subjects) // bound the cache (functions come and go)
				}
				b.subjects[k] = subj
			}
			if n := len(b.free); n > 0 {
				m, b.free = b.free[n-1], b.free[:n-1]
				m.subject = subj
			} else {
				m = &pending{subject: subj}
			}
			b.msgs[k] = m
			b.order = append(b.order, m)
		}
		b.last, b.lastMsg = k, m
	}
	if m.buf.Len() > 0 && m.buf.Len()+len(r.Message)+256 > maxMessage {
		s.send(m.subject, m.buf.Bytes())
		b.size -= m.buf.Len()
		m.buf.Reset()
	}
	b.enc = appendRecord(b.enc[:0], &r)
	m.buf.Write(b.enc)
	b.size += len(b.enc)
}

// flush publishes every message of the window.
func (s *Store) flush(b *batch) {
	for _, m := range b.order {
		if m.buf.Len() > 0 {
			s.send(m.subject, m.buf.Bytes())
		}
		m.buf.Reset()
		if m.buf.Cap() <= 16<<10 && len(b.free) < 1024 {
			b.free = append(b.free, m) // bounded: at most 16 MB kept
		}
	}
	clear(b.msgs)
	clear(b.order)
	b.order = b.order[:0]
	b.size = 0
	b.lastMsg = nil
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
	s.closed = true
	s.mu.Unlock()
	s.signal()
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

// Subject returns the subject the lines of (service, function, request
// ID) are stored under: openfc.logs.<service>.<function>.<bucket>, the
// bucket two hex digits of a hash of the request ID ("00" to "1f"), or
// "~" for lines of no request. A bucket holds the lines of many requests.
func Subject(service, function, requestID string) string {
	return subjectOf(service, function, bucketOf(requestID))
}

func subjectOf(service, function string, bucket int) string {
	return subjectPrefix + Token(service) + "." + Token(function) + "." + bucketToken(bucket)
}

// bucketOf returns the bucket of a request ID (FNV-1a), -1 for none.
func bucketOf(requestID string) int {
	if requestID == "" {
		return -1
	}
	h := uint32(2166136261)
	for i := 0; i < len(requestID); i++ {
		h ^= uint32(requestID[i])
		h *= 16777619
	}
	return int(h % buckets)
}

func bucketToken(bucket int) string {
	if bucket < 0 {
		return noRequest
	}
	return string([]byte{hexDigits[bucket>>4], hexDigits[bucket&0xF]})
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
