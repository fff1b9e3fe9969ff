package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFunctionLogs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "openfc.yaml")
	if err := os.WriteFile(file, []byte("functionLogs:\n  retention: 2d\n  maxBytes: 10MiB\n  buffer: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load([]string{"--config", file, "--log-max-bytes", "3MiB"},
		[]string{"OPENFC_LOG_BUFFER=20", "OPENFC_FUNCTION_LOGS=false", "OPENFC_LOG_MAX_BYTES=5MiB"})
	if err != nil {
		t.Fatal(err)
	}
	l := got.FunctionLogs
	if l.Enabled || l.RetentionDuration() != 48*time.Hour || l.MaxBytesValue() != 3<<20 || l.Buffer != 20 {
		t.Errorf("FunctionLogs = %+v, want off (env), 2d (file), 3MiB (flag), 20 (env)", l)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	d := Default().FunctionLogs
	if !d.Enabled || d.RetentionDuration() != 7*24*time.Hour || d.MaxBytesValue() != 1<<30 {
		t.Errorf("default FunctionLogs = %+v, want on, 7d, 1GiB", d)
	}
	c := Default()
	c.FunctionLogs = FunctionLogs{Retention: "forever", MaxBytes: "lots", Buffer: 0}
	err = c.Validate()
	for _, want := range []string{"log-retention", "log-max-bytes", "log-buffer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a %s problem", err, want)
		}
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "2s": 2 * time.Second} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1h", "xd", "7days", "0d"} {
		if got, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) = %v, want an error", in, got)
		}
	}
}
