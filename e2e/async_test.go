package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// counterRuntime answers "ran <event>" after 50 ms, so that a thousand
// events take seconds on one instance of concurrency 10.
const counterRuntime = `#!/usr/bin/python3
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0))
        time.sleep(0.05)
        out = b'ran ' + body
        self.send_response(200); self.send_header('content-length', str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(('0.0.0.0', 9000), H).serve_forever()
`

// TestAsyncSurvivesKill9: a thousand async invocations are accepted (202),
// the node is killed with SIGKILL while they run, and once it is back on
// the same data every accepted invocation has run at least once. Sandboxes
// cannot reach the test, so the function's side effect is its result, sent
// by its onSuccess destination to a NATS subject that a stream of the same
// node stores (before the invocation is acknowledged).
func TestAsyncSurvivesKill9(t *testing.T) {
	testenv.RequireRoot(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	opts := serverOptions{DataDir: dataDir, Args: []string{"--nats-listen", "127.0.0.1:0"}}
	s := startServer(t, opts)
	ctx := t.Context()
	deployCustom(t, s.Client, "q", "count", testenv.Zip(t, map[string]string{"bootstrap!": counterRuntime}), 10)
	if _, err := s.Client.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/q/functions/count/async-invoke-config",
		Body: fc.AsyncConfig{DestinationConfig: &fc.DestinationConfig{OnSuccess: &fc.Destination{Destination: "nats:e2e.ran"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	js := natsJS(t, s)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "E2E_RAN", Subjects: []string{"e2e.ran"}}); err != nil {
		t.Fatal(err)
	}

	const n = 1000
	accepted := make([]string, n) // request IDs
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				event := fmt.Sprintf("event-%04d", i)
				r, err := s.Client.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/q/functions/count/invocations",
					Body: []byte(event), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}}}, nil)
				if err != nil || r.Status != http.StatusAccepted {
					errs <- fmt.Errorf("async invoke %s = %v", event, err)
					continue
				}
				accepted[i] = r.RequestID + " " + event
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Kill the node while the invocations run: some have, most not yet.
	var before int
	testenv.Eventually(t, 60*time.Second, func() error {
		if before = len(ran(t, js)); before < 30 {
			return fmt.Errorf("%d of %d ran so far", before, n)
		}
		return nil
	})
	s.Kill(t)
	if before >= n {
		t.Fatalf("all %d invocations ran before the kill; the test needs some still queued", n)
	}
	t.Logf("killed the node after %d of %d invocations had run", before, n)

	s2 := startServer(t, opts)
	js = natsJS(t, s2)
	testenv.Eventually(t, 100*time.Second, func() error {
		done := ran(t, js)
		var missing []string
		for _, a := range accepted {
			if !done[a] {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("after the restart %d accepted invocations have not run, e.g. %q", len(missing), missing[0])
		}
		return nil
	})
	s2.Stop(t)
}

// natsJS connects to the node's embedded NATS (started with
// --nats-listen).
func natsJS(t *testing.T, s *server) jetstream.JetStream {
	t.Helper()
	m := natsAddrRE.FindAllStringSubmatch(s.Stderr.String(), -1)
	if m == nil {
		t.Fatalf("the node logged no `nats listening addr=...` line:\n%s", s.Stderr)
	}
	nc, err := nats.Connect("nats://" + m[len(m)-1][1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// ran reads the destination records stored in E2E_RAN: the set of
// "<request ID> <event>" whose function answered "ran <event>".
func ran(t *testing.T, js jetstream.JetStream) map[string]bool {
	t.Helper()
	ctx := t.Context()
	st, err := js.Stream(ctx, "E2E_RAN")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	if info.State.Msgs == 0 {
		return out
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(int(info.State.Msgs))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		var rec struct {
			RequestContext  struct{ RequestID string }
			RequestPayload  string
			ResponsePayload string
		}
		if err := json.Unmarshal(m.Data(), &rec); err != nil {
			t.Fatalf("destination record %q: %v", m.Data(), err)
		}
		if rec.ResponsePayload != "ran "+rec.RequestPayload {
			t.Fatalf("destination record %q: the function did not answer ran <event>", m.Data())
		}
		out[rec.RequestContext.RequestID+" "+rec.RequestPayload] = true
	}
	return out
}

// TestTimerOncePerPlatform: two nodes on one NATS both run a 1 s timer
// trigger, and each tick runs once, on one node or the other.
func TestTimerOncePerPlatform(t *testing.T) {
	testenv.RequireRoot(t)
	env := []string{"OPENFC_ACCOUNT_ID=3333444455556666", "OPENFC_ACCESS_KEY_ID=E2ETIMERKEY",
		"OPENFC_ACCESS_KEY_SECRET=timer-secret-0123456789", "OPENFC_MASTER_KEY=" + strings.Repeat("cd", 32)}
	n1 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n1"), Env: env, Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(n1.Stderr.String())
	if m == nil {
		t.Fatalf("node 1 logged no `nats listening addr=...` line:\n%s", n1.Stderr)
	}
	n2 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n2"), Env: env, Args: []string{"--nats-url", "nats://" + m[1]}})
	ctx := t.Context()
	c := n1.Client
	deployCustom(t, c, "tm", "rec", testenv.RecorderZip(t), 100)
	for _, tr := range []fc.Trigger{
		{TriggerName: "web", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)},
		{TriggerName: "tick", TriggerType: "timer", TriggerConfig: []byte(`{"cronExpression":"@every 2s","payload":"p","enable":true}`)},
	} {
		if _, _, err := c.CreateTrigger(ctx, "tm", "rec", &tr); err != nil {
			t.Fatal(err)
		}
	}
	// Each node runs the events its own workers took: read both.
	ticks := func() (all []string, dup string) {
		seen := map[string]bool{}
		for _, s := range []*server{n1, n2} {
			events, _ := testenv.Recorded(t, s.Endpoint+"/2016-08-15/proxy/tm/rec/")
			for _, line := range events {
				var e struct{ TriggerTime string }
				json.Unmarshal([]byte(line), &e)
				if seen[e.TriggerTime] {
					dup = e.TriggerTime
				}
				seen[e.TriggerTime] = true
				all = append(all, e.TriggerTime)
			}
		}
		return all, dup
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		all, dup := ticks()
		if dup != "" {
			t.Fatalf("tick %s ran twice (events: %q)", dup, all)
		}
		if len(all) < 5 {
			return fmt.Errorf("%d ticks so far", len(all))
		}
		return nil
	})
	// Both nodes fire every tick and JetStream keeps one copy per tick
	// time; that holds only if the nodes agree on the times, which for
	// "@every 2s" means even Unix seconds, however far apart the nodes
	// started. Ticks of their own per node would also come closer than 2 s.
	all, _ := ticks()
	var times []time.Time
	for _, s := range all {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("triggerTime %q: %v", s, err)
		}
		if at.Unix()%2 != 0 {
			t.Errorf("tick at %s is not on the 2 s grid every node shares", s)
		}
		times = append(times, at)
	}
	slices.SortFunc(times, time.Time.Compare)
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < 2*time.Second {
			t.Errorf("ticks %s and %s only %v apart: the nodes fired ticks of their own", times[i-1], times[i], d)
		}
	}
	n2.Stop(t)
	n1.Stop(t)
}
