package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/testenv"
)

func TestLogsHelp(t *testing.T) {
	out := cli(t, nil, "logs", "--help").ok(t, "logs --help")
	if !strings.Contains(out, "Examples:\n  openfc logs") {
		t.Errorf("logs --help has no example of itself:\n%s", out)
	}
	golden(t, filepath.Join("help", "logs.golden"), out)
}

func TestLogsCommand(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	cli(t, vars, "service", "create", "demo").ok(t, "service create")
	code := filepath.Join(t.TempDir(), "index.py")
	os.WriteFile(code, []byte("def handler(event, context):\n    for i in range(3):\n        print('%s line %d' % (event.decode(), i))\n    return event\n"), 0o644)
	cli(t, vars, "function", "create", "demo/hello", "--runtime", "python3.10", "--handler", "index.handler", "--code", code).ok(t, "function create")

	ids := map[string]string{}
	for _, ev := range []string{"first", "second"} {
		r := cli(t, vars, "invoke", "demo/hello", "--data", ev, "--async")
		r.ok(t, "invoke")
		ids[ev] = strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, " "):])
	}
	// Wait until both async invocations wrote their lines.
	testenv.Eventually(t, 30*time.Second, func() error {
		out := cli(t, vars, "logs", "demo/hello", "--grep", " line 2").ok(t, "logs --grep")
		if n := strings.Count(out, "line 2"); n != 2 {
			return fmt.Errorf("%d lines with 'line 2', want 2:\n%s", n, out)
		}
		return nil
	})

	out := cli(t, vars, "logs", "demo/hello", "--request-id", ids["second"]).ok(t, "logs --request-id")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Start marker, three lines, End marker.
	if len(lines) != 5 || strings.Contains(out, "first") || !strings.HasSuffix(lines[1], "  "+ids["second"]+"  second line 0") {
		t.Errorf("logs --request-id printed:\n%s\nwant the 5 lines of the second call, as TIME  ID  LINE", out)
	}

	out = cli(t, vars, "logs", "demo/hello", "--request-id", ids["first"], "--grep", "line", "-o", "json").ok(t, "logs -o json")
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct{ Service, Function, RequestID, Message string }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("logs -o json line %q: %v", l, err)
		}
		if v.Service != "demo" || v.Function != "hello" || v.RequestID != ids["first"] {
			t.Errorf("logs -o json line %+v: want demo/hello of request %s", v, ids["first"])
		}
		got = append(got, v.Message)
	}
	if fmt.Sprint(got) != "[first line 0 first line 1 first line 2]" {
		t.Errorf("logs -o json messages = %q", got)
	}

	r := cli(t, vars, "logs", "demo/hello", "--limit", "3")
	if out := r.ok(t, "logs --limit"); strings.Count(out, "\n") != 3 || !strings.Contains(r.stderr, "more lines") {
		t.Errorf("logs --limit 3 printed %q, stderr %q; want 3 lines and a note that there are more", out, r.stderr)
	}

	cli(t, vars, "logs", "demo").fails(t, "logs without a function", ExitUsage, "SERVICE[.QUALIFIER]/FUNCTION")
	cli(t, vars, "logs", "demo/hello", "--since", "yesterday").fails(t, "logs with a bad --since", ExitUsage, "--since")
	cli(t, vars, "logs", "demo/hello", "-o", "yaml").fails(t, "logs -o yaml", ExitUsage, "--output")

	// -f prints lines written after it started, until interrupted.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var buf strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"logs", "demo/hello", "-f"}, &env{stdin: strings.NewReader(""), stdout: lockedWriter{&mu, &buf}, stderr: lockedWriter{&mu, &buf}, vars: vars})
	}()
	testenv.Eventually(t, 30*time.Second, func() error {
		cli(t, vars, "invoke", "demo/hello", "--data", "followed").ok(t, "invoke")
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(buf.String(), "followed line 2") {
			return fmt.Errorf("logs -f printed %q", buf.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("logs -f interrupted: exit %d, output %q", code, buf.String())
	}
	if strings.Contains(buf.String(), "first line") {
		t.Errorf("logs -f printed lines stored before it started: %q", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
