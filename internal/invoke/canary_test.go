package invoke_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// publishTwo publishes versions 1 (v1) and 2 (v2) of function f in a new
// service, on a node whose configuration modify adjusts (nil: defaults).
func publishTwo(t *testing.T, service string, modify func(*config.Config)) *testenv.Node {
	t.Helper()
	n := testenv.Platform(t, modify)
	c := n.Client
	createService(t, c, service)
	f := fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler", InstanceConcurrency: 4}
	createFunction(t, c, service, f, versionedCode("v1"))
	if _, _, err := c.PublishVersion(t.Context(), service, "v1", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunction(t.Context(), service, "f", map[string]any{"code": fc.Code{ZipFile: zipOf(t, versionedCode("v2"))}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(t.Context(), service, "v2", ""); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCanarySplit: an alias with additionalVersionWeight {"2": 0.3} sends
// each call to version 2 with probability 0.3. Over 2,000 calls the count
// is binomial (mean 600, standard deviation 20.5); the bounds are 5
// standard deviations wide, so the test fails by chance less than once in
// a million runs, and every call reports the version that served it.
func TestCanarySplit(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := publishTwo(t, "canary", nil)
	c := n.Client
	if _, _, err := c.CreateAlias(t.Context(), "canary", &fc.Alias{AliasName: "prod", VersionID: "1",
		AdditionalVersionWeight: map[string]float64{"2": 0.3}}); err != nil {
		t.Fatal(err)
	}
	const calls, workers = 2000, 4
	var mu sync.Mutex
	served := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range calls / workers {
				got, err := tryInvoke(t.Context(), c, "canary", "prod", "f", "x", nil)
				if err != nil {
					t.Error(err)
					return
				}
				v := got.header.Get("X-Fc-Invocation-Service-Version")
				if got.status != 200 || got.body != "v"+v {
					t.Errorf("worker %d: call = %d %q served by version %q", w, got.status, got.body, v)
					return
				}
				mu.Lock()
				served[v]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("served: %v", served)
	if served["1"]+served["2"] != calls || served["2"] < 498 || served["2"] > 702 {
		t.Errorf("served %v over %d calls, want version 2 for 600 ± 102", served, calls)
	}
}

// versionInstances returns how many instances of a version of function
// f are live, whatever qualifier started them (ListInstances).
func versionInstances(t *testing.T, c *client.Client, service, version string) int {
	t.Helper()
	var out struct {
		Instances []struct {
			InstanceID string `json:"instanceId"`
		} `json:"instances"`
	}
	if _, err := c.Do(t.Context(), client.Request{Method: "GET",
		Path: "/2016-08-15/services/" + service + "." + version + "/functions/f/instances"}, &out); err != nil {
		t.Fatal(err)
	}
	return len(out.Instances)
}

// TestAliasRollback: calls in flight on the canary version finish on it
// when the alias is rolled back, every call after the rollback runs the
// main version, and the instances of the version no alias routes any
// more stop once their calls are done, not after the 5-minute keep-alive;
// the version can still be called by its ID (a fresh instance).
func TestAliasRollback(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := publishTwo(t, "rollback", nil)
	c := n.Client
	if _, _, err := c.CreateAlias(t.Context(), "rollback", &fc.Alias{AliasName: "prod", VersionID: "2"}); err != nil {
		t.Fatal(err)
	}
	ok(t, c, "rollback", "prod", "f", "x", "v2")
	// Calls in flight on version 2 (each holds for 1.5 s)...
	const inFlight = 3
	results := make(chan string, inFlight)
	for range inFlight {
		go func() {
			got, err := tryInvoke(t.Context(), c, "rollback", "prod", "f", "hold", nil)
			if err != nil {
				results <- err.Error()
				return
			}
			results <- fmt.Sprintf("%d %s %s", got.status, got.header.Get("X-Fc-Invocation-Service-Version"), got.body)
		}()
	}
	// The warm instance of prod has 4 slots: the holds and this probe share it.
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := invoke(t, c, "rollback", "prod", "f", "started", nil); got.body != "yes" {
			return fmt.Errorf("no call in flight yet: %d %s", got.status, got.body)
		}
		return nil
	})
	// ... while the alias goes back to version 1.
	if _, _, err := c.UpdateAlias(t.Context(), "rollback", "prod", map[string]any{"versionId": "1", "additionalVersionWeight": map[string]float64{}}, ""); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if got := ok(t, c, "rollback", "prod", "f", "x", "v1"); got.header.Get("X-Fc-Invocation-Service-Version") != "1" {
			t.Fatalf("call after the rollback served by version %q", got.header.Get("X-Fc-Invocation-Service-Version"))
		}
	}
	for range inFlight {
		if got := <-results; got != "200 2 v2 held" {
			t.Errorf("call in flight during the rollback = %q, want it finished on version 2 (200 2 v2 held)", got)
		}
	}
	// The keep-alive is 5 minutes: only the drain stops them this soon.
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := versionInstances(t, c, "rollback", "2"); n != 0 {
			return fmt.Errorf("%d instances of version 2 live after the rollback, want 0", n)
		}
		return nil
	})
	if got := ok(t, c, "rollback", "2", "f", "x", "v2"); got.header.Get("X-Openfc-Cold-Start") != "true" {
		t.Errorf("call of version 2 by its ID after the rollback: cold start %q, want a fresh instance", got.header.Get("X-Openfc-Cold-Start"))
	}
}
