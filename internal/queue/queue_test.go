package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		ok.ResponsePayload != "ok" || ok.RequestContext.FunctionArn != "services/q.LATEST/functions/rec" {
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
