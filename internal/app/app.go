package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/meter"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/scheduler"
	"github.com/openfc/openfc/internal/seal"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/trigger"
)

// Credentials are the account and root access key of a node, as written to
// <data-dir>/credentials.json for the CLI and SDKs.
type Credentials struct {
	AccountID       string `json:"accountId"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
}

// App is one openfc node.
type App struct {
	cfg    config.Config
	logger *slog.Logger

	box         *seal.Box
	broker      *broker.Broker
	sched       *scheduler.Scheduler
	queue       *queue.Queue
	logs        *fnlog.Store // nil when function-logs is off
	timers      atomic.Pointer[trigger.Timers]
	events      atomic.Pointer[trigger.Events]
	provisioner atomic.Pointer[invoke.Provisioner]
	invoker     atomic.Pointer[invoke.Invoker] // set once instances run
	registry    *prometheus.Registry
	meter       *meter.Meter
	closeDriver func() error
	blobs       *blob.Store
	store       *store.Store
	api         *api.Server
	srv         *http.Server
	ln          net.Listener

	derivedFrom []byte // the master key, only to derive purpose keys

	creds   Credentials
	created bool // credentials were created by this start

	stopOnce sync.Once
	stopErr  error
	serveCh  chan error
}

// New checks the configuration and prepares a node; Start runs it.
func New(cfg config.Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	// Sandboxes bind-mount folders under the data dir, so its path must not
	// depend on the working directory.
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = abs
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Each node has its own registry (never the global one), so several
	// nodes can run in one process (tests).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &App{cfg: cfg, logger: logger, registry: reg}, nil
}

// Start brings the node up and returns once it serves requests.
func (a *App) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			a.stop(context.Background())
		}
	}()
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := a.openBox(); err != nil {
		return err
	}
	a.broker, err = broker.Start(ctx, broker.Options{
		URL: a.cfg.NATS.URL, DataDir: filepath.Join(a.cfg.DataDir, "nats"), Listen: a.cfg.NATS.Listen, Logger: a.logger,
		LogsMaxAge: a.cfg.FunctionLogs.RetentionDuration(), LogsMaxBytes: a.cfg.FunctionLogs.MaxBytesValue(),
	})
	if err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	cacheDir := filepath.Join(a.cfg.DataDir, "code")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create code cache: %w", err)
	}
	a.blobs = blob.New(blob.Options{Objects: a.broker.Code, Box: a.box, CacheDir: cacheDir, Logger: a.logger})
	// The account ID is needed by the store (ARNs) before the store can say
	// what is stored, so the store starts with the configured ID and the
	// stored one, if different, is set right after.
	a.store = store.New(store.Options{KV: a.broker.Meta, Box: a.box, Blobs: a.blobs, Region: a.cfg.Region,
		AccountID: a.cfg.Credentials.AccountID, ValidateCron: validateCron, Logger: a.logger,
		// Timers follow trigger changes made on any node.
		OnChange: func(key string) {
			if t := a.timers.Load(); t != nil && strings.HasPrefix(key, "trg.") {
				t.Changed()
			}
			if e := a.events.Load(); e != nil && strings.HasPrefix(key, "trg.") {
				e.Changed()
			}
			a.limitsChanged(key)
			// Provisioned instances follow their configs, and new
			// revisions of functions.
			if p := a.provisioner.Load(); p != nil {
				for _, prefix := range []string{"prov.", "fn.", "svc.", "alias."} {
					if strings.HasPrefix(key, prefix) {
						p.Changed()
						break
					}
				}
			}
		},
		RuntimeAvailable: func(name string) error {
			rt, ok := runtimes.Lookup(name)
			if !ok {
				return fmt.Errorf("unknown runtime")
			}
			return rt.Check(interpreters(a.cfg))
		}})
	if err := a.store.Start(ctx); err != nil {
		return fmt.Errorf("start metadata store: %w", err)
	}
	if err := a.ensureCredentials(ctx); err != nil {
		return err
	}
	a.store.SetAccountID(a.creds.AccountID)
	if err := a.startFunctionLogs(); err != nil {
		return err
	}
	if err := a.startMeter(ctx); err != nil {
		return err
	}
	invoker, err := a.startInstances()
	if err != nil {
		return err
	}
	a.invoker.Store(invoker)
	invoker.ApplyLimits()
	a.queue = queue.New(queue.Options{JS: a.broker.JS, State: a.broker.Async, Store: a.store, Invoker: invoker,
		Registerer: a.registry, Logger: a.logger, Region: a.cfg.Region, AccountID: a.creds.AccountID})
	if err := a.queue.Start(ctx); err != nil {
		return fmt.Errorf("start async queue: %w", err)
	}
	prov := invoke.NewProvisioner(invoker, a.store, a.logger)
	if err := prov.Start(ctx); err != nil {
		return fmt.Errorf("start provisioner: %w", err)
	}
	a.provisioner.Store(prov)
	timers := trigger.NewTimers(trigger.TimerOptions{Store: a.store, Queue: a.queue, Logger: a.logger})
	if err := timers.Start(ctx); err != nil {
		return fmt.Errorf("start timer triggers: %w", err)
	}
	a.timers.Store(timers)
	events := trigger.NewEvents(trigger.EventsOptions{Conn: a.broker.Conn, Store: a.store, Queue: a.queue,
		Registerer: a.registry, Logger: a.logger})
	if err := events.Start(ctx); err != nil {
		return fmt.Errorf("start event triggers: %w", err)
	}
	a.events.Store(events)
	authn := auth.New(auth.Options{Lookup: a.lookupKey, Logger: a.logger})
	a.api = api.New(api.Options{Store: a.store, Auth: authn, Invoker: invoker, Queue: a.queue, Meter: a.meter, Audit: a.newAudit(),
		Metrics: promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}), AccountID: a.creds.AccountID, Region: a.cfg.Region,
		URLKey: a.derive("code-url"), Logs: a.logs, Logger: a.logger})
	a.ln, err = net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	a.api.SetEndpoint("http://" + a.ln.Addr().String())
	a.srv = &http.Server{
		Handler:           a.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // 100 MB code uploads on slow links
		WriteTimeout:      15 * time.Minute,
		IdleTimeout:       90 * time.Second, // FC's keep-alive
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	a.serveCh = make(chan error, 1)
	go func() { a.serveCh <- a.srv.Serve(a.ln) }()
	a.creds.Endpoint = "http://" + a.Addr()
	if err := a.writeCredentials(); err != nil {
		return err
	}
	if a.cfg.AddrFile != "" {
		if err := writeFileAtomic(a.cfg.AddrFile, []byte(a.Addr()+"\n"), 0o644); err != nil {
			return fmt.Errorf("write addr file: %w", err)
		}
	}
	a.logger.Info("openfc ready", "addr", a.Addr(), "data_dir", a.cfg.DataDir, "account", a.creds.AccountID)
	return nil
}

// Addr returns the host:port the API listens on.
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// NATSURL returns the embedded NATS server's client URL when it listens on
// TCP (--nats-listen), else "".
func (a *App) NATSURL() string {
	if a.broker == nil {
		return ""
	}
	return a.broker.ClientURL()
}

// Credentials returns the node's account and root key, and whether this
// start created them (so the CLI prints them once).
func (a *App) Credentials() (Credentials, bool) { return a.creds, a.created }

// Done is closed with the HTTP server's error if it stops on its own.
func (a *App) Done() <-chan error { return a.serveCh }

// Shutdown stops accepting requests, lets in-flight ones finish until ctx
// ends, then stops the instances, the store and the broker. Calls after the
// first return the first one's result.
func (a *App) Shutdown(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *App) stop(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	} else if a.ln != nil {
		a.ln.Close()
	}
	if p := a.provisioner.Load(); p != nil {
		if err := p.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if t := a.timers.Load(); t != nil {
		if err := t.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if e := a.events.Load(); e != nil {
		if err := e.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.queue != nil {
		if err := a.queue.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.sched != nil {
		if err := a.sched.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.logs != nil {
		// After the instances stopped (their last lines are buffered),
		// before the broker closes.
		if err := a.logs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.closeDriver != nil {
		if err := a.closeDriver(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := a.stopMeter(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.store != nil {
		if err := a.store.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.broker != nil {
		if err := a.broker.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startInstances builds the sandbox driver, the scheduler and the invoker.
func (a *App) startInstances() (*invoke.Invoker, error) {
	run, err := runDir(a.cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(run, 0o755); err != nil {
		return nil, fmt.Errorf("create run dir: %w", err)
	}
	if a.cfg.Instances.Network == scheduler.NetworkBridge && sandboxKind(a.cfg) != "linux" {
		return nil, errors.New("sandbox-network bridge needs the linux sandbox (root on Linux)")
	}
	driver, closeDriver, err := a.newDriver(run)
	if err != nil {
		return nil, fmt.Errorf("sandbox driver: %w", err)
	}
	a.closeDriver = closeDriver
	budget, err := memoryBudget(a.cfg)
	if err != nil {
		return nil, err
	}
	a.sched, err = scheduler.New(scheduler.Options{
		Driver: driver, Blobs: a.blobs, Interpreters: interpreters(a.cfg), WorkDir: run,
		CodeWorkDir: filepath.Join(a.cfg.DataDir, "instances"), Prewarm: a.cfg.Instances.Prewarm,
		CPULimit:     a.cfg.Instances.CPULimit == "strict",
		Network:      a.cfg.Instances.Network,
		MemoryBudget: budget, MaxInstances: a.cfg.Instances.MaxInstances,
		KeepAlive: a.cfg.Instances.KeepAlive, MaxLifetime: a.cfg.Instances.MaxLifetime,
		Registerer: a.registry, Logger: a.logger, LogSink: a.logSink(),
	})
	if err != nil {
		return nil, err
	}
	a.logger.Info("instances ready", "sandbox", sandboxKind(a.cfg), "memory_budget", budget, "run_dir", run)
	return invoke.New(invoke.Options{Store: a.store, Scheduler: a.sched, AccountID: a.creds.AccountID,
		Region: a.cfg.Region, Registerer: a.invocationMetrics(), Meter: a.meter, Logger: a.logger,
		Flow: newFlow(a.cfg), Limits: limitDefaults(a.cfg)}), nil
}

func (a *App) openBox() error {
	var key []byte
	var err error
	if a.cfg.MasterKey != "" {
		key, err = seal.ParseKey(a.cfg.MasterKey)
		if err != nil {
			return fmt.Errorf("OPENFC_MASTER_KEY: %w", err)
		}
	} else {
		var created bool
		path := filepath.Join(a.cfg.DataDir, "master.key")
		key, created, err = seal.LoadOrCreateKey(path)
		if err != nil {
			return err
		}
		if created {
			a.logger.Info("master key created", "path", path)
		}
	}
	a.box, err = seal.New(key)
	if err != nil {
		return err
	}
	// Keys for other purposes are derived, never the master key itself.
	a.derivedFrom = key
	return nil
}

// derive returns a key for one purpose, derived from the master key.
func (a *App) derive(purpose string) []byte {
	m := hmac.New(sha256.New, a.derivedFrom)
	m.Write([]byte("openfc/" + purpose))
	return m.Sum(nil)
}

func (a *App) lookupKey(id string) (auth.Key, bool) {
	k, ok := a.store.AccessKey(id)
	if !ok {
		return auth.Key{}, false
	}
	return auth.Key{ID: k.ID, Secret: k.Secret, SecurityToken: k.SecurityToken, AccountID: k.AccountID, Expires: k.Expires}, true
}

// ensureCredentials makes sure the node has an account and a root access
// key: from the environment when set, else the stored ones, else new ones.
func (a *App) ensureCredentials(ctx context.Context) error {
	env := a.cfg.Credentials
	acct, ok := a.store.Account()
	switch {
	case env.AccountID != "" && ok && acct.AccountID != env.AccountID:
		return fmt.Errorf("OPENFC_ACCOUNT_ID %s differs from the account %s stored in %s", env.AccountID, acct.AccountID, a.cfg.DataDir)
	case !ok:
		id := env.AccountID
		if id == "" {
			id = randomDigits(16)
		}
		var err error
		if acct, err = a.store.SetAccount(ctx, id); err != nil {
			return fmt.Errorf("store account: %w", err)
		}
	}
	a.creds = Credentials{AccountID: acct.AccountID, Region: a.cfg.Region}
	if env.AccessKeyID != "" {
		if err := a.store.PutAccessKey(ctx, store.AccessKey{ID: env.AccessKeyID, Secret: env.AccessKeySecret, AccountID: acct.AccountID}); err != nil {
			return fmt.Errorf("store access key: %w", err)
		}
		a.creds.AccessKeyID, a.creds.AccessKeySecret = env.AccessKeyID, env.AccessKeySecret
		return nil
	}
	if acct.RootKeyID != "" {
		if k, ok := a.store.AccessKey(acct.RootKeyID); ok {
			a.creds.AccessKeyID, a.creds.AccessKeySecret = k.ID, k.Secret
			return nil
		}
	}
	k := store.AccessKey{ID: "OFC" + randomString(17, upperAlnum), Secret: randomString(30, alnum), AccountID: acct.AccountID}
	if err := a.store.PutAccessKey(ctx, k); err != nil {
		return fmt.Errorf("store access key: %w", err)
	}
	if err := a.store.SetRootKey(ctx, k.ID); err != nil {
		return fmt.Errorf("store root key: %w", err)
	}
	a.creds.AccessKeyID, a.creds.AccessKeySecret = k.ID, k.Secret
	a.created = true
	return nil
}

func (a *App) writeCredentials() error {
	data, err := json.MarshalIndent(a.creds, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, "credentials.json")
	if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

const (
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// randomString draws n characters uniformly from alphabet (rejection
// sampling, so no character is more likely than another).
func randomString(n int, alphabet string) string {
	limit := byte(256 - 256%len(alphabet))
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails: crypto/rand.Read cannot return an error since Go 1.24
		for _, c := range buf {
			if c < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

func randomDigits(n int) string {
	s := randomString(n, "0123456789")
	if s[0] == '0' {
		s = "1" + s[1:]
	}
	return s
}

func validateCron(expr string) error {
	_, err := trigger.CronParser.Parse(expr)
	return err
}
