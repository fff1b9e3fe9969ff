package broker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func start(t *testing.T, dir string) *Broker {
	t.Helper()
	b, err := Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

func stop(t *testing.T, b *Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestBrokerRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	b := start(t, dir)
	if _, err := b.Meta.Put(t.Context(), "svc.demo", []byte(`{"serviceName":"demo"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JS.Publish(t.Context(), "openfc.async.demo", []byte("event")); err != nil {
		t.Fatal(err)
	}
	stop(t, b)

	// Start again on the same data: the objects are created idempotently
	// and hold what was written before.
	b = start(t, dir)
	defer stop(t, b)
	e, err := b.Meta.Get(t.Context(), "svc.demo")
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if string(e.Value()) != `{"serviceName":"demo"}` {
		t.Errorf("value after restart = %s", e.Value())
	}
	s, err := b.JS.Stream(t.Context(), StreamAsync)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("async stream has %d messages after restart, want 1", n)
	}
	if b.ClientURL() != "" {
		t.Errorf("embedded server listens on %s without Listen", b.ClientURL())
	}
}

func TestBrokerListen(t *testing.T) {
	b, err := Start(t.Context(), Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, b)
	url := b.ClientURL()
	if url == "" {
		t.Fatal("no client URL with Listen set")
	}
	// A second broker connects to the first through its TCP port.
	c, err := Start(t.Context(), Options{URL: url})
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer stop(t, c)
	if _, err := c.Meta.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if e, err := b.Meta.Get(t.Context(), "k"); err != nil || string(e.Value()) != "v" {
		t.Errorf("value through external client = %v, %v", e, err)
	}
}

// The records that grow with use are bounded: stateful async records
// expire, and the append-only audit trail drops its oldest entries at its
// age and size limits (a flood of audited forged requests cannot fill the
// disk).
func TestBrokerBoundsGrowingRecords(t *testing.T) {
	b := start(t, t.TempDir())
	defer stop(t, b)
	st, err := b.Async.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != AsyncRecordTTL {
		t.Errorf("%s TTL = %v, want %v", BucketAsync, st.TTL(), AsyncRecordTTL)
	}
	s, err := b.JS.Stream(t.Context(), StreamAudit)
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if c.MaxAge != AuditMaxAge || c.MaxBytes != AuditMaxBytes || c.Discard != jetstream.DiscardOld || !c.DenyDelete || !c.DenyPurge {
		t.Errorf("audit stream: max age %v, max bytes %d, discard %v, deny delete %v, deny purge %v",
			c.MaxAge, c.MaxBytes, c.Discard, c.DenyDelete, c.DenyPurge)
	}
}
