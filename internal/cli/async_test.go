package cli

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestAsyncHelp(t *testing.T) {
	for _, cmd := range []string{"async", "async dead-letters", "async dead-letters list", "async dead-letters redrive", "async dead-letters purge"} {
		t.Run(cmd, func(t *testing.T) {
			out := cli(t, nil, append(strings.Fields(cmd), "--help")...).ok(t, cmd+" --help")
			if !strings.Contains(out, "Examples:\n  openfc "+cmd) {
				t.Errorf("%s --help has no example of itself:\n%s", cmd, out)
			}
			golden(t, filepath.Join("help", strings.ReplaceAll(cmd, " ", "_")+".golden"), out)
		})
	}
}

func TestAsyncDeadLettersCommands(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	c, ctx := n.Client, t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, "q", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "rec", Runtime: "custom", Handler: "x", InstanceConcurrency: 10},
		Code:     &fc.Code{ZipFile: testenv.RecorderZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/rec/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &zero}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/rec/invocations",
		Body: []byte("fail"), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}}}, nil); err != nil {
		t.Fatal(err)
	}
	var list client.DeadLetterList
	testenv.Eventually(t, 60*time.Second, func() error {
		decode(t, cli(t, vars, "async", "dead-letters", "list", "--service", "q", "-o", "json").ok(t, "dead-letters list"), &list)
		if len(list.DeadLetters) != 1 {
			return fmt.Errorf("%d dead letters", len(list.DeadLetters))
		}
		return nil
	})
	id := strconv.FormatUint(list.DeadLetters[0].ID, 10)
	table := cli(t, vars, "async", "dead-letters", "list").ok(t, "dead-letters list")
	if !strings.Contains(table, "RetriesExhausted") || !strings.Contains(table, "q/rec") || !strings.Contains(table, `"fail"`) {
		t.Errorf("dead-letters list table:\n%s", table)
	}
	cli(t, vars, "async", "dead-letters", "purge").fails(t, "purge without a selection", ExitUsage, "--all")
	cli(t, vars, "async", "dead-letters", "redrive", "x1").fails(t, "redrive a bad ID", ExitUsage, "not a dead-letter ID")
	cli(t, vars, "async", "dead-letters", "list", "--function", "rec").fails(t, "list --function alone", ExitUsage, "--service")
	cli(t, vars, "async", "dead-letters", "purge", "424242").fails(t, "purge an unknown ID", ExitFail, "DeadLetterNotFound")
	if out := cli(t, vars, "async", "dead-letters", "redrive", id).ok(t, "redrive"); !strings.Contains(out, "redrove "+id+" (q/rec) as request ") {
		t.Errorf("redrive printed %q", out)
	}
	// The redriven invocation fails again and comes back as a new letter.
	testenv.Eventually(t, 60*time.Second, func() error {
		decode(t, cli(t, vars, "async", "dead-letters", "list", "-o", "json").ok(t, "dead-letters list"), &list)
		if len(list.DeadLetters) != 1 || strconv.FormatUint(list.DeadLetters[0].ID, 10) == id {
			return fmt.Errorf("dead letters after the redrive: %+v", list.DeadLetters)
		}
		return nil
	})
	if out := cli(t, vars, "async", "dead-letters", "purge", "--all").ok(t, "purge --all"); out != "purged 1 dead letters\n" {
		t.Errorf("purge --all printed %q", out)
	}
}
