package invoke_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
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
