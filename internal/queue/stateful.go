package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/fc"
)

// Stateful async invocations ("task mode", spec §2.9): each invocation of a
// function whose async config has statefulInvocation (or that was given an
// x-fc-stateful-async-invocation-id) has a status record in the
// openfc_async bucket, updated by the worker that runs it, and can be
// stopped from any node.

// hStateful carries the stateful invocation ID on the queued message.
const hStateful = "Openfc-Stateful-Id"

// stopSubject tells every node to cancel a running stateful invocation
// (core NATS, outside the async stream's openfc.async.> subjects).
const stopSubject = "openfc.asyncctl.stop"

// maxReturnPayload bounds the result kept in a record (FC keeps up to 1 MB;
// a KV value must fit one NATS message).
const maxReturnPayload = 256 << 10

func statefulKey(service, function, id string) string {
	return "stateful." + service + "." + function + "." + id
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// setStatus moves r to status, recording the change as an event.
func setStatus(r *fc.StatefulAsyncInvocation, status string, at time.Time, detail string) {
	r.Status = status
	r.Events = append(r.Events, fc.StatefulEvent{EventID: int64(len(r.Events) + 1), Status: status, Timestamp: ms(at), EventDetail: detail})
}

// isStateful decides whether inv runs in task mode: the request says so
// (Stateful set), else the function qualifier's async config does.
func (q *Queue) isStateful(inv *Invocation) bool {
	if inv.InvocationID != "" {
		return true
	}
	if inv.Stateful != nil {
		return *inv.Stateful
	}
	c, err := q.opts.Store.AsyncConfig(inv.Service, inv.Qualifier, inv.Function)
	return err == nil && c.Value.StatefulInvocation
}

// createRecord stores the Enqueued record of a stateful invocation; an ID
// already used by the function is refused.
func (q *Queue) createRecord(ctx context.Context, inv *Invocation) error {
	if q.opts.State == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "this node keeps no stateful async invocations")
	}
	now := q.now()
	r := &fc.StatefulAsyncInvocation{
		InvocationID: inv.InvocationID, ServiceName: inv.Service, FunctionName: inv.Function,
		Qualifier: qualifierOrLatest(inv.Qualifier), StartedTime: ms(now), RequestID: inv.RequestID,
		InvocationPayload: string(inv.Payload),
	}
	setStatus(r, fc.StatefulEnqueued, now, "")
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode stateful invocation %s: %w", inv.InvocationID, err)
	}
	if _, err := q.opts.State.Create(ctx, statefulKey(inv.Service, inv.Function, inv.InvocationID), b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fc.Errorf(http.StatusConflict, fc.CodeStatefulAlreadyExists,
				"stateful async invocation '%s' of function '%s' in service '%s' already exists", inv.InvocationID, inv.Function, inv.Service)
		}
		return fmt.Errorf("store stateful invocation %s: %w", inv.InvocationID, err)
	}
	return nil
}

// record reads a stateful invocation's record.
func (q *Queue) record(ctx context.Context, key string) (*fc.StatefulAsyncInvocation, uint64, error) {
	e, err := q.opts.State.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	var r fc.StatefulAsyncInvocation
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return &r, e.Revision(), nil
}

// update changes a record with change (which returns false to leave it as
// is), retrying when another node changed it in between (compare and set
// on the revision, so a stop is never overwritten by a worker).
func (q *Queue) update(ctx context.Context, key string, change func(*fc.StatefulAsyncInvocation) bool) (*fc.StatefulAsyncInvocation, error) {
	var err error
	for range 10 {
		r, rev, gerr := q.record(ctx, key)
		if gerr != nil {
			return nil, gerr
		}
		if !change(r) {
			return r, nil
		}
		b, merr := json.Marshal(r)
		if merr != nil {
			return nil, fmt.Errorf("encode %s: %w", key, merr)
		}
		if _, err = q.opts.State.Update(ctx, key, b, rev); err == nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("update %s: %w", key, err)
}

// setFinal records how an invocation ended, unless it was stopped first.
func (q *Queue) setFinal(ctx context.Context, key, status string, change func(*fc.StatefulAsyncInvocation)) {
	now := q.now()
	_, err := q.update(ctx, key, func(r *fc.StatefulAsyncInvocation) bool {
		if r.Status == fc.StatefulStopped {
			return false
		}
		if change != nil {
			change(r)
		}
		detail := ""
		if r.InvocationErrorMessage != "" && (status == fc.StatefulFailed || status == fc.StatefulRetrying) {
			b, _ := json.Marshal(map[string]string{"Error": r.InvocationErrorMessage})
			detail = string(b)
		}
		if status != fc.StatefulRetrying {
			r.EndTime = ms(now)
		}
		setStatus(r, status, now, detail)
		return true
	})
	if err != nil {
		q.logger.Warn("stateful invocation status not recorded", "key", key, "status", status, "err", err)
	}
}

// runStart marks a stateful invocation Running and registers cancel so a
// stop can end it; it reports false (and leaves the record alone) when the
// invocation was stopped or already finished.
func (q *Queue) runStart(ctx context.Context, key string, attempt int, cancel context.CancelFunc) bool {
	now := q.now()
	r, err := q.update(ctx, key, func(r *fc.StatefulAsyncInvocation) bool {
		if r.Finished() {
			return false
		}
		r.AlreadyRetriedTimes = int64(attempt)
		setStatus(r, fc.StatefulRunning, now, "")
		return true
	})
	if err != nil {
		// The record is gone or unreadable: run anyway (at least once).
		q.logger.Warn("stateful invocation status not recorded", "key", key, "err", err)
	} else if r.Finished() {
		return false
	}
	q.mu.Lock()
	q.running[key] = cancel
	q.mu.Unlock()
	return true
}

func (q *Queue) runEnd(key string) {
	q.mu.Lock()
	delete(q.running, key)
	q.mu.Unlock()
}

// stopped reports whether a stateful invocation was stopped.
func (q *Queue) stopped(ctx context.Context, key string) bool {
	r, _, err := q.record(context.WithoutCancel(ctx), key)
	return err == nil && r.Status == fc.StatefulStopped
}

// cancelLocal cancels the invocation key if it runs on this node.
func (q *Queue) cancelLocal(key string) {
	q.mu.Lock()
	cancel := q.running[key]
	q.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// subscribeStops listens for stops sent by any node.
func (q *Queue) subscribeStops() (*nats.Subscription, error) {
	return q.opts.JS.Conn().Subscribe(stopSubject, func(m *nats.Msg) { q.cancelLocal(string(m.Data)) })
}

// checkFunction returns FC's not-found error for an unknown service,
// qualifier or function.
func (q *Queue) checkFunction(service, qualifier, function string) error {
	_, err := q.opts.Store.Resolve(service, qualifier, function)
	return err
}

// GetStateful returns a stateful invocation's record.
func (q *Queue) GetStateful(ctx context.Context, service, qualifier, function, id string) (*fc.StatefulAsyncInvocation, error) {
	if err := q.checkFunction(service, qualifier, function); err != nil {
		return nil, err
	}
	// Generated IDs are request IDs (which may start with a digit), so
	// only characters that cannot break the record key are checked.
	if q.opts.State == nil || !keySafe.MatchString(id) {
		return nil, fc.StatefulNotFound(service, function, id)
	}
	r, _, err := q.record(ctx, statefulKey(service, function, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fc.StatefulNotFound(service, function, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read stateful invocation %s: %w", id, err)
	}
	return r, nil
}

// StopStateful stops a stateful invocation: a queued one never runs, a
// running one is cancelled on whichever node runs it. Stopping a finished
// invocation is refused.
func (q *Queue) StopStateful(ctx context.Context, service, qualifier, function, id string) (*fc.StatefulAsyncInvocation, error) {
	if _, err := q.GetStateful(ctx, service, qualifier, function, id); err != nil {
		return nil, err
	}
	key := statefulKey(service, function, id)
	now := q.now()
	var finished string
	r, err := q.update(ctx, key, func(r *fc.StatefulAsyncInvocation) bool {
		if r.Finished() {
			finished = r.Status
			return false
		}
		r.EndTime = ms(now)
		setStatus(r, fc.StatefulStopped, now, "")
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("stop stateful invocation %s: %w", id, err)
	}
	if finished != "" {
		return nil, fc.InvalidArgument("stateful async invocation '%s' already ended with status %s", id, finished)
	}
	q.cancelLocal(key)
	if err := q.opts.JS.Conn().Publish(stopSubject, []byte(key)); err != nil {
		return nil, fmt.Errorf("stop stateful invocation %s: %w", id, err)
	}
	return r, nil
}

// StatefulFilter selects stateful invocations (ListStatefulAsyncInvocations).
type StatefulFilter struct {
	Service, Qualifier, Function string
	Status                       string
	// StartedBegin and StartedEnd bound startedTime (epoch ms, inclusive);
	// 0 is unbounded.
	StartedBegin, StartedEnd int64
	IDPrefix                 string
	Ascending                bool // sortOrderByTime asc; desc by default
	IncludePayload           bool
	Limit                    int
	// NextToken is the ID of the first invocation of the page.
	NextToken string
}

// ListStateful returns a page of a function's stateful invocations, sorted
// by startedTime (then ID), and the token of the next page ("" at the end).
func (q *Queue) ListStateful(ctx context.Context, f StatefulFilter) ([]*fc.StatefulAsyncInvocation, string, error) {
	if err := q.checkFunction(f.Service, f.Qualifier, f.Function); err != nil {
		return nil, "", err
	}
	if q.opts.State == nil {
		return nil, "", nil
	}
	prefix := statefulKey(f.Service, f.Function, "")
	lister, err := q.opts.State.ListKeysFiltered(ctx, prefix+"*")
	if err != nil {
		return nil, "", fmt.Errorf("list stateful invocations: %w", err)
	}
	var all []*fc.StatefulAsyncInvocation
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, prefix+f.IDPrefix) {
			continue
		}
		r, _, err := q.record(ctx, key)
		if err != nil {
			continue // deleted in between
		}
		if f.Qualifier != "" && r.Qualifier != qualifierOrLatest(f.Qualifier) ||
			f.Status != "" && r.Status != f.Status ||
			f.StartedBegin != 0 && r.StartedTime < f.StartedBegin ||
			f.StartedEnd != 0 && r.StartedTime > f.StartedEnd {
			continue
		}
		if !f.IncludePayload {
			r.InvocationPayload = ""
		}
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b *fc.StatefulAsyncInvocation) int {
		c := cmp.Compare(a.StartedTime, b.StartedTime)
		if c == 0 {
			c = strings.Compare(a.InvocationID, b.InvocationID)
		}
		if !f.Ascending {
			c = -c
		}
		return c
	})
	start := 0
	if f.NextToken != "" {
		start = slices.IndexFunc(all, func(r *fc.StatefulAsyncInvocation) bool { return r.InvocationID == f.NextToken })
		if start < 0 {
			return nil, "", fc.InvalidArgument("nextToken %q does not name a listed invocation", f.NextToken)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = all[end].InvocationID
	}
	return all[start:end], next, nil
}

var keySafe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func qualifierOrLatest(q string) string {
	if q == "" {
		return "LATEST"
	}
	return q
}

// errorMessage extracts a function error's message for the record.
func errorMessage(body []byte, errorType string) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) == nil && e.ErrorMessage != "" {
		return e.ErrorMessage
	}
	return errorType
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
