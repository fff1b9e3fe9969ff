package trigger_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestTimerTrigger(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c, ctx := n.Client, t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "tm"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "tm", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "rec", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTrigger(ctx, "tm", "rec", &fc.Trigger{TriggerName: "web", TriggerType: "http",
		TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTrigger(ctx, "tm", "rec", &fc.Trigger{TriggerName: "tick", TriggerType: "timer",
		TriggerConfig: []byte(`{"cronExpression":"@every 1s","payload":"hello timer","enable":true}`)}); err != nil {
		t.Fatal(err)
	}
	type event struct{ TriggerTime, TriggerName, Payload string }
	events := func() []event {
		raw, _ := testenv.Recorded(t, n.URL+"/2016-08-15/proxy/tm/rec/")
		var out []event
		for _, line := range raw {
			var e event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("timer event %q is not FC's JSON: %v", line, err)
			}
			out = append(out, e)
		}
		return out
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if got := events(); len(got) < 2 {
			return fmt.Errorf("%d timer events so far", len(got))
		}
		return nil
	})
	seen := map[string]bool{}
	for _, e := range events() {
		if e.TriggerName != "tick" || e.Payload != "hello timer" {
			t.Errorf("timer event = %+v", e)
		}
		if _, err := time.Parse(time.RFC3339, e.TriggerTime); err != nil {
			t.Errorf("triggerTime %q is not RFC 3339", e.TriggerTime)
		}
		if seen[e.TriggerTime] {
			t.Errorf("tick %s ran twice", e.TriggerTime)
		}
		seen[e.TriggerTime] = true
	}
	// Disabled, it stops: after the change is seen, the count stays put.
	if _, _, err := c.UpdateTrigger(ctx, "tm", "rec", "tick", map[string]any{
		"triggerConfig": json.RawMessage(`{"cronExpression":"@every 1s","payload":"hello timer","enable":false}`)}, ""); err != nil {
		t.Fatal(err)
	}
	var last int
	testenv.Eventually(t, 20*time.Second, func() error {
		// Stable across two reads 1.5 s apart: no tick in between.
		a := len(events())
		time.Sleep(1500 * time.Millisecond)
		b := len(events())
		last = b
		if a != b {
			return fmt.Errorf("still ticking: %d then %d events", a, b)
		}
		return nil
	})
	_ = last
}
