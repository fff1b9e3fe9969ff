package fnlog

import (
	"context"
	"encoding/hex"
	"encoding/json"
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
	js, err := jetstream.New(opts.Conn,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			s.drop()
			s.logger.Debug("log line not stored", "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("fnlog jetstream: %w", err)
	}
	s.js = js
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

// batchLines is how many lines the publisher sends before it looks at the
// channel again; publishes of a batch go out in one write to the server.
const batchLines = 256

func (s *Store) publish() {
	defer close(s.done)
	for r := range s.ch {
		s.send(r)
		for i := 1; i < batchLines; i++ {
			select {
			case r, ok := <-s.ch:
				if !ok {
					return
				}
				s.send(r)
				continue
			default:
			}
			break
		}
	}
}

func (s *Store) send(r Record) {
	data, err := json.Marshal(r)
	if err != nil {
		s.drop() // a Record of strings and a time always encodes
		return
	}
	msg := &nats.Msg{Subject: Subject(r.Service, r.Function, r.RequestID), Data: data}
	// PublishMsgAsync waits (in this goroutine only) while 4096 publishes
	// are unacknowledged; meanwhile the buffer fills and Add drops to the
	// counter. A slow server is waited for, not a reason to lose the line.
	for range 3 {
		_, err = s.js.PublishMsgAsync(msg, jetstream.WithStallWait(5*time.Second))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			break
		}
	}
	if err != nil {
		s.drop()
		s.logger.Debug("log line not stored", "err", err)
	}
}

// Shutdown stops accepting lines, publishes the buffered ones and waits for
// their acknowledgements until ctx ends. Call it before the connection
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
	select {
	case <-s.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fnlog shutdown: %w", ctx.Err())
	}
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
