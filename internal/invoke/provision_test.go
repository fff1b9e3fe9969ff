package invoke_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestProvisionedInstances: a provision config's target instances are
// started and kept warm (GetProvisionConfig's current reaches the target),
// the first call is served warm, and target 0 releases them.
func TestProvisionedInstances(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c, ctx := n.Client, t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	createFunction(t, c, "demo", fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		map[string]string{"index.py": "def handler(event, context):\n    return 'warm'\n"})
	put := func(target int64) {
		t.Helper()
		if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/demo.LATEST/functions/f/provision-config",
			Body: fc.ProvisionConfig{Target: &target}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	current := func() int64 {
		var pc fc.ProvisionConfig
		if _, err := c.Do(ctx, client.Request{Method: "GET", Path: "/2016-08-15/services/demo.LATEST/functions/f/provision-config"}, &pc); err != nil {
			t.Fatal(err)
		}
		return pc.Current
	}
	put(2)
	testenv.Eventually(t, 30*time.Second, func() error {
		if cur := current(); cur != 2 {
			return fmt.Errorf("current = %d, want 2", cur)
		}
		return nil
	})
	got := invoke(t, c, "demo", "", "f", "", nil)
	if got.status != 200 || got.body != "warm" || got.header.Get("X-Openfc-Cold-Start") != "false" {
		t.Errorf("first call = %d %q cold=%s; want a warm provisioned instance", got.status, got.body, got.header.Get("X-Openfc-Cold-Start"))
	}
	var list struct{ ProvisionConfigs []fc.ProvisionConfig }
	if _, err := c.Do(ctx, client.Request{Method: "GET", Path: "/2016-08-15/provision-configs"}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.ProvisionConfigs) != 1 || list.ProvisionConfigs[0].Current != 2 || *list.ProvisionConfigs[0].Target != 2 {
		t.Errorf("ListProvisionConfigs = %+v", list.ProvisionConfigs)
	}
	put(0)
	testenv.Eventually(t, 30*time.Second, func() error {
		if cur := current(); cur != 0 {
			return fmt.Errorf("current = %d after target 0", cur)
		}
		return nil
	})

	// A scheduled action that has fired sets the target; a bad one is
	// refused and changes nothing.
	zero := int64(0)
	bad := fc.ProvisionConfig{Target: &zero, ScheduledActions: []fc.ScheduledAction{{Name: "x", Target: 1, ScheduleExpression: "cron(every day)"}}}
	if _, _, err := c.PutProvisionConfig(ctx, "demo", "LATEST", "f", &bad, ""); err == nil {
		t.Fatal("a provision config with a bad cron expression was accepted")
	}
	fired := fc.ProvisionConfig{Target: &zero, ScheduledActions: []fc.ScheduledAction{
		{Name: "past", Target: 1, ScheduleExpression: "at(2020-01-01T08:00:00)", TimeZone: "Asia/Shanghai"},
		{Name: "daily", Target: 1, ScheduleExpression: "cron(0 0 8 * * *)", StartTime: "2099-01-01T00:00:00Z"},
	}}
	if _, _, err := c.PutProvisionConfig(ctx, "demo", "LATEST", "f", &fired, ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		pc, _, err := c.GetProvisionConfig(ctx, "demo", "LATEST", "f")
		if err != nil {
			return err
		}
		if pc.Current != 1 || pc.CurrentError != "" || *pc.Target != 0 || len(pc.ScheduledActions) != 2 {
			return fmt.Errorf("provision config %+v, want current 1 from the fired action, target 0 as set", pc)
		}
		return nil
	})
}

// TestProvisionCurrentError: a provisioned instance that cannot start is
// reported in currentError, and current stays 0.
func TestProvisionCurrentError(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	n := testenv.Platform(t, nil)
	c, ctx := n.Client, t.Context()
	createService(t, c, "broken")
	createFunction(t, c, "broken", fc.Function{FunctionName: "f", Runtime: "custom", Handler: "x"},
		map[string]string{"bootstrap!": "#!/bin/sh\necho cannot start >&2\nexit 3\n"})
	one := int64(1)
	if _, _, err := c.PutProvisionConfig(ctx, "broken", "LATEST", "f", &fc.ProvisionConfig{Target: &one}, ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		var list struct{ ProvisionConfigs []fc.ProvisionConfig }
		if _, err := c.Do(ctx, client.Request{Method: "GET", Path: "/2016-08-15/provision-configs"}, &list); err != nil {
			return err
		}
		if len(list.ProvisionConfigs) != 1 {
			return fmt.Errorf("ListProvisionConfigs = %+v", list.ProvisionConfigs)
		}
		pc := list.ProvisionConfigs[0]
		if pc.Current != 0 || !strings.Contains(pc.CurrentError, "failed to start") {
			return fmt.Errorf("current %d, currentError %q; want 0 and the failed start", pc.Current, pc.CurrentError)
		}
		return nil
	})
}

// TestProvisionFollowsAlias: a provision config on an alias provisions the
// alias's main version; when the alias moves to another version its
// provisioned instances move along, and those of the old version stop,
// whether the old version is no longer routed (drained) or still gets
// the alias's canary share (released to the keep-alive). Another alias's
// provisioned instances of the same version are left alone.
func TestProvisionFollowsAlias(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	// A short keep-alive, so that instances released to it stop soon.
	n := publishTwo(t, "provmove", func(c *config.Config) { c.Instances.KeepAlive = time.Second })
	c, ctx := n.Client, t.Context()
	for _, a := range []string{"a", "b"} {
		if _, _, err := c.CreateAlias(ctx, "provmove", &fc.Alias{AliasName: a, VersionID: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	for a, target := range map[string]int64{"a": 2, "b": 1} {
		if _, _, err := c.PutProvisionConfig(ctx, "provmove", a, "f", &fc.ProvisionConfig{Target: &target}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// want checks the provisioned instances of a and b (current) and the
	// live instances of versions 1 and 2.
	want := func(curA, curB, v1, v2 int64) func() error {
		return func() error {
			var got [4]int64
			for i, a := range []string{"a", "b"} {
				pc, _, err := c.GetProvisionConfig(ctx, "provmove", a, "f")
				if err != nil {
					return err
				}
				got[i] = pc.Current
			}
			got[2] = int64(versionInstances(t, c, "provmove", "1"))
			got[3] = int64(versionInstances(t, c, "provmove", "2"))
			if w := [4]int64{curA, curB, v1, v2}; got != w {
				return fmt.Errorf("current of a, b and instances of versions 1, 2 = %v, want %v", got, w)
			}
			return nil
		}
	}
	testenv.Eventually(t, 60*time.Second, want(2, 1, 3, 0))

	// a moves to version 2: its provisioned instances follow; b's stays.
	if _, _, err := c.UpdateAlias(ctx, "provmove", "a", map[string]any{"versionId": "2"}, ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, want(2, 1, 1, 2))
	// Released instances idle out after a second: after three, b's
	// provisioned instance must still be there.
	time.Sleep(3 * time.Second)
	if err := want(2, 1, 1, 2)(); err != nil {
		t.Errorf("3 s after alias a moved: %v", err)
	}

	// b moves to version 2 but keeps a canary share on version 1: its
	// version-1 instance is no longer provisioned and idles out.
	if _, _, err := c.UpdateAlias(ctx, "provmove", "b", map[string]any{"versionId": "2",
		"additionalVersionWeight": map[string]float64{"1": 0.5}}, ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, want(2, 1, 0, 3))
}
