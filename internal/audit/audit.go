package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
)

// Options configures a Trail.
type Options struct {
	JS jetstream.JetStream
	// Stream and Subject name the audit stream and its subject prefix;
	// defaults OPENFC_AUDIT and openfc.audit.
	Stream, Subject string
	// Registerer receives the trail's failure counter; nil keeps it
	// unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Trail appends to and reads the audit trail.
type Trail struct {
	opts   Options
	logger *slog.Logger
	failed prometheus.Counter
}

// New returns a Trail.
func New(opts Options) *Trail {
	if opts.Stream == "" {
		opts.Stream = "OPENFC_AUDIT"
	}
	if opts.Subject == "" {
		opts.Subject = "openfc.audit"
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	t := &Trail{opts: opts, logger: l.With("component", "audit"),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_audit_publish_failures_total",
			Help: "Audit entries JetStream did not store (the call was answered anyway)."})}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(t.failed)
	}
	return t
}

// Record appends e and returns once JetStream stored it. A failure is
// logged at Error (an operator must act: the trail has a gap) and
// counted; the caller answers its client anyway, since the change it
// audits is already made.
func (t *Trail) Record(ctx context.Context, e fc.AuditEntry) {
	data, err := json.Marshal(e)
	if err == nil {
		msg := &nats.Msg{Subject: t.opts.Subject + "." + token(e.AccountID), Data: data,
			Header: nats.Header{jetstream.MsgIDHeader: {"a." + e.RequestID}}}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, err = t.opts.JS.PublishMsg(pctx, msg)
		cancel()
	}
	if err != nil {
		t.failed.Inc()
		t.logger.Error("audit entry not stored", "request_id", e.RequestID, "action", e.Action, "err", err)
	}
}

// Query selects entries; every set field must match. Resource matches
// as a prefix; Result is "success" (status below 400), "failure", or an
// HTTP status or FC error code.
type Query struct {
	AccountID   string
	From, To    time.Time
	Action      string
	Resource    string
	AccessKeyID string
	Result      string
	// AfterSeq continues a page; Limit bounds it (0: 100, at most 1000).
	AfterSeq uint64
	Limit    int
}

func (q *Query) match(e *fc.AuditEntry) bool {
	if q.Action != "" && !strings.EqualFold(q.Action, e.Action) {
		return false
	}
	if q.Resource != "" && !strings.HasPrefix(e.Resource, strings.TrimPrefix(q.Resource, "/")) {
		return false
	}
	if q.AccessKeyID != "" && q.AccessKeyID != e.AccessKeyID {
		return false
	}
	switch r := q.Result; r {
	case "":
	case "success":
		if e.Status >= 400 {
			return false
		}
	case "failure":
		if e.Status < 400 {
			return false
		}
	default:
		if r != strconv.Itoa(e.Status) && r != e.ErrorCode {
			return false
		}
	}
	return true
}

// List returns a page of matching entries, oldest first, and the
// sequence to continue after (0: no more).
func (t *Trail) List(ctx context.Context, q Query) ([]fc.AuditEntry, uint64, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	acct := "*"
	if q.AccountID != "" {
		acct = token(q.AccountID)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{t.opts.Subject + "." + acct}, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case q.AfterSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.AfterSeq+1
	case !q.From.IsZero():
		from := q.From
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	s, err := t.opts.JS.Stream(ctx, t.opts.Stream)
	if err != nil {
		return nil, 0, fmt.Errorf("audit stream: %w", err)
	}
	last := s.CachedInfo().State.LastSeq
	if last == 0 || (q.AfterSeq > 0 && q.AfterSeq >= last) {
		return []fc.AuditEntry{}, 0, nil
	}
	cons, err := t.opts.JS.OrderedConsumer(ctx, t.opts.Stream, cfg)
	if err != nil {
		return nil, 0, fmt.Errorf("read audit stream: %w", err)
	}
	out := []fc.AuditEntry{}
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			return nil, 0, fmt.Errorf("read audit stream: %w", err)
		}
		n := 0
		done := false
		var next uint64
		for msg := range batch.Messages() {
			n++
			if done {
				continue // drain the batch
			}
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq := meta.Sequence.Stream
			var e fc.AuditEntry
			if json.Unmarshal(msg.Data(), &e) != nil {
				continue
			}
			if !q.To.IsZero() {
				if ts, err := time.Parse(time.RFC3339Nano, e.Time); err == nil && !ts.Before(q.To) {
					done = true
					continue
				}
			}
			if q.match(&e) {
				if len(out) == q.Limit {
					done, next = true, out[len(out)-1].Seq
					continue
				}
				e.Seq = seq
				out = append(out, e)
			}
			if seq >= last || meta.NumPending == 0 {
				done = true
			}
		}
		if done {
			return out, next, nil
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, 0, fmt.Errorf("read audit stream: %w", err)
		}
		if n == 0 {
			return out, 0, nil
		}
	}
}

// token makes s usable as one NATS subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
