package api_test

import (
	"net/http"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestLimitsAPI: /openfc/v1/limits wire form, per scope, and bad input
// answered with InvalidArgument that changes nothing.
func TestLimitsAPI(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	mkFunction(t, n, "svc", "f", fc.Function{}, defaultZip(t))
	const p = "/openfc/v1/limits"

	status, h, body := call(t, n, "PUT", p+"/services/svc/functions/f", []byte(`{"invocationsPerSecond":2.5,"concurrentRequests":4}`), nil)
	if status != 200 || !etagRE.MatchString(h.Get("ETag")) {
		t.Fatalf("PUT function limits = %d %s (ETag %q)", status, body, h.Get("ETag"))
	}
	m := rawJSON(t, body)
	if compact(m["scope"]) != `"function"` || compact(m["serviceName"]) != `"svc"` || compact(m["functionName"]) != `"f"` ||
		compact(m["invocationsPerSecond"]) != "2.5" || compact(m["concurrentRequests"]) != "4" || compact(m["burst"]) != "0" {
		t.Errorf("PUT function limits answered %s", body)
	}
	for _, bad := range []string{`{"concurrentRequests":-1}`, `{"invocationsPerSecond":"fast"}`, `{"maxInstances":3}`, `{"rate":1}`} {
		status, h, resp := call(t, n, "PUT", p+"/services/svc/functions/f", []byte(bad), nil)
		wantErrorBody(t, "PUT function limits "+bad, status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	_, _, body = call(t, n, "GET", p+"/services/svc/functions/f", nil, nil)
	if m := rawJSON(t, body); compact(m["concurrentRequests"]) != "4" {
		t.Errorf("limits after refused PUTs = %s, want them unchanged", body)
	}

	status, h, resp := call(t, n, "PUT", p+"/services/nope", []byte(`{"concurrentRequests":1}`), nil)
	wantErrorBody(t, "PUT limits of a missing service", status, h, resp, http.StatusNotFound, fc.CodeServiceNotFound)
	status, h, resp = call(t, n, "PUT", p+"/services/svc/functions/nope", []byte(`{"concurrentRequests":1}`), nil)
	wantErrorBody(t, "PUT limits of a missing function", status, h, resp, http.StatusNotFound, fc.CodeFunctionNotFound)
	status, h, resp = call(t, n, "PUT", p+"/account", []byte(`{"concurrentRequests":1}`), nil)
	wantErrorBody(t, "PUT account concurrency", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)

	if status, _, body := call(t, n, "PUT", p+"/account", []byte(`{"invocationsPerSecond":100,"maxInstances":20}`), nil); status != 200 {
		t.Fatalf("PUT account limits = %d %s", status, body)
	}
	_, _, body = call(t, n, "GET", p, nil, nil)
	var list struct{ Limits []fc.Limits }
	if err := jsonUnmarshal(body, &list); err != nil || len(list.Limits) != 2 || list.Limits[0].Scope != "account" || list.Limits[1].FunctionName != "f" {
		t.Errorf("GET %s = %s (%v)", p, body, err)
	}
	if status, _, body := call(t, n, "DELETE", p+"/services/svc/functions/f", nil, nil); status != http.StatusNoContent {
		t.Errorf("DELETE function limits = %d %s", status, body)
	}
	status, h, resp = call(t, n, "DELETE", p+"/services/svc/functions/f", nil, nil)
	wantErrorBody(t, "DELETE function limits twice", status, h, resp, http.StatusNotFound, "LimitsNotFound")
	_, _, body = call(t, n, "GET", p+"/services/svc", nil, nil)
	if m := rawJSON(t, body); compact(m["scope"]) != `"service"` || compact(m["concurrentRequests"]) != "0" {
		t.Errorf("GET limits never set = %s, want the service scope with no limit", body)
	}
}
