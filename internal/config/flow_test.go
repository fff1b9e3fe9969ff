package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFlow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "openfc.yaml")
	yaml := "flow:\n  accountInvocationsPerSecond: 500\n  queueLength: 10\n  queueTimeout: 1s\n  nodeConcurrency: 64\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load([]string{"--config", file, "--account-burst", "50", "--flow-queue-timeout", "3s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Flow{AccountInvocationsPerSecond: 500, AccountBurst: 50, QueueLength: 10, QueueTimeout: 3 * time.Second, NodeConcurrency: 64}
	if d := cmp.Diff(want, got.Flow); d != "" {
		t.Errorf("Flow (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Flow{QueueLength: 100, QueueTimeout: 2 * time.Second}, Default().Flow); d != "" {
		t.Errorf("default Flow (-want +got):\n%s", d)
	}
	bad := Default()
	bad.Flow.NodeConcurrency, bad.Flow.QueueLength = -1, -2
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "node-concurrency") {
		t.Errorf("Validate of negative flow settings = %v, want a node-concurrency problem", err)
	}
}
