package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// The dead-letter view: an invocation that failed after all its attempts,
// or expired before it could run, is copied to the OPENFC_DEAD stream (one
// subject per function, openfc.dead.<service>.<function>) before its queue
// message is acknowledged, so it can be listed, run again (redriven) or
// purged.

// Dead-letter stream and its subjects.
const (
	DeadStream  = "OPENFC_DEAD"
	deadSubject = "openfc.dead"
)

// Dead-letter headers, beside the invocation's own.
const (
	hDeadReason   = "Openfc-Dead-Reason"
	hDeadAttempts = "Openfc-Dead-Attempts"
	hDeadError    = "Openfc-Dead-Error"
	hEnqueued     = "Openfc-Enqueued" // Unix ms of the original enqueue
)

// Reasons an invocation became a dead letter.
const (
	ReasonRetriesExhausted = "RetriesExhausted"
	ReasonExpired          = "Expired"
)

// DeadFilter selects dead letters: a service (and function), or IDs.
type DeadFilter struct {
	Service, Function string
	IDs               []uint64
	Limit             int
	// NextToken is the ID to list from.
	NextToken string
}

func (f DeadFilter) subject() string {
	switch {
	case f.Service == "":
		return deadSubject + ".>"
	case f.Function == "":
		return deadSubject + "." + f.Service + ".*"
	}
	return deadSubject + "." + f.Service + "." + f.Function
}

// ensureDeadStream creates the dead-letter stream with the async stream's
// replication.
func (q *Queue) ensureDeadStream(ctx context.Context) error {
	replicas := 1
	if s, err := q.opts.JS.Stream(ctx, q.opts.Stream); err == nil {
		replicas = max(s.CachedInfo().Config.Replicas, 1)
	}
	_, err := q.opts.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: DeadStream, Subjects: []string{deadSubject + ".>"}, Replicas: replicas,
		Description: "async invocations that failed after their retries or expired (dead letters)",
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", DeadStream, err)
	}
	return nil
}

// deadLetter stores msg as a dead letter. Its ID is the request ID, so a
// crash before the queue message is acknowledged does not store it twice.
func (q *Queue) deadLetter(ctx context.Context, msg jetstream.Msg, reason string, attempts int, errMsg string) error {
	h := msg.Headers()
	m := nats.NewMsg(deadSubject + "." + h.Get(hService) + "." + h.Get(hFunction))
	m.Data = msg.Data()
	for _, k := range []string{hRequestID, hService, hQualifier, hFunction, hStateful} {
		if v := h.Get(k); v != "" {
			m.Header.Set(k, v)
		}
	}
	if meta, err := msg.Metadata(); err == nil {
		m.Header.Set(hEnqueued, strconv.FormatInt(meta.Timestamp.UnixMilli(), 10))
	}
	m.Header.Set(hDeadReason, reason)
	m.Header.Set(hDeadAttempts, strconv.Itoa(attempts))
	if errMsg != "" {
		m.Header.Set(hDeadError, truncate([]byte(errMsg), 1024))
	}
	if _, err := q.opts.JS.PublishMsg(ctx, m, jetstream.WithMsgID("dead-"+h.Get(hRequestID))); err != nil {
		return fmt.Errorf("store dead letter %s: %w", h.Get(hRequestID), err)
	}
	return nil
}

func toDeadLetter(m *jetstream.RawStreamMsg) fc.DeadLetter {
	h := m.Header
	attempts, _ := strconv.Atoi(h.Get(hDeadAttempts))
	enq, _ := strconv.ParseInt(h.Get(hEnqueued), 10, 64)
	return fc.DeadLetter{
		ID: m.Sequence, RequestID: h.Get(hRequestID), ServiceName: h.Get(hService),
		Qualifier: qualifierOrLatest(h.Get(hQualifier)), FunctionName: h.Get(hFunction),
		InvocationID: h.Get(hStateful), Reason: h.Get(hDeadReason), Attempts: attempts,
		ErrorMessage: h.Get(hDeadError), EnqueuedTime: enq, DeadTime: m.Time.UnixMilli(), Payload: string(m.Data),
	}
}

// scanDead calls fn for each dead letter the filter selects, in order,
// until fn returns false.
func (q *Queue) scanDead(ctx context.Context, f DeadFilter, fn func(*jetstream.RawStreamMsg) bool) error {
	s, err := q.opts.JS.Stream(ctx, DeadStream)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			m, err := s.GetMsg(ctx, id)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return fc.Errorf(404, "DeadLetterNotFound", "dead letter %d does not exist", id)
			}
			if err != nil {
				return fmt.Errorf("dead letter %d: %w", id, err)
			}
			if !strings.HasPrefix(m.Subject, deadSubject+".") || !fn(m) {
				return nil
			}
		}
		return nil
	}
	seq := uint64(1)
	if f.NextToken != "" {
		if seq, err = strconv.ParseUint(f.NextToken, 10, 64); err != nil || seq == 0 {
			return fc.InvalidArgument("nextToken %q is invalid", f.NextToken)
		}
	}
	subject := f.subject()
	for {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
		if !fn(m) {
			return nil
		}
		seq = m.Sequence + 1
	}
}

// ListDeadLetters returns a page of dead letters, oldest first, and the
// token of the next page ("" at the end).
func (q *Queue) ListDeadLetters(ctx context.Context, f DeadFilter) ([]fc.DeadLetter, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	out := []fc.DeadLetter{}
	next := ""
	err := q.scanDead(ctx, f, func(m *jetstream.RawStreamMsg) bool {
		if len(out) == limit {
			next = strconv.FormatUint(m.Sequence, 10)
			return false
		}
		out = append(out, toDeadLetter(m))
		return true
	})
	return out, next, err
}

// RedriveDeadLetters enqueues the selected dead letters again, each with a
// new request ID (derived from its dead-letter ID, so redriving the same
// letter twice in a row runs it once), and removes them from the view.
// A stateful invocation goes back to Enqueued. It returns the redriven
// letters with their new request IDs.
func (q *Queue) RedriveDeadLetters(ctx context.Context, f DeadFilter) ([]fc.DeadLetter, error) {
	var todo []fc.DeadLetter
	if err := q.scanDead(ctx, f, func(m *jetstream.RawStreamMsg) bool {
		todo = append(todo, toDeadLetter(m))
		return true
	}); err != nil {
		return nil, err
	}
	s, err := q.opts.JS.Stream(ctx, DeadStream)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	for i, d := range todo {
		inv := Invocation{Service: d.ServiceName, Qualifier: d.Qualifier, Function: d.FunctionName,
			RequestID: uuid.NewSHA1(redriveNamespace, fmt.Appendf(nil, "%s/%d", d.RequestID, d.ID)).String(),
			Payload:   []byte(d.Payload), InvocationID: d.InvocationID}
		if inv.Qualifier == "LATEST" {
			inv.Qualifier = ""
		}
		if inv.InvocationID != "" && q.opts.State != nil {
			now := q.now()
			_, err := q.update(ctx, statefulKey(inv.Service, inv.Function, inv.InvocationID), func(r *fc.StatefulAsyncInvocation) bool {
				r.EndTime, r.RequestID = 0, inv.RequestID
				setStatus(r, fc.StatefulEnqueued, now, `{"Redrive":"`+strconv.FormatUint(d.ID, 10)+`"}`)
				return true
			})
			if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return todo[:i], fmt.Errorf("redrive dead letter %d: %w", d.ID, err)
			}
		}
		if err := q.publish(ctx, inv); err != nil {
			return todo[:i], fmt.Errorf("redrive dead letter %d: %w", d.ID, err)
		}
		if err := s.DeleteMsg(ctx, d.ID); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return todo[:i], fmt.Errorf("redrive dead letter %d: remove it: %w", d.ID, err)
		}
		todo[i].RequestID = inv.RequestID
	}
	return todo, nil
}

// PurgeDeadLetters deletes the selected dead letters and returns how many.
func (q *Queue) PurgeDeadLetters(ctx context.Context, f DeadFilter) (int, error) {
	s, err := q.opts.JS.Stream(ctx, DeadStream)
	if err != nil {
		return 0, fmt.Errorf("dead letters: %w", err)
	}
	if len(f.IDs) == 0 {
		before, err := s.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("dead letters: %w", err)
		}
		if err := s.Purge(ctx, jetstream.WithPurgeSubject(f.subject())); err != nil {
			return 0, fmt.Errorf("purge dead letters: %w", err)
		}
		after, err := s.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("dead letters: %w", err)
		}
		return int(before.State.Msgs - after.State.Msgs), nil
	}
	n := 0
	err = q.scanDead(ctx, f, func(m *jetstream.RawStreamMsg) bool {
		if err = s.DeleteMsg(ctx, m.Sequence); err != nil {
			return false
		}
		n++
		return true
	})
	if err != nil {
		return n, fmt.Errorf("purge dead letters: %w", err)
	}
	return n, nil
}

// deadCount reads how many dead letters are kept (the metric).
func (q *Queue) deadCount() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := q.opts.JS.Stream(ctx, DeadStream)
	if err != nil {
		return 0
	}
	return float64(s.CachedInfo().State.Msgs)
}

var redriveNamespace = uuid.MustParse("3f1c2b9a-7d4e-4c6a-8e21-5a0b9c7d3e14")
