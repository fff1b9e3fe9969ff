package queue_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// taskRuntime is a custom runtime for the task-mode tests: like
// testenv.Recorder it remembers "<event>:<retry count>" and lists them on
// GET, fails "fail", fails "flaky-<n>" until its retry count reaches n, and
// sleeps two minutes on "sleep" (to be stopped while it runs).
const taskRuntime = `#!/usr/bin/python3
import http.server, threading, time
seen, lock = [], threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0)).decode()
        retry = int(self.headers.get('x-fc-retry-count') or 0)
        with lock: seen.append('%s:%d' % (body, retry))
        if body == 'sleep':
            time.sleep(120)
        if body == 'fail' or (body.startswith('flaky-') and retry < int(body[6:])):
            self.send_response(500); self.end_headers(); self.wfile.write(b'{"errorMessage":"failed on purpose"}'); return
        self.send_response(200); self.end_headers(); self.wfile.write(('done ' + body).encode())
    def do_GET(self):
        with lock: out = '\n'.join(seen).encode()
        self.send_response(200); self.send_header('content-length', str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(('0.0.0.0', 9000), H).serve_forever()
`

// deployTask creates q/task (taskRuntime) with an anonymous HTTP trigger
// and the async config given.
func deployTask(t *testing.T, c *client.Client, cfg fc.AsyncConfig) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "task", Runtime: "custom", Handler: "x", InstanceConcurrency: 100, Timeout: 300},
		Code:     &fc.Code{ZipFile: testenv.Zip(t, map[string]string{"bootstrap!": taskRuntime})},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q.LATEST/functions/task/on-demand-config",
		Body: fc.OnDemandConfig{MaximumInstanceCount: &one}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTrigger(ctx, "q", "task", &fc.Trigger{TriggerName: "web", TriggerType: "http",
		TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/task/async-invoke-config",
		Body: cfg}, nil); err != nil {
		t.Fatal(err)
	}
}

const taskPath = "/2016-08-15/services/q/functions/task"

// submit invokes q/task asynchronously with the stateful ID id ("" for
// none) and returns the ID the platform echoed.
func submit(t *testing.T, c *client.Client, event, id string, h http.Header) string {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Fc-Invocation-Type", "Async")
	if id != "" {
		h.Set("X-Fc-Stateful-Async-Invocation-Id", id)
	}
	r, err := c.Do(t.Context(), client.Request{Method: "POST", Path: taskPath + "/invocations", Body: []byte(event), Header: h}, nil)
	if err != nil {
		t.Fatalf("async invoke %q (id %q): %v", event, id, err)
	}
	got := r.Header.Get("X-Fc-Stateful-Async-Invocation-Id")
	if r.Status != http.StatusAccepted || (id != "" && got != id) {
		t.Fatalf("async invoke %q = %d, stateful ID %q; want 202 and %q", event, r.Status, got, id)
	}
	return got
}

func getInvocation(t *testing.T, c *client.Client, id string) (*fc.StatefulAsyncInvocation, error) {
	t.Helper()
	var inv fc.StatefulAsyncInvocation
	_, err := c.Do(t.Context(), client.Request{Method: "GET", Path: taskPath + "/stateful-async-invocations/" + id}, &inv)
	return &inv, err
}

// waitStatus waits for the invocation to reach status.
func waitStatus(t *testing.T, c *client.Client, id, status string) *fc.StatefulAsyncInvocation {
	t.Helper()
	var inv *fc.StatefulAsyncInvocation
	testenv.Eventually(t, 60*time.Second, func() error {
		var err error
		if inv, err = getInvocation(t, c, id); err != nil {
			return err
		}
		if inv.Status != status {
			return fmt.Errorf("invocation %s is %s, want %s", id, inv.Status, status)
		}
		return nil
	})
	return inv
}

func statuses(inv *fc.StatefulAsyncInvocation) string {
	var s []string
	for _, e := range inv.Events {
		s = append(s, e.Status)
	}
	return strings.Join(s, ",")
}

func wantFCError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Errorf("%s = %v, want %d %s", what, err, status, code)
	}
}

func TestStatefulInvocationLifecycle(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	one := int64(1)
	deployTask(t, c, fc.AsyncConfig{StatefulInvocation: true, MaxAsyncRetryAttempts: &one})

	submit(t, c, "hello", "job_ok", nil)
	ok := waitStatus(t, c, "job_ok", fc.StatefulSucceeded)
	if ok.ReturnPayload != "done hello" || ok.InvocationPayload != "hello" || ok.ServiceName != "q" || ok.FunctionName != "task" ||
		ok.Qualifier != "LATEST" || ok.AlreadyRetriedTimes != 0 || ok.StartedTime == 0 || ok.EndTime < ok.StartedTime ||
		ok.InstanceID == "" || ok.RequestID == "" || statuses(ok) != "Enqueued,Running,Succeeded" {
		t.Errorf("succeeded invocation = %+v", ok)
	}

	// A caller-chosen ID is used once per function.
	_, err := c.Do(t.Context(), client.Request{Method: "POST", Path: taskPath + "/invocations", Body: []byte("again"),
		Header: http.Header{"X-Fc-Stateful-Async-Invocation-Id": {"job_ok"}}}, nil)
	wantFCError(t, "a used stateful ID", err, http.StatusConflict, fc.CodeStatefulAlreadyExists)
	_, err = c.Do(t.Context(), client.Request{Method: "POST", Path: taskPath + "/invocations",
		Header: http.Header{"X-Fc-Stateful-Async-Invocation-Id": {"9starts-with-a-digit"}}}, nil)
	wantFCError(t, "a malformed stateful ID", err, http.StatusBadRequest, fc.CodeInvalidArgument)

	// A function that fails once and then succeeds: Retrying, then
	// Succeeded on its second run.
	submit(t, c, "flaky-1", "job_flaky", nil)
	flaky := waitStatus(t, c, "job_flaky", fc.StatefulSucceeded)
	if flaky.AlreadyRetriedTimes != 1 || statuses(flaky) != "Enqueued,Running,Retrying,Running,Succeeded" || flaky.ReturnPayload != "done flaky-1" {
		t.Errorf("flaky invocation = %+v (events %s)", flaky, statuses(flaky))
	}
	// Always failing: the first run, one retry, then Failed.
	submit(t, c, "fail", "job_fail", nil)
	failed := waitStatus(t, c, "job_fail", fc.StatefulFailed)
	if failed.AlreadyRetriedTimes != 1 || failed.InvocationErrorMessage != "failed on purpose" || statuses(failed) != "Enqueued,Running,Retrying,Running,Failed" {
		t.Errorf("failed invocation = %+v (events %s)", failed, statuses(failed))
	}
	// Without an ID, task mode names the invocation after its request.
	auto := submit(t, c, "auto", "", nil)
	if len(auto) != 36 {
		t.Fatalf("generated stateful ID = %q, want the request ID", auto)
	}
	waitStatus(t, c, auto, fc.StatefulSucceeded)
	// Task mode can be turned off per request: no record, no echo.
	if id := submit(t, c, "plain", "", http.Header{"X-Fc-Stateful-Async-Invocation-Enable": {"false"}}); id != "" {
		t.Errorf("a request with task mode off got stateful ID %q", id)
	}

	_, err = getInvocation(t, c, "job_nope")
	wantFCError(t, "get an unknown invocation", err, http.StatusNotFound, fc.CodeStatefulNotFound)
	_, err = c.Do(t.Context(), client.Request{Method: "PUT", Path: taskPath + "/stateful-async-invocations/job_ok"}, nil)
	wantFCError(t, "stop a finished invocation", err, http.StatusBadRequest, fc.CodeInvalidArgument)
	_, err = c.Do(t.Context(), client.Request{Method: "GET", Path: "/2016-08-15/services/q/functions/nope/stateful-async-invocations"}, nil)
	wantFCError(t, "list of an unknown function", err, http.StatusNotFound, fc.CodeFunctionNotFound)

	list := func(q url.Values) ([]string, string) {
		t.Helper()
		var out struct {
			Invocations []fc.StatefulAsyncInvocation
			NextToken   string
		}
		if _, err := c.Do(t.Context(), client.Request{Method: "GET", Path: taskPath + "/stateful-async-invocations", Query: q}, &out); err != nil {
			t.Fatalf("list %v: %v", q, err)
		}
		var ids []string
		for _, inv := range out.Invocations {
			if inv.InvocationPayload != "" && q.Get("includePayload") != "true" {
				t.Errorf("list without includePayload returned the payload of %s", inv.InvocationID)
			}
			ids = append(ids, inv.InvocationID)
		}
		return ids, out.NextToken
	}
	all, next := list(url.Values{"sortOrderByTime": {"asc"}})
	want := []string{"job_ok", "job_flaky", "job_fail", auto}
	if !slices.Equal(all, want) || next != "" {
		t.Errorf("list asc = %q (next %q), want %q", all, next, want)
	}
	desc, _ := list(nil)
	slices.Reverse(desc)
	if !slices.Equal(desc, want) {
		t.Errorf("list (desc by default) reversed = %q, want %q", desc, want)
	}
	if got, _ := list(url.Values{"status": {"Failed"}}); !slices.Equal(got, []string{"job_fail"}) {
		t.Errorf("list status=Failed = %q", got)
	}
	if got, _ := list(url.Values{"invocationIdPrefix": {"job_f"}, "sortOrderByTime": {"asc"}}); !slices.Equal(got, []string{"job_flaky", "job_fail"}) {
		t.Errorf("list invocationIdPrefix=job_f = %q", got)
	}
	if got, _ := list(url.Values{"startedTimeBegin": {fmt.Sprint(failed.StartedTime)}, "startedTimeEnd": {fmt.Sprint(failed.StartedTime)}}); !slices.Equal(got, []string{"job_fail"}) {
		t.Errorf("list startedTime in [%d, %d] = %q", failed.StartedTime, failed.StartedTime, got)
	}
	if got, _ := list(url.Values{"includePayload": {"true"}, "invocationIdPrefix": {"job_ok"}}); len(got) != 1 {
		t.Errorf("list with includePayload = %q", got)
	}
	// Pages of two follow each other without gaps or repeats.
	var paged []string
	token := ""
	for range 5 {
		q := url.Values{"sortOrderByTime": {"asc"}, "limit": {"2"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		ids, nt := list(q)
		paged = append(paged, ids...)
		if token = nt; token == "" {
			break
		}
	}
	if !slices.Equal(paged, want) {
		t.Errorf("pages of 2 = %q, want %q", paged, want)
	}
	for _, bad := range []url.Values{{"status": {"Done"}}, {"sortOrderByTime": {"up"}}, {"startedTimeBegin": {"yesterday"}}, {"limit": {"101"}}} {
		_, err := c.Do(t.Context(), client.Request{Method: "GET", Path: taskPath + "/stateful-async-invocations", Query: bad}, nil)
		wantFCError(t, fmt.Sprintf("list %v", bad), err, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
}

func TestStatefulStop(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	deployTask(t, c, fc.AsyncConfig{StatefulInvocation: true})

	// A running one is cancelled: it ends long before its two-minute sleep
	// (the instance running it is ended with it).
	submit(t, c, "sleep", "job_running", nil)
	waitStatus(t, c, "job_running", fc.StatefulRunning)
	if _, err := c.Do(t.Context(), client.Request{Method: "PUT", Path: taskPath + "/stateful-async-invocations/job_running"}, nil); err != nil {
		t.Fatalf("stop a running invocation: %v", err)
	}
	stopped := waitStatus(t, c, "job_running", fc.StatefulStopped)
	if statuses(stopped) != "Enqueued,Running,Stopped" || stopped.EndTime == 0 {
		t.Errorf("stopped invocation = %+v", stopped)
	}
	submit(t, c, "after-stop", "job_after", nil)
	waitStatus(t, c, "job_after", fc.StatefulSucceeded)

	// A queued (delayed) invocation that is stopped never runs.
	submit(t, c, "stopped-before", "job_queued", http.Header{"X-Fc-Async-Delay": {"1"}})
	if _, err := c.Do(t.Context(), client.Request{Method: "PUT", Path: taskPath + "/stateful-async-invocations/job_queued"}, nil); err != nil {
		t.Fatalf("stop a queued invocation: %v", err)
	}
	// Once this one ran, the stopped one's (shorter) delay had passed too.
	submit(t, c, "marker", "job_marker", http.Header{"X-Fc-Async-Delay": {"2"}})
	waitStatus(t, c, "job_marker", fc.StatefulSucceeded)
	testenv.Eventually(t, 30*time.Second, func() error {
		_, lines := testenv.Recorded(t, n.URL+"/2016-08-15/proxy/q/task/")
		if slices.Contains(lines, "stopped-before:0") {
			t.Fatalf("the invocation stopped while queued ran: %q", lines)
		}
		if !slices.Contains(lines, "marker:0") {
			return fmt.Errorf("recorder saw %q", lines)
		}
		return nil
	})
	if q, _ := getInvocation(t, c, "job_queued"); q.Status != fc.StatefulStopped || statuses(q) != "Enqueued,Stopped" {
		t.Errorf("queued invocation after stop = %+v", q)
	}
	// The stopped sleep was not run again.
	if s, _ := getInvocation(t, c, "job_running"); statuses(s) != "Enqueued,Running,Stopped" {
		t.Errorf("stopped invocation later = %+v", s)
	}
}
