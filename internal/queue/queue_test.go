package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// deploy creates the recorder function, one instance at most, with an
// anonymous HTTP trigger to read what it saw.
func deploy(t *testing.T, c *client.Client) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "rec", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q.LATEST/functions/rec/on-demand-config",
		Body: fc.OnDemandConfig{MaximumInstanceCount: &one}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTrigger(ctx, "q", "rec", &fc.Trigger{TriggerName: "web", TriggerType: "http",
		TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}); err != nil {
		t.Fatal(err)
	}
}

func invokeAsync(t *testing.T, c *client.Client, payload string, h http.Header) *client.Response {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Fc-Invocation-Type", "Async")
	r, err := c.Do(t.Context(), client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/rec/invocations",
		Body: []byte(payload), Header: h}, nil)
	if err != nil {
		t.Fatalf("async invoke %q: %v", payload, err)
	}
	if r.Status != http.StatusAccepted || len(r.RequestID) != 36 {
		t.Fatalf("async invoke %q = %d, request ID %q; want 202 and a request ID", payload, r.Status, r.RequestID)
	}
	return r
}

// seen returns what the recorder saw, "<event>:<retry count>" each.
func seen(t *testing.T, url string) []string {
	t.Helper()
	_, lines := testenv.Recorded(t, url+"/2016-08-15/proxy/q/rec/")
	return lines
}

func TestQueueRunsAsyncInvocations(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	deploy(t, n.Client)
	for i := range 3 {
		invokeAsync(t, n.Client, fmt.Sprintf("event-%d", i), nil)
	}
	invokeAsync(t, n.Client, "delayed", http.Header{"X-Fc-Async-Delay": {"1"}})
	testenv.Eventually(t, 30*time.Second, func() error {
		got := strings.Join(seen(t, n.URL), ",")
		for _, want := range []string{"event-0:0", "event-1:0", "event-2:0", "delayed:0"} {
			if !strings.Contains(got, want) {
				return fmt.Errorf("recorder saw %q, missing %q", got, want)
			}
		}
		return nil
	})
}

func TestQueueRetriesFailures(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	deploy(t, n.Client)
	two := int64(2)
	if _, err := n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/rec/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &two}}, nil); err != nil {
		t.Fatal(err)
	}
	invokeAsync(t, n.Client, "fail", nil)
	// The first run and two retries (backoff 1 s, 2 s), each told its
	// retry count; then no more.
	want := "fail:0,fail:1,fail:2"
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := strings.Join(seen(t, n.URL), ","); got != want {
			return fmt.Errorf("recorder saw %q, want %q", got, want)
		}
		return nil
	})
	invokeAsync(t, n.Client, "after", nil) // runs after every retry above is settled
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := strings.Join(seen(t, n.URL), ","); got != want+",after:0" {
			return fmt.Errorf("recorder saw %q, want %q", got, want+",after:0")
		}
		return nil
	})
}

func TestQueueRefusesBadInput(t *testing.T) {
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Client.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "rec", Runtime: "custom", Handler: "x"}, Code: &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	async := http.Header{"X-Fc-Invocation-Type": {"Async"}}
	cases := []struct {
		name, path string
		body       []byte
		header     http.Header
		status     int
		code       string
	}{
		{"too large", "/2016-08-15/services/q/functions/rec/invocations", make([]byte, 128<<10+1), async, 400, fc.CodeEntityTooLarge},
		{"no function", "/2016-08-15/services/q/functions/nope/invocations", nil, async, 404, fc.CodeFunctionNotFound},
		{"bad delay", "/2016-08-15/services/q/functions/rec/invocations", nil,
			http.Header{"X-Fc-Invocation-Type": {"Async"}, "X-Fc-Async-Delay": {"3600"}}, 400, fc.CodeInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := n.Client.Do(context.Background(), client.Request{Method: "POST", Path: c.path, Body: c.body, Header: c.header}, nil)
			var e *client.Error
			if !errors.As(err, &e) || e.Status != c.status || e.Code != c.code {
				t.Errorf("async invoke = %v, want %d %s", err, c.status, c.code)
			}
		})
	}
}

func TestQueueDestinations(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c, ctx := n.Client, t.Context()
	deploy(t, c) // q/rec
	for _, name := range []string{"okdest", "faildest"} {
		if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
			Function: fc.Function{FunctionName: name, Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
			Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
		}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.CreateTrigger(ctx, "q", name, &fc.Trigger{TriggerName: "web", TriggerType: "http",
			TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(fn string) string {
		return "acs:fc:local:" + n.Creds.AccountID + ":services/q.LATEST/functions/" + fn
	}
	zero := int64(0)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/rec/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &zero, DestinationConfig: &fc.DestinationConfig{
			OnSuccess: &fc.Destination{Destination: arn("okdest")}, OnFailure: &fc.Destination{Destination: arn("faildest")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	okID := invokeAsync(t, c, "hello", nil).RequestID
	failID := invokeAsync(t, c, "fail", nil).RequestID
	type rec struct {
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		RequestPayload, ResponsePayload string
		ResponseContext                 struct{ FunctionError string }
	}
	records := func(fn string) []rec {
		events, _ := testenv.Recorded(t, n.URL+"/2016-08-15/proxy/q/"+fn+"/")
		var out []rec
		for _, e := range events {
			var r rec
			if err := json.Unmarshal([]byte(e), &r); err != nil {
				t.Fatalf("%s got %q, not a destination record: %v", fn, e, err)
			}
			out = append(out, r)
		}
		return out
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if len(records("okdest")) == 0 || len(records("faildest")) == 0 {
			return fmt.Errorf("destinations got %d and %d records", len(records("okdest")), len(records("faildest")))
		}
		return nil
	})
	ok, failed := records("okdest")[0], records("faildest")[0]
	if ok.RequestContext.RequestID != okID || ok.RequestContext.Condition != "Success" || ok.RequestPayload != "hello" ||
		ok.ResponsePayload != "ok" || ok.RequestContext.FunctionArn != arn("rec") {
		t.Errorf("onSuccess record = %+v", ok)
	}
	if failed.RequestContext.RequestID != failID || failed.RequestContext.Condition != "RetriesExhausted" ||
		failed.RequestPayload != "fail" || failed.ResponseContext.FunctionError != "UnhandledInvocationError" ||
		failed.RequestContext.ApproximateInvokeCount != 1 {
		t.Errorf("onFailure record = %+v", failed)
	}
	if len(records("okdest")) != 1 || len(records("faildest")) != 1 {
		t.Errorf("destinations got %d and %d records, want 1 each", len(records("okdest")), len(records("faildest")))
	}
}

// A destination can be a NATS subject: the record is published there.
func TestQueueNATSDestination(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) { c.NATS.Listen = "127.0.0.1:0" })
	nc, err := nats.Connect(n.App.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe("results.failed", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	c := n.Client
	deploy(t, c)
	zero := int64(0)
	if _, err := c.Do(t.Context(), client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/rec/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &zero, DestinationConfig: &fc.DestinationConfig{
			OnFailure: &fc.Destination{Destination: "nats:results.failed"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	id := invokeAsync(t, c, "fail", nil).RequestID
	select {
	case m := <-got:
		var rec struct {
			RequestContext struct{ RequestID, Condition string }
		}
		if err := json.Unmarshal(m.Data, &rec); err != nil || rec.RequestContext.RequestID != id || rec.RequestContext.Condition != "RetriesExhausted" {
			t.Errorf("NATS destination got %s (%v), want the failure record of %s", m.Data, err, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no record on the NATS destination within 30 s")
	}
	// No stream stores the subject: the record goes out once, by a plain
	// publish (a JetStream publish there would wait for an acknowledgement
	// that never comes, and be retried). Once the invocation has left the
	// queue, no second record may follow.
	waitQueueEmpty(t, nc)
	nc.Flush()
	select {
	case m := <-got:
		t.Errorf("NATS destination got a second record: %s", m.Data)
	default:
	}
}

// waitQueueEmpty waits until every async invocation has left the queue
// (the stream has work-queue retention: a message goes once acked).
func waitQueueEmpty(t *testing.T, nc *nats.Conn) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		s, err := js.Stream(t.Context(), "OPENFC_ASYNC")
		if err != nil {
			return err
		}
		if n := s.CachedInfo().State.Msgs; n != 0 {
			return fmt.Errorf("%d invocations still in the async stream", n)
		}
		return nil
	})
}

// A destination function that no longer exists cannot take the record:
// the invocation ends (once) instead of running again and again while the
// delivery is retried.
func TestQueueDestinationGone(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) { c.NATS.Listen = "127.0.0.1:0" })
	c, ctx := n.Client, t.Context()
	deploy(t, c) // q/rec
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "gone", Runtime: "custom", Handler: "x"},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/rec/async-invoke-config",
		Body: fc.AsyncConfig{DestinationConfig: &fc.DestinationConfig{OnSuccess: &fc.Destination{
			Destination: "acs:fc:local:" + n.Creds.AccountID + ":services/q.LATEST/functions/gone"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, "q", "gone", ""); err != nil {
		t.Fatal(err)
	}
	invokeAsync(t, c, "once", nil)
	nc, err := nats.Connect(n.App.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	waitQueueEmpty(t, nc)
	if got := seen(t, n.URL); strings.Join(got, ",") != "once:0" {
		t.Errorf("the function ran %q, want once (once:0)", got)
	}
}

// deadLettersOf lists the dead letters of q/<function>.
func deadLettersOf(t *testing.T, c *client.Client, function string) []fc.DeadLetter {
	t.Helper()
	l, err := c.ListDeadLetters(t.Context(), client.DeadLetterQuery{Service: "q", Function: function})
	if err != nil {
		t.Fatalf("list dead letters: %v", err)
	}
	return l.DeadLetters
}

// Without an async config an invocation is retried 3 times
// (maxAsyncRetryAttempts' default), each run told its retry count.
func TestQueueDefaultRetries(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	deploy(t, n.Client)
	invokeAsync(t, n.Client, "fail", nil)
	// The dead letter is stored after the last run: once it is there,
	// every run has been recorded.
	var dls []fc.DeadLetter
	testenv.Eventually(t, 60*time.Second, func() error {
		if dls = deadLettersOf(t, n.Client, "rec"); len(dls) == 0 {
			return errors.New("no dead letter yet")
		}
		return nil
	})
	if len(dls) != 1 || dls[0].Reason != "RetriesExhausted" || dls[0].Attempts != 4 {
		t.Errorf("dead letters = %+v, want one RetriesExhausted after 4 attempts", dls)
	}
	if got, want := strings.Join(seen(t, n.URL), ","), "fail:0,fail:1,fail:2,fail:3"; got != want {
		t.Errorf("recorder saw %q, want %q", got, want)
	}
}

// Throttled deliveries are not attempts: an invocation throttled several
// times still runs with x-fc-retry-count 0 once the throttling ends.
func TestQueueThrottledRunsAreNotAttempts(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c, ctx := n.Client, t.Context()
	deploy(t, c)
	// One call per 100 s: once a call used the token, every other one is
	// throttled (429) until the limit is lifted. Sync calls until one is
	// refused show the limit is in force on the node.
	if _, _, err := c.PutLimits(ctx, "q", "rec", &fc.Limits{InvocationsPerSecond: 0.01}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		_, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/rec/invocations", Body: []byte("sync")}, nil)
		if e, ok := errors.AsType[*client.Error](err); ok && e.Status == http.StatusTooManyRequests {
			return nil
		}
		return fmt.Errorf("sync call = %v, want 429 once the limit is in force", err)
	})
	before := testenv.Metric(t, n.URL, "openfc_throttles_total", `function="rec"`)
	invokeAsync(t, c, "throttled", nil)
	// Deliveries 1 s, then 2 s apart: wait for three throttles.
	testenv.Eventually(t, 60*time.Second, func() error {
		if v := testenv.Metric(t, n.URL, "openfc_throttles_total", `function="rec"`) - before; v < 3 {
			return fmt.Errorf("%v throttles of the async call, want 3", v)
		}
		return nil
	})
	if _, err := c.DeleteLimits(ctx, "q", "rec"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		// Read through the trigger, which is throttled too until the
		// node drops the limit.
		resp, err := http.Get(n.URL + "/2016-08-15/proxy/q/rec/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("recorder = %d %s", resp.StatusCode, b)
		}
		var async []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "throttled:") {
				async = append(async, line)
			}
		}
		if got := strings.Join(async, ","); got != "throttled:0" {
			return fmt.Errorf("recorder saw the async call as %q, want throttled:0 (one run, not a retry)", got)
		}
		return nil
	})
}

// A platform error (here a bootstrap that exits at once, so no instance
// starts) counts as an attempt: after maxAsyncRetryAttempts the
// invocation fails, reaching its onFailure destination and the dead
// letters, instead of being retried until its event age expires.
func TestQueuePlatformErrorsAreAttempts(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) { c.NATS.Listen = "127.0.0.1:0" })
	c, ctx := n.Client, t.Context()
	nc, err := nats.Connect(n.App.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe("results.broken", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "broken", Runtime: "custom", Handler: "x"},
		Code:     &fc.Code{ZipFile: testenv.Zip(t, map[string]string{"bootstrap!": "#!/bin/sh\nexit 3\n"})},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/broken/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &one, DestinationConfig: &fc.DestinationConfig{
			OnFailure: &fc.Destination{Destination: "nats:results.broken"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/broken/invocations",
		Body: []byte("x"), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		var rec struct {
			RequestContext struct {
				RequestID, Condition   string
				ApproximateInvokeCount int
			}
			ResponseContext struct{ StatusCode int }
			ResponsePayload string
		}
		if err := json.Unmarshal(m.Data, &rec); err != nil || rec.RequestContext.RequestID != r.RequestID ||
			rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 2 ||
			rec.ResponseContext.StatusCode != http.StatusBadGateway || !strings.Contains(rec.ResponsePayload, "FunctionNotStarted") {
			t.Errorf("onFailure got %s (%v), want the failure record of %s after 2 attempts, with the 502", m.Data, err, r.RequestID)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no onFailure record within 60 s: the platform error is retried without bound")
	}
	dls := deadLettersOf(t, c, "broken")
	if len(dls) != 1 || dls[0].Reason != "RetriesExhausted" || dls[0].Attempts != 2 || !strings.Contains(dls[0].ErrorMessage, "FunctionNotStarted") {
		t.Errorf("dead letters = %+v, want one RetriesExhausted after 2 attempts (FunctionNotStarted)", dls)
	}
}

// versionedRuntime answers every event with "<tag> <event>", tag baked
// into the code, so a result tells which version's code ran.
const versionedRuntime = `#!/usr/bin/python3
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0))
        out = b'TAG ' + body
        self.send_response(200); self.send_header('content-length', str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(('0.0.0.0', 9000), H).serve_forever()
`

// An async call through an alias or a version ID runs that version's code,
// and its records name the qualifier it was made with.
func TestQueueQualifiers(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) { c.NATS.Listen = "127.0.0.1:0" })
	c, ctx := n.Client, t.Context()
	code := func(tag string) *fc.Code {
		return &fc.Code{ZipFile: testenv.Zip(t, map[string]string{"bootstrap!": strings.Replace(versionedRuntime, "TAG", tag, 1)})}
	}
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "ver", Runtime: "custom", Handler: "x"}, Code: code("v1"),
	}); err != nil {
		t.Fatal(err)
	}
	v, _, err := c.PublishVersion(ctx, "q", "first", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunction(ctx, "q", "ver", map[string]any{"code": code("v2")}, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateAlias(ctx, "q", &fc.Alias{AliasName: "prod", VersionID: v.VersionID}); err != nil {
		t.Fatal(err)
	}
	// The alias's async config sends its successes to a NATS subject.
	nc, err := nats.Connect(n.App.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe("results.prod", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q.prod/functions/ver/async-invoke-config",
		Body: fc.AsyncConfig{DestinationConfig: &fc.DestinationConfig{OnSuccess: &fc.Destination{Destination: "nats:results.prod"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	// Task mode (a stateful ID) keeps a record of each call to read.
	call := func(qualifier, id string) string {
		r, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q." + qualifier + "/functions/ver/invocations",
			Body: []byte(id), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}, "X-Fc-Stateful-Async-Invocation-Id": {id}}}, nil)
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("async call through %s = %v, want 202", qualifier, err)
		}
		return r.RequestID
	}
	aliasReq := call("prod", "via-alias")
	call(v.VersionID, "via-version")
	call("LATEST", "via-latest")
	for _, tt := range []struct{ id, qualifier, result string }{
		{"via-alias", "prod", "v1 via-alias"},
		{"via-version", v.VersionID, "v1 via-version"},
		{"via-latest", "LATEST", "v2 via-latest"},
	} {
		var inv *fc.StatefulAsyncInvocation
		testenv.Eventually(t, 60*time.Second, func() error {
			var err error
			if inv, _, err = c.GetStatefulAsyncInvocation(ctx, "q", "", "ver", tt.id); err != nil {
				return err
			}
			if inv.Status != fc.StatefulSucceeded {
				return fmt.Errorf("invocation %s is %s", tt.id, inv.Status)
			}
			return nil
		})
		if inv.Qualifier != tt.qualifier || inv.ReturnPayload != tt.result {
			t.Errorf("invocation %s: qualifier %q, result %q; want %q, %q", tt.id, inv.Qualifier, inv.ReturnPayload, tt.qualifier, tt.result)
		}
	}
	select {
	case m := <-got:
		var rec struct {
			RequestContext  struct{ RequestID, FunctionArn, Condition string }
			ResponsePayload string
		}
		want := "acs:fc:local:" + n.Creds.AccountID + ":services/q.prod/functions/ver"
		if err := json.Unmarshal(m.Data, &rec); err != nil || rec.RequestContext.RequestID != aliasReq ||
			rec.RequestContext.FunctionArn != want || rec.ResponsePayload != "v1 via-alias" {
			t.Errorf("the alias's onSuccess got %s (%v), want the record of %s from %s with v1's result", m.Data, err, aliasReq, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no record on the alias's onSuccess destination within 60 s")
	}
}
