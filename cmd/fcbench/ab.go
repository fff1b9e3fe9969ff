package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openfc/openfc/internal/client"
)

// ABPair is one pair of back-to-back slices, one on each node.
type ABPair struct {
	First       string  `json:"first"` // "a" or "b": which node ran first
	ARate       float64 `json:"a_per_s"`
	BRate       float64 `json:"b_per_s"`
	AP50        float64 `json:"a_p50_ms"`
	BP50        float64 `json:"b_p50_ms"`
	ACPUPerCall float64 `json:"a_cpu_us_per_call,omitempty"`
	BCPUPerCall float64 `json:"b_cpu_us_per_call,omitempty"`
}

// ABRow is one function at one concurrency: every pair and the medians.
type ABRow struct {
	Function    string   `json:"function"`
	Concurrency int      `json:"concurrency"`
	Pairs       []ABPair `json:"pairs"`
	// RateRatio is the median over pairs of b/a throughput; P50Added the
	// median over pairs of b's p50 minus a's; CPU figures are medians of
	// the node's CPU time per call (0 without --pid-a/--pid-b).
	ARate, BRate           float64
	RateRatio              float64 `json:"rate_ratio"`
	AP50, BP50             float64
	P50AddedMS             float64 `json:"p50_added_ms"`
	ACPUPerCall            float64 `json:"a_cpu_us_per_call"`
	BCPUPerCall            float64 `json:"b_cpu_us_per_call"`
	ErrorsA, ErrorsB, Runs int
}

// ABReport is what `fcbench ab` measured.
type ABReport struct {
	Machine string    `json:"machine"`
	Started time.Time `json:"started"`
	A, B    string    `json:"-"`
	Rows    []ABRow   `json:"rows"`
}

// runAB is `fcbench ab`: the same warm calls against two running nodes,
// in short slices whose order alternates, so that the machine's load
// drifts over both alike. Comparing two builds or two configurations
// this way resolves differences of a few percent on a shared machine
// where whole runs a minute apart differ by more than that.
func runAB(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcbench ab", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `fcbench ab compares two running openfc nodes (a and b) on warm calls of
the same noop functions, alternating short slices between them, and
reports per-pair medians: b's throughput as a share of a's, b's p50 minus
a's, and each node's CPU time per call when their PIDs are given.

Usage:
  fcbench ab --a DATA_DIR --b DATA_DIR [flags]

Examples:
  # logs, metrics and metering on (a) against all off (b)
  openfc serve --data-dir /tmp/on  --listen 127.0.0.1:0 &
  openfc serve --data-dir /tmp/off --listen 127.0.0.1:0 --function-logs=false --metrics=false --metering=false &
  fcbench ab --a /tmp/off --b /tmp/on --pid-a $OFF_PID --pid-b $ON_PID --pairs 20 --slice 2s

Flags:
`)
		fs.PrintDefaults()
	}
	aDir := fs.String("a", "", "data dir of node a (its credentials.json gives endpoint and keys)")
	bDir := fs.String("b", "", "data dir of node b")
	pidA := fs.Int("pid-a", 0, "PID of node a's process, to measure its CPU time per call")
	pidB := fs.Int("pid-b", 0, "PID of node b's process")
	pairs := fs.Int("pairs", 20, "pairs of slices per function and concurrency")
	slice := fs.Duration("slice", 2*time.Second, "length of one slice")
	conc := fs.String("concurrency", "1,32", "comma-separated client concurrencies")
	fns := fs.String("functions", "custom,python3", "noop functions to call (runtimes of fcbench's noop functions)")
	jsonOut := fs.String("json", "", "also write the figures as JSON to `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *aDir == "" || *bDir == "" {
		fs.Usage()
		return errors.New("--a and --b are required")
	}
	var concs []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--concurrency %q: use numbers such as 1,32", *conc)
		}
		concs = append(concs, n)
	}
	a, err := benchFor(ctx, *aDir)
	if err != nil {
		return fmt.Errorf("node a: %w", err)
	}
	b, err := benchFor(ctx, *bDir)
	if err != nil {
		return fmt.Errorf("node b: %w", err)
	}
	rep := ABReport{Machine: machine(), Started: time.Now().UTC()}
	for _, rt := range strings.Split(*fns, ",") {
		fn := fnName(strings.TrimSpace(rt))
		for _, bb := range []*bench{a, b} {
			// Warm up: enough instances for the highest concurrency.
			load(ctx, 8, time.Second, func(ctx context.Context) (time.Duration, error) {
				d, _, err := bb.invoke(ctx, fn, "x")
				return d, err
			})
		}
		for _, c := range concs {
			row := ABRow{Function: fn, Concurrency: c, Runs: *pairs}
			for i := range *pairs {
				p := ABPair{First: "a"}
				order := []string{"a", "b"}
				if i%2 == 1 {
					p.First, order = "b", []string{"b", "a"}
				}
				for _, side := range order {
					bb, pid := a, *pidA
					if side == "b" {
						bb, pid = b, *pidB
					}
					cpu0 := cpuTime(pid)
					lat, errs, wall := load(ctx, c, *slice, func(ctx context.Context) (time.Duration, error) {
						d, _, err := bb.invoke(ctx, fn, "x")
						return d, err
					})
					cpu := cpuTime(pid) - cpu0
					s := summarise("", lat, errs, wall)
					perCall := 0.0
					if pid > 0 && s.Calls > 0 {
						perCall = float64(cpu.Microseconds()) / float64(s.Calls)
					}
					if side == "a" {
						p.ARate, p.AP50, p.ACPUPerCall, row.ErrorsA = s.Throughput, s.P50, perCall, row.ErrorsA+errs
					} else {
						p.BRate, p.BP50, p.BCPUPerCall, row.ErrorsB = s.Throughput, s.P50, perCall, row.ErrorsB+errs
					}
				}
				row.Pairs = append(row.Pairs, p)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			row.ARate = median(row.Pairs, func(p ABPair) float64 { return p.ARate })
			row.BRate = median(row.Pairs, func(p ABPair) float64 { return p.BRate })
			row.RateRatio = median(row.Pairs, func(p ABPair) float64 { return p.BRate / p.ARate })
			row.AP50 = median(row.Pairs, func(p ABPair) float64 { return p.AP50 })
			row.BP50 = median(row.Pairs, func(p ABPair) float64 { return p.BP50 })
			row.P50AddedMS = median(row.Pairs, func(p ABPair) float64 { return p.BP50 - p.AP50 })
			row.ACPUPerCall = median(row.Pairs, func(p ABPair) float64 { return p.ACPUPerCall })
			row.BCPUPerCall = median(row.Pairs, func(p ABPair) float64 { return p.BCPUPerCall })
			rep.Rows = append(rep.Rows, row)
			fmt.Fprintf(os.Stderr, "fcbench ab: %s c=%d done\n", fn, c)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "machine: %s\na: %s\nb: %s\n\n", rep.Machine, *aDir, *bDir)
	fmt.Fprintln(tw, "FUNCTION\tC\tPAIRS\tA REQ/S\tB REQ/S\tB/A (median of pairs)\tA P50 ms\tB P50 ms\tB-A P50 ms\tA CPU us/call\tB CPU us/call\tERRORS A/B")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.0f\t%.3f\t%.3f\t%.3f\t%+.3f\t%.1f\t%.1f\t%d/%d\n", r.Function, r.Concurrency, r.Runs,
			r.ARate, r.BRate, r.RateRatio, r.AP50, r.BP50, r.P50AddedMS, r.ACPUPerCall, r.BCPUPerCall, r.ErrorsA, r.ErrorsB)
	}
	tw.Flush()
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
	}
	return nil
}

// benchFor connects to the node whose credentials.json is in dataDir.
func benchFor(ctx context.Context, dataDir string) (*bench, error) {
	cfg := &config{dataDir: dataDir}
	if err := loadCredentials(cfg); err != nil {
		return nil, err
	}
	c, err := client.New(client.Options{Endpoint: cfg.endpoint, AccountID: cfg.accountID, AccessKeyID: cfg.keyID,
		AccessKeySecret: cfg.secret, HTTPClient: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}})
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, c: c}
	if err := b.setup(ctx); err != nil {
		return nil, fmt.Errorf("set up benchmark functions: %w", err)
	}
	return b, nil
}

// cpuTime is the user + system CPU time of process pid so far (0 when pid
// is 0 or unreadable), from /proc/PID/stat in clock ticks of 10 ms.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ")".
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func median(ps []ABPair, f func(ABPair) float64) float64 {
	if len(ps) == 0 {
		return 0
	}
	v := make([]float64, len(ps))
	for i, p := range ps {
		v[i] = f(p)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
