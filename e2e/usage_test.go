package e2e

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// usageRecords reads every usage record.
func usageRecords(t *testing.T, c *client.Client) ([]fc.UsageRecord, error) {
	var all []fc.UsageRecord
	o := client.UsageRecordOptions{Limit: 4}
	for {
		page, _, err := c.UsageRecords(t.Context(), o)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
		if page.NextToken == "" {
			return all, nil
		}
		o.NextToken = page.NextToken
	}
}

// TestUsageSurvivesKill9: usage records acknowledged before a kill -9 are
// all counted after the restart, none twice: the aggregates equal the sums
// of the records, and there is one record per invocation. The audit trail
// of the changes made before the kill is still there.
func TestUsageSurvivesKill9(t *testing.T) {
	testenv.RequireRoot(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir})
	ctx := t.Context()
	if _, _, err := s.Client.CreateService(ctx, &fc.Service{ServiceName: "billing"}); err != nil {
		t.Fatal(err)
	}
	zip := base64.StdEncoding.EncodeToString(makeZip(t, map[string]string{"index.py": "def handler(event, context):\n    return 'ok'\n"}))
	if _, _, err := s.Client.CreateFunction(ctx, "billing", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler", MemorySize: 256},
		Code:     &fc.Code{ZipFile: zip},
	}); err != nil {
		t.Fatal(err)
	}
	invoke := func(c *client.Client, times int) {
		t.Helper()
		for range times {
			if _, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/billing/functions/f/invocations"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	invoke(s.Client, 6)
	poll(t, 30*time.Second, func() error {
		recs, err := usageRecords(t, s.Client)
		if err != nil {
			return err
		}
		if len(recs) != 6 {
			return fmt.Errorf("%d usage records, want 6", len(recs))
		}
		return nil
	})
	s.Kill(t) // the aggregation may be anywhere: before, within or after its batch

	s2 := startServer(t, serverOptions{DataDir: dataDir})
	invoke(s2.Client, 3)
	poll(t, 30*time.Second, func() error {
		recs, err := usageRecords(t, s2.Client)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		var want fc.UsageRow
		for _, r := range recs {
			ids[r.RequestID] = true
			want.Invocations++
			want.DurationUs += r.DurationUs
			want.BilledMs += r.BilledMs
		}
		if len(recs) != 9 || len(ids) != 9 {
			return fmt.Errorf("%d usage records with %d request IDs, want 9 and 9", len(recs), len(ids))
		}
		rep, _, err := s2.Client.Usage(ctx, client.UsageOptions{Interval: "hour"})
		if err != nil {
			return err
		}
		var got fc.UsageRow
		for _, r := range rep.Rows {
			got.Invocations += r.Invocations
			got.DurationUs += r.DurationUs
			got.BilledMs += r.BilledMs
		}
		if got != want {
			return fmt.Errorf("usage totals %+v, want the records' sums %+v", got, want)
		}
		return nil
	})

	page, _, err := s2.Client.Audit(ctx, client.AuditOptions{Resource: "services"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != "[CreateService CreateFunction]" {
		t.Errorf("audit after kill -9 = %v, want [CreateService CreateFunction]", actions)
	}
}
