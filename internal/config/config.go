package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of an openfc node.
type Config struct {
	// Listen is the API's host:port (default 127.0.0.1:9700; port 0 picks a
	// free port).
	Listen string `yaml:"listen"`
	// AddrFile, if set, receives the bound host:port once the node is ready.
	AddrFile string `yaml:"addrFile"`
	// DataDir holds everything the node keeps: NATS data, master key,
	// credentials, code cache (default ./openfc-data).
	DataDir string `yaml:"dataDir"`
	// Region names the region in ARNs (default "local").
	Region string `yaml:"region"`
	NATS   NATS   `yaml:"nats"`
	Log    Log    `yaml:"log"`
	// Instances configures how functions run.
	Instances Instances `yaml:"instances"`
	// Flow configures flow control (limits set through the API override
	// the account's).
	Flow Flow `yaml:"flow"`
	// FunctionLogs configures the storage of function log lines.
	FunctionLogs FunctionLogs `yaml:"functionLogs"`
	// Observability switches metrics and metering.
	Observability Observability `yaml:"observability"`
	// Credentials come from the environment only (never a file or a flag,
	// which would put secrets in process listings or repositories).
	Credentials Credentials `yaml:"-"`
	// MasterKey (OPENFC_MASTER_KEY: 64 hex digits or base64 of 32 bytes)
	// replaces <data-dir>/master.key.
	MasterKey string `yaml:"-"`
	// CheckConfig asks serve to validate the configuration and exit.
	CheckConfig bool `yaml:"-"`
	// ConfigFile is the YAML file the configuration was read from, if any.
	ConfigFile string `yaml:"-"`
}

// NATS configures the broker.
type NATS struct {
	// URL of an external NATS server; empty embeds one.
	URL string `yaml:"url"`
	// Listen opens the embedded server's client port at host:port (default:
	// none, in-process connections only).
	Listen string `yaml:"listen"`
}

// Instances configures the sandboxes and the scheduler.
type Instances struct {
	// Sandbox is the sandbox driver: linux (namespaces, cgroups, seccomp;
	// needs root, or user namespaces with Rootless) or process (no
	// isolation, development only). Default: linux when running as root on
	// Linux or with Rootless, else process.
	Sandbox string `yaml:"sandbox"`
	// Memory is the node's memory budget for instances, e.g. "16GiB"
	// (default 75% of the machine's memory).
	Memory string `yaml:"memory"`
	// MaxInstances is the account's instance quota on this node (default
	// 100, FC's regional default).
	MaxInstances int `yaml:"maxInstances"`
	// KeepAlive is how long an idle instance lives (default 5m).
	KeepAlive time.Duration `yaml:"keepAlive"`
	// MaxLifetime is the age at which an instance is replaced (default 4h).
	MaxLifetime time.Duration `yaml:"maxLifetime"`
	// Python and Node are the interpreters of the built-in runtimes
	// (default /usr/bin/python3 and /usr/bin/node; never the first one on
	// PATH, which may be a slow version-manager shim).
	Python string `yaml:"python"`
	Node   string `yaml:"node"`
	// Prewarm is how many pre-started generic instances (python, nodejs)
	// or prepared sandboxes (custom, go1: the runtime is exec'ed on
	// demand) to keep ready per runtime and memory size in use (default
	// 2; -1 disables them).
	Prewarm int `yaml:"prewarm"`
	// CPULimit is none (default: CPU shares only, idle CPU usable by
	// anyone) or strict (also a hard quota of one CPU per 2 GB of memory,
	// applied once an instance is ready, never while it starts).
	CPULimit string `yaml:"cpuLimit"`
	// RunDir holds per-instance sockets and sandbox state; it must be short
	// (Unix socket paths are limited to 108 bytes). Default
	// /run/openfc/<hash of data-dir>.
	RunDir string `yaml:"runDir"`
	// Network is what a service's internetAccess means with the linux
	// sandbox: none (the default: loopback only, the flag is only stored)
	// or bridge (a veth onto a host bridge with NAT and an egress policy
	// denying private ranges, link-local, the host and other instances).
	Network string `yaml:"network"`
	// EgressAllow lists the IPv4 prefixes (CIDR) bridge-mode instances may
	// reach although the egress policy denies them, e.g. a database on
	// the private network.
	EgressAllow []string `yaml:"egressAllow"`
	// Rootless runs the linux sandbox without root: every instance in a
	// user namespace of its own mapping openfc's user to root inside.
	// Implied when openfc runs as an unprivileged user with sandbox linux;
	// it makes linux the default sandbox. Loses the resource limits
	// unless the user has a delegated cgroup v2 subtree, and the bridge
	// network (README, "Running without root").
	Rootless bool `yaml:"rootless"`
}

// EgressAllowPrefixes parses EgressAllow.
func (in Instances) EgressAllowPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in.EgressAllow {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("sandbox-egress-allow %q: use IPv4 CIDRs such as 10.1.2.0/24", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("sandbox-egress-allow %q: IPv4 only", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Flow configures flow control: the account's limits until limits are
// set through the API (openfc limits), and how calls over a limit wait.
type Flow struct {
	// AccountInvocationsPerSecond caps the account's invocations per
	// second on this node (sync, HTTP and async; default 0: no cap), with
	// AccountBurst above it at once (default: the rate).
	AccountInvocationsPerSecond float64 `yaml:"accountInvocationsPerSecond"`
	AccountBurst                int     `yaml:"accountBurst"`
	// QueueLength bounds each function's and service's waiting room for a
	// free slot under its concurrent-requests limit (default 100).
	QueueLength int `yaml:"queueLength"`
	// QueueTimeout is how long a call waits there before its 429
	// (default 2s).
	QueueTimeout time.Duration `yaml:"queueTimeout"`
	// NodeConcurrency caps the invocations in flight on the node, shared
	// fairly between functions: when it is reached, a function holding its
	// share (the cap divided by the busy functions) is refused at once and
	// others wait their turn (default 0: no cap).
	NodeConcurrency int `yaml:"nodeConcurrency"`
}

// Log configures the node's own logs (not function logs).
type Log struct {
	// Level is debug, info, warn or error (default info).
	Level string `yaml:"level"`
	// Format is text or json (default text).
	Format string `yaml:"format"`
}

// Credentials set the account and root access key for automation.
type Credentials struct {
	AccountID       string
	AccessKeyID     string
	AccessKeySecret string
}

// Default returns the single-binary configuration.
func Default() Config {
	return Config{
		Listen:        "127.0.0.1:9700",
		DataDir:       "./openfc-data",
		Region:        "local",
		Log:           Log{Level: "info", Format: "text"},
		Observability: defaultObservability(),
		Instances: Instances{
			MaxInstances: 100,
			Prewarm:      2,
			KeepAlive:    5 * time.Minute,
			MaxLifetime:  4 * time.Hour,
			Python:       "/usr/bin/python3",
			Node:         "/usr/bin/node",
		},
		Flow:         Flow{QueueLength: 100, QueueTimeout: 2 * time.Second},
		FunctionLogs: defaultFunctionLogs(),
	}
}

// ErrHelp is returned by Load when the arguments ask for help.
var ErrHelp = pflag.ErrHelp

// FlagSet returns the flags of `openfc serve`, bound to c. Load uses it;
// cli uses it to print help.
func FlagSet(c *Config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", c.Listen, "API address `host:port` (port 0 picks a free port) [OPENFC_LISTEN]")
	fs.StringVar(&c.AddrFile, "addr-file", c.AddrFile, "write the bound host:port to `file` once ready [OPENFC_ADDR_FILE]")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`dir`ectory for all node data [OPENFC_DATA_DIR]")
	fs.StringVar(&c.Region, "region", c.Region, "region `name` used in ARNs [OPENFC_REGION]")
	fs.StringVar(&c.NATS.URL, "nats-url", c.NATS.URL, "use the external NATS server at `url` instead of the embedded one [OPENFC_NATS_URL]")
	fs.StringVar(&c.NATS.Listen, "nats-listen", c.NATS.Listen, "open the embedded NATS client port at `host:port` [OPENFC_NATS_LISTEN]")
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "log `level`: debug, info, warn, error [OPENFC_LOG_LEVEL]")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "log `format`: text or json [OPENFC_LOG_FORMAT]")
	fs.StringVar(&c.Instances.Sandbox, "sandbox", c.Instances.Sandbox, "sandbox `driver`: linux or process (default linux as root on Linux or with --sandbox-rootless) [OPENFC_SANDBOX]")
	fs.StringVar(&c.Instances.Memory, "instance-memory", c.Instances.Memory, "memory `budget` for instances, e.g. 16GiB (default 75% of the machine) [OPENFC_INSTANCE_MEMORY]")
	fs.IntVar(&c.Instances.MaxInstances, "max-instances", c.Instances.MaxInstances, "instance quota of the account on this node [OPENFC_MAX_INSTANCES]")
	fs.DurationVar(&c.Instances.KeepAlive, "keep-alive", c.Instances.KeepAlive, "how long an idle instance lives [OPENFC_KEEP_ALIVE]")
	fs.DurationVar(&c.Instances.MaxLifetime, "max-instance-lifetime", c.Instances.MaxLifetime, "age at which an instance is replaced [OPENFC_MAX_INSTANCE_LIFETIME]")
	fs.StringVar(&c.Instances.Python, "python", c.Instances.Python, "Python 3 `interpreter` of the python runtimes [OPENFC_PYTHON]")
	fs.StringVar(&c.Instances.Node, "node", c.Instances.Node, "Node.js `interpreter` of the nodejs runtimes [OPENFC_NODE]")
	fs.IntVar(&c.Instances.Prewarm, "prewarm", c.Instances.Prewarm, "pre-started instances (python, nodejs) or prepared sandboxes (custom, go1) per runtime and memory size (-1: none) [OPENFC_PREWARM]")
	fs.StringVar(&c.Instances.CPULimit, "cpu-limit", c.Instances.CPULimit, "none (CPU shares only) or strict (also one CPU per 2 GB of memory, once started) [OPENFC_CPU_LIMIT]")
	fs.StringVar(&c.Instances.Network, "sandbox-network", c.Instances.Network, "what internetAccess gives: none (loopback only) or bridge (NAT with an egress policy; linux sandbox) (default none) [OPENFC_SANDBOX_NETWORK]")
	fs.StringSliceVar(&c.Instances.EgressAllow, "sandbox-egress-allow", c.Instances.EgressAllow, "`CIDR`s bridge-mode instances may reach despite the egress policy (private ranges, link-local, the host) [OPENFC_SANDBOX_EGRESS_ALLOW]")
	fs.BoolVar(&c.Instances.Rootless, "sandbox-rootless", c.Instances.Rootless, "run the linux sandbox without root, in user namespaces (no resource limits without a delegated cgroup v2 subtree; no bridge network) [OPENFC_SANDBOX_ROOTLESS]")
	fs.StringVar(&c.Instances.RunDir, "run-dir", c.Instances.RunDir, "short `dir`ectory for instance sockets (default /run/openfc/<hash>) [OPENFC_RUN_DIR]")
	fs.Float64Var(&c.Flow.AccountInvocationsPerSecond, "account-invocations-per-second", c.Flow.AccountInvocationsPerSecond, "cap on the account's invocations per second on this node (0: none; openfc limits overrides it)")
	fs.IntVar(&c.Flow.AccountBurst, "account-burst", c.Flow.AccountBurst, "invocations admitted at once above the account's rate (0: the rate)")
	fs.IntVar(&c.Flow.QueueLength, "flow-queue-length", c.Flow.QueueLength, "calls that may wait per function or service over its concurrent-requests limit")
	fs.DurationVar(&c.Flow.QueueTimeout, "flow-queue-timeout", c.Flow.QueueTimeout, "how long a call waits over a concurrent-requests limit before its 429")
	fs.IntVar(&c.Flow.NodeConcurrency, "node-concurrency", c.Flow.NodeConcurrency, "cap on the node's invocations in flight, shared fairly between functions (0: none)")
	fs.BoolVar(&c.Observability.Metrics, "metrics", c.Observability.Metrics, "count invocations for /metrics (false: runtime and instance gauges only) [OPENFC_METRICS]")
	fs.BoolVar(&c.Observability.Metering, "metering", c.Observability.Metering, "write a usage record per invocation and provisioned interval [OPENFC_METERING]")
	fs.DurationVar(&c.Observability.BillingGranularity, "billing-granularity", c.Observability.BillingGranularity, "unit billed durations are rounded up to (1ms: exact) [OPENFC_BILLING_GRANULARITY]")
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "read settings from the YAML `file` [OPENFC_CONFIG]")
	fs.BoolVar(&c.CheckConfig, "check-config", c.CheckConfig, "validate the configuration and exit")
	functionLogFlags(fs, c)
	return fs
}

// envNames maps OPENFC_* variables to the fields they set.
func envFields(c *Config) map[string]*string {
	return map[string]*string{
		"OPENFC_LISTEN":            &c.Listen,
		"OPENFC_ADDR_FILE":         &c.AddrFile,
		"OPENFC_DATA_DIR":          &c.DataDir,
		"OPENFC_REGION":            &c.Region,
		"OPENFC_NATS_URL":          &c.NATS.URL,
		"OPENFC_NATS_LISTEN":       &c.NATS.Listen,
		"OPENFC_LOG_LEVEL":         &c.Log.Level,
		"OPENFC_LOG_FORMAT":        &c.Log.Format,
		"OPENFC_ACCOUNT_ID":        &c.Credentials.AccountID,
		"OPENFC_ACCESS_KEY_ID":     &c.Credentials.AccessKeyID,
		"OPENFC_ACCESS_KEY_SECRET": &c.Credentials.AccessKeySecret,
		"OPENFC_MASTER_KEY":        &c.MasterKey,
		"OPENFC_SANDBOX":           &c.Instances.Sandbox,
		"OPENFC_INSTANCE_MEMORY":   &c.Instances.Memory,
		"OPENFC_PYTHON":            &c.Instances.Python,
		"OPENFC_NODE":              &c.Instances.Node,
		"OPENFC_RUN_DIR":           &c.Instances.RunDir,
		"OPENFC_CPU_LIMIT":         &c.Instances.CPULimit,
		"OPENFC_SANDBOX_NETWORK":   &c.Instances.Network,
	}
}

// Load builds the configuration from defaults, the config file, the
// environment (KEY=VALUE strings, as os.Environ) and the arguments of
// `openfc serve`. It reads only the config file from disk.
func Load(args, env []string) (Config, error) {
	c := Default()
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OPENFC_") {
			vars[k] = v
		}
	}
	// The config file is named by a flag or the environment but read
	// first, since flags and environment override it.
	file := vars["OPENFC_CONFIG"]
	pre := FlagSet(&Config{})
	pre.Usage = func() {}
	pre.SetOutput(discard{})
	pre.ParseErrorsAllowlist.UnknownFlags = true
	if err := pre.Parse(args); err == nil {
		if f, _ := pre.GetString("config"); f != "" {
			file = f
		}
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, errEOF(err)) {
			return c, fmt.Errorf("config file %s: %w", file, err)
		}
		c.ConfigFile = file
	}
	for k, field := range envFields(&c) {
		if v, ok := vars[k]; ok {
			*field = v
		}
	}
	for k, field := range map[string]*time.Duration{"OPENFC_KEEP_ALIVE": &c.Instances.KeepAlive, "OPENFC_MAX_INSTANCE_LIFETIME": &c.Instances.MaxLifetime} {
		if v, ok := vars[k]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s=%q: use a duration such as 5m", k, v)
			}
			*field = d
		}
	}
	if v, ok := vars["OPENFC_SANDBOX_EGRESS_ALLOW"]; ok {
		c.Instances.EgressAllow = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Instances.EgressAllow = append(c.Instances.EgressAllow, p)
			}
		}
	}
	if v, ok := vars["OPENFC_SANDBOX_ROOTLESS"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("OPENFC_SANDBOX_ROOTLESS=%q: use true or false", v)
		}
		c.Instances.Rootless = b
	}
	if err := loadObservabilityEnv(&c, vars); err != nil {
		return c, err
	}
	if v, ok := vars["OPENFC_MAX_INSTANCES"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("OPENFC_MAX_INSTANCES=%q: use a number", v)
		}
		c.Instances.MaxInstances = n
	}
	if err := functionLogEnv(&c, vars); err != nil {
		return c, err
	}
	fs := FlagSet(&c)
	fs.Usage = func() {}
	fs.SetOutput(discard{})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: serve takes only flags", fs.Arg(0))
	}
	return c, nil
}

// errEOF treats an empty config file as valid.
func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return errors.New("not eof")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: use host:port, e.g. 127.0.0.1:9700", c.Listen))
	}
	if c.NATS.Listen != "" {
		if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
			errs = append(errs, fmt.Errorf("nats-listen %q: use host:port", c.NATS.Listen))
		}
	}
	if c.NATS.URL != "" && c.NATS.Listen != "" {
		errs = append(errs, errors.New("nats-listen applies to the embedded NATS server only; drop it or nats-url"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is empty"))
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: use text or json", c.Log.Format))
	}
	cr := c.Credentials
	if (cr.AccessKeyID == "") != (cr.AccessKeySecret == "") {
		errs = append(errs, errors.New("OPENFC_ACCESS_KEY_ID and OPENFC_ACCESS_KEY_SECRET must be set together"))
	}
	if cr.AccessKeySecret != "" && len(cr.AccessKeySecret) < 16 {
		errs = append(errs, errors.New("OPENFC_ACCESS_KEY_SECRET is shorter than 16 characters"))
	}
	if cr.AccountID != "" && !allDigits(cr.AccountID) {
		errs = append(errs, fmt.Errorf("OPENFC_ACCOUNT_ID %q: use digits only, as FC account IDs", cr.AccountID))
	}
	if in := c.Instances; in.Sandbox != "" && in.Sandbox != "linux" && in.Sandbox != "process" {
		errs = append(errs, fmt.Errorf("sandbox %q: use linux or process", in.Sandbox))
	}
	if in := c.Instances; in.Rootless && in.Sandbox == "process" {
		errs = append(errs, errors.New("sandbox-rootless is a mode of the linux sandbox, not of process"))
	}
	switch in := c.Instances; in.Network {
	case "", "none":
	case "bridge":
		if in.Sandbox == "process" {
			errs = append(errs, errors.New("sandbox-network bridge needs the linux sandbox"))
		}
		if in.Rootless {
			errs = append(errs, errors.New("sandbox-network bridge needs root: not with sandbox-rootless, whose instances have loopback only"))
		}
	default:
		errs = append(errs, fmt.Errorf("sandbox-network %q: use none or bridge", in.Network))
	}
	if _, err := c.Instances.EgressAllowPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if l := c.Instances.CPULimit; l != "" && l != "none" && l != "strict" {
		errs = append(errs, fmt.Errorf("cpu-limit %q: use none or strict", l))
	}
	if c.Instances.Memory != "" {
		if _, err := ParseBytes(c.Instances.Memory); err != nil {
			errs = append(errs, fmt.Errorf("instance-memory: %w", err))
		}
	}
	if c.Instances.MaxInstances < 1 {
		errs = append(errs, errors.New("max-instances must be at least 1"))
	}
	if f := c.Flow; f.AccountInvocationsPerSecond < 0 || f.AccountBurst < 0 || f.QueueLength < -1 || f.QueueTimeout < 0 || f.NodeConcurrency < 0 {
		errs = append(errs, errors.New("account-invocations-per-second, account-burst, flow-queue-timeout and node-concurrency must be 0 or more; flow-queue-length -1 (no waiting) or more"))
	}
	if c.Instances.KeepAlive <= 0 || c.Instances.MaxLifetime <= 0 {
		errs = append(errs, errors.New("keep-alive and max-instance-lifetime must be positive durations"))
	}
	if err := c.validateObservability(); err != nil {
		errs = append(errs, err)
	}
	if c.Region == "" || strings.ContainsAny(c.Region, ":/ ") {
		errs = append(errs, fmt.Errorf("region %q: use a name such as local or cn-hangzhou", c.Region))
	}
	if err := c.FunctionLogs.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SlogLevel returns the slog level of the configured log level.
func (l Log) SlogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("log-level %q: use debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// ParseBytes parses a size such as "512MiB", "16GiB", "1G" or "1048576".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: use a number with a unit, e.g. 512MiB or 16GiB", s)
	}
	return int64(n * float64(mult)), nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
