//go:build linux

package process_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/sandbox/process"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

var codeDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "openfc-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	codeDir = filepath.Join(dir, "code")
	if err := os.Mkdir(codeDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := sandboxtest.BuildHelper(codeDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func TestProcessConformance(t *testing.T) {
	d, err := process.New(process.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir})
}

// TestProcessWarnsLoudly checks that New logs, at warning level, that its
// instances are not isolated: operators who pick it (or get it by default)
// must see it in the node's log.
func TestProcessWarnsLoudly(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := process.New(process.Options{Logger: log}); err != nil {
		t.Fatal(err)
	}
	var warnings []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("decode log %q: %v", buf.String(), err)
		}
		if rec[slog.LevelKey] == slog.LevelWarn.String() {
			warnings = append(warnings, rec)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("New logged %d warnings, want 1: %q", len(warnings), buf.String())
	}
	w := warnings[0]
	if msg, _ := w[slog.MessageKey].(string); !strings.Contains(msg, "without isolation") {
		t.Errorf("warning %q does not say the instances run without isolation", msg)
	}
	if w["component"] != "sandbox" || w["driver"] != "process" {
		t.Errorf("warning attributes component=%v driver=%v, want sandbox, process", w["component"], w["driver"])
	}

	// Without a logger, New neither fails nor panics.
	if _, err := process.New(process.Options{}); err != nil {
		t.Fatal(err)
	}
}
