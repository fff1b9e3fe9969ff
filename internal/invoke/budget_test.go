package invoke_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestMemoryBudgetEvictsLeastRecentlyUsed: on a node whose memory budget
// holds two 128 MB instances, a third function's call evicts the least
// recently used idle instance of another function; when every instance is
// busy, the call is throttled with FC's 429.
func TestMemoryBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) {
		c.Instances.Memory = "256MiB"
		c.Instances.Prewarm = -1 // generic instances would take budget too
	})
	c := n.Client
	if _, _, err := c.CreateService(t.Context(), &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	src := map[string]string{"index.py": "import time\ndef handler(event, context):\n    if event == b'hold':\n        time.sleep(3)\n    return context.function.name\n"}
	for _, name := range []string{"a", "b", "c"} {
		createFunction(t, c, "demo", fc.Function{FunctionName: name, Runtime: "python3", Handler: "index.handler", MemorySize: 128}, src)
	}
	instances := func(fn string) int {
		var out struct {
			Instances []struct{ InstanceID string } `json:"instances"`
		}
		if _, err := c.Do(context.Background(), client.Request{Method: "GET", Path: "/2016-08-15/services/demo/functions/" + fn + "/instances"}, &out); err != nil {
			t.Fatal(err)
		}
		return len(out.Instances)
	}
	for _, fn := range []string{"a", "b"} { // a is now the least recently used
		if got := invoke(t, c, "demo", "", fn, "x", nil); got.status != 200 || got.body != fn {
			t.Fatalf("invoke %s = %d %q", fn, got.status, got.body)
		}
	}
	got := invoke(t, c, "demo", "", "c", "x", nil)
	if got.status != 200 || got.body != "c" {
		t.Fatalf("invoke c on a full node = %d %q, want an eviction then success", got.status, got.body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := instances("a"); n != 0 {
			return fmt.Errorf("a still has %d instance(s)", n)
		}
		return nil
	})
	if instances("b") != 1 || instances("c") != 1 {
		t.Errorf("instances after eviction: b=%d c=%d, want 1 and 1", instances("b"), instances("c"))
	}
	// Two new functions' calls each evict b's and c's idle instances and
	// hold theirs; their instances exist only while those calls run, so
	// once both are listed, nothing is idle and a call of a is throttled
	// rather than overcommitting the budget.
	for _, name := range []string{"d", "e"} {
		createFunction(t, c, "demo", fc.Function{FunctionName: name, Runtime: "python3", Handler: "index.handler", MemorySize: 128}, src)
	}
	done := make(chan invocation, 2)
	for _, fn := range []string{"d", "e"} {
		go func() { done <- invoke(t, c, "demo", "", fn, "hold", nil) }()
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if d, e := instances("d"), instances("e"); d != 1 || e != 1 {
			return fmt.Errorf("d has %d and e %d instances, want 1 each", d, e)
		}
		return nil
	})
	got = invoke(t, c, "demo", "", "a", "x", nil)
	for range 2 {
		if h := <-done; h.status != 200 || h.body != "d" && h.body != "e" {
			t.Errorf("holding call = %d %q", h.status, h.body)
		}
	}
	if got.status != 429 || !strings.Contains(got.body, "ResourceThrottled") {
		t.Errorf("invoke a while the budget is held by busy instances = %d %q, want 429 ResourceThrottled", got.status, got.body)
	}
}

// TestInstanceQuotaEvictsIdle: on a node whose instance quota is full of
// idle instances, a new function's call evicts the least recently used
// one, also when it takes a pre-started generic instance (whose memory is
// charged already, so only the quota is short).
func TestInstanceQuotaEvictsIdle(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) {
		c.Instances.MaxInstances = 2
		c.Instances.Prewarm = 1
	})
	c := n.Client
	if _, _, err := c.CreateService(t.Context(), &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	src := map[string]string{"index.py": "def handler(event, context):\n    return context.function.name\n"}
	for _, name := range []string{"a", "b", "c"} {
		createFunction(t, c, "demo", fc.Function{FunctionName: name, Runtime: "python3", Handler: "index.handler", MemorySize: 128}, src)
	}
	for i, fn := range []string{"a", "b", "c"} {
		if i > 0 {
			// The first python3 start asked for a generic instance to be
			// kept ready: wait for it, so that b and c each take one.
			testenv.Eventually(t, 30*time.Second, func() error {
				if testenv.Metric(t, n.URL, "openfc_instances_prestarted") != 1 {
					return fmt.Errorf("no pre-started python3 instance ready yet")
				}
				return nil
			})
		}
		// c's call finds the quota (2) held by a's and b's idle instances.
		got := invoke(t, c, "demo", "", fn, "x", nil)
		if got.status != 200 || got.body != fn {
			t.Fatalf("invoke %s = %d %q, want success (c's after evicting a's idle instance)", fn, got.status, got.body)
		}
	}
}

// TestMemoryBudgetTakesPrestarted: when the memory budget is held by busy
// instances and a pre-started generic instance, a new function's call
// stops the pre-started one (it only speeds up cold starts) rather than
// being throttled.
func TestMemoryBudgetTakesPrestarted(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, func(c *config.Config) {
		c.Instances.Memory = "256MiB"
		c.Instances.Prewarm = 1
	})
	c := n.Client
	if _, _, err := c.CreateService(t.Context(), &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	createFunction(t, c, "demo", fc.Function{FunctionName: "a", Runtime: "python3", Handler: "index.handler", MemorySize: 128},
		map[string]string{"index.py": "import time\ndef handler(event, context):\n    if event == b'hold':\n        time.sleep(3)\n    return 'a'\n"})
	createFunction(t, c, "demo", fc.Function{FunctionName: "js", Runtime: "nodejs20", Handler: "index.handler", MemorySize: 128},
		map[string]string{"index.js": "exports.handler = (event, context, callback) => callback(null, 'js');\n"})
	if got := invoke(t, c, "demo", "", "a", "x", nil); got.status != 200 || got.body != "a" {
		t.Fatalf("invoke a = %d %q", got.status, got.body)
	}
	// a's start asked for a python3 instance to be kept ready: with it
	// the budget (2 x 128 MB) is full.
	testenv.Eventually(t, 30*time.Second, func() error {
		if testenv.Metric(t, n.URL, "openfc_instances_prestarted") != 1 {
			return fmt.Errorf("no pre-started python3 instance ready yet")
		}
		return nil
	})
	held := make(chan invocation, 1)
	go func() { held <- invoke(t, c, "demo", "", "a", "hold", nil) }()
	testenv.Eventually(t, 10*time.Second, func() error {
		if testenv.Metric(t, n.URL, "openfc_instances_busy") != 1 {
			return fmt.Errorf("a's call has not reached its instance yet")
		}
		return nil
	})
	if got := invoke(t, c, "demo", "", "js", "x", nil); got.status != 200 || got.body != "js" {
		t.Errorf("invoke js with the budget held by a busy and a pre-started instance = %d %q, want the pre-started one stopped and success", got.status, got.body)
	}
	if h := <-held; h.status != 200 || h.body != "a" {
		t.Errorf("holding call = %d %q", h.status, h.body)
	}
}
