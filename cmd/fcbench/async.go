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

	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

// asyncReport is what `fcbench async` measured.
type asyncReport struct {
	Machine  string    `json:"machine"`
	Started  time.Time `json:"started"`
	Endpoint string    `json:"endpoint"`
	Clients  int       `json:"clients"`
	// Rates: async enqueue (202 answers), the same in task mode, and the
	// same-run baselines (sync invocations of the same noop function; raw
	// JetStream publishes on the node's own NATS, when reachable).
	Rates []Stats `json:"rates"`
	// StartLatency is enqueue-to-start of warm calls: the Running event's
	// time minus the Enqueued event's, from the stateful records (ms
	// resolution).
	StartLatency Stats `json:"enqueue_to_start"`
}

// runAsync is `fcbench async`: durable async enqueue rate and
// enqueue-to-start latency.
func runAsync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcbench async", flag.ContinueOnError)
	clients := fs.Int("clients", 32, "concurrent clients of the rate measurements")
	duration := fs.Duration("duration", 5*time.Second, "how long each rate measurement runs")
	calls := fs.Int("latency-calls", 300, "async calls of the enqueue-to-start measurement")
	gap := fs.Duration("latency-gap", 10*time.Millisecond, "pause between the calls of the enqueue-to-start measurement")
	natsURL := fs.String("nats-url", "", "the node's NATS (openfc serve --nats-listen) for the raw JetStream publish baseline; empty skips it")
	jsonOut := fs.String("json", "", "also write the figures as JSON to `file`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `fcbench async measures durable async enqueue (202s per second with
--clients concurrent clients) and enqueue-to-start latency of warm calls,
beside same-run baselines: sync invocations of the same noop function, and
raw JetStream publishes on the node's NATS (with --nats-url).

Usage:
  fcbench async [flags] [-- fcbench flags: --data-dir, --endpoint, keys]

Examples:
  fcbench async -- --data-dir /tmp/bd
  fcbench async --clients 32 --duration 5s --nats-url nats://127.0.0.1:4222 -- --data-dir /tmp/bd

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := parseFlags(fs.Args())
	if err != nil {
		return err
	}
	c, err := client.New(client.Options{Endpoint: cfg.endpoint, AccountID: cfg.accountID, AccessKeyID: cfg.keyID,
		AccessKeySecret: cfg.secret, HTTPClient: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}}})
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, c: c}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("set up benchmark functions: %w", err)
	}
	fn := fnName("custom")
	rep := asyncReport{Machine: machine(), Started: time.Now().UTC(), Endpoint: cfg.endpoint, Clients: *clients}
	// Warm instances for the sync baseline and the async runs.
	load(ctx, 8, time.Second, func(ctx context.Context) (time.Duration, error) {
		d, _, err := b.invoke(ctx, fn, "x")
		return d, err
	})
	lat, errs, wall := load(ctx, *clients, *duration, func(ctx context.Context) (time.Duration, error) {
		d, _, err := b.invoke(ctx, fn, "x")
		return d, err
	})
	rep.Rates = append(rep.Rates, summarise(fmt.Sprintf("baseline: sync invoke c=%d", *clients), lat, errs, wall))
	if *natsURL != "" {
		s, err := rawPublish(ctx, *natsURL, *clients, *duration)
		if err != nil {
			return fmt.Errorf("raw JetStream baseline: %w", err)
		}
		rep.Rates = append(rep.Rates, s)
	}
	// The enqueue path alone: the calls are delayed an hour, so the
	// workers only park them; the function is deleted afterwards, which
	// drops them when they come due.
	deferred, err := b.deferredFunction(ctx)
	if err != nil {
		return err
	}
	lat, errs, wall = load(ctx, *clients, *duration, func(ctx context.Context) (time.Duration, error) {
		d, _, err := b.invokeAsync(ctx, deferred, http.Header{"X-Fc-Async-Delay": {"3599"}})
		return d, err
	})
	rep.Rates = append(rep.Rates, summarise(fmt.Sprintf("async enqueue, runs deferred c=%d", *clients), lat, errs, wall))
	if _, err := c.DeleteFunction(ctx, service, deferred, ""); err != nil {
		return fmt.Errorf("delete %s: %w", deferred, err)
	}
	// Enqueue while the workers run the calls, plain and in task mode.
	for _, stateful := range []bool{false, true} {
		if err := b.asyncConfig(ctx, fn, stateful); err != nil {
			return err
		}
		name := fmt.Sprintf("async enqueue c=%d", *clients)
		if stateful {
			name = fmt.Sprintf("async enqueue, task mode c=%d", *clients)
		}
		lat, errs, wall := load(ctx, *clients, *duration, func(ctx context.Context) (time.Duration, error) {
			d, _, err := b.invokeAsync(ctx, fn, nil)
			return d, err
		})
		rep.Rates = append(rep.Rates, summarise(name, lat, errs, wall))
		// Let the workers drain what was enqueued before the next run.
		if err := b.drain(ctx, fn); err != nil {
			return err
		}
	}
	rep.StartLatency, err = b.startLatency(ctx, fn, *calls, *gap)
	if err != nil {
		return err
	}
	if _, err := c.Do(ctx, client.Request{Method: "DELETE", Path: "/2016-08-15/services/" + service + "/functions/" + fn + "/async-invoke-config"}, nil); err != nil {
		return err
	}
	printAsync(os.Stdout, rep)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
	}
	return nil
}

// deferredFunction creates a copy of the noop custom function, named
// uniquely per run.
func (b *bench) deferredFunction(ctx context.Context) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	selfBin, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	zip64, err := zipFiles(map[string]string{"bootstrap": string(selfBin)}, map[string]bool{"bootstrap": true})
	if err != nil {
		return "", err
	}
	name := "noop-deferred-" + strconv.FormatInt(time.Now().Unix(), 36)
	_, _, err = b.c.CreateFunction(ctx, service, &fc.FunctionInput{Function: fc.Function{FunctionName: name, Runtime: "custom",
		Handler: "index.handler", InstanceConcurrency: 100, Timeout: 60}, Code: &fc.Code{ZipFile: zip64}})
	return name, err
}

// asyncConfig turns task mode on or off for fn (no retries: the noop
// does not fail).
func (b *bench) asyncConfig(ctx context.Context, fn string, stateful bool) error {
	zero := int64(0)
	_, err := b.c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/" + service + "/functions/" + fn + "/async-invoke-config",
		Body: fc.AsyncConfig{MaxAsyncRetryAttempts: &zero, StatefulInvocation: stateful}}, nil)
	return err
}

// invokeAsync enqueues one call and returns the client latency and the
// answer's headers.
func (b *bench) invokeAsync(ctx context.Context, fn string, h http.Header) (time.Duration, http.Header, error) {
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Fc-Invocation-Type", "Async")
	t0 := time.Now()
	resp, err := b.c.Send(ctx, client.Request{Method: "POST",
		Path: "/2016-08-15/services/" + service + "/functions/" + fn + "/invocations", Body: []byte("x"), Header: h})
	if err != nil {
		return 0, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != http.StatusAccepted {
		return d, nil, fmt.Errorf("async invoke: status %d: %.200s", resp.StatusCode, body)
	}
	return d, resp.Header, nil
}

// drain waits until a marker call enqueued now has run (the queue is
// roughly first in, first out), so the next measurement starts on an
// idle node.
func (b *bench) drain(ctx context.Context, fn string) error {
	id := "fcbench_drain_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, _, err := b.invokeAsync(ctx, fn, http.Header{"X-Fc-Stateful-Async-Invocation-Id": {id}}); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		inv, _, err := b.c.GetStatefulAsyncInvocation(ctx, service, "", fn, id)
		if err == nil && inv.Finished() {
			time.Sleep(time.Second)
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the queue did not drain within 5 minutes")
}

// startLatency enqueues calls in task mode one at a time, gap apart, and
// reads each one's Enqueued and Running times from its record.
func (b *bench) startLatency(ctx context.Context, fn string, calls int, gap time.Duration) (Stats, error) {
	var ids []string
	for range calls {
		_, h, err := b.invokeAsync(ctx, fn, nil)
		if err != nil {
			return Stats{}, err
		}
		ids = append(ids, h.Get("X-Fc-Stateful-Async-Invocation-Id"))
		time.Sleep(gap)
	}
	var lat []time.Duration
	for _, id := range ids {
		var inv *fc.StatefulAsyncInvocation
		for {
			var err error
			inv, _, err = b.c.GetStatefulAsyncInvocation(ctx, service, "", fn, id)
			if err != nil {
				return Stats{}, err
			}
			if inv.Finished() {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		var enq, run int64
		for _, e := range inv.Events {
			switch {
			case e.Status == fc.StatefulEnqueued && enq == 0:
				enq = e.Timestamp
			case e.Status == fc.StatefulRunning && run == 0:
				run = e.Timestamp
			}
		}
		if run == 0 {
			return Stats{}, fmt.Errorf("invocation %s never ran: %+v", id, inv)
		}
		lat = append(lat, time.Duration(run-enq)*time.Millisecond)
	}
	return summarise(fmt.Sprintf("enqueue-to-start, warm, one call every %v", gap), lat, 0, 0), nil
}

// rawPublish measures JetStream publishes (each waiting for its ack, as an
// enqueue does) of the same small payload to a file-backed stream on the
// node's own NATS.
func rawPublish(ctx context.Context, url string, clients int, d time.Duration) (Stats, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return Stats{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Stats{}, err
	}
	const stream = "FCBENCH_RAW"
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"fcbench.raw.>"},
		Retention: jetstream.WorkQueuePolicy}); err != nil {
		return Stats{}, err
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), stream)
	var mu sync.Mutex
	n := 0
	lat, errs, wall := load(ctx, clients, d, func(ctx context.Context) (time.Duration, error) {
		mu.Lock()
		n++
		id := strconv.Itoa(n)
		mu.Unlock()
		m := nats.NewMsg("fcbench.raw.svc.fn")
		m.Data = []byte("x")
		m.Header.Set("Openfc-Request-Id", id)
		t0 := time.Now()
		_, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(id))
		return time.Since(t0), err
	})
	return summarise(fmt.Sprintf("baseline: raw JetStream publish c=%d", clients), lat, errs, wall), nil
}

func printAsync(w io.Writer, r asyncReport) {
	fmt.Fprintf(w, "machine: %s\nendpoint: %s\n\n", r.Machine, r.Endpoint)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tcalls\terrors\tper s\tp50 ms\tp99 ms")
	for _, s := range append(r.Rates, r.StartLatency) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.3f\t%.3f\n", s.Name, s.Calls, s.Errors, s.Throughput, s.P50, s.P99)
	}
	tw.Flush()
}
