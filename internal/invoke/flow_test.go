package invoke_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func putLimits(t *testing.T, c *client.Client, service, function string, l fc.Limits) {
	t.Helper()
	if _, _, err := c.PutLimits(t.Context(), service, function, &l); err != nil {
		t.Fatalf("put limits %s/%s: %v", service, function, err)
	}
}

// TestFlowThrottleCodes: each limit refuses with FC's 429 code, sync
// calls get it at once, an async call over a limit is retried later and
// runs (throttling is not an attempt), and lifting a limit lets calls in.
func TestFlowThrottleCodes(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, func(c *config.Config) { c.Flow.QueueLength, c.Flow.QueueTimeout = 1, 500*time.Millisecond })
	c := n.Client
	createService(t, c, "lim")
	createService(t, c, "other")
	for _, svcFn := range [][2]string{{"lim", "rate"}, {"lim", "conc"}, {"lim", "free"}, {"other", "f"}} {
		createFunctionZip(t, c, svcFn[0], fc.Function{FunctionName: svcFn[1], Runtime: "python3", Handler: "index.handler"}, pythonZip)
	}
	ok(t, c, "lim", "", "rate", "str:a", "str a") // started before its limit

	// A function's rate: one call per 100 s, so the second is refused.
	putLimits(t, c, "lim", "rate", fc.Limits{InvocationsPerSecond: 0.01})
	ok(t, c, "lim", "", "rate", "str:a", "str a")
	if got := invoke(t, c, "lim", "", "rate", "str:a", nil); got.status != 429 || got.code != fc.CodeResourceThrottled {
		t.Errorf("second call within the function's rate = %d %s, want 429 ResourceThrottled", got.status, got.body)
	}
	ok(t, c, "lim", "", "free", "str:b", "str b") // the other functions are not limited
	// So is a call through an HTTP trigger.
	cfg, _ := json.Marshal(fc.HTTPTriggerConfig{AuthType: "anonymous", Methods: []string{"GET"}})
	if _, _, err := c.CreateTrigger(t.Context(), "lim", "rate", &fc.Trigger{TriggerName: "web", TriggerType: fc.TriggerHTTP, TriggerConfig: cfg}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.URL + "/2016-08-15/proxy/lim/rate/x")
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ ErrorCode string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 429 || e.ErrorCode != fc.CodeResourceThrottled {
		t.Errorf("HTTP trigger call within the function's rate = %d %s, want 429 ResourceThrottled", resp.StatusCode, e.ErrorCode)
	}

	// A function's concurrent requests: one in flight, one waiting; the
	// waiter times out and a third finds the queue full.
	putLimits(t, c, "lim", "conc", fc.Limits{ConcurrentRequests: 1})
	hold, cancel := context.WithCancel(t.Context())
	held := make(chan invocation, 1)
	go func() {
		got, _ := tryInvoke(hold, c, "lim", "", "conc", "sleep:20000", nil)
		held <- got
	}()
	waitInstances(t, c, "lim", "conc", 1, 30*time.Second)
	testenv.Eventually(t, 10*time.Second, func() error {
		got := invoke(t, c, "lim", "", "conc", "str:c", nil)
		if got.status != 429 || got.code != fc.CodeResourceExhausted {
			return fmt.Errorf("call over the concurrency limit = %d %s, want 429 ResourceExhausted", got.status, got.body)
		}
		return nil
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if got := invoke(t, c, "lim", "", "conc", "str:c", nil); got.status != 429 || got.code != fc.CodeResourceExhausted {
				t.Errorf("concurrent call over the limit = %d %s, want 429 ResourceExhausted", got.status, got.body)
			}
		})
	}
	wg.Wait()

	// An async call over the limit is throttled, retried and run once the
	// slot is free.
	async := http.Header{"X-Fc-Invocation-Type": {"Async"}}
	if got := invoke(t, c, "lim", "", "conc", "str:async", async); got.status != http.StatusAccepted {
		t.Fatalf("async call = %d %s, want 202", got.status, got.body)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if v := testenv.Metric(t, n.URL, "openfc_throttles_total", `function="conc"`); v < 4 {
			return fmt.Errorf("%v throttles of conc, want the async call's too", v)
		}
		return nil
	})
	cancel()
	<-held
	testenv.Eventually(t, 60*time.Second, func() error {
		if v := testenv.Metric(t, n.URL, "openfc_invocations_total", `function="conc"`, `trigger="async"`, `outcome="success"`); v != 1 {
			return fmt.Errorf("%v successful async runs of conc, want 1", v)
		}
		return nil
	})

	// A service's rate covers its functions.
	putLimits(t, c, "lim", "", fc.Limits{InvocationsPerSecond: 0.01})
	ok(t, c, "lim", "", "free", "str:b", "str b")
	if got := invoke(t, c, "lim", "", "free", "str:b", nil); got.status != 429 || got.code != fc.CodeResourceThrottled {
		t.Errorf("second call within the service's rate = %d %s, want 429 ResourceThrottled", got.status, got.body)
	}
	// The account's rate covers every service; lifting it lets calls in.
	ok(t, c, "other", "", "f", "str:d", "str d")
	putLimits(t, c, "", "", fc.Limits{InvocationsPerSecond: 0.01})
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := invoke(t, c, "other", "", "f", "str:d", nil); got.status != 429 || got.code != fc.CodeResourceThrottled {
			return fmt.Errorf("call over the account's rate = %d %s, want 429 ResourceThrottled", got.status, got.body)
		}
		return nil
	})
	if _, err := c.DeleteLimits(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := invoke(t, c, "other", "", "f", "str:d", nil); got.status != 200 {
			return fmt.Errorf("call after the account's limits were lifted = %d %s", got.status, got.body)
		}
		return nil
	})
}

// TestFlowAccountInstances: the account's maxInstances caps the node's
// instances: with the only instance busy, a call that needs another gets
// 429 ResourceThrottled, until the limit is lifted.
func TestFlowAccountInstances(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c := n.Client
	createService(t, c, "quota")
	for _, f := range []string{"a", "b"} {
		createFunctionZip(t, c, "quota", fc.Function{FunctionName: f, Runtime: "python3", Handler: "index.handler"}, pythonZip)
	}
	putLimits(t, c, "", "", fc.Limits{MaxInstances: 1})
	hold, cancel := context.WithCancel(t.Context())
	defer cancel()
	held := make(chan struct{})
	go func() {
		defer close(held)
		tryInvoke(hold, c, "quota", "", "a", "sleep:30000", nil)
	}()
	waitInstances(t, c, "quota", "a", 1, 30*time.Second)
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := invoke(t, c, "quota", "", "b", "str:b", nil); got.status != 429 || got.code != fc.CodeResourceThrottled {
			return fmt.Errorf("call needing a second instance over maxInstances 1 = %d %s, want 429 ResourceThrottled", got.status, got.body)
		}
		return nil
	})
	if _, err := c.DeleteLimits(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := invoke(t, c, "quota", "", "b", "str:b", nil); got.status != 200 {
			return fmt.Errorf("call after the limit was lifted = %d %s", got.status, got.body)
		}
		return nil
	})
	cancel()
	<-held
}

// TestFlowNoisyNeighbour: a function flooded at 10 times its concurrency
// limit is throttled, while a function beside it gets no 429 and every
// one of its calls succeeds.
func TestFlowNoisyNeighbour(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	const limit = 2
	t.Run("function limit", func(t *testing.T) {
		t.Parallel()
		n := testenv.Platform(t, func(c *config.Config) { c.Flow.QueueLength, c.Flow.QueueTimeout = 2, 200*time.Millisecond })
		noisyNeighbour(t, n, limit, fc.Limits{ConcurrentRequests: limit})
	})
	// Without a limit of its own, the flood is held to its fair share of
	// the node: the node's cap of 2*limit, shared by two busy functions.
	// The calm function's calls wait for the flood's to end (a 50 ms
	// sleep), hence the generous timeout.
	t.Run("node share", func(t *testing.T) {
		t.Parallel()
		n := testenv.Platform(t, func(c *config.Config) {
			c.Flow.QueueLength, c.Flow.QueueTimeout, c.Flow.NodeConcurrency = 2, 20*time.Second, 2*limit
		})
		noisyNeighbour(t, n, 2*limit, fc.Limits{})
	})
}

// noisyNeighbour floods a function with 10*limit clients while another
// one is called by 2, and checks the flood was refused with 429
// ResourceExhausted, kept to limit instances, and the calm function's
// calls all succeeded.
func noisyNeighbour(t *testing.T, n *testenv.Node, limit int, floodLimits fc.Limits) {
	c := n.Client
	createService(t, c, "nb")
	createFunctionZip(t, c, "nb", fc.Function{FunctionName: "flood", Runtime: "python3", Handler: "index.handler"}, pythonZip)
	createFunctionZip(t, c, "nb", fc.Function{FunctionName: "calm", Runtime: "python3", Handler: "index.handler"}, pythonZip)
	if floodLimits != (fc.Limits{}) {
		putLimits(t, c, "nb", "flood", floodLimits)
	}
	ok(t, c, "nb", "", "calm", "str:warm", "str warm")

	var mu sync.Mutex
	floodCodes := map[string]int{}
	stop := make(chan struct{})
	var flood sync.WaitGroup
	for range 10 * limit {
		flood.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := tryInvoke(t.Context(), c, "nb", "", "flood", "sleep:50", nil)
				mu.Lock()
				switch {
				case err != nil:
					floodCodes["error: "+err.Error()]++
				case got.status == 200:
					floodCodes["200"]++
				default:
					floodCodes[strconv.Itoa(got.status)+" "+got.code]++
				}
				mu.Unlock()
			}
		})
	}
	var calm sync.WaitGroup
	for w := range 2 {
		calm.Go(func() {
			for i := range 25 {
				payload := fmt.Sprintf("str:%d-%d", w, i)
				got, err := tryInvoke(t.Context(), c, "nb", "", "calm", payload, nil)
				if err != nil {
					t.Errorf("calm call: %v", err)
					continue
				}
				if got.status != 200 || got.body != "str "+payload[4:] {
					t.Errorf("calm call under the flood = %d %s, want 200", got.status, got.body)
				}
			}
		})
	}
	calm.Wait()
	close(stop)
	flood.Wait()
	t.Logf("flood outcomes: %v", floodCodes)
	if floodCodes["429 "+fc.CodeResourceExhausted] == 0 {
		t.Errorf("flood outcomes %v: want 429 ResourceExhausted", floodCodes)
	}
	for k := range floodCodes {
		if k != "200" && k != "429 "+fc.CodeResourceExhausted {
			t.Errorf("flood outcome %q: want only 200 or 429 ResourceExhausted", k)
		}
	}
	if ids, err := listInstances(c, "nb", "", "flood"); err != nil || len(ids) > limit {
		t.Errorf("flood instances %v (%v), want at most %d", ids, err, limit)
	}
}
