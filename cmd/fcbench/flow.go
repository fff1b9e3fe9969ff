package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

// FlowReport is what `fcbench flow` measured.
type FlowReport struct {
	Machine  string    `json:"machine"`
	Started  time.Time `json:"started"`
	Endpoint string    `json:"endpoint"`
	// Warm calls of the noop custom function: LATEST without limits, then
	// through an alias with account, service and function limits set,
	// alternated over rounds; P50Added is the difference of the medians.
	Warm     []Stats `json:"warm"`
	P50Added float64 `json:"p50_added_ms"`
	// Provision is the time from PutProvisionConfig to current = target.
	// ProvisionBaselineMS, measured in the same run, is the on-demand way
	// to the same number of python3 instances: target parallel calls that
	// each hold an instance, until the last one got its instance.
	ProvisionTarget     int     `json:"provision_target"`
	ProvisionMS         float64 `json:"provision_ms"`
	ProvisionBaselineMS float64 `json:"provision_baseline_ms"`
	// Neighbour is the well-behaved function's latency alone and while
	// another function is flooded at 10x its concurrency limit, and the
	// flood's own outcome.
	Neighbour []Stats `json:"neighbour"`
}

// runFlow is `fcbench flow`: flow control and provisioning figures.
func runFlow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcbench flow", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `fcbench flow measures flow control and provisioned instances:
the p50 added to a warm call by an alias and flow-control limits, the time
provisioned instances take to reach their target, and a function's latency
while another one is flooded at 10x its concurrency limit.

Usage:
  fcbench flow [flags]

Examples:
  fcbench flow --data-dir ./openfc-data
  fcbench flow --rounds 5 --duration 3s --provision 50 --json flow.json

Flags:
`)
		fs.PrintDefaults()
	}
	endpoint := fs.String("endpoint", os.Getenv("OPENFC_ENDPOINT"), "openfc API URL (default from credentials.json)")
	dataDir := fs.String("data-dir", "./openfc-data", "openfc data dir whose credentials.json to read")
	duration := fs.Duration("duration", 3*time.Second, "how long each warm measurement runs")
	rounds := fs.Int("rounds", 3, "alternated rounds of the warm measurement")
	provision := fs.Int("provision", 50, "provisioned python3 instances to bring up (0 skips)")
	limit := fs.Int("flood-limit", 4, "concurrency limit of the flooded function (flooded by 10x this many clients)")
	floodRate := fs.Float64("flood-rate", 200, "invocations-per-second limit of the flooded function (0: none)")
	jsonOut := fs.String("json", "", "also write the figures as JSON to `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg := &config{endpoint: *endpoint, dataDir: *dataDir, accountID: os.Getenv("OPENFC_ACCOUNT_ID"),
		keyID: os.Getenv("OPENFC_ACCESS_KEY_ID"), secret: os.Getenv("OPENFC_ACCESS_KEY_SECRET")}
	if err := loadCredentials(cfg); err != nil {
		return err
	}
	c, err := client.New(client.Options{Endpoint: cfg.endpoint, AccountID: cfg.accountID, AccessKeyID: cfg.keyID,
		AccessKeySecret: cfg.secret, HTTPClient: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}})
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, c: c}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("set up benchmark functions: %w", err)
	}
	rep := FlowReport{Machine: machine(), Started: time.Now().UTC(), Endpoint: cfg.endpoint, ProvisionTarget: *provision}
	if rep.Warm, rep.P50Added, err = b.flowWarm(ctx, *rounds, *duration); err != nil {
		return err
	}
	if *provision > 0 {
		if rep.ProvisionMS, err = b.flowProvision(ctx, *provision); err != nil {
			return err
		}
		b.cfg.scale, b.cfg.scaleSleep = *provision, time.Second
		st, err := b.scaleOut(ctx)
		if err != nil {
			return fmt.Errorf("on-demand baseline of the provisioning: %w", err)
		}
		rep.ProvisionBaselineMS = st[0].Max
		// A new revision drains the baseline's idle instances, so that they
		// do not hold the node's quota in the next run's measurement.
		if _, _, err := b.c.UpdateFunction(ctx, service, "scale-python3", map[string]any{"environmentVariables": map[string]string{"R": "released"}}, ""); err != nil {
			return fmt.Errorf("release the on-demand baseline's instances: %w", err)
		}
	}
	if rep.Neighbour, err = b.flowNeighbour(ctx, *limit, *floodRate, *duration); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "machine: %s\n", rep.Machine)
	fmt.Fprintln(tw, "measurement\tcalls\terrors\tp50 ms\tp90 ms\tp99 ms\tmax ms")
	for _, s := range append(append([]Stats{}, rep.Warm...), rep.Neighbour...) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", s.Name, s.Calls, s.Errors, s.P50, s.P90, s.P99, s.Max)
	}
	fmt.Fprintf(tw, "alias + flow control p50 added: %.3f ms\n", rep.P50Added)
	if *provision > 0 {
		fmt.Fprintf(tw, "provisioned current 0 -> %d python3: %.0f ms (on-demand scale-out to as many, same run: %.0f ms)\n",
			*provision, rep.ProvisionMS, rep.ProvisionBaselineMS)
	}
	tw.Flush()
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
	}
	return nil
}

// loadCredentials fills the endpoint and keys from credentials.json when
// no key was given.
func loadCredentials(cfg *config) error {
	if cfg.keyID == "" {
		data, err := os.ReadFile(cfg.dataDir + "/credentials.json")
		if err != nil {
			return fmt.Errorf("no access key given and %s/credentials.json unreadable (%v): pass --endpoint and keys or --data-dir", cfg.dataDir, err)
		}
		var cr struct{ AccountID, AccessKeyID, AccessKeySecret, Endpoint string }
		if err := json.Unmarshal(data, &cr); err != nil {
			return fmt.Errorf("read credentials.json: %w", err)
		}
		cfg.accountID, cfg.keyID, cfg.secret = cr.AccountID, cr.AccessKeyID, cr.AccessKeySecret
		if cfg.endpoint == "" {
			cfg.endpoint = cr.Endpoint
		}
	}
	if cfg.endpoint == "" {
		cfg.endpoint = "http://127.0.0.1:9700"
	}
	return nil
}

// invokeQ calls a function of the benchmark service at a qualifier.
func (b *bench) invokeQ(ctx context.Context, qualifier, function, payload string) (time.Duration, int, error) {
	svc := service
	if qualifier != "" {
		svc += "." + qualifier
	}
	t0 := time.Now()
	resp, err := b.c.Send(ctx, client.Request{Method: "POST",
		Path: "/2016-08-15/services/" + svc + "/functions/" + function + "/invocations", Body: []byte(payload)})
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-Fc-Error-Type") != "" || string(body) != "ok" {
		return d, resp.StatusCode, fmt.Errorf("status %d %s: %.200s", resp.StatusCode, resp.Header.Get("X-Fc-Error-Type"), body)
	}
	return d, 200, nil
}

// setLimits sets (on) or lifts (off) generous limits on the account, the
// benchmark service and the noop custom function: none refuses a call,
// every one is checked on each.
func (b *bench) setLimits(ctx context.Context, on bool) error {
	fn := fnName("custom")
	scopes := [][2]string{{"", ""}, {service, ""}, {service, fn}}
	for _, s := range scopes {
		var err error
		if on {
			l := &fc.Limits{InvocationsPerSecond: 1e6, Burst: 1e6}
			if s[0] != "" {
				l.ConcurrentRequests = 100000
			}
			_, _, err = b.c.PutLimits(ctx, s[0], s[1], l)
		} else if _, err = b.c.DeleteLimits(ctx, s[0], s[1]); isCode(err, "LimitsNotFound") {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("limits of %q: %w", s, err)
		}
	}
	// Limits reach the invocation path through the metadata watch.
	time.Sleep(200 * time.Millisecond)
	return nil
}

// flowWarm alternates rounds of warm calls to LATEST without limits and
// through the alias "flow" with limits set, one client at a time.
func (b *bench) flowWarm(ctx context.Context, rounds int, d time.Duration) ([]Stats, float64, error) {
	fn := fnName("custom")
	v, _, err := b.c.PublishVersion(ctx, service, "fcbench flow", "")
	if err != nil && !strings.Contains(err.Error(), "no change") && !isCode(err, fc.CodeInvalidArgument) {
		return nil, 0, fmt.Errorf("publish version: %w", err)
	}
	version := ""
	if err == nil {
		version = v.VersionID
	} else {
		l, _, err := b.c.ListVersions(ctx, service, client.ListOptions{Limit: 1}, "BACKWARD")
		if err != nil || len(l.Versions) == 0 {
			return nil, 0, fmt.Errorf("find the latest version: %v", err)
		}
		version = l.Versions[0].VersionID
	}
	if _, _, err := b.c.CreateAlias(ctx, service, &fc.Alias{AliasName: "flow", VersionID: version}); err != nil && !isCode(err, fc.CodeAliasAlreadyExists) {
		return nil, 0, fmt.Errorf("create alias: %w", err)
	}
	if _, _, err := b.c.UpdateAlias(ctx, service, "flow", map[string]any{"versionId": version}, ""); err != nil {
		return nil, 0, err
	}
	var plain, limited []time.Duration
	var plainErr, limitedErr int
	for range rounds {
		for _, on := range []bool{false, true} {
			if err := b.setLimits(ctx, on); err != nil {
				return nil, 0, err
			}
			q := ""
			if on {
				q = "flow"
			}
			// Warm up this qualifier's instance, then measure.
			load(ctx, 1, 300*time.Millisecond, func(ctx context.Context) (time.Duration, error) {
				l, _, err := b.invokeQ(ctx, q, fn, "x")
				return l, err
			})
			lat, errs, _ := load(ctx, 1, d, func(ctx context.Context) (time.Duration, error) {
				l, _, err := b.invokeQ(ctx, q, fn, "x")
				return l, err
			})
			if on {
				limited, limitedErr = append(limited, lat...), limitedErr+errs
			} else {
				plain, plainErr = append(plain, lat...), plainErr+errs
			}
		}
	}
	if err := b.setLimits(ctx, false); err != nil {
		return nil, 0, err
	}
	a := summarise("warm LATEST, no limits c=1", plain, plainErr, 0)
	l := summarise("warm alias flow, limits set c=1", limited, limitedErr, 0)
	return []Stats{a, l}, l.P50 - a.P50, nil
}

// flowProvision times the provisioned instances of a new python3 function
// from 0 to target (a new function: released instances of an earlier run
// stay warm for the keep-alive and would count at once), then deletes it.
func (b *bench) flowProvision(ctx context.Context, target int) (float64, error) {
	fn := fmt.Sprintf("prov-python3-%d", time.Now().UnixNano())
	zip64, err := zipFiles(sources["python3"], nil)
	if err != nil {
		return 0, err
	}
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: fn, Runtime: "python3", Handler: "index.handler", MemorySize: 128},
		Code: &fc.Code{ZipFile: zip64}}
	if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil && !isCode(err, fc.CodeFunctionAlreadyExists) {
		return 0, err
	}
	put := func(n int64) error {
		_, _, err := b.c.PutProvisionConfig(ctx, service, "LATEST", fn, &fc.ProvisionConfig{Target: &n}, "")
		return err
	}
	current := func() (int64, error) {
		pc, _, err := b.c.GetProvisionConfig(ctx, service, "LATEST", fn)
		if err != nil {
			return 0, err
		}
		return pc.Current, nil
	}
	wait := func(n int64, within time.Duration) error {
		deadline := time.Now().Add(within)
		for {
			cur, err := current()
			if err != nil {
				return err
			}
			if cur == n {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("provisioned current %d, want %d after %v", cur, n, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := put(0); err != nil {
		return 0, err
	}
	if err := wait(0, time.Minute); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := put(int64(target)); err != nil {
		return 0, err
	}
	if err := wait(int64(target), 2*time.Minute); err != nil {
		return 0, err
	}
	took := time.Since(t0)
	if err := put(0); err != nil {
		return 0, err
	}
	if _, err := b.c.DeleteFunction(ctx, service, fn, ""); err != nil {
		fmt.Fprintf(os.Stderr, "fcbench flow: delete %s: %v\n", fn, err)
	}
	return ms(took), nil
}

// flowNeighbour measures the noop custom function's latency alone, then
// while "flood-custom" (concurrency limit `limit`, rate limit `rate`) is
// called by 10x limit clients whose calls each hold an instance for 10 ms.
func (b *bench) flowNeighbour(ctx context.Context, limit int, rate float64, d time.Duration) ([]Stats, error) {
	calm, flood := fnName("custom"), "flood-custom"
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	selfBin, err := os.ReadFile(self)
	if err != nil {
		return nil, err
	}
	zip64, err := zipFiles(map[string]string{"bootstrap": string(selfBin)}, map[string]bool{"bootstrap": true})
	if err != nil {
		return nil, err
	}
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: flood, Runtime: "custom", Handler: "index.handler", InstanceConcurrency: 1},
		Code: &fc.Code{ZipFile: zip64}}
	if _, _, err := b.c.CreateFunction(ctx, service, in); err != nil && !isCode(err, fc.CodeFunctionAlreadyExists) {
		return nil, err
	}
	if _, _, err := b.c.PutLimits(ctx, service, flood, &fc.Limits{ConcurrentRequests: int64(limit), InvocationsPerSecond: rate}); err != nil {
		return nil, err
	}
	defer b.c.DeleteLimits(context.WithoutCancel(ctx), service, flood)
	time.Sleep(200 * time.Millisecond)
	call := func(ctx context.Context) (time.Duration, error) {
		l, _, err := b.invokeQ(ctx, "", calm, "x")
		return l, err
	}
	load(ctx, 1, 300*time.Millisecond, call)
	lat, errs, wall := load(ctx, 1, d, call)
	alone := summarise("neighbour alone c=1", lat, errs, wall)

	fctx, stop := context.WithCancel(ctx)
	var floodOK, flood429, floodOther int64
	done := make(chan struct{})
	var counts = make(chan [3]int64, 10*limit)
	for range 10 * limit {
		go func() {
			var n [3]int64
			for fctx.Err() == nil {
				_, code, err := b.invokeQ(fctx, "", flood, "sleep 0.01")
				switch {
				case err == nil:
					n[0]++
				case code == http.StatusTooManyRequests:
					n[1]++
				case fctx.Err() == nil:
					n[2]++
				}
			}
			counts <- n
		}()
	}
	go func() {
		for range 10 * limit {
			n := <-counts
			floodOK, flood429, floodOther = floodOK+n[0], flood429+n[1], floodOther+n[2]
		}
		close(done)
	}()
	time.Sleep(500 * time.Millisecond) // the flood reaches its steady state
	lat, errs, wall = load(ctx, 1, d, call)
	stop()
	<-done
	under := summarise(fmt.Sprintf("neighbour under flood c=1 (flood: %d ok, %d 429, %d other)", floodOK, flood429, floodOther), lat, errs, wall)
	return []Stats{alone, under}, nil
}
