package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/audit"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestTrailList: entries come back oldest first, filtered, a page at a
// time, and survive a new Trail on the same stream.
func TestTrailList(t *testing.T) {
	b := testenv.NATS(t)
	tr := audit.New(audit.Options{JS: b.JS, Logger: testenv.Logger(t)})
	start := time.Now().UTC()
	for i := range 7 {
		e := fc.AuditEntry{Time: start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), AccountID: "1",
			AccessKeyID: "K", Action: "CreateFunction", Resource: fmt.Sprintf("services/s%d/functions", i%2),
			SourceAddress: "127.0.0.1", RequestID: fmt.Sprintf("r%d", i), Status: 200}
		if i == 3 {
			e.Action, e.Status, e.ErrorCode, e.AccessKeyID = "DeleteService", 403, fc.CodeSignatureNotMatch, "X"
		}
		tr.Record(t.Context(), e)
	}
	tr = audit.New(audit.Options{JS: b.JS})
	for _, tc := range []struct {
		name string
		q    audit.Query
		want []string
	}{
		{"all", audit.Query{}, []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"}},
		{"account", audit.Query{AccountID: "2"}, nil},
		{"action", audit.Query{Action: "deleteservice"}, []string{"r3"}},
		{"resource", audit.Query{Resource: "/services/s1"}, []string{"r1", "r3", "r5"}},
		{"key", audit.Query{AccessKeyID: "X"}, []string{"r3"}},
		{"failure", audit.Query{Result: "failure"}, []string{"r3"}},
		{"status", audit.Query{Result: "200", Resource: "services/s1"}, []string{"r1", "r5"}},
		{"code", audit.Query{Result: fc.CodeSignatureNotMatch}, []string{"r3"}},
		{"to", audit.Query{To: start.Add(2 * time.Second)}, []string{"r0", "r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			q := tc.q
			q.Limit = 2
			for {
				page, next, err := tr.List(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 2 {
					t.Fatalf("page of %d entries at limit 2", len(page))
				}
				for _, e := range page {
					got = append(got, e.RequestID)
				}
				if next == 0 {
					break
				}
				q.AfterSeq = next
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}
