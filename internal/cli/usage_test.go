package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestUsageAndAuditCommands: after a deploy and two invocations, `openfc
// usage` shows them (table and JSON) and `openfc audit` shows the changes
// the deploy made, with filters; bad flags are usage errors.
func TestUsageAndAuditCommands(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.py"), []byte("def handler(event, context):\n    return 'ok'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, vars, "function", "deploy", dir, "--name", "demo/hello", "--runtime", "python3", "--handler", "index.handler").ok(t, "deploy")
	cli(t, vars, "invoke", "demo/hello").ok(t, "invoke")
	cli(t, vars, "invoke", "demo/hello").ok(t, "invoke")

	testenv.Eventually(t, 30*time.Second, func() error {
		var rep fc.UsageReport
		out := cli(t, vars, "usage", "--since", "1h", "-o", "json").ok(t, "usage -o json")
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			return err
		}
		if len(rep.Rows) != 1 || rep.Rows[0].Service != "demo" || rep.Rows[0].Function != "hello" || rep.Rows[0].Invocations != 2 || rep.Rows[0].BilledMs < 200 {
			return fmt.Errorf("usage -o json = %s, want one row of 2 invocations of demo/hello billed at least 200 ms", out)
		}
		return nil
	})
	out := cli(t, vars, "usage", "--interval", "hour", "--group-by", "function").ok(t, "usage")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "PERIOD") ||
		!strings.Contains(lines[0], "FUNCTION") || strings.Contains(lines[0], "SERVICE") || !strings.Contains(lines[1], "hello") {
		t.Errorf("usage table =\n%s\nwant a header with FUNCTION only and one row for hello", out)
	}

	out = cli(t, vars, "audit").ok(t, "audit")
	for _, want := range []string{"TIME", "CreateService", "CreateFunction", "services/demo/functions"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "InvokeFunction") {
		t.Errorf("audit lists invocations:\n%s", out)
	}
	out = cli(t, vars, "audit", "--action", "CreateFunction", "-o", "json").ok(t, "audit --action")
	var entries fc.AuditEntries
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries.Entries) != 1 || entries.Entries[0].Resource != "services/demo/functions" {
		t.Errorf("audit --action CreateFunction -o json = %s (%v), want one entry", out, err)
	}
	r := cli(t, vars, "audit", "--limit", "1")
	if r.ok(t, "audit --limit 1"); !strings.Contains(r.stderr, "--next-token") {
		t.Errorf("audit --limit 1 stderr = %q, want a hint for the next page", r.stderr)
	}

	cli(t, vars, "usage", "--interval", "week").fails(t, "bad interval", ExitFail, "InvalidArgument")
	cli(t, vars, "usage", "extra").fails(t, "usage with an argument", ExitUsage)
	cli(t, vars, "audit", "--since", "1h", "--from", "2026-01-01T00:00:00Z").fails(t, "since and from", ExitUsage)
}
