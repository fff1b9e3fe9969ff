package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of openfc's JetStream objects (ARCHITECTURE.md §5).
const (
	BucketMeta   = "openfc_meta"
	BucketAsync  = "openfc_async"
	BucketCode   = "openfc_code"
	BucketUsage  = "openfc_usage"
	StreamAsync  = "OPENFC_ASYNC"
	StreamLogs   = "OPENFC_LOGS"
	StreamUsage  = "OPENFC_USAGE"
	StreamAudit  = "OPENFC_AUDIT"
	SubjectAsync = "openfc.async.>"
	SubjectLogs  = "openfc.logs.>"
	SubjectUsage = "openfc.usage.>"
	SubjectAudit = "openfc.audit.>"
)

// Bounds of the records that would otherwise grow without end.
const (
	// AsyncRecordTTL is how long a stateful async invocation's record is
	// kept after its last change.
	AsyncRecordTTL = 7 * 24 * time.Hour
	// AuditMaxAge and AuditMaxBytes bound the audit trail: entries older
	// than a year, or beyond 4 GiB, go first.
	AuditMaxAge   = 365 * 24 * time.Hour
	AuditMaxBytes = 4 << 30
)

// Options configures a Broker. The zero value runs an embedded server whose
// data lives in a temporary directory of the server's choosing, which only
// tests want: set DataDir.
type Options struct {
	// URL of an external NATS server or cluster; empty embeds one.
	URL string
	// DataDir holds the embedded server's JetStream data.
	DataDir string
	// Listen, when set (host:port, port 0 picks one), opens the embedded
	// server's TCP client port, for other nodes or tools.
	Listen string
	// Replicas of every bucket and stream (1 for one node; 3 in a cluster).
	Replicas int
	// LogsMaxAge and LogsMaxBytes bound the function log stream; zero means
	// 7 days and 1 GiB.
	LogsMaxAge   time.Duration
	LogsMaxBytes int64
	// Logger receives the broker's and the embedded server's logs; nil
	// discards them.
	Logger *slog.Logger
}

// Broker is a connection to JetStream with openfc's objects in place.
type Broker struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	// Meta is the metadata bucket, Async the stateful async invocation
	// bucket, Code the code package object store.
	Meta  jetstream.KeyValue
	Async jetstream.KeyValue
	Code  jetstream.ObjectStore
	// Usage holds the usage aggregates (per hour and day) and the
	// position in the usage stream they include.
	Usage jetstream.KeyValue

	srv    *server.Server
	logger *slog.Logger
}

// Start starts (or connects to) NATS and creates openfc's buckets and
// streams. It returns once JetStream answers.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "broker")
	b := &Broker{logger: logger}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	var copts []nats.Option
	copts = append(copts, nats.Name("openfc"), nats.MaxReconnects(-1))
	url := opts.URL
	if url == "" {
		srv, err := startEmbedded(opts, logger)
		if err != nil {
			return nil, err
		}
		b.srv = srv
		copts = append(copts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, copts...)
	if err != nil {
		b.stopServer()
		return nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	b.Conn = nc
	// Requests without a deadline of their own (object store reads of a
	// large code package on a busy node) get 30 s rather than 5.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(30*time.Second))
	if err != nil {
		b.close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b.JS = js
	if err := b.ensure(ctx, opts); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func startEmbedded(opts Options, logger *slog.Logger) (*server.Server, error) {
	sopts := &server.Options{
		ServerName: "openfc",
		JetStream:  true,
		StoreDir:   opts.DataDir,
		DontListen: true,
		NoSigs:     true,
	}
	if opts.Listen != "" {
		host, port, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen address %q: %w", opts.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("nats listen port %q: %w", port, err)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		sopts.DontListen = false
		sopts.Host, sopts.Port = host, p
	}
	if sopts.StoreDir != "" {
		sopts.StoreDir = filepath.Clean(sopts.StoreDir)
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.SetLoggerV2(&natsLogger{l: logger.With("component", "nats")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready after 30s")
	}
	if opts.Listen != "" {
		logger.Info("nats listening", "addr", srv.Addr().String())
	}
	return srv, nil
}

// ClientURL returns the embedded server's client URL when it listens on
// TCP, or "" otherwise.
func (b *Broker) ClientURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

func (b *Broker) ensure(ctx context.Context, opts Options) error {
	var err error
	r := opts.Replicas
	b.Meta, err = b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: BucketMeta, Description: "openfc metadata", History: 1, Replicas: r,
	})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", BucketMeta, err)
	}
	b.Async, err = b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: BucketAsync, Description: "openfc stateful async invocations", History: 1, Replicas: r,
		// Records end with their invocation: none outlives the longest
		// event age (1 day) plus the throttle window (5 h), and FC keeps
		// finished stateful invocations for days, not forever.
		TTL: AsyncRecordTTL,
	})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", BucketAsync, err)
	}
	b.Usage, err = b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: BucketUsage, Description: "openfc usage aggregates", History: 1, Replicas: r,
	})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", BucketUsage, err)
	}
	b.Code, err = b.JS.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: BucketCode, Description: "openfc code packages and layers (encrypted)", Replicas: r,
	})
	if err != nil {
		return fmt.Errorf("create object store %s: %w", BucketCode, err)
	}
	logsAge, logsBytes := opts.LogsMaxAge, opts.LogsMaxBytes
	if logsAge == 0 {
		logsAge = 7 * 24 * time.Hour
	}
	if logsBytes == 0 {
		logsBytes = 1 << 30
	}
	streams := []jetstream.StreamConfig{
		{Name: StreamAsync, Subjects: []string{SubjectAsync}, Retention: jetstream.WorkQueuePolicy, Replicas: r,
			Description: "accepted async invocations"},
		{Name: StreamLogs, Subjects: []string{SubjectLogs}, MaxAge: logsAge, MaxBytes: logsBytes, Replicas: r,
			Description: "function logs", Discard: jetstream.DiscardOld},
		{Name: StreamUsage, Subjects: []string{SubjectUsage}, Replicas: r, Description: "usage records"},
		// Append-only (no delete, no purge), but bounded: a flood of
		// forged requests, each audited, must not fill the disk.
		{Name: StreamAudit, Subjects: []string{SubjectAudit}, Replicas: r, Description: "audit trail",
			DenyDelete: true, DenyPurge: true, MaxAge: AuditMaxAge, MaxBytes: AuditMaxBytes, Discard: jetstream.DiscardOld},
	}
	for _, sc := range streams {
		if _, err := b.JS.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// Shutdown drains the connection and stops the embedded server.
func (b *Broker) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("broker shutdown: %w", ctx.Err())
	}
}

func (b *Broker) close() {
	if b.Conn != nil {
		// Flush publishes the caller already made before closing.
		_ = b.Conn.FlushTimeout(2 * time.Second) // best effort: closing anyway
		b.Conn.Close()
	}
	b.stopServer()
}

func (b *Broker) stopServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// natsLogger adapts nats-server's logger onto slog (STYLE.md §5).
type natsLogger struct{ l *slog.Logger }

func (n *natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
