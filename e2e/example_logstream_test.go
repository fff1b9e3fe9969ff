package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/testenv"
)

// TestLogStreamExample runs examples/log-stream-processing as its README
// says, with the example's own files: streams, deploy, async config,
// trigger, 1,000 published log lines, and the totals the function's
// onSuccess destination collected; then the README's pause and resume.
func TestLogStreamExample(t *testing.T) {
	testenv.RequireRoot(t)
	dir, err := filepath.Abs("../examples/log-stream-processing")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "openfc-data")
	s := startServer(t, serverOptions{DataDir: dataDir, Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(s.Stderr.String())
	if m == nil {
		t.Fatalf("the node logged no `nats listening addr=...` line:\n%s", s.Stderr)
	}
	env := []string{"OPENFC_DATA_DIR=" + dataDir, "NATS_URL=nats://" + m[1]}
	logtool := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "/usr/bin/python3", append([]string{"logtool.py"}, args...)...)
		cmd.Dir, cmd.Env = dir, append(baseEnv(), env...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("logtool.py %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	openfc := func(args ...string) {
		t.Helper()
		// The README runs the CLI from the example's folder (relative paths).
		cmd := exec.CommandContext(t.Context(), openfcBin, args...)
		cmd.Dir, cmd.Env = dir, append(baseEnv(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openfc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	logtool("streams")
	openfc("function", "deploy", "./function", "--name", "logs/aggregate", "--runtime", "python3.10", "--handler", "index.handler")
	logtool("async-config", "logs/aggregate", "async-config.json")
	openfc("trigger", "create", "logs/aggregate/stream", "--type", "eventbridge", "--config", "@trigger.json")
	want := logtool("publish", "--count", "1000")
	type totals struct {
		Batches, Messages int
		Levels            map[string]int
	}
	var w totals
	if err := json.Unmarshal([]byte(want), &w); err != nil || w.Messages != 1000 || w.Levels["INFO"] != 600 {
		t.Fatalf("publish printed %q", want)
	}
	waitTotals := func(messages int, levels map[string]int) totals {
		t.Helper()
		var got totals
		testenv.Eventually(t, 120*time.Second, func() error {
			got = totals{}
			out := logtool("totals")
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				return fmt.Errorf("totals printed %q: %v", out, err)
			}
			if got.Messages != messages || fmt.Sprint(got.Levels) != fmt.Sprint(levels) {
				return fmt.Errorf("totals %+v, want %d messages %v", got, messages, levels)
			}
			return nil
		})
		return got
	}
	got := waitTotals(1000, w.Levels)
	// Batches of at most 100 (CountBasedWindow): at least 10 invocations;
	// fewer than 1,000 means lines were batched.
	if got.Batches < 10 || got.Batches >= 1000 {
		t.Errorf("%d batches for 1,000 lines with CountBasedWindow 100", got.Batches)
	}

	// README step 5: paused, published lines wait in the stream; resumed,
	// they run.
	cfg, err := os.ReadFile(filepath.Join(dir, "trigger.json"))
	if err != nil {
		t.Fatal(err)
	}
	paused := strings.Replace(string(cfg), `"triggerEnable": true`, `"triggerEnable": false`, 1)
	if paused == string(cfg) {
		t.Fatal(`trigger.json has no "triggerEnable": true for the README's sed to turn off`)
	}
	openfc("trigger", "update", "logs/aggregate/stream", "--config", paused)
	logtool("publish", "--count", "100")
	openfc("trigger", "update", "logs/aggregate/stream", "--config", "@trigger.json")
	levels := map[string]int{}
	for k, v := range w.Levels {
		levels[k] = v + v/10
	}
	waitTotals(1100, levels)
	openfc("trigger", "delete", "logs/aggregate/stream")
	s.Stop(t)
}
