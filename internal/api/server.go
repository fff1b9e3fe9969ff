package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/audit"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/meter"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/trigger"
)

// Options configures a Server.
type Options struct {
	Store *store.Store
	Auth  *auth.Authenticator
	// Invoker runs invocations; nil makes invocation calls fail with 503.
	Invoker *invoke.Invoker
	// Queue takes async invocations; nil refuses them.
	Queue *queue.Queue
	// Metrics, if set, is served at /metrics (Prometheus text format,
	// without FC signatures, like any scrape target).
	Metrics http.Handler
	// Logs stores and queries function log lines; nil (function-logs off)
	// makes log queries fail with 503.
	Logs *fnlog.Store
	// Meter answers the usage API; nil switches it off (503).
	Meter *meter.Meter
	// Audit, if set, receives an entry per mutating call and rejected
	// authentication, and answers the audit API.
	Audit *audit.Trail
	// AccountID is the account this node serves.
	AccountID string
	// Region names the region in ARNs and account settings.
	Region string
	// URLKey signs the code download links GetFunctionCode hands out.
	URLKey []byte
	// MaxBodyBytes bounds request bodies; 0 means 101 MB (FC's 100 MB code
	// limit plus room for the JSON around it).
	MaxBodyBytes int64
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server is the API's http.Handler.
type Server struct {
	store     *store.Store
	auth      *auth.Authenticator
	accountID string
	region    string
	urlKey    []byte
	maxBody   int64
	logger    *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
	invoker   *invoke.Invoker
	queue     *queue.Queue
	http      *trigger.HTTP
	oss       *trigger.OSS
	metrics   http.Handler
	logs      *fnlog.Store
	meter     *meter.Meter
	audit     *audit.Trail
	endpoint  string // this node's base URL, for links it hands out
}

// SetEndpoint sets the base URL (http://host:port) of links the server
// hands out, such as GetFunctionCode's; call it before serving. Without it
// links use the request's Host header, which some clients send without the
// port.
func (s *Server) SetEndpoint(url string) { s.endpoint = strings.TrimRight(url, "/") }

// New returns a Server with every route registered.
func New(opts Options) *Server {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: opts.Store, auth: opts.Auth, accountID: opts.AccountID, region: opts.Region,
		urlKey: opts.URLKey, maxBody: opts.MaxBodyBytes, logger: l.With("component", "api"), now: opts.Now, mux: http.NewServeMux(),
		invoker: opts.Invoker, queue: opts.Queue, metrics: opts.Metrics, logs: opts.Logs, meter: opts.Meter, audit: opts.Audit}
	if opts.Invoker != nil {
		s.http = trigger.NewHTTP(trigger.HTTPOptions{Store: opts.Store, Invoker: opts.Invoker, Queue: opts.Queue, Logger: l,
			RequestID: func(r *http.Request) string { return RequestID(r.Context()) },
			Verify: func(r *http.Request) error {
				_, err := opts.Auth.Verify(r)
				return err
			}})
	}
	if opts.Queue != nil {
		s.oss = trigger.NewOSS(trigger.OSSOptions{Store: opts.Store, Queue: opts.Queue, Logger: l,
			Verify: func(r *http.Request) error { _, err := opts.Auth.Verify(r); return err }})
	}
	if s.maxBody == 0 {
		s.maxBody = fc.MaxRequestBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.region == "" {
		s.region = "local"
	}
	s.routes()
	return s
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request ID the server gave r.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ServeHTTP gives the request its ID, recovers from panics, authenticates
// and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := uuid.NewString()
	w.Header().Set("X-Fc-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"err", fmt.Sprint(p), "stack", string(debug.Stack()))
			s.writeError(w, r, fc.InternalError())
		}
	}()
	if r.URL.Path == "/metrics" && s.metrics != nil {
		s.metrics.ServeHTTP(w, r)
		return
	}
	if s.http != nil && !isAPIHost(r.Host) {
		if d, err := s.store.CustomDomain(hostOnly(r.Host)); err == nil {
			if err := s.http.ServeDomain(w, r, d.Value); err != nil {
				s.writeError(w, r, err)
			}
			return
		}
	}
	key, err := s.authenticate(r)
	if err != nil {
		if s.audit != nil {
			s.auditRejected(r, start, err)
		}
		s.writeError(w, r, err)
		return
	}
	if s.audit != nil && audited(r) {
		aw := &auditWriter{ResponseWriter: w, s: s, r: r, start: start, key: key}
		s.mux.ServeHTTP(aw, r)
		aw.finish()
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authenticate verifies the FC signature of every API call except the
// paths that carry their own proof (code download links), and returns
// the key that signed it (zero for those paths). A key that signed
// correctly but addresses another account is returned with the error.
func (s *Server) authenticate(r *http.Request) (auth.Key, error) {
	if strings.HasPrefix(r.URL.Path, "/openfc/v1/code/") || strings.HasPrefix(r.URL.Path, "/2016-08-15/proxy/") {
		return auth.Key{}, nil // code links carry a token; HTTP triggers check their own authType
	}
	if strings.HasPrefix(r.URL.Path, "/openfc/v1/events/") {
		return auth.Key{}, nil // event webhooks take a trigger's token or check the FC signature themselves
	}
	if !strings.HasPrefix(r.URL.Path, "/2016-08-15/") && !strings.HasPrefix(r.URL.Path, "/openfc/v1/") {
		return auth.Key{}, nil // unknown paths get PathNotSupported from the mux
	}
	key, err := s.auth.Verify(r)
	if err != nil {
		return auth.Key{}, err
	}
	// Clients name the account they address; a key only works for its own.
	if acct := r.Header.Get("X-Fc-Account-Id"); acct != "" && key.AccountID != "" && acct != key.AccountID {
		return auth.Key{}, fc.AccessDenied("access key '%s' does not belong to account '%s'", key.ID, acct)
	}
	return key, nil
}

// handlerFunc is a handler that returns its error for s.handle to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: an *fc.Error is rendered as FC's error JSON,
// any other error as a 500 with a generic message, logged once with the
// request ID.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if aw, ok := w.(*auditWriter); ok {
			aw.pattern = r.Pattern
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	id := RequestID(r.Context())
	e, ok := fc.AsError(err)
	if !ok {
		s.logger.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		e = fc.InternalError()
	} else if e.Status >= 500 {
		s.logger.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if aw, ok := w.(*auditWriter); ok {
		aw.code = e.Code
	}
	body, _ := json.Marshal(struct {
		ErrorCode    string `json:"ErrorCode"`
		ErrorMessage string `json:"ErrorMessage"`
		RequestID    string `json:"RequestId"`
	}{e.Code, e.Message, id}) // strings always encode
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// writeJSON writes v as the 200 JSON body FC's SDKs expect.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err = w.Write(body)
	if err != nil {
		// The client went away; nothing more can be sent.
		return nil
	}
	return nil
}

// writeItem writes a resource with its ETag.
func writeItem(w http.ResponseWriter, etag string, v any) error {
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	return writeJSON(w, http.StatusOK, v)
}

// noContent answers a successful DELETE: 204 and no body (and so no JSON
// content type, which would make the Node SDK parse an empty string).
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readBodyLimit reads a request body of at most limit bytes; a declared
// larger one is refused before anything is read.
func (s *Server) readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fc.EntityTooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fc.EntityTooLarge(limit)
	}
	if err != nil {
		return nil, fc.InvalidArgument("cannot read the request body: %v", err)
	}
	return body, nil
}

// hostOnly strips the port from a Host header.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// isAPIHost reports whether a Host names the API itself (an IP address,
// localhost, or FC's <account>.<region>.fc.* names) rather than a custom
// domain, so the API path skips the custom-domain lookup.
func isAPIHost(host string) bool {
	h := hostOnly(host)
	if h == "" || h == "localhost" || net.ParseIP(strings.Trim(h, "[]")) != nil {
		return true
	}
	return strings.Contains(h, ".fc.")
}

// readBody reads a request body up to the server's limit; a larger body is
// refused with EntityTooLarge without reading further.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return s.readBodyLimit(w, r, s.maxBody)
}

// decode reads and decodes a JSON request body into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) (fc.Present, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return fc.Decode(body, v)
}

// page reads FC's pagination query parameters.
func page(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Prefix: q.Get("prefix"), StartKey: q.Get("startKey"), NextToken: q.Get("nextToken")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return p, fc.InvalidArgument("limit %q is invalid: use a number from 1 to %d", l, fc.MaxListLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// ifMatch returns the If-Match header.
func ifMatch(r *http.Request) string { return r.Header.Get("If-Match") }

// signCodeURL signs a code download link valid until expires.
func (s *Server) signCodeURL(sha string, expires int64) string {
	m := hmac.New(sha256.New, s.urlKey)
	fmt.Fprintf(m, "%s\n%d", sha, expires)
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) notSupported(w http.ResponseWriter, r *http.Request) error {
	return fc.Errorf(http.StatusBadRequest, fc.CodePathNotSupported, "'%s' against '%s' is not supported", r.Method, r.URL.Path)
}

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
