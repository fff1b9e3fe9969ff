package trigger

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/store"
)

// HTTPOptions configures an HTTP trigger handler.
type HTTPOptions struct {
	Store   *store.Store
	Invoker *invoke.Invoker
	// Queue takes async calls (x-fc-invocation-type: Async); nil refuses
	// them.
	Queue *queue.Queue
	// Verify checks an FC signature (header or signed URL) for triggers
	// whose authType is function.
	Verify func(r *http.Request) error
	// RequestID returns the request ID api gave the request.
	RequestID func(r *http.Request) string
	Logger    *slog.Logger
}

// HTTP serves HTTP-trigger and custom-domain calls.
type HTTP struct {
	store     *store.Store
	invoker   *invoke.Invoker
	queue     *queue.Queue
	verify    func(*http.Request) error
	requestID func(*http.Request) string
	logger    *slog.Logger
}

// NewHTTP returns an HTTP trigger handler.
func NewHTTP(opts HTTPOptions) *HTTP {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &HTTP{store: opts.Store, invoker: opts.Invoker, queue: opts.Queue, verify: opts.Verify, requestID: opts.RequestID,
		logger: l.With("component", "trigger")}
}

const proxyPrefix = "/2016-08-15/proxy/"

// ServeProxy serves /2016-08-15/proxy/{service}[.{qualifier}]/{function}/...
func (h *HTTP) ServeProxy(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(r.URL.Path, proxyPrefix)
	svcq, rest, _ := strings.Cut(rest, "/")
	function, sub, _ := strings.Cut(rest, "/")
	service, qualifier := fc.SplitQualifier(svcq)
	if service == "" || function == "" {
		return fc.Errorf(http.StatusBadRequest, fc.CodePathNotSupported, "use /2016-08-15/proxy/<service>[.<qualifier>]/<function>/<path>")
	}
	base := proxyPrefix + svcq + "/" + function + "/"
	hr := &invoke.HTTPRequest{
		Path:       "/" + sub,
		RequestURI: r.URL.RequestURI(),
		BasePath:   base,
	}
	return h.serve(w, r, service, qualifier, function, hr, true)
}

// ServeDomain serves a request for a custom domain, reporting false when
// no route matches (the caller then answers as for any unknown path).
func (h *HTTP) ServeDomain(w http.ResponseWriter, r *http.Request, d *fc.CustomDomain) error {
	route := matchRoute(d, r.URL.Path, r.Method)
	if route == nil {
		return fc.Errorf(http.StatusNotFound, fc.CodeTriggerNotFound, "no route of custom domain '%s' matches %s %s", d.DomainName, r.Method, r.URL.Path)
	}
	hr := &invoke.HTTPRequest{Path: r.URL.Path, RequestURI: r.URL.RequestURI()}
	return h.serve(w, r, route.ServiceName, route.Qualifier, route.FunctionName, hr, false)
}

// matchRoute picks the longest route whose path matches: exact, or a
// prefix ending in /*.
func matchRoute(d *fc.CustomDomain, path, method string) *fc.PathRoute {
	if d.RouteConfig == nil {
		return nil
	}
	var best *fc.PathRoute
	bestLen := -1
	for i := range d.RouteConfig.Routes {
		rt := &d.RouteConfig.Routes[i]
		if len(rt.Methods) > 0 && !slices.ContainsFunc(rt.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
			continue
		}
		p := rt.Path
		ok := p == path
		if prefix, wild := strings.CutSuffix(p, "/*"); wild {
			ok = ok || path == prefix || strings.HasPrefix(path, prefix+"/")
		}
		if ok && len(p) > bestLen {
			best, bestLen = rt, len(p)
		}
	}
	return best
}

func (h *HTTP) serve(w http.ResponseWriter, r *http.Request, service, qualifier, function string, hr *invoke.HTTPRequest, proxy bool) error {
	t, err := h.httpTrigger(service, qualifier, function)
	if err != nil {
		return err
	}
	var cfg fc.HTTPTriggerConfig
	if err := json.Unmarshal(t.TriggerConfig, &cfg); err != nil {
		return err
	}
	if !slices.ContainsFunc(cfg.Methods, func(m string) bool { return strings.EqualFold(m, r.Method) }) {
		return fc.Errorf(http.StatusMethodNotAllowed, fc.CodeMethodNotAllowed, "method %s is not allowed by the http trigger of function '%s' (allowed: %s)",
			r.Method, function, strings.Join(cfg.Methods, ", "))
	}
	if cfg.AuthType == "function" {
		if err := h.verify(r); err != nil {
			return err
		}
	}
	async := strings.EqualFold(r.Header.Get("X-Fc-Invocation-Type"), "Async")
	if async && h.queue == nil {
		return fc.InvalidArgument("this node does not take async calls")
	}
	if r.ContentLength > fc.MaxSyncPayloadBytes {
		return fc.EntityTooLarge(fc.MaxSyncPayloadBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, fc.MaxSyncPayloadBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fc.EntityTooLarge(fc.MaxSyncPayloadBytes)
	}
	if err != nil {
		return fc.InvalidArgument("cannot read the request body: %v", err)
	}
	hr.Method = r.Method
	hr.Host = r.Host
	hr.ClientIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	hr.Query = r.URL.Query()
	hr.Header = cleanRequestHeader(r.Header)
	if !proxy {
		hr.BasePath = ""
	}
	if async {
		// The event of an async HTTP call is its body, as FC's.
		if len(body) > fc.MaxAsyncPayloadBytes {
			return fc.EntityTooLarge(fc.MaxAsyncPayloadBytes)
		}
		if err := h.queue.Enqueue(r.Context(), queue.Invocation{Service: service, Qualifier: qualifier, Function: function,
			RequestID: h.requestID(r), Fresh: true, Payload: body}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	res, err := h.invoker.Invoke(r.Context(), &invoke.Request{
		Service: service, Qualifier: qualifier, Function: function, RequestID: h.requestID(r),
		Body: body, HTTP: hr, LogTail: strings.EqualFold(r.Header.Get("X-Fc-Log-Type"), "Tail"),
	})
	if err != nil {
		return err
	}
	out := w.Header()
	if res.ErrorType != "" {
		// A failed HTTP function answers 502 with the error JSON and no
		// ErrorCode (spec §4.2).
		out.Set("Content-Type", "application/json")
		out.Set("X-Fc-Error-Type", res.ErrorType)
		out.Set("Content-Length", strconv.Itoa(len(res.Body)))
		w.WriteHeader(http.StatusBadGateway)
		w.Write(res.Body)
		return nil
	}
	for k, vs := range res.Header {
		if skipResponseHeader(k) {
			continue
		}
		out[http.CanonicalHeaderKey(k)] = vs
	}
	if res.VersionID != "" {
		out.Set("X-Fc-Invocation-Service-Version", res.VersionID)
	}
	out.Set("X-Openfc-Cold-Start", strconv.FormatBool(res.Cold))
	if res.Cold {
		out.Set("X-Openfc-Init-Duration", strconv.FormatFloat(float64(res.InitDuration.Microseconds())/1000, 'f', 3, 64))
	}
	out.Set("Content-Length", strconv.Itoa(len(res.Body)))
	w.WriteHeader(res.StatusCode)
	if r.Method != http.MethodHead {
		w.Write(res.Body)
	}
	return nil
}

// httpTrigger finds the function's http trigger for the qualifier.
func (h *HTTP) httpTrigger(service, qualifier, function string) (*fc.Trigger, error) {
	if qualifier == "" {
		qualifier = "LATEST"
	}
	ts, _, err := h.store.ListTriggers(service, function, store.Page{Limit: fc.MaxListLimit})
	if err != nil {
		return nil, err
	}
	// Listed in name order by the index, so the choice is stable.
	for _, t := range ts {
		if t.TriggerType == fc.TriggerHTTP && t.Qualifier == qualifier {
			return t, nil
		}
	}
	return nil, fc.Errorf(http.StatusNotFound, fc.CodeTriggerNotFound, "function '%s' of service '%s' has no http trigger for qualifier %s", function, service, qualifier)
}

var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Connection"}

// cleanRequestHeader drops x-fc-* and hop-by-hop headers (spec §4.2).
func cleanRequestHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-fc-") || slices.Contains(hopByHop, k) {
			continue
		}
		out[k] = v
	}
	return out
}

// skipResponseHeader reports whether a function's response header is the
// platform's to set.
func skipResponseHeader(k string) bool {
	k = http.CanonicalHeaderKey(k)
	return strings.HasPrefix(k, "X-Fc-") || slices.Contains(hopByHop, k) ||
		k == "Content-Length" || k == "Date" || k == "Server"
}
