package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// lacking returns the wanted lines the metrics text does not contain.
func lacking(text string, want []string) error {
	var missing []string
	for _, w := range want {
		if !strings.Contains(text, w) {
			missing = append(missing, w)
		}
	}
	if missing != nil {
		return fmt.Errorf("/metrics lacks %q", missing)
	}
	return nil
}

// TestMetrics: after a known sequence of calls (successes, a handled and
// an unhandled error, a throttled call, cold starts, an instance that fails
// to start), /metrics shows exactly their counts, the instance gauges by
// state and slot use while a call runs and after, and Go's own collector.
func TestMetrics(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	c := n.Client
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "m"}); err != nil {
		t.Fatal(err)
	}
	create := func(name, runtime, handler string, files map[string]string) {
		t.Helper()
		if _, _, err := c.CreateFunction(ctx, "m", &fc.FunctionInput{
			Function: fc.Function{FunctionName: name, Runtime: runtime, Handler: handler, InstanceConcurrency: 1},
			Code:     &fc.Code{ZipFile: testenv.Zip(t, files)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	create("f", "python3", "index.handler", map[string]string{"index.py": "import time\n" +
		"def handler(event, context):\n" +
		"    if event == b'fail':\n        raise ValueError('no')\n" +
		"    if event == b'hold':\n        time.sleep(7)\n" +
		"    return 'ok'\n"})
	create("h", "nodejs20", "index.handler", map[string]string{"index.js": "exports.handler = (event, context, callback) => {\n" +
		"  if (event.toString() === 'fail') { callback(new Error('handled')); return; }\n" +
		"  callback(null, 'ok');\n};\n"})
	create("broken", "custom", "index.handler", map[string]string{"bootstrap!": "#!/bin/sh\nexit 3\n"})
	create("t", "python3", "index.handler", map[string]string{"index.py": "import time\n" +
		"def handler(event, context):\n" +
		"    if event == b'hold':\n        time.sleep(7)\n" +
		"    return 'ok'\n"})
	one := int64(1)
	if _, _, err := c.PutOnDemandConfig(ctx, "m", "LATEST", "t", &fc.OnDemandConfig{MaximumInstanceCount: &one}, ""); err != nil {
		t.Fatal(err)
	}

	invoke := func(ctx context.Context, fn, ev string) (int, string) {
		t.Helper()
		var out []byte
		resp, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/m/functions/" + fn + "/invocations", Body: []byte(ev)}, &out)
		var e *client.Error
		switch {
		case err == nil:
			return resp.Status, resp.Header.Get("X-Fc-Error-Type")
		case errors.As(err, &e):
			return e.Status, e.Code
		}
		t.Fatalf("invoke %s %q: %v", fn, ev, err)
		return 0, ""
	}
	for _, ev := range []string{"a", "b", "c", "fail"} {
		invoke(ctx, "f", ev)
	}
	if st, typ := invoke(ctx, "h", "fail"); st != 200 || typ != "HandledInvocationError" {
		t.Fatalf("h fail = %d %q, want 200 HandledInvocationError", st, typ)
	}
	invoke(ctx, "h", "x")
	if st, _ := invoke(ctx, "broken", ""); st < 500 {
		t.Fatalf("a custom function whose bootstrap exits answered %d, want a 5xx", st)
	}

	// t's only instance is held by a long call: the gauges show it busy,
	// and the next call is throttled after the queue timeout.
	held := make(chan int, 1)
	go func() {
		st, _ := invoke(ctx, "t", "hold")
		held <- st
	}()
	testenv.Eventually(t, 20*time.Second, func() error {
		return lacking(testenv.Scrape(t, n.URL), []string{
			`openfc_instances_by_state{state="busy"} 1`,
			"openfc_instance_slots 3", // one slot each for f, h and t; broken never started
			"openfc_instance_slot_utilization 0.333",
		})
	})
	if st, code := invoke(ctx, "t", "x"); st != http.StatusTooManyRequests || code != "ResourceExhausted" {
		t.Fatalf("call beyond t's maximumInstanceCount = %d %s, want 429 ResourceExhausted", st, code)
	}
	if st := <-held; st != 200 {
		t.Fatalf("held call = %d, want 200", st)
	}

	text := testenv.Scrape(t, n.URL)
	if err := lacking(text, []string{
		`openfc_invocations_total{function="f",outcome="success",qualifier="LATEST",service="m",trigger="api"} 3`,
		`openfc_invocations_total{function="f",outcome="UnhandledInvocationError",qualifier="LATEST",service="m",trigger="api"} 1`,
		`openfc_invocations_total{function="h",outcome="HandledInvocationError",qualifier="LATEST",service="m",trigger="api"} 1`,
		`openfc_invocations_total{function="h",outcome="success",qualifier="LATEST",service="m",trigger="api"} 1`,
		`openfc_invocations_total{function="t",outcome="success",qualifier="LATEST",service="m",trigger="api"} 1`,
		`openfc_throttles_total{code="ResourceExhausted",function="t",service="m"} 1`,
		`openfc_cold_starts_total{function="f",service="m"} 1`,
		`openfc_cold_starts_total{function="h",service="m"} 1`,
		`openfc_cold_starts_total{function="t",service="m"} 1`,
		`openfc_invocation_duration_seconds_count{function="f",service="m"} 4`,
		`openfc_invocation_init_duration_seconds_count{function="f",service="m"} 1`,
		`openfc_instance_start_failures_total 1`,
		"openfc_instances 3",
		`openfc_instances_by_state{state="idle"} 3`,
		`openfc_instances_by_state{state="busy"} 0`,
		`openfc_instances_by_state{state="starting"} 0`,
		"openfc_instance_slots 3",
		"openfc_instance_slot_utilization 0",
		"openfc_instances_provisioned 0",
		"openfc_async_queue_depth 0",
		"openfc_async_retries_total 0",
		"openfc_async_failed_total 0",
		"go_goroutines ",
		"go_memstats_heap_alloc_bytes ",
	}); err != nil {
		t.Errorf("%v\n/metrics:\n%s", err, text)
	}
	if strings.Contains(text, `function="t",outcome="success",qualifier="LATEST",service="m",trigger="api"} 2`) {
		t.Error("the throttled call was counted as an invocation that ran")
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
