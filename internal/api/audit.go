package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/audit"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/fc"
)

// actions names the FC operation of each route, for the audit trail.
var actions = map[string]string{
	"POST /2016-08-15/services":                                                               "CreateService",
	"GET /2016-08-15/services":                                                                "ListServices",
	"GET /2016-08-15/services/{service}":                                                      "GetService",
	"PUT /2016-08-15/services/{service}":                                                      "UpdateService",
	"DELETE /2016-08-15/services/{service}":                                                   "DeleteService",
	"POST /2016-08-15/services/{service}/functions":                                           "CreateFunction",
	"GET /2016-08-15/services/{service}/functions":                                            "ListFunctions",
	"GET /2016-08-15/services/{service}/functions/{function}":                                 "GetFunction",
	"PUT /2016-08-15/services/{service}/functions/{function}":                                 "UpdateFunction",
	"DELETE /2016-08-15/services/{service}/functions/{function}":                              "DeleteFunction",
	"GET /2016-08-15/services/{service}/functions/{function}/code":                            "GetFunctionCode",
	"GET /2016-08-15/services/{service}/functions/{function}/instances":                       "ListInstances",
	"POST /2016-08-15/services/{service}/functions/{function}/triggers":                       "CreateTrigger",
	"GET /2016-08-15/services/{service}/functions/{function}/triggers":                        "ListTriggers",
	"GET /2016-08-15/services/{service}/functions/{function}/triggers/{trigger}":              "GetTrigger",
	"PUT /2016-08-15/services/{service}/functions/{function}/triggers/{trigger}":              "UpdateTrigger",
	"DELETE /2016-08-15/services/{service}/functions/{function}/triggers/{trigger}":           "DeleteTrigger",
	"POST /2016-08-15/services/{service}/versions":                                            "PublishServiceVersion",
	"GET /2016-08-15/services/{service}/versions":                                             "ListServiceVersions",
	"DELETE /2016-08-15/services/{service}/versions/{version}":                                "DeleteServiceVersion",
	"POST /2016-08-15/services/{service}/aliases":                                             "CreateAlias",
	"GET /2016-08-15/services/{service}/aliases":                                              "ListAliases",
	"GET /2016-08-15/services/{service}/aliases/{alias}":                                      "GetAlias",
	"PUT /2016-08-15/services/{service}/aliases/{alias}":                                      "UpdateAlias",
	"DELETE /2016-08-15/services/{service}/aliases/{alias}":                                   "DeleteAlias",
	"POST /2016-08-15/custom-domains":                                                         "CreateCustomDomain",
	"GET /2016-08-15/custom-domains":                                                          "ListCustomDomains",
	"GET /2016-08-15/custom-domains/{domain}":                                                 "GetCustomDomain",
	"PUT /2016-08-15/custom-domains/{domain}":                                                 "UpdateCustomDomain",
	"DELETE /2016-08-15/custom-domains/{domain}":                                              "DeleteCustomDomain",
	"PUT /2016-08-15/services/{service}/functions/{function}/provision-config":                "PutProvisionConfig",
	"GET /2016-08-15/services/{service}/functions/{function}/provision-config":                "GetProvisionConfig",
	"GET /2016-08-15/provision-configs":                                                       "ListProvisionConfigs",
	"PUT /2016-08-15/services/{service}/functions/{function}/on-demand-config":                "PutFunctionOnDemandConfig",
	"GET /2016-08-15/services/{service}/functions/{function}/on-demand-config":                "GetFunctionOnDemandConfig",
	"DELETE /2016-08-15/services/{service}/functions/{function}/on-demand-config":             "DeleteFunctionOnDemandConfig",
	"GET /2016-08-15/on-demand-configs":                                                       "ListOnDemandConfigs",
	"PUT /2016-08-15/services/{service}/functions/{function}/async-invoke-config":             "PutFunctionAsyncInvokeConfig",
	"GET /2016-08-15/services/{service}/functions/{function}/async-invoke-config":             "GetFunctionAsyncInvokeConfig",
	"DELETE /2016-08-15/services/{service}/functions/{function}/async-invoke-config":          "DeleteFunctionAsyncInvokeConfig",
	"GET /2016-08-15/services/{service}/functions/{function}/async-invoke-configs":            "ListFunctionAsyncInvokeConfigs",
	"GET /2016-08-15/services/{service}/functions/{function}/stateful-async-invocations":      "ListStatefulAsyncInvocations",
	"GET /2016-08-15/services/{service}/functions/{function}/stateful-async-invocations/{id}": "GetStatefulAsyncInvocation",
	"PUT /2016-08-15/services/{service}/functions/{function}/stateful-async-invocations/{id}": "StopStatefulAsyncInvocation",
	"GET /2016-08-15/stateful-async-invocation-functions":                                     "ListStatefulAsyncInvocationFunctions",
	"POST /2016-08-15/layers/{layer}/versions":                                                "PublishLayerVersion",
	"GET /2016-08-15/layers":                                                                  "ListLayers",
	"GET /2016-08-15/layers/{layer}/versions":                                                 "ListLayerVersions",
	"GET /2016-08-15/layers/{layer}/versions/{version}":                                       "GetLayerVersion",
	"DELETE /2016-08-15/layers/{layer}/versions/{version}":                                    "DeleteLayerVersion",
	"GET /2016-08-15/layerarn/{arn}":                                                          "GetLayerVersionByArn",
	"PUT /2016-08-15/layers/{layer}/acl":                                                      "PutLayerACL",
	"POST /2016-08-15/tag":                                                                    "TagResource",
	"DELETE /2016-08-15/tag":                                                                  "UntagResource",
	"GET /2016-08-15/tag":                                                                     "GetResourceTags",
	"GET /2016-08-15/tags":                                                                    "ListTaggedResources",
	"GET /2016-08-15/account-settings":                                                        "GetAccountSettings",
	"POST /2016-08-15/services/{service}/functions/{function}/invocations":                    "InvokeFunction",
	"GET /openfc/v1/usage":                                                                    "GetUsage",
	"GET /openfc/v1/usage/records":                                                            "ListUsageRecords",
	"GET /openfc/v1/audit":                                                                    "ListAuditEntries",
}

// action names the operation of a routed pattern ("" when unknown).
func action(pattern string) string {
	if a, ok := actions[pattern]; ok {
		return a
	}
	if pattern != "" && pattern != "/" {
		return pattern // a route without an FC name: its method and pattern
	}
	return ""
}

// audited reports whether a call is a control-plane change, which the
// audit trail records: every POST, PUT, DELETE or PATCH of the API except
// invocations (data plane, and the warm path) and HTTP triggers.
func audited(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return false
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/2016-08-15/") {
		return !strings.HasPrefix(p, "/2016-08-15/proxy/") && !strings.HasSuffix(p, "/invocations")
	}
	return strings.HasPrefix(p, "/openfc/v1/")
}

// auditEntry describes a call without its body, query values, headers or
// any secret: the resource is the path only.
func (s *Server) auditEntry(r *http.Request, start time.Time, pattern string, key auth.Key) fc.AuditEntry {
	e := fc.AuditEntry{Time: start.UTC().Format(time.RFC3339Nano), AccountID: key.AccountID, AccessKeyID: key.ID,
		Action: action(pattern), Resource: resource(r.URL.Path), SourceAddress: sourceAddress(r.RemoteAddr),
		RequestID: RequestID(r.Context())}
	if e.AccountID == "" {
		e.AccountID = s.accountID
	}
	if e.Action == "" {
		e.Action = r.Method
	}
	return e
}

// resource is the API path of what a call addressed, without the version
// prefix.
func resource(path string) string {
	for _, p := range []string{"/2016-08-15/", "/openfc/v1/"} {
		if strings.HasPrefix(path, p) {
			return path[len(p):]
		}
	}
	return strings.TrimPrefix(path, "/")
}

func sourceAddress(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// claimedKeyID is the access key ID a request names (for a rejected one:
// the key may not exist). Never the signature.
func claimedKeyID(r *http.Request) string {
	if id, _, err := fc.ParseAuthorization(r.Header.Get(fc.HeaderAuthorization)); err == nil {
		return id
	}
	return r.URL.Query().Get(fc.QueryAccessKeyID)
}

// auditRejected records a rejected authentication: the operation it
// attempted, the key it named and FC's error code.
func (s *Server) auditRejected(r *http.Request, start time.Time, err error) {
	_, pattern := s.mux.Handler(r)
	e := s.auditEntry(r, start, pattern, auth.Key{ID: claimedKeyID(r)})
	e.Status, e.ErrorCode = http.StatusForbidden, fc.CodeAccessDenied
	if fe, ok := fc.AsError(err); ok {
		e.Status, e.ErrorCode = fe.Status, fe.Code
	}
	s.audit.Record(r.Context(), e)
}

// auditWriter records a mutating call in the trail just before its
// response starts, so an answered change is always in the trail.
type auditWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	start   time.Time
	key     auth.Key
	pattern string // set by handle once routed
	code    string // FC error code, set by writeError
	done    bool
}

func (w *auditWriter) WriteHeader(status int) {
	if !w.done {
		w.done = true
		e := w.s.auditEntry(w.r, w.start, w.pattern, w.key)
		e.Status, e.ErrorCode = status, w.code
		w.s.audit.Record(w.r.Context(), e)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish records a call whose handler wrote nothing (net/http answers
// 200 then).
func (w *auditWriter) finish() {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
}

// listAudit answers GET /openfc/v1/audit.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if s.audit == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "AuditDisabled", "this node keeps no audit trail")
	}
	q := r.URL.Query()
	aq := audit.Query{AccountID: s.accountID, Action: q.Get("action"), Resource: q.Get("resource"),
		AccessKeyID: q.Get("accessKeyId"), Result: q.Get("result")}
	var err error
	if aq.From, aq.To, err = timeRange(q.Get("from"), q.Get("to"), s.now()); err != nil {
		return err
	}
	if aq.Limit, aq.AfterSeq, err = pageParams(q.Get("limit"), q.Get("nextToken")); err != nil {
		return err
	}
	entries, next, err := s.audit.List(r.Context(), aq)
	if err != nil {
		return err
	}
	out := fc.AuditEntries{Entries: entries}
	if next > 0 {
		out.NextToken = strconv.FormatUint(next, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// timeRange parses from and to: RFC 3339 times, Unix seconds, or a
// duration before now ("24h": since 24 hours ago).
func timeRange(from, to string, now time.Time) (time.Time, time.Time, error) {
	parse := func(name, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return time.Unix(n, 0), nil
		}
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return now.Add(-d), nil
		}
		return time.Time{}, fc.InvalidArgument("%s %q: use an RFC 3339 time, Unix seconds or a duration such as 24h", name, v)
	}
	f, err := parse("from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parse("to", to)
	if err != nil {
		return f, t, err
	}
	if !f.IsZero() && !t.IsZero() && !f.Before(t) {
		return f, t, fc.InvalidArgument("from %q is not before to %q", from, to)
	}
	return f, t, nil
}

// pageParams parses limit (1 to 1000) and nextToken (a stream sequence).
func pageParams(limit, token string) (int, uint64, error) {
	n := 0
	if limit != "" {
		var err error
		if n, err = strconv.Atoi(limit); err != nil || n < 1 || n > 1000 {
			return 0, 0, fc.InvalidArgument("limit %q is invalid: use a number from 1 to 1000", limit)
		}
	}
	var after uint64
	if token != "" {
		var err error
		if after, err = strconv.ParseUint(token, 10, 64); err != nil {
			return 0, 0, fc.InvalidArgument("nextToken %q is invalid: pass the nextToken of the previous page", token)
		}
	}
	return n, after, nil
}
