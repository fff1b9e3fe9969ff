package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

type config struct {
	endpoint, accountID, keyID, secret, dataDir string
	duration                                    time.Duration
	concurrency                                 []int
	cold                                        int
	runtimes                                    []string
	scale                                       int
	scaleSleep                                  time.Duration
	coldGap                                     time.Duration
	jsonOut                                     string
	only                                        string
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("fcbench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `fcbench measures a running openfc through its public API.

Usage:
  fcbench [flags]

Examples:
  fcbench --data-dir ./openfc-data                      # endpoint and keys from credentials.json
  fcbench --only warm --duration 5s --concurrency 1,32
  fcbench --only cold --cold 30 --runtimes python3,nodejs20,custom --json cold.json

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.endpoint, "endpoint", os.Getenv("OPENFC_ENDPOINT"), "openfc API URL (default from credentials.json)")
	fs.StringVar(&c.accountID, "account-id", os.Getenv("OPENFC_ACCOUNT_ID"), "account ID")
	fs.StringVar(&c.keyID, "access-key-id", os.Getenv("OPENFC_ACCESS_KEY_ID"), "access key ID")
	fs.StringVar(&c.secret, "access-key-secret", os.Getenv("OPENFC_ACCESS_KEY_SECRET"), "access key secret")
	fs.StringVar(&c.dataDir, "data-dir", "./openfc-data", "openfc data dir whose credentials.json to read when keys are not given")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long each warm measurement runs")
	conc := fs.String("concurrency", "1,32,128", "comma-separated client concurrencies of the warm measurement")
	fs.IntVar(&c.cold, "cold", 20, "cold starts per runtime")
	rts := fs.String("runtimes", "python3,nodejs20,custom", "runtimes whose cold start to measure")
	fs.DurationVar(&c.coldGap, "cold-gap", 300*time.Millisecond, "pause between cold starts (lets the platform refill its pre-started instances, as between real cold starts)")
	fs.IntVar(&c.scale, "scale", 100, "instances of the scale-out measurement (0 skips it)")
	fs.DurationVar(&c.scaleSleep, "scale-sleep", time.Second, "how long each call of the scale-out measurement holds its instance")
	fs.StringVar(&c.jsonOut, "json", "", "also write the figures as JSON to `file`")
	fs.StringVar(&c.only, "only", "", "run one measurement: warm, cold, scale or timeout")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--concurrency %q: use numbers such as 1,32,128", *conc)
		}
		c.concurrency = append(c.concurrency, n)
	}
	c.runtimes = strings.Split(*rts, ",")
	if c.keyID == "" {
		data, err := os.ReadFile(c.dataDir + "/credentials.json")
		if err != nil {
			return nil, fmt.Errorf("no access key given and %s/credentials.json unreadable (%v): pass --endpoint and keys or --data-dir", c.dataDir, err)
		}
		var cr struct{ AccountID, AccessKeyID, AccessKeySecret, Endpoint string }
		if err := json.Unmarshal(data, &cr); err != nil {
			return nil, fmt.Errorf("read credentials.json: %w", err)
		}
		c.accountID, c.keyID, c.secret = cr.AccountID, cr.AccessKeyID, cr.AccessKeySecret
		if c.endpoint == "" {
			c.endpoint = cr.Endpoint
		}
	}
	if c.endpoint == "" {
		c.endpoint = "http://127.0.0.1:9700"
	}
	return c, nil
}

// Stats summarises latencies of one measurement.
type Stats struct {
	Name       string  `json:"name"`
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	Throughput float64 `json:"throughput_per_s,omitempty"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	// ServerP50 is the server-reported instance start duration (cold).
	ServerP50 float64 `json:"server_init_p50_ms,omitempty"`
	ServerP99 float64 `json:"server_init_p99_ms,omitempty"`
}

func summarise(name string, lat []time.Duration, errs int, wall time.Duration) Stats {
	s := Stats{Name: name, Calls: len(lat), Errors: errs}
	if len(lat) == 0 {
		return s
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return ms(lat[int(float64(len(lat)-1)*p)]) }
	s.P50, s.P90, s.P99, s.Max = q(0.5), q(0.9), q(0.99), ms(lat[len(lat)-1])
	if wall > 0 {
		s.Throughput = float64(len(lat)) / wall.Seconds()
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Report is everything one run measured.
type Report struct {
	Machine  string    `json:"machine"`
	Started  time.Time `json:"started"`
	Endpoint string    `json:"endpoint"`
	Warm     []Stats   `json:"warm,omitempty"`
	Cold     []Stats   `json:"cold,omitempty"`
	Scale    []Stats   `json:"scale,omitempty"`
	Timeout  []Stats   `json:"timeout,omitempty"`
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := client.New(client.Options{Endpoint: cfg.endpoint, AccountID: cfg.accountID, AccessKeyID: cfg.keyID,
		AccessKeySecret: cfg.secret, HTTPClient: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}})
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, c: c}
	rep := Report{Machine: machine(), Started: time.Now().UTC(), Endpoint: cfg.endpoint}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("set up benchmark functions: %w", err)
	}
	if cfg.only == "" || cfg.only == "warm" {
		rep.Warm, err = b.warm(ctx)
		if err != nil {
			return err
		}
	}
	if cfg.only == "" || cfg.only == "cold" {
		rep.Cold, err = b.coldStarts(ctx)
		if err != nil {
			return err
		}
	}
	if (cfg.only == "" || cfg.only == "scale") && cfg.scale > 0 {
		rep.Scale, err = b.scaleOut(ctx)
		if err != nil {
			return err
		}
	}
	if cfg.only == "" || cfg.only == "timeout" {
		rep.Timeout, err = b.timeouts(ctx)
		if err != nil {
			return err
		}
	}
	print(os.Stdout, rep)
	if cfg.jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func machine() string {
	model := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d CPU %s, %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

type bench struct {
	cfg *config
	c   *client.Client
}

const service = "fcbench"

// functions the benchmark deploys.
var sources = map[string]map[string]string{
	"python3":  {"index.py": "def handler(event, context):\n    if event.startswith(b'sleep '):\n        import time\n        time.sleep(float(event[6:].decode()))\n    return 'ok'\n"},
	"nodejs20": {"index.js": "exports.handler = (event, context, callback) => callback(null, 'ok');\n"},
}

func (b *bench) setup(ctx context.Context) error {
	if _, _, err := b.c.CreateService(ctx, &fc.Service{ServiceName: service}); err != nil && !isCode(err, fc.CodeServiceAlreadyExists) {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	selfBin, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	for _, rt := range []string{"custom", "python3", "nodejs20"} {
		files := sources[rt]
		mode := map[string]bool{}
		if rt == "custom" {
			files = map[string]string{"bootstrap": string(selfBin)}
			mode["bootstrap"] = true
		}
		zip64, err := zipFiles(files, mode)
		if err != nil {
			return err
		}
		in := &fc.FunctionInput{Function: fc.Function{FunctionName: fnName(rt), Runtime: rt, Handler: "index.handler",
			InstanceConcurrency: 100, Timeout: 60}, Code: &fc.Code{ZipFile: zip64}}
		if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil {
			if !isCode(err, fc.CodeFunctionAlreadyExists) {
				return err
			}
			if _, _, err := b.c.UpdateFunction(ctx, service, fnName(rt), in, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func fnName(rt string) string { return "noop-" + strings.ReplaceAll(rt, ".", "-") }

func isCode(err error, code string) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Code == code
}

func zipFiles(files map[string]string, exec map[string]bool) (string, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if exec[name] {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return "", err
		}
		if _, err := w.Write([]byte(body)); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// invoke calls a function and returns its latency and response headers.
func (b *bench) invoke(ctx context.Context, function, payload string) (time.Duration, http.Header, error) {
	t0 := time.Now()
	resp, err := b.c.Send(ctx, client.Request{Method: "POST",
		Path: "/2016-08-15/services/" + service + "/functions/" + function + "/invocations", Body: []byte(payload)})
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-Fc-Error-Type") != "" || string(body) != "ok" {
		return d, resp.Header, fmt.Errorf("status %d %s: %.200s", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	return d, resp.Header, nil
}

// load runs fn from conc goroutines for d and collects latencies.
func load(ctx context.Context, conc int, d time.Duration, fn func(context.Context) (time.Duration, error)) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			var local []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				l, err := fn(ctx)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				local = append(local, l)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "fcbench: %d errors, first: %s\n", errs.Load(), e)
	}
	return lat, int(errs.Load()), time.Since(start)
}

// warm measures warm invocations of the noop custom function and of the
// baseline server at each concurrency.
func (b *bench) warm(ctx context.Context) ([]Stats, error) {
	base, stop, err := baseline()
	if err != nil {
		return nil, err
	}
	defer stop()
	bc := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
	var out []Stats
	for _, fn := range []string{fnName("custom"), fnName("python3")} {
		// Warm up: enough instances for the highest concurrency.
		load(ctx, 8, 500*time.Millisecond, func(ctx context.Context) (time.Duration, error) {
			d, _, err := b.invoke(ctx, fn, "x")
			return d, err
		})
		for _, conc := range b.cfg.concurrency {
			lat, errs, wall := load(ctx, conc, b.cfg.duration, func(ctx context.Context) (time.Duration, error) {
				d, _, err := b.invoke(ctx, fn, "x")
				return d, err
			})
			out = append(out, summarise(fmt.Sprintf("openfc %s c=%d", fn, conc), lat, errs, wall))
			if fn != fnName("custom") {
				continue
			}
			lat, errs, wall = load(ctx, conc, b.cfg.duration, func(ctx context.Context) (time.Duration, error) {
				return callBaseline(ctx, bc, base)
			})
			out = append(out, summarise(fmt.Sprintf("baseline c=%d", conc), lat, errs, wall))
		}
	}
	return out, nil
}

// baseline starts a bare Go HTTP server doing the noop's work on loopback
// TCP, as the platform's API is reached.
func baseline() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(noop), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/invoke", func() { srv.Close() }, nil
}

func callBaseline(ctx context.Context, c *http.Client, url string) (time.Duration, error) {
	t0 := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "ok" {
		return 0, fmt.Errorf("baseline answered %q: %v", body, err)
	}
	return time.Since(t0), nil
}

// coldStarts measures first calls of functions that have no instance:
// for each runtime it creates --cold copies of the noop function up front
// (not measured), then calls each once, pausing --cold-gap between calls.
// Distinct functions, rather than updates of one, keep the teardown of the
// previous instance off the measured start, as for real cold starts.
func (b *bench) coldStarts(ctx context.Context) ([]Stats, error) {
	var out []Stats
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	selfBin, err := os.ReadFile(self)
	if err != nil {
		return nil, err
	}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	for _, rt := range b.cfg.runtimes {
		files, mode := sources[rt], map[string]bool{}
		if rt == "custom" {
			files, mode = map[string]string{"bootstrap": string(selfBin)}, map[string]bool{"bootstrap": true}
		}
		if files == nil {
			return nil, fmt.Errorf("no noop function for runtime %q", rt)
		}
		zip64, err := zipFiles(files, mode)
		if err != nil {
			return nil, err
		}
		names := make([]string, b.cfg.cold)
		for i := range names {
			names[i] = fmt.Sprintf("cold-%s-%s-%d", strings.ReplaceAll(rt, ".", "-"), run, i)
			in := &fc.FunctionInput{Function: fc.Function{FunctionName: names[i], Runtime: rt, Handler: "index.handler"},
				Code: &fc.Code{ZipFile: zip64}}
			if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil {
				return nil, fmt.Errorf("create %s: %w", names[i], err)
			}
		}
		var lat, server []time.Duration
		errs := 0
		for _, fn := range names {
			time.Sleep(b.cfg.coldGap)
			d, h, err := b.invoke(ctx, fn, "x")
			if err != nil || h.Get("X-Openfc-Cold-Start") != "true" {
				errs++
				continue
			}
			lat = append(lat, d)
			if v, err := strconv.ParseFloat(h.Get("X-Openfc-Init-Duration"), 64); err == nil {
				server = append(server, time.Duration(v*float64(time.Millisecond)))
			}
		}
		for _, fn := range names {
			b.c.DeleteFunction(ctx, service, fn, "") // best effort: leave the service tidy
		}
		s := summarise("cold "+rt, lat, errs, 0)
		if ss := summarise("", server, 0, 0); len(server) > 0 {
			s.ServerP50, s.ServerP99 = ss.P50, ss.P99
		}
		out = append(out, s)
	}
	// Baseline: start the same noop server as a plain process, until it
	// answers, as fast as the machine allows without any platform.
	lat, errs := b.baselineColdStarts(ctx)
	out = append(out, summarise("baseline cold (fork/exec noop server)", lat, errs, 0))
	return out, nil
}

func (b *bench) baselineColdStarts(ctx context.Context) ([]time.Duration, int) {
	self, err := os.Executable()
	if err != nil {
		return nil, 1
	}
	dir, err := os.MkdirTemp("", "fcbench-")
	if err != nil {
		return nil, 1
	}
	defer os.RemoveAll(dir)
	boot := dir + "/bootstrap"
	if err := os.Link(self, boot); err != nil {
		data, _ := os.ReadFile(self)
		os.WriteFile(boot, data, 0o755)
	}
	var lat []time.Duration
	errs := 0
	for range b.cfg.cold {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		t0 := time.Now()
		cmd := execCommand(boot, "FC_CUSTOM_LISTEN_PORT="+strconv.Itoa(port))
		if err := cmd.Start(); err != nil {
			errs++
			continue
		}
		c := &http.Client{Transport: &http.Transport{}}
		ok := false
		for time.Since(t0) < 10*time.Second {
			if _, err := callBaseline(ctx, c, "http://127.0.0.1:"+strconv.Itoa(port)+"/invoke"); err == nil {
				ok = true
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		d := time.Since(t0)
		cmd.Process.Kill()
		cmd.Wait()
		if ok {
			lat = append(lat, d)
		} else {
			errs++
		}
	}
	return lat, errs
}

// scaleOut sends N concurrent calls that each hold an instance (python3,
// concurrency 1) and reports how long the last one waited for its
// instance: its latency minus the time it held the instance.
func (b *bench) scaleOut(ctx context.Context) ([]Stats, error) {
	fn := "scale-python3"
	zip64, err := zipFiles(sources["python3"], nil)
	if err != nil {
		return nil, err
	}
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: fn, Runtime: "python3", Handler: "index.handler", InstanceConcurrency: 1},
		Code: &fc.Code{ZipFile: zip64}}
	if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil {
		if !isCode(err, fc.CodeFunctionAlreadyExists) {
			return nil, err
		}
	}
	// A fresh revision: start from zero instances.
	if _, _, err := b.c.UpdateFunction(ctx, service, fn, map[string]any{"environmentVariables": map[string]string{"R": time.Now().String()}}, ""); err != nil {
		return nil, err
	}
	n := b.cfg.scale
	lat := make([]time.Duration, n)
	errs := atomic.Int64{}
	var wg sync.WaitGroup
	t0 := time.Now()
	payload := "sleep " + strconv.FormatFloat(b.cfg.scaleSleep.Seconds(), 'f', -1, 64)
	for i := range n {
		wg.Go(func() {
			d, _, err := b.invoke(ctx, fn, payload)
			if err != nil {
				errs.Add(1)
				fmt.Fprintln(os.Stderr, "fcbench: scale call:", err)
			}
			lat[i] = d - b.cfg.scaleSleep
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	s := summarise(fmt.Sprintf("scale 0->%d python3 (instance wait)", n), lat, int(errs.Load()), 0)
	s.Throughput = 0
	_ = wall
	return []Stats{s}, nil
}

func print(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "machine: %s\nendpoint: %s\n\n", r.Machine, r.Endpoint)
	fmt.Fprintln(tw, "MEASUREMENT\tCALLS\tERRORS\tREQ/S\tP50 ms\tP90 ms\tP99 ms\tMAX ms\tSERVER INIT P50/P99 ms")
	for _, group := range [][]Stats{r.Warm, r.Cold, r.Scale, r.Timeout} {
		for _, s := range group {
			init := ""
			if s.ServerP50 > 0 {
				init = fmt.Sprintf("%.2f / %.2f", s.ServerP50, s.ServerP99)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\n", s.Name, s.Calls, s.Errors, s.Throughput, s.P50, s.P90, s.P99, s.Max, init)
		}
	}
	tw.Flush()
}

// timeouts measures how late a timed-out invocation answers: a python3
// function with a 1 s timeout sleeps 5 s; the overshoot is the
// invocation's duration (X-Fc-Invocation-Duration, from the call to the
// instance to the answer) minus the timeout.
func (b *bench) timeouts(ctx context.Context) ([]Stats, error) {
	fn := "timeout-python3"
	zip64, err := zipFiles(sources["python3"], nil)
	if err != nil {
		return nil, err
	}
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: fn, Runtime: "python3", Handler: "index.handler", Timeout: 1},
		Code: &fc.Code{ZipFile: zip64}}
	if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil && !isCode(err, fc.CodeFunctionAlreadyExists) {
		return nil, err
	}
	var over []time.Duration
	errs := 0
	for range 10 {
		_, h, err := b.invoke(ctx, fn, "sleep 5")
		if err == nil || h == nil || h.Get("X-Fc-Error-Type") == "" {
			errs++
			continue
		}
		d, perr := strconv.Atoi(h.Get("X-Fc-Invocation-Duration"))
		if perr != nil {
			errs++
			continue
		}
		over = append(over, time.Duration(d)*time.Millisecond-time.Second)
	}
	return []Stats{summarise("timeout 1 s: answer after the deadline", over, errs, 0)}, nil
}
