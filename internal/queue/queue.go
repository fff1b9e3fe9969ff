package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/store"
)

// Message headers of an async invocation.
const (
	hRequestID = "Openfc-Request-Id"
	hService   = "Openfc-Service"
	hQualifier = "Openfc-Qualifier"
	hFunction  = "Openfc-Function"
	hNotBefore = "Openfc-Not-Before" // Unix ms: x-fc-async-delay
)

// Options configures a Queue.
type Options struct {
	JS jetstream.JetStream
	// State holds per-invocation bookkeeping (throttled deliveries, which
	// do not count as attempts): the openfc_async bucket.
	State   jetstream.KeyValue
	Stream  string // default OPENFC_ASYNC
	Subject string // prefix of message subjects; default openfc.async
	Store   *store.Store
	Invoker *invoke.Invoker
	// Region and AccountID name the functions in destination records'
	// FC ARNs (acs:fc:<region>:<accountId>:...). Region "" means "local"
	// (the store's default); AccountID "" means the store's account.
	Region, AccountID string
	// Workers is how many invocations this node runs at once from the
	// queue; 0 means 16.
	Workers int
	// AckWait is how long JetStream waits for a worker's sign of life
	// before redelivering (what a crashed node had pulled waits this long);
	// workers send one every AckWait/3. 0 means 10 s.
	AckWait time.Duration
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Registerer receives the queue's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Queue is the async invocation queue.
type Queue struct {
	opts   Options
	logger *slog.Logger
	now    func() time.Time

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopSub *nats.Subscription

	mu      sync.Mutex
	running map[string]context.CancelFunc // stateful invocations running here, by record key

	retries, failed, dropped prometheus.Counter

	destStreams sync.Map // subject → destStream
}

// New returns a Queue; Start runs its workers.
func New(opts Options) *Queue {
	if opts.Stream == "" {
		opts.Stream = "OPENFC_ASYNC"
	}
	if opts.Subject == "" {
		opts.Subject = "openfc.async"
	}
	if opts.Workers == 0 {
		opts.Workers = 16
	}
	if opts.AckWait == 0 {
		opts.AckWait = 10 * time.Second
	}
	if opts.Region == "" {
		opts.Region = "local"
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	q := &Queue{opts: opts, logger: l.With("component", "queue"), now: now, running: map[string]context.CancelFunc{},
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_async_retries_total",
			Help: "Async invocations run again after a failure (throttled runs excluded)."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_async_failed_total",
			Help: "Async invocations that failed after all their attempts (dead letters)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_async_dropped_total",
			Help: "Async invocations dropped: older than their maximum event age, or their function is gone."}),
	}
	if reg := opts.Registerer; reg != nil {
		reg.MustRegister(q.retries, q.failed, q.dropped, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openfc_async_queue_depth", Help: "Async invocations stored and not yet finished (all nodes).",
		}, q.depth), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openfc_async_dead_letters", Help: "Async invocations kept in the dead-letter view (all nodes).",
		}, q.deadCount))
	}
	return q
}

// depth reads the async stream's message count (work-queue retention:
// finished invocations are removed).
func (q *Queue) depth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := q.opts.JS.Stream(ctx, q.opts.Stream)
	if err != nil {
		return -1
	}
	return float64(s.CachedInfo().State.Msgs)
}

// Invocation is an async invocation to enqueue.
type Invocation struct {
	Service, Qualifier, Function string
	RequestID                    string
	Payload                      []byte
	// Delay postpones the first run (x-fc-async-delay).
	Delay time.Duration
	// Stateful asks for task mode (a status record) when set; nil follows
	// the function qualifier's async config (statefulInvocation).
	Stateful *bool
	// InvocationID is the caller's x-fc-stateful-async-invocation-id; it
	// implies task mode. Task mode without it uses the request ID.
	InvocationID string
	// Fresh says RequestID was made for this call (an API or HTTP-trigger
	// request's new ID), so no duplicate of it can come. Otherwise the
	// request ID is the message ID JetStream de-duplicates on for its
	// duplicate window: the ticks every node's timers fire, the messages
	// of event sources, destination records. Tracking a fresh ID for
	// nothing cost the enqueue path about a sixth of its rate
	// (BenchmarkAsyncEnqueue).
	Fresh bool
}

// Enqueue stores inv durably; it returns once JetStream acknowledged it.
// Unless inv is Fresh, the request ID is the message ID, so the same event
// enqueued twice (by two nodes, or again after a lost acknowledgement)
// runs once.
func (q *Queue) Enqueue(ctx context.Context, inv Invocation) error {
	_, err := q.Submit(ctx, inv)
	return err
}

// Submit is Enqueue that also returns the stateful invocation ID when inv
// runs in task mode ("" if not).
func (q *Queue) Submit(ctx context.Context, inv Invocation) (string, error) {
	if len(inv.Payload) > fc.MaxAsyncPayloadBytes {
		return "", fc.EntityTooLarge(fc.MaxAsyncPayloadBytes)
	}
	// The function must exist now; its qualifier is resolved when it runs.
	if _, err := q.opts.Store.Resolve(inv.Service, inv.Qualifier, inv.Function); err != nil {
		return "", err
	}
	if inv.InvocationID != "" {
		if err := fc.ValidateStatefulID(inv.InvocationID); err != nil {
			return "", err
		}
	}
	if q.isStateful(&inv) {
		if inv.InvocationID == "" {
			inv.InvocationID = inv.RequestID
		}
		if err := q.createRecord(ctx, &inv); err != nil {
			return "", err
		}
	} else {
		inv.InvocationID = ""
	}
	if err := q.publish(ctx, inv); err != nil {
		if inv.InvocationID != "" {
			// Not accepted: the ID stays free for the caller's retry.
			_ = q.opts.State.Purge(context.WithoutCancel(ctx), statefulKey(inv.Service, inv.Function, inv.InvocationID)) // best effort
		}
		return "", err
	}
	return inv.InvocationID, nil
}

// publish stores inv in the async stream.
func (q *Queue) publish(ctx context.Context, inv Invocation) error {
	m := nats.NewMsg(q.opts.Subject + "." + inv.Service + "." + inv.Function)
	m.Data = inv.Payload
	m.Header.Set(hRequestID, inv.RequestID)
	m.Header.Set(hService, inv.Service)
	m.Header.Set(hQualifier, inv.Qualifier)
	m.Header.Set(hFunction, inv.Function)
	if inv.InvocationID != "" {
		m.Header.Set(hStateful, inv.InvocationID)
	}
	if inv.Delay > 0 {
		m.Header.Set(hNotBefore, strconv.FormatInt(q.now().Add(inv.Delay).UnixMilli(), 10))
	}
	var opts []jetstream.PublishOpt
	if !inv.Fresh {
		opts = append(opts, jetstream.WithMsgID(inv.RequestID))
	}
	if _, err := q.opts.JS.PublishMsg(ctx, m, opts...); err != nil {
		return fmt.Errorf("enqueue async invocation %s: %w", inv.RequestID, err)
	}
	return nil
}

// Start creates (or finds) the shared durable consumer and starts the
// workers.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.ensureDeadStream(ctx); err != nil {
		return err
	}
	sub, err := q.subscribeStops()
	if err != nil {
		return fmt.Errorf("async stop subscription: %w", err)
	}
	q.stopSub = sub
	cons, err := q.opts.JS.CreateOrUpdateConsumer(ctx, q.opts.Stream, jetstream.ConsumerConfig{
		Durable:   "openfc-workers",
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   q.opts.AckWait,
		// Delayed calls (x-fc-async-delay) and retries waiting out their
		// backoff are negatively acknowledged with a delay and stay pending
		// until then: a small cap would let them stop the queue. Workers
		// still pull only as many as they run.
		MaxAckPending: 1 << 20,
		Description:   "openfc async invocation workers (all nodes)",
	})
	if err != nil {
		return fmt.Errorf("async consumer: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	it, err := cons.Messages(jetstream.PullMaxMessages(q.opts.Workers))
	if err != nil {
		cancel()
		return fmt.Errorf("async consumer: %w", err)
	}
	sem := make(chan struct{}, q.opts.Workers)
	q.wg.Go(func() {
		defer it.Stop()
		go func() { <-wctx.Done(); it.Stop() }()
		for {
			msg, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) || wctx.Err() != nil {
					return
				}
				q.logger.Warn("async pull failed", "err", err)
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-wctx.Done():
				return
			}
			q.wg.Go(func() {
				defer func() { <-sem }()
				q.handle(wctx, msg)
			})
		}
	})
	return nil
}

// Shutdown stops pulling and waits for running invocations until ctx
// ends; unacknowledged messages are redelivered to another worker later.
func (q *Queue) Shutdown(ctx context.Context) error {
	if q.cancel == nil {
		return nil
	}
	q.cancel()
	if q.stopSub != nil {
		_ = q.stopSub.Unsubscribe() // best effort: the connection closes soon after
	}
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue shutdown: %w", ctx.Err())
	}
}

// policy is the async config that applies to an invocation.
type policy struct {
	maxAttempts          int // retries after the first run
	maxAge               time.Duration
	onSuccess, onFailure string // destinations, "" for none
}

func (q *Queue) policy(service, qualifier, function string) policy {
	p := policy{maxAttempts: 3, maxAge: 86400 * time.Second}
	if c, err := q.opts.Store.AsyncConfig(service, qualifier, function); err == nil {
		if r := c.Value.MaxAsyncRetryAttempts; r != nil {
			p.maxAttempts = int(*r)
		}
		if a := c.Value.MaxAsyncEventAgeInSeconds; a != nil {
			p.maxAge = time.Duration(*a) * time.Second
		}
		if d := c.Value.DestinationConfig; d != nil {
			if d.OnSuccess != nil {
				p.onSuccess = d.OnSuccess.Destination
			}
			if d.OnFailure != nil {
				p.onFailure = d.OnFailure.Destination
			}
		}
	}
	return p
}

// throttleRetryFor is how long throttled invocations are retried without
// counting as attempts (FC: 5 hours).
const throttleRetryFor = 5 * time.Hour

// handle runs one delivered invocation and settles its message.
func (q *Queue) handle(ctx context.Context, msg jetstream.Msg) {
	h := msg.Headers()
	meta, err := msg.Metadata()
	if err != nil {
		q.logger.Error("async message without metadata", "err", err)
		msg.Term()
		return
	}
	id, svc, qual, fn := h.Get(hRequestID), h.Get(hService), h.Get(hQualifier), h.Get(hFunction)
	log := q.logger.With("request_id", id, "service", svc, "function", fn)
	now := q.now()
	age := now.Sub(meta.Timestamp)
	// A delayed invocation waits on JetStream, not in a worker.
	if nb, err := strconv.ParseInt(h.Get(hNotBefore), 10, 64); err == nil {
		if wait := time.UnixMilli(nb).Sub(now); wait > 0 {
			msg.NakWithDelay(wait)
			return
		}
	}
	skey := "" // the status record of a stateful invocation
	if sid := h.Get(hStateful); sid != "" && q.opts.State != nil {
		skey = statefulKey(svc, fn, sid)
	}
	pol := q.policy(svc, qual, fn)
	// A leftover throttle count (an invocation that ended without
	// forgetting it, and whose request ID came back) must not make it
	// negative.
	attempt := max(attempts(meta, h)-q.throttled(ctx, id), 0)
	if age > pol.maxAge {
		log.Warn("async invocation dropped: older than maxAsyncEventAgeInSeconds", "age", age)
		q.dropped.Inc()
		if err := q.deadLetter(ctx, msg, ReasonExpired, attempt, ""); err != nil {
			log.Warn("expired invocation not kept as a dead letter; trying again", "err", err)
			msg.NakWithDelay(backoff(1))
			return
		}
		if skey != "" {
			q.setFinal(ctx, skey, fc.StatefulExpired, nil)
		}
		msg.Ack()
		q.forget(ctx, id)
		return
	}
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	if skey != "" {
		if !q.runStart(ctx, skey, attempt, cancel) {
			// Stopped while queued (or finished before a redelivery).
			msg.Ack()
			return
		}
		defer q.runEnd(skey)
	}
	// Keep JetStream from redelivering while the function runs.
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(q.opts.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				msg.InProgress()
			case <-stop:
				return
			}
		}
	}()
	res, err := q.opts.Invoker.Invoke(ictx, &invoke.Request{
		Service: svc, Qualifier: qual, Function: fn, RequestID: id, Body: msg.Data(), RetryCount: attempt, Async: true,
	})
	close(stop)
	if skey != "" && ctx.Err() == nil && q.stopped(ctx, skey) {
		log.Info("stateful async invocation stopped")
		msg.Ack()
		return
	}
	switch decide(err, res, attempt, pol.maxAttempts, age, ctx.Err() != nil) {
	case actThrottle:
		// Not an attempt: the function did not run.
		q.addThrottled(ctx, id)
		msg.NakWithDelay(backoff(int(meta.NumDelivered)))
	case actLeave:
		// Shutting down: redelivered to another worker after AckWait.
	case actDrop:
		e, _ := fc.AsError(err)
		log.Warn("async invocation dropped: its function is gone", "err", err)
		q.dropped.Inc()
		if skey != "" {
			q.setFinal(ctx, skey, fc.StatefulInvalid, func(r *fc.StatefulAsyncInvocation) { r.InvocationErrorMessage = e.Message })
		}
		msg.Ack()
		q.forget(ctx, id)
	case actRetry:
		out := ended(err, res)
		if err != nil {
			log.Warn("async invocation failed on the platform; retrying", "attempt", attempt, "err", err)
		} else {
			log.Debug("async invocation failed; retrying", "attempt", attempt, "error_type", res.ErrorType)
		}
		q.retries.Inc()
		if skey != "" {
			q.setFinal(ctx, skey, fc.StatefulRetrying, func(r *fc.StatefulAsyncInvocation) {
				r.InvocationErrorMessage = out.errMsg
				r.InstanceID = out.res.InstanceID
			})
		}
		msg.NakWithDelay(backoff(attempt + 1))
	case actFinish:
		runs := attempt + 1
		if e, ok := fc.AsError(err); ok && e.Status == http.StatusTooManyRequests {
			runs = attempt // the last delivery was throttled, not run
			log.Warn("async invocation failed: throttled for longer than the retry window", "window", throttleRetryFor, "runs", runs, "err", err)
		} else if err != nil {
			log.Warn("async invocation failed on the platform after its retries", "attempts", runs, "err", err)
		}
		q.finish(ctx, msg, log, pol, skey, runs, ended(err, res))
	}
}

// action is what a worker does with a delivery once the invoker answered.
type action int

const (
	actFinish   action = iota // succeeded, or failed for good: destination, dead letter, ack
	actRetry                  // failed: run again after a backoff; this run was an attempt
	actThrottle               // throttled: run again after a backoff; not an attempt
	actDrop                   // the function is gone: nothing can ever run it
	actLeave                  // this node is shutting down: leave it for redelivery
)

// decide picks what becomes of a delivery after the invoker returned res
// or err. attempt is how many runs came before this one (throttled
// deliveries excluded), age how long ago the invocation was accepted.
//
// Throttling (429) is retried without counting as an attempt, as FC does,
// but only for throttleRetryFor after the invocation was accepted. Then it
// fails as one whose retries are exhausted (onFailure, dead letter):
// retrying on would only end, a day later by default, as Expired, with no
// onFailure record.
//
// Any other platform error (an instance that could not start, a function
// being updated) counts as an attempt and is bounded by
// maxAsyncRetryAttempts, as a function error is. FC's documentation once
// retried 500 and 503 like throttling and now does not retry them at all;
// counting them gives a passing fault its retries, while one that repeats
// (a bootstrap that cannot start) fails within seconds, reaches onFailure
// and can be redriven, instead of starting a sandbox every five minutes
// until the event expires.
func decide(err error, res *invoke.Result, attempt, maxAttempts int, age time.Duration, shuttingDown bool) action {
	if err == nil {
		if res.ErrorType != "" && attempt < maxAttempts {
			return actRetry
		}
		return actFinish
	}
	e, isFC := fc.AsError(err)
	throttled := isFC && e.Status == http.StatusTooManyRequests
	switch {
	case throttled && age < throttleRetryFor:
		return actThrottle
	case shuttingDown:
		return actLeave
	case isFC && e.Status == http.StatusNotFound:
		return actDrop
	case !throttled && attempt < maxAttempts:
		return actRetry
	}
	return actFinish
}

// outcome is how a run ended: its result, and why it failed if it did.
type outcome struct {
	// res is the run's result; for a platform error, one carrying the FC
	// error (status and JSON body) that destination records report.
	res    *invoke.Result
	failed bool
	errMsg string // for the dead letter and the status record
}

// ended describes the run that returned res or err.
func ended(err error, res *invoke.Result) outcome {
	if err == nil {
		if res.ErrorType == "" {
			return outcome{res: res}
		}
		return outcome{res: res, failed: true, errMsg: errorMessage(res.Body, res.ErrorType)}
	}
	e, ok := fc.AsError(err)
	if !ok {
		e = fc.InternalError() // the cause is logged, not sent to a destination
	}
	body, _ := json.Marshal(e) // strings always encode
	return outcome{res: &invoke.Result{StatusCode: e.Status, Body: body}, failed: true, errMsg: e.Code + ": " + e.Message}
}

// finish ends an invocation that ran runs times: its destination gets the
// record, a failed one becomes a dead letter, its status record is final,
// and its message is acknowledged.
func (q *Queue) finish(ctx context.Context, msg jetstream.Msg, log *slog.Logger, pol policy, skey string, runs int, out outcome) {
	h := msg.Headers()
	id, svc, qual, fn := h.Get(hRequestID), h.Get(hService), h.Get(hQualifier), h.Get(hFunction)
	res := out.res
	dest, condition := pol.onSuccess, "Success"
	if out.failed {
		if res.ErrorType != "" {
			log.Warn("async invocation failed after its retries", "attempts", runs, "error_type", res.ErrorType)
		}
		q.failed.Inc()
		dest, condition = pol.onFailure, "RetriesExhausted"
	}
	// The destination gets the record before the invocation is acked:
	// a crash in between sends it again rather than never (at least
	// once, as the invocation itself).
	destStatus := ""
	if dest != "" {
		err := q.deliver(ctx, dest, id+"/"+condition, q.destRecord(id, svc, qual, fn, condition, runs, msg.Data(), res))
		switch {
		case errors.Is(err, errBadDestination):
			// Trying again cannot help (the destination function
			// is gone, or the ARN is malformed), and each try would
			// run the invocation once more.
			log.Error("async destination refused; the record is dropped", "destination", dest, "err", err)
			destStatus = fc.StatefulFailed
		case err != nil:
			log.Warn("async destination not reached; retrying the delivery", "destination", dest, "err", err)
			msg.NakWithDelay(backoff(1))
			return
		default:
			destStatus = fc.StatefulSucceeded
		}
	}
	if out.failed {
		if err := q.deadLetter(ctx, msg, ReasonRetriesExhausted, runs, out.errMsg); err != nil {
			log.Warn("failed invocation not kept as a dead letter; trying again", "err", err)
			msg.NakWithDelay(backoff(1))
			return
		}
	}
	if skey != "" {
		status := fc.StatefulSucceeded
		if out.failed {
			status = fc.StatefulFailed
		}
		q.setFinal(ctx, skey, status, func(r *fc.StatefulAsyncInvocation) {
			r.DurationMs = res.Duration.Milliseconds()
			r.InstanceID = res.InstanceID
			r.DestinationStatus = destStatus
			if out.failed {
				r.InvocationErrorMessage = out.errMsg
			} else {
				r.InvocationErrorMessage = ""
				r.ReturnPayload = truncate(res.Body, maxReturnPayload)
			}
		})
	}
	if err := msg.DoubleAck(ctx); err != nil {
		log.Warn("async ack failed; the invocation may run again", "err", err)
	}
	q.forget(ctx, id)
}

func throttleKey(id string) string { return "throttled." + id }

// throttled returns how many deliveries of an invocation were throttled.
func (q *Queue) throttled(ctx context.Context, id string) int {
	if q.opts.State == nil {
		return 0
	}
	e, err := q.opts.State.Get(ctx, throttleKey(id))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(e.Value()))
	return n
}

func (q *Queue) addThrottled(ctx context.Context, id string) {
	if q.opts.State == nil {
		return
	}
	n := q.throttled(ctx, id) + 1
	// Best effort: a lost count only makes one retry count as an attempt.
	_, _ = q.opts.State.Put(ctx, throttleKey(id), []byte(strconv.Itoa(n)))
}

func (q *Queue) forget(ctx context.Context, id string) {
	if q.opts.State != nil {
		_ = q.opts.State.Purge(ctx, throttleKey(id)) // best effort: a leftover counter is harmless
	}
}

// attempts is how many times the invocation already ran: deliveries,
// less the one spent waiting for x-fc-async-delay.
func attempts(meta *jetstream.MsgMetadata, h nats.Header) int {
	n := int(meta.NumDelivered) - 1
	if h.Get(hNotBefore) != "" && n > 0 {
		n--
	}
	return n
}

// backoff is the delay before retry number attempt (from 1): 1 s, 2 s,
// 4 s, ... doubling up to 5 min (FC doubles from 1 s too; the cap keeps a
// throttled invocation trying several times an hour within its 5 h).
// attempt below 1 counts as 1.
func backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 9)
	return min(d, 5*time.Minute)
}

// destinationRecord is what a destination receives, modelled on Lambda's
// (FC leaves the shape open, spec §3.3).
type destinationRecord struct {
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  string `json:"requestPayload"`
	ResponseContext struct {
		StatusCode    int    `json:"statusCode"`
		FunctionError string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	ResponsePayload string `json:"responsePayload"`
}

func (q *Queue) destRecord(id, service, qualifier, function, condition string, count int, payload []byte, res *invoke.Result) []byte {
	var r destinationRecord
	r.Timestamp = q.now().UTC().Format(time.RFC3339Nano)
	r.RequestContext.RequestID = id
	r.RequestContext.FunctionARN = q.functionARN(service, qualifier, function)
	r.RequestContext.Condition = condition
	r.RequestContext.ApproximateInvokeCount = count
	r.RequestPayload = string(payload)
	r.ResponseContext.StatusCode = res.StatusCode
	r.ResponseContext.FunctionError = res.ErrorType
	r.ResponsePayload = string(res.Body)
	b, _ := json.Marshal(r) // strings and ints always encode
	return b
}

// functionARN is FC's ARN of a function qualifier, the form destinations
// are configured with: acs:fc:<region>:<accountId>:services/<service>.<qualifier>/functions/<function>.
// The qualifier is the one the invocation asked for (an alias stays an
// alias), LATEST when none.
func (q *Queue) functionARN(service, qualifier, function string) string {
	account := q.opts.AccountID
	if account == "" {
		if a, ok := q.opts.Store.Account(); ok {
			account = a.AccountID
		}
	}
	return "acs:fc:" + q.opts.Region + ":" + account + ":services/" + service + "." + qualifierOrLatest(qualifier) + "/functions/" + function
}

// deliver sends a destination record: to a function (FC's ARN,
// acs:fc:<region>:<account>:services/<service>.<qualifier>/functions/<f>)
// through this queue, or to a NATS subject (nats:<subject>). Its ID derives
// from key (the invocation's request ID and condition), so a redelivery
// does not run the destination function twice.
func (q *Queue) deliver(ctx context.Context, dest, key string, rec []byte) error {
	id := uuid.NewSHA1(destNamespace, []byte(key)).String()
	if subject, ok := strings.CutPrefix(dest, "nats:"); ok {
		// Stored and de-duplicated when a stream takes the subject;
		// otherwise a plain publish, flushed to the server. Asking first
		// matters: a JetStream publish to a subject no stream stores but
		// core subscribers listen on is delivered to them, then waits
		// for an acknowledgement that never comes and is retried, so the
		// subscribers get the record several times.
		stored, err := q.streamStores(ctx, subject)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", subject, err)
		}
		if !stored {
			nc := q.opts.JS.Conn()
			if err := nc.Publish(subject, rec); err != nil {
				return fmt.Errorf("publish to %s: %w", subject, err)
			}
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second) // Flush needs a deadline
			defer cancel()
			return nc.FlushWithContext(fctx)
		}
		if _, err := q.opts.JS.Publish(ctx, subject, rec, jetstream.WithMsgID(id)); err != nil {
			return fmt.Errorf("publish to %s: %w", subject, err)
		}
		return nil
	}
	i := strings.Index(dest, ":services/")
	if !strings.HasPrefix(dest, "acs:fc:") || i < 0 {
		return fmt.Errorf("%w: %q: use an FC function ARN or nats:<subject>", errBadDestination, dest)
	}
	path := dest[i+len(":services/"):] // <service>[.<qualifier>]/functions/<function>
	svcq, fn, ok := strings.Cut(path, "/functions/")
	if !ok {
		return fmt.Errorf("%w: %q names no function", errBadDestination, dest)
	}
	svc, qual := fc.SplitQualifier(svcq)
	err := q.Enqueue(ctx, Invocation{Service: svc, Qualifier: qual, Function: fn, RequestID: id, Payload: rec})
	if fe, ok := errors.AsType[*fc.Error](err); ok && fe.Status >= 400 && fe.Status < 500 && fe.Status != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", errBadDestination, err)
	}
	return err
}

// errBadDestination marks a destination that can never take a record: a
// malformed one, or a function that does not exist.
var errBadDestination = errors.New("destination cannot take records")

var destNamespace = uuid.MustParse("8d2a1f6e-3c4b-4f0a-9b7e-2f5d6c1a0e93")

// streamStores reports whether a JetStream stream stores subject. Answers
// are kept for a few seconds, so that a busy destination costs no lookup
// per record while a stream created later is still noticed.
func (q *Queue) streamStores(ctx context.Context, subject string) (bool, error) {
	now := q.now()
	if v, ok := q.destStreams.Load(subject); ok {
		if e := v.(destStream); now.Before(e.until) {
			return e.stored, nil
		}
	}
	_, err := q.opts.JS.StreamNameBySubject(ctx, subject)
	stored := err == nil
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, fmt.Errorf("find the stream of %s: %w", subject, err)
	}
	q.destStreams.Store(subject, destStream{stored: stored, until: now.Add(5 * time.Second)})
	return stored, nil
}

// destStream is a cached answer of streamStores.
type destStream struct {
	stored bool
	until  time.Time
}
