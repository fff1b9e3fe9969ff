package invoke

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/flow"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/meter"
	"github.com/openfc/openfc/internal/pool"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/scheduler"
	"github.com/openfc/openfc/internal/store"
)

// FC's function error types (X-Fc-Error-Type).
const (
	ErrorUnhandled = "UnhandledInvocationError"
	ErrorHandled   = "HandledInvocationError"
)

// Options configures an Invoker.
type Options struct {
	Store     *store.Store
	Scheduler *scheduler.Scheduler
	AccountID string
	Region    string
	// Registerer receives the invocation metrics; nil counts nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Flow is the node's flow control; nil means no limits.
	Flow *flow.Controller
	// Limits are the configured defaults of stored flow-control limits.
	Limits LimitDefaults
	// Meter, if set, receives a usage record per finished invocation.
	Meter *meter.Meter
}

// Invoker runs invocations.
type Invoker struct {
	store     *store.Store
	sched     *scheduler.Scheduler
	accountID string
	region    string
	logger    *slog.Logger
	metrics   *metrics
	meter     *meter.Meter

	// specs caches the scheduler spec of each function revision, so the
	// warm path builds nothing.
	specs sync.Map // revision → *scheduler.Spec

	flow     *flow.Controller
	defaults LimitDefaults
	// limitsMu serialises ApplyLimits and guards applied, the services
	// and functions whose limits it set.
	limitsMu sync.Mutex
	applied  map[[2]string]bool

	// provErrs holds the problems of provision configs (currentError).
	provErrs sync.Map // service#qualifier#function → string
}

// New returns an Invoker.
func New(opts Options) *Invoker {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	region := opts.Region
	if region == "" {
		region = "local"
	}
	fl := opts.Flow
	if fl == nil {
		fl = flow.New(flow.Options{})
	}
	return &Invoker{store: opts.Store, sched: opts.Scheduler, accountID: opts.AccountID, region: region,
		logger: l.With("component", "invoke"), metrics: newMetrics(opts.Registerer), flow: fl, defaults: opts.Limits, meter: opts.Meter}
}

// Request is one invocation.
type Request struct {
	Service   string
	Qualifier string // "", LATEST, a version ID or an alias
	Function  string
	RequestID string
	Body      []byte
	// LogTail asks for the last 4 KB of the invocation's log.
	LogTail bool
	// HTTP is set for calls through an HTTP trigger or custom domain.
	HTTP *HTTPRequest
	// RetryCount is the async retry number (x-fc-retry-count).
	RetryCount int
	// Async marks a call from the async queue (for metrics).
	Async bool
	// Tracing carries the client's tracing headers to the function.
	Tracing http.Header
}

// HTTPRequest is the HTTP request an HTTP trigger passes to a function.
type HTTPRequest struct {
	Method     string
	Path       string // the path the function sees
	RequestURI string
	BasePath   string // x-fc-base-path for proxy URLs
	ClientIP   string
	Host       string
	Query      url.Values
	Header     http.Header
}

// Result is how an invocation ended.
type Result struct {
	// StatusCode is the function's HTTP status (HTTP calls) or 200.
	StatusCode int
	// Header holds the function's response headers (HTTP calls).
	Header http.Header
	Body   []byte
	// ErrorType is "" on success, else ErrorUnhandled or ErrorHandled.
	ErrorType string
	// LogResult is the log tail, when asked for.
	LogResult []byte
	// VersionID is the version that served the call ("" for LATEST).
	VersionID    string
	InstanceID   string
	Cold         bool
	InitDuration time.Duration
	Duration     time.Duration
	CodeChecksum string
}

// Invoke runs req and returns its result.
func (iv *Invoker) Invoke(ctx context.Context, req *Request) (*Result, error) {
	spec, rec, err := iv.resolve(req)
	if err != nil {
		return nil, err
	}
	ticket, err := iv.admit(ctx, req)
	if err != nil {
		return nil, err
	}
	defer ticket.Release()
	lease, err := iv.sched.Acquire(ctx, spec)
	if errors.Is(err, pool.ErrDraining) {
		// The pool was drained after the call was routed to it (the
		// function changed, or its alias moved away from the version):
		// route the call again rather than fail it.
		if spec, rec, err = iv.resolve(req); err != nil {
			return nil, err
		}
		lease, err = iv.sched.Acquire(ctx, spec)
	}
	if err != nil {
		err = acquireError(spec, err)
		if e, ok := fc.AsError(err); ok && e.Status == http.StatusTooManyRequests && iv.metrics != nil {
			iv.metrics.throttles.WithLabelValues(req.Service, req.Function, e.Code).Inc()
		}
		return nil, err
	}
	inst := lease.Instance
	res := &Result{StatusCode: 200, VersionID: spec.VersionID, CodeChecksum: rec.CodeChecksum, InstanceID: inst.ID(), Cold: lease.Cold}
	initStart := time.Now()
	var tail *fnlog.Tail
	if req.LogTail {
		tail = inst.Router().Subscribe(req.RequestID)
		defer inst.Router().Unsubscribe(req.RequestID)
	}
	if spec.Initializer != "" && !inst.Initialized() {
		if failed := iv.initialize(ctx, req, spec, inst, res); failed {
			lease.Release(false)
			iv.finishTail(tail, res)
			iv.metrics.record(req, res)
			iv.meterCall(req, spec, res)
			return res, nil
		}
	}
	if lease.Cold {
		res.InitDuration = lease.StartDuration + time.Since(initStart)
	}
	healthy := iv.call(ctx, req, spec, inst, res)
	lease.Release(healthy)
	iv.finishTail(tail, res)
	iv.metrics.record(req, res)
	iv.meterCall(req, spec, res)
	return res, nil
}

// meterCall hands the finished invocation to the meter (a buffered
// channel send: nothing waits for the record to be stored).
func (iv *Invoker) meterCall(req *Request, spec *scheduler.Spec, res *Result) {
	if iv.meter == nil {
		return
	}
	iv.meter.Record(meter.Invocation{End: time.Now(), Service: req.Service, Function: req.Function, Qualifier: spec.Qualifier,
		VersionID: spec.VersionID, RequestID: req.RequestID, Retry: req.RetryCount, Duration: res.Duration, MemoryBytes: spec.MemoryBytes})
}

func acquireError(spec *scheduler.Spec, err error) error {
	switch {
	case errors.Is(err, pool.ErrBusy):
		return fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceExhausted,
			"function '%s' has no free instance within its limits: retry later or raise instanceConcurrency or the on-demand maximumInstanceCount", spec.Function)
	case errors.Is(err, scheduler.ErrNoCapacity):
		return fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceThrottled, "the node has no free capacity for a new instance: %v", err)
	case errors.Is(err, pool.ErrDraining):
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "the function is being updated; retry")
	case errors.Is(err, scheduler.ErrNotStarted):
		return fc.Errorf(http.StatusBadGateway, "FunctionNotStarted", "The CA's http server cannot be started: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "the call ended before an instance was ready")
	}
	return fmt.Errorf("acquire instance of %s/%s: %w", spec.Service, spec.Function, err)
}

// resolve picks the version a call runs (alias weights per request) and
// returns its cached scheduler spec.
func (iv *Invoker) resolve(req *Request) (*scheduler.Spec, *store.FunctionRecord, error) {
	return iv.resolveSpec(req, false)
}

// resolveSpec resolves like resolve; mainOnly takes an alias's main
// version, ignoring its canary weights (provisioning).
func (iv *Invoker) resolveSpec(req *Request, mainOnly bool) (*scheduler.Spec, *store.FunctionRecord, error) {
	q := req.Qualifier
	version := ""
	if q != "" && q != "LATEST" {
		if _, err := strconv.ParseUint(q, 10, 64); err == nil {
			version = q
		} else {
			a, err := iv.store.Alias(req.Service, q)
			if err != nil {
				return nil, nil, err
			}
			version = a.Value.VersionID
			if !mainOnly {
				version = pickVersion(a.Value)
			}
		}
	}
	var svcETag string
	var r store.Resolved
	if version == "" {
		svc, err := iv.store.Service(req.Service)
		if err != nil {
			return nil, nil, err
		}
		fn, err := iv.store.Function(req.Service, req.Function)
		if err != nil {
			return nil, nil, err
		}
		svcETag = svc.ETag + fn.ETag
		r = store.Resolved{Service: svc.Value, Function: fn.Value}
	} else {
		var err error
		r, err = iv.store.Resolve(req.Service, version, req.Function)
		if err != nil {
			return nil, nil, err
		}
		svcETag = "v" + version
	}
	maxInst, _ := iv.store.MaxInstances(req.Service, q, req.Function)
	// "" and LATEST are one qualifier: they must share instances.
	rev := req.Service + "/" + req.Function + "#" + svcETag + "#" + strconv.Itoa(maxInst) + "#" + qualifierOr(q)
	if s, ok := iv.specs.Load(rev); ok {
		return s.(*scheduler.Spec), r.Function, nil
	}
	s := iv.buildSpec(req, r, version, rev, maxInst)
	iv.specs.Store(rev, s)
	return s, r.Function, nil
}

func qualifierOr(q string) string {
	if q == "" {
		return "LATEST"
	}
	return q
}

// pickVersion chooses a version of an alias by its canary weights.
func pickVersion(a *fc.Alias) string {
	if len(a.AdditionalVersionWeight) == 0 {
		return a.VersionID
	}
	x := rand.Float64()
	// Iterate in a fixed order so a given x always picks the same version.
	vs := make([]string, 0, len(a.AdditionalVersionWeight))
	for v := range a.AdditionalVersionWeight {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	for _, v := range vs {
		w := a.AdditionalVersionWeight[v]
		if x < w {
			return v
		}
		x -= w
	}
	return a.VersionID
}

func (iv *Invoker) buildSpec(req *Request, r store.Resolved, version, rev string, maxInst int) *scheduler.Spec {
	f := r.Function
	s := &scheduler.Spec{
		Service: req.Service, Function: req.Function, Qualifier: qualifierOr(req.Qualifier), VersionID: version,
		Revision: rev, Runtime: f.Runtime, Handler: f.Handler, Initializer: f.Initializer,
		InitTimeout: time.Duration(f.InitializationTimeout) * time.Second,
		Timeout:     time.Duration(f.Timeout) * time.Second,
		MemoryBytes: int64(f.MemorySize) << 20, Concurrency: f.InstanceConcurrency, MaxInstances: maxInst,
		CodeSHA256: f.CodeSHA256, Env: f.EnvironmentVariables, CAPort: f.CAPort,
		AccountID: iv.accountID, Region: iv.region,
	}
	if r.Service.InternetAccess != nil {
		s.InternetAccess = *r.Service.InternetAccess
	}
	if lc := r.Service.LogConfig; lc != nil {
		s.LogProject, s.LogStore = lc.Project, lc.Logstore
	}
	if lc := f.InstanceLifecycleConfig; lc != nil && lc.PreStop != nil {
		s.PreStop = lc.PreStop.Handler
		s.PreStopTimeout = time.Duration(lc.PreStop.Timeout) * time.Second
	}
	if c := f.CustomRuntimeConfig; c != nil && len(c.Command) > 0 {
		s.CustomCommand = append(append([]string{}, c.Command...), c.Args...)
	}
	for _, l := range f.Layers {
		if sha, err := iv.store.LayerCodeSHA(l); err == nil {
			s.LayerSHA256s = append(s.LayerSHA256s, sha)
		}
	}
	return s
}

// commonHeaders sets the x-fc-* headers every runtime call carries.
func commonHeaders(h http.Header, req *Request, spec *scheduler.Spec, controlPath string) {
	set := func(k, v string) { h[k] = []string{v} }
	set("X-Fc-Request-Id", req.RequestID)
	set("X-Fc-Function-Name", spec.Function)
	set("X-Fc-Function-Handler", spec.Handler)
	set("X-Fc-Function-Memory", strconv.FormatInt(spec.MemoryBytes>>20, 10))
	set("X-Fc-Function-Timeout", strconv.Itoa(int(spec.Timeout/time.Second)))
	set("X-Fc-Function-Initializer", spec.Initializer)
	set("X-Fc-Initialization-Timeout", strconv.Itoa(int(spec.InitTimeout/time.Second)))
	if spec.PreStop != "" {
		set("X-Fc-Instance-Lifecycle-Pre-Stop-Handler", spec.PreStop)
	}
	set("X-Fc-Region", spec.Region)
	set("X-Fc-Account-Id", spec.AccountID)
	set("X-Fc-Qualifier", spec.Qualifier)
	set("X-Fc-Version-Id", spec.VersionID)
	set("X-Fc-Service-Name", spec.Service)
	set("X-Fc-Service-Logproject", spec.LogProject)
	set("X-Fc-Service-Logstore", spec.LogStore)
	set("X-Fc-Control-Path", controlPath)
	set("X-Fc-Retry-Count", strconv.Itoa(req.RetryCount))
	for k, v := range req.Tracing {
		h[k] = v
	}
}

// initialize runs the initializer; it reports true (and fills res) when
// the initializer failed, in which case the call fails and the instance
// is discarded.
func (iv *Invoker) initialize(ctx context.Context, req *Request, spec *scheduler.Spec, inst *scheduler.Instance, res *Result) bool {
	var failure *Result
	err := inst.Initialize(func() error {
		ictx, cancel := context.WithTimeout(ctx, spec.InitTimeout)
		defer cancel()
		hr, err := http.NewRequestWithContext(ictx, "POST", "http://instance/initialize", nil)
		if err != nil {
			return err
		}
		commonHeaders(hr.Header, req, spec, "/initialize")
		resp, err := inst.Client().Do(hr)
		if err != nil {
			failure = iv.failure(ictx, ctx, spec, inst, err, "initializer")
			return errors.New("initializer failed")
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			failure = &Result{ErrorType: ErrorUnhandled, Body: errorBody(body,
				fmt.Sprintf("the initializer %s of function '%s' failed", spec.Initializer, spec.Function))}
			return errors.New("initializer failed")
		}
		return nil
	})
	if err == nil {
		return false
	}
	if failure == nil {
		failure = &Result{ErrorType: ErrorUnhandled, Body: errorBody(nil, "the initializer failed")}
	}
	res.ErrorType, res.Body = failure.ErrorType, failure.Body
	return true
}

// call sends the invocation and fills res; it reports whether the
// instance is still healthy.
func (iv *Invoker) call(ctx context.Context, req *Request, spec *scheduler.Spec, inst *scheduler.Instance, res *Result) bool {
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	rt, _ := runtimes.Lookup(spec.Runtime)
	custom := rt.Kind == runtimes.KindCustom
	hr, err := iv.runtimeRequest(cctx, req, spec, custom)
	if err != nil {
		res.ErrorType, res.Body = ErrorUnhandled, errorBody(nil, err.Error())
		return true
	}
	resp, err := inst.Client().Do(hr)
	if err != nil {
		f := iv.failure(cctx, ctx, spec, inst, err, "")
		res.ErrorType, res.Body, res.StatusCode = f.ErrorType, f.Body, f.StatusCode
		res.Duration = time.Since(start)
		return false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, fc.MaxSyncPayloadBytes+1))
	resp.Body.Close()
	res.Duration = time.Since(start)
	if err != nil {
		f := iv.failure(cctx, ctx, spec, inst, err, "")
		res.ErrorType, res.Body, res.StatusCode = f.ErrorType, f.Body, f.StatusCode
		return false
	}
	if len(body) > fc.MaxSyncPayloadBytes {
		res.ErrorType, res.Body = ErrorUnhandled, errorBody(nil, fmt.Sprintf("the function's response is larger than %d bytes", fc.MaxSyncPayloadBytes))
		return true
	}
	if req.HTTP != nil && custom {
		// Custom runtimes answer HTTP calls directly.
		res.StatusCode, res.Header, res.Body = resp.StatusCode, resp.Header, body
		return true
	}
	failed := resp.StatusCode/100 != 2 || resp.Header.Get("X-Fc-Status") == "404"
	if failed {
		res.ErrorType = ErrorUnhandled
		if resp.Header.Get("X-Fc-Error-Type") == ErrorHandled {
			res.ErrorType = ErrorHandled
		}
		res.Body = errorBody(body, "")
		return true
	}
	if req.HTTP != nil {
		return iv.httpResult(resp, body, res)
	}
	res.Body = body
	return true
}

// runtimeRequest builds the request to the runtime.
func (iv *Invoker) runtimeRequest(ctx context.Context, req *Request, spec *scheduler.Spec, custom bool) (*http.Request, error) {
	if req.HTTP == nil {
		hr, err := http.NewRequestWithContext(ctx, "POST", "http://instance/invoke", bytes.NewReader(req.Body))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/octet-stream")
		commonHeaders(hr.Header, req, spec, "/invoke")
		return hr, nil
	}
	h := req.HTTP
	if custom {
		// Passed through as it is (spec §4.2), with FC's headers added.
		uri := h.RequestURI
		if uri == "" {
			uri = h.Path
		}
		hr, err := http.NewRequestWithContext(ctx, h.Method, "http://instance"+uri, bytes.NewReader(req.Body))
		if err != nil {
			return nil, fmt.Errorf("bad request URI %q: %w", uri, err)
		}
		for k, v := range h.Header {
			hr.Header[k] = v
		}
		hr.Host = h.Host
		commonHeaders(hr.Header, req, spec, "/http-invoke")
		if h.BasePath != "" {
			hr.Header.Set("X-Fc-Base-Path", h.BasePath)
		}
		return hr, nil
	}
	params, err := json.Marshal(map[string]any{
		"path": h.Path, "method": h.Method, "requestURI": h.RequestURI, "clientIP": h.ClientIP, "host": h.Host,
		"queriesMap": h.Query, "headersMap": h.Header,
	})
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", "http://instance/invoke", bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	commonHeaders(hr.Header, req, spec, "/http-invoke")
	hr.Header.Set("X-Fc-Http-Params", base64.StdEncoding.EncodeToString(params))
	return hr, nil
}

// httpResult decodes a built-in runtime's HTTP answer.
func (iv *Invoker) httpResult(resp *http.Response, body []byte, res *Result) bool {
	raw, err := base64.StdEncoding.DecodeString(resp.Header.Get("X-Fc-Http-Params"))
	var p struct {
		Status     int                 `json:"status"`
		HeadersMap map[string][]string `json:"headersMap"`
	}
	if err != nil || json.Unmarshal(raw, &p) != nil || p.Status == 0 {
		res.ErrorType, res.Body = ErrorUnhandled, errorBody(nil, "the runtime answered an HTTP call without x-fc-http-params")
		return true
	}
	res.StatusCode, res.Header, res.Body = p.Status, http.Header(p.HeadersMap), body
	return true
}

// failure describes a call that got no answer: a timeout, or the instance
// died (crash, out of memory).
func (iv *Invoker) failure(callCtx, reqCtx context.Context, spec *scheduler.Spec, inst *scheduler.Instance, err error, phase string) *Result {
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) && reqCtx.Err() == nil {
		t := spec.Timeout
		what := "Function"
		if phase == "initializer" {
			t, what = spec.InitTimeout, "Function initializer"
		}
		return &Result{StatusCode: 200, ErrorType: ErrorUnhandled,
			Body: errorBody(nil, fmt.Sprintf("%s timed out after %d seconds (maxMemoryUsage: %dMB)", what, int(t/time.Second), spec.MemoryBytes>>20))}
	}
	// The connection broke: wait briefly for the instance to end so the
	// cgroup can say whether it ran out of memory.
	select {
	case <-inst.Done():
	case <-time.After(2 * time.Second):
	}
	select {
	case <-inst.Done():
		if inst.Exit().OOMKilled {
			return &Result{StatusCode: 502, ErrorType: ErrorUnhandled,
				Body: errorBody(nil, fmt.Sprintf("Function ran out of memory: it used more than its memorySize of %dMB and was killed", spec.MemoryBytes>>20))}
		}
		return &Result{StatusCode: 502, ErrorType: ErrorUnhandled,
			Body: errorBody(nil, fmt.Sprintf("Process exited unexpectedly before completing request (%s)", inst.Exit()))}
	default:
	}
	iv.logger.Warn("runtime call failed", "instance", inst.ID(), "err", err)
	return &Result{StatusCode: 502, ErrorType: ErrorUnhandled,
		Body: errorBody(nil, "the runtime closed the connection before completing request")}
}

// errorBody returns FC's error JSON: the runtime's own when it sent one,
// else {"errorMessage": message or the runtime's text}.
func errorBody(body []byte, message string) []byte {
	var e struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if len(body) > 0 && json.Unmarshal(body, &e) == nil && e.ErrorMessage != nil {
		return body
	}
	if message == "" {
		message = strings.TrimSpace(string(body))
	}
	out, _ := json.Marshal(map[string]string{"errorMessage": message}) // strings always encode
	return out
}

// finishTail waits briefly for the request's End marker (output arrives
// through a pipe, after the answer) and stores the tail.
func (iv *Invoker) finishTail(t *fnlog.Tail, res *Result) {
	if t == nil {
		return
	}
	select {
	case <-t.Ended():
	case <-time.After(100 * time.Millisecond):
	}
	res.LogResult = t.Bytes()
}

// InstanceIDs returns the live instances of a function qualifier (a version
// ID or alias resolves to its main version).
func (iv *Invoker) InstanceIDs(service, qualifier, function string) ([]string, string, error) {
	r, err := iv.store.Resolve(service, qualifier, function)
	if err != nil {
		return nil, "", err
	}
	return iv.sched.InstanceIDs(service, function, r.VersionID), r.VersionID, nil
}
