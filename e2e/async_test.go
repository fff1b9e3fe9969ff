package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestAsyncSurvivesKill9: async invocations accepted (202) by a node that is
// then killed with SIGKILL before running them all run once the node is
// back on the same data.
func TestAsyncSurvivesKill9(t *testing.T) {
	testenv.RequireRoot(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir})
	ctx := t.Context()
	if _, _, err := s.Client.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Client.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "count", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := s.Client.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q.LATEST/functions/count/on-demand-config",
		Body: fc.OnDemandConfig{MaximumInstanceCount: &one}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Client.CreateTrigger(ctx, "q", "count", &fc.Trigger{TriggerName: "web", TriggerType: "http",
		TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var want []string
	for i := range n {
		event := fmt.Sprintf("event-%02d", i)
		// The delay keeps them from running before the kill.
		r, err := s.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/count/invocations",
			Body: []byte(event), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}, "X-Fc-Async-Delay": {"3"}}}, nil)
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("async invoke %s = %v", event, err)
		}
		want = append(want, event)
	}
	s.Kill(t) // right after the last 202

	s2 := startServer(t, serverOptions{DataDir: dataDir})
	testenv.Eventually(t, 90*time.Second, func() error {
		got, _ := testenv.Recorded(t, s2.Endpoint+"/2016-08-15/proxy/q/count/")
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("after the restart the function ran %d of %d events: %q", len(got), n, got)
		}
		return nil
	})
	s2.Stop(t)
}

// TestTimerOncePerPlatform: two nodes on one NATS both run a 1 s timer
// trigger, and each tick runs once, on one node or the other.
func TestTimerOncePerPlatform(t *testing.T) {
	testenv.RequireRoot(t)
	env := []string{"OPENFC_ACCOUNT_ID=3333444455556666", "OPENFC_ACCESS_KEY_ID=E2ETIMERKEY",
		"OPENFC_ACCESS_KEY_SECRET=timer-secret-0123456789", "OPENFC_MASTER_KEY=" + strings.Repeat("cd", 32)}
	n1 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n1"), Env: env, Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(n1.Stderr.String())
	if m == nil {
		t.Fatalf("node 1 logged no `nats listening addr=...` line:\n%s", n1.Stderr)
	}
	n2 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n2"), Env: env, Args: []string{"--nats-url", "nats://" + m[1]}})
	ctx := t.Context()
	c := n1.Client
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "tm"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "tm", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "rec", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/tm.LATEST/functions/rec/on-demand-config",
		Body: fc.OnDemandConfig{MaximumInstanceCount: &one}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []fc.Trigger{
		{TriggerName: "web", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)},
		{TriggerName: "tick", TriggerType: "timer", TriggerConfig: []byte(`{"cronExpression":"@every 1s","payload":"p","enable":true}`)},
	} {
		if _, _, err := c.CreateTrigger(ctx, "tm", "rec", &tr); err != nil {
			t.Fatal(err)
		}
	}
	// Each node runs the events its own workers took: read both.
	ticks := func() (all []string, dup string) {
		seen := map[string]bool{}
		for _, s := range []*server{n1, n2} {
			events, _ := testenv.Recorded(t, s.Endpoint+"/2016-08-15/proxy/tm/rec/")
			for _, line := range events {
				var e struct{ TriggerTime string }
				json.Unmarshal([]byte(line), &e)
				if seen[e.TriggerTime] {
					dup = e.TriggerTime
				}
				seen[e.TriggerTime] = true
				all = append(all, e.TriggerTime)
			}
		}
		return all, dup
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		all, dup := ticks()
		if dup != "" {
			t.Fatalf("tick %s ran twice (events: %q)", dup, all)
		}
		if len(all) < 5 {
			return fmt.Errorf("%d ticks so far", len(all))
		}
		return nil
	})
	n2.Stop(t)
	n1.Stop(t)
}
