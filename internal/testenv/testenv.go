package testenv

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/app"
	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
)

// Logger returns a logger that writes into the test's output, at debug
// level when OPENFC_TEST_DEBUG is set and at warn otherwise.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("OPENFC_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// NATS starts an embedded JetStream in a temp dir, stopped at cleanup.
func NATS(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.Start(context.Background(), broker.Options{DataDir: t.TempDir(), Logger: Logger(t)})
	if err != nil {
		t.Fatalf("start NATS: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	return b
}

// Node is an openfc node running in the test process.
type Node struct {
	App    *app.App
	URL    string
	Creds  app.Credentials
	Client *client.Client
	Config config.Config
}

// Platform starts a whole node in process, on a free loopback port with its
// data in a temp dir (or cfg.DataDir when set), stopped at cleanup. modify,
// if not nil, adjusts the configuration first.
func Platform(t testing.TB, modify func(*config.Config)) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	if modify != nil {
		modify(&cfg)
	}
	a, err := app.New(cfg, Logger(t))
	if err != nil {
		t.Fatalf("new platform: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start platform: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	creds, _ := a.Credentials()
	c, err := client.New(client.Options{Endpoint: creds.Endpoint, AccountID: creds.AccountID,
		AccessKeyID: creds.AccessKeyID, AccessKeySecret: creds.AccessKeySecret})
	if err != nil {
		t.Fatal(err)
	}
	return &Node{App: a, URL: creds.Endpoint, Creds: creds, Client: c, Config: cfg}
}

// Stop shuts the node down before the test ends (to restart it on the same
// data dir).
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.App.Shutdown(ctx); err != nil {
		t.Fatalf("stop platform: %v", err)
	}
}

// Eventually polls fn until it returns nil or timeout passes, then fails
// the test with fn's last error.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// RequireRoot skips the test when not running as root, except under CI
// (CI set), where it fails: CI must run the whole suite.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root, and CI must run it as root")
	}
	t.Skip("needs root (namespaces, cgroups); run as root or in CI")
}

// Listen returns a TCP listener on a free loopback port, closed at cleanup.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
