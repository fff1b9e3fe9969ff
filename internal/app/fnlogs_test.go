package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/testenv"
)

// logPython prints, for event "TAG", five lines through print and five
// through the logger, interleaved with sleeps so that concurrent requests
// on one instance mix their output.
const logPython = `import logging, time
def handler(event, context):
    tag = event.decode()
    if tag == "long":
        print("L" * 40000)
        print("after long")
        return "ok"
    if tag.startswith("flood:"):
        n = int(tag[6:])
        line = "f" * 100
        for i in range(n):
            print(line)
        return "flooded"
    log = logging.getLogger()
    for i in range(5):
        print("%s print %d" % (tag, i))
        log.info("%s logger %d", tag, i)
        time.sleep(0.02)
    return tag
`

const logNode = `exports.handler = async (event, context) => {
  const tag = event.toString();
  for (let i = 0; i < 5; i++) {
    console.log('%s console %d\n%s second line %d', tag, i, tag, i);
    context.logger.info(tag + ' logger ' + i);
    await new Promise((r) => setTimeout(r, 20));
  }
  return tag;
};
`

func logsPlatform(t *testing.T, modify func(*config.Config)) *testenv.Node {
	t.Helper()
	testenv.RequireRoot(t)
	n := testenv.Platform(t, modify)
	if _, _, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: "logs"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, runtime, file, code string }{
		{"py", "python3.10", "index.py", logPython},
		{"node", "nodejs20", "index.js", logNode},
	} {
		_, _, err := n.Client.CreateFunction(t.Context(), "logs", &fc.FunctionInput{
			Function: fc.Function{FunctionName: f.name, Runtime: f.runtime, Handler: "index.handler", MemorySize: 128,
				Timeout: 60, InstanceConcurrency: 10},
			Code: &fc.Code{ZipFile: testenv.Zip(t, map[string]string{f.file: f.code})},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func invokeFn(ctx context.Context, c *client.Client, function, event string) (requestID, body string, err error) {
	var out []byte
	r, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/logs/functions/" + function + "/invocations",
		Body: []byte(event)}, &out)
	if err != nil {
		return "", "", err
	}
	if r.Header.Get("X-Fc-Error-Type") != "" {
		return "", "", fmt.Errorf("invoke %s %q: function error %s: %s", function, event, r.Header.Get("X-Fc-Error-Type"), out)
	}
	return r.RequestID, string(out), nil
}

// allLogs pages through every line of q.
func allLogs(t *testing.T, c *client.Client, q client.LogQuery) []client.LogLine {
	t.Helper()
	var out []client.LogLine
	for {
		lines, next, err := c.QueryLogs(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lines...)
		if next == "" {
			return out
		}
		q.NextToken = next
	}
}

// Lines of concurrent invocations on one instance (instanceConcurrency
// 10) are stored under the request that wrote them, for both built-in
// runtimes.
func TestFunctionLogsConcurrentRequests(t *testing.T) {
	n := logsPlatform(t, nil)
	c := n.Client
	for _, tc := range []struct {
		function string
		perCall  []string // the lines each call writes, with %s for its tag and %d for 0..4
	}{
		{"py", []string{"%s print %d", "%s logger %d"}},
		{"node", []string{"%s console %d", "%s second line %d", "%s logger %d"}},
	} {
		t.Run(tc.function, func(t *testing.T) {
			const calls = 8
			ids := make([]string, calls)
			var wg sync.WaitGroup
			errs := make([]error, calls)
			for i := range calls {
				wg.Go(func() {
					ids[i], _, errs[i] = invokeFn(t.Context(), c, tc.function, fmt.Sprintf("tag%d", i))
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				tag := fmt.Sprintf("tag%d", i)
				want := 5*len(tc.perCall) + 2 // plus the Start and End markers
				var got []client.LogLine
				testenv.Eventually(t, 20*time.Second, func() error {
					got = allLogs(t, c, client.LogQuery{Service: "logs", Function: tc.function, RequestID: id})
					if len(got) < want {
						return fmt.Errorf("request %s has %d lines stored, want %d", id, len(got), want)
					}
					return nil
				})
				for _, l := range got {
					if l.RequestID != id || l.Service != "logs" || l.Function != tc.function || l.Qualifier != "LATEST" || l.Version != "LATEST" || l.InstanceID == "" || l.Stream == "" {
						t.Errorf("line %+v: want request %s, logs/%s LATEST, an instance and a stream", l, id, tc.function)
					}
					if strings.Contains(l.Message, "tag") && !strings.Contains(l.Message, tag+" ") {
						t.Errorf("line %q of another request stored under %s (%s)", l.Message, id, tag)
					}
				}
				for _, format := range tc.perCall {
					for k := range 5 {
						text := fmt.Sprintf(format, tag, k)
						found := false
						for _, l := range got {
							found = found || strings.HasSuffix(l.Message, text)
						}
						if !found {
							t.Errorf("request %s (%s): line %q not stored under it", id, tag, text)
						}
					}
				}
			}
		})
	}
}

// A line over 32 KB is stored cut, with the marker; the next line is
// whole.
func TestFunctionLogsLongLineCut(t *testing.T) {
	n := logsPlatform(t, nil)
	id, _, err := invokeFn(t.Context(), n.Client, "py", "long")
	if err != nil {
		t.Fatal(err)
	}
	var got []client.LogLine
	testenv.Eventually(t, 20*time.Second, func() error {
		// Start marker, the long line, the next one, End marker.
		got = allLogs(t, n.Client, client.LogQuery{Service: "logs", Function: "py", RequestID: id})
		if len(got) < 4 {
			return fmt.Errorf("%d lines stored", len(got))
		}
		return nil
	})
	got = got[1:3]
	long := got[0].Message
	if !strings.HasSuffix(long, fnlog.TruncMarker) || len(long) != fnlog.MaxLine+len(fnlog.TruncMarker) {
		t.Errorf("stored long line is %d bytes ending %q, want %d bytes ending with the marker", len(long), long[len(long)-30:], fnlog.MaxLine+len(fnlog.TruncMarker))
	}
	if !strings.HasSuffix(got[1].Message, "] after long") {
		t.Errorf("line after the long one = %q, want %q", got[1].Message, "after long")
	}
}

// A function flooding its output does not block invocations: with a tiny
// buffer lines are dropped and counted, and other calls go on.
func TestFunctionLogsFloodDropsCounted(t *testing.T) {
	n := logsPlatform(t, func(c *config.Config) { c.FunctionLogs.Buffer = 16 })
	ctx := t.Context()
	var wg sync.WaitGroup
	var floodErr error
	wg.Go(func() { _, _, floodErr = invokeFn(ctx, n.Client, "py", "flood:200000") })
	// While it floods, other invocations of the node answer.
	for i := range 5 {
		if _, body, err := invokeFn(ctx, n.Client, "node", fmt.Sprint("during", i)); err != nil || body != fmt.Sprint("during", i) {
			t.Fatalf("invocation during the flood = %q, %v", body, err)
		}
	}
	wg.Wait()
	if floodErr != nil {
		t.Fatal(floodErr)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		v, err := droppedMetric(ctx, n.URL)
		if err != nil {
			return err
		}
		if v <= 0 {
			return fmt.Errorf("openfc_function_log_lines_dropped_total = %v, want > 0", v)
		}
		return nil
	})
}

func droppedMetric(ctx context.Context, url string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/metrics", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "openfc_function_log_lines_dropped_total "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			return f, err
		}
	}
	return 0, errors.New("openfc_function_log_lines_dropped_total not exported")
}

// The live tail delivers a function's lines in the order written, and only
// that function's.
func TestFunctionLogsTail(t *testing.T) {
	n := logsPlatform(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lines := make(chan client.LogLine, 1000)
	errc := make(chan error, 1)
	go func() {
		errc <- n.Client.TailLogs(ctx, client.LogQuery{Service: "logs", Function: "py"}, func(l client.LogLine) error {
			lines <- l
			return nil
		})
	}()
	// The tail sends lines stored after it started: call until one
	// arrives.
	testenv.Eventually(t, 30*time.Second, func() error {
		if _, _, err := invokeFn(ctx, n.Client, "py", "warm"); err != nil {
			return err
		}
		select {
		case <-lines:
			return nil
		case <-time.After(500 * time.Millisecond):
			return errors.New("no line on the tail yet")
		}
	})
	if _, _, err := invokeFn(ctx, n.Client, "node", "other"); err != nil {
		t.Fatal(err)
	}
	id, _, err := invokeFn(ctx, n.Client, "py", "ordered")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < 10 {
		select {
		case l := <-lines:
			if l.Function != "py" {
				t.Fatalf("tail of logs/py sent a line of %s", l.Function)
			}
			if l.RequestID == id && strings.Contains(l.Message, "ordered ") {
				got = append(got, l.Message[strings.Index(l.Message, "ordered "):])
			}
		case err := <-errc:
			t.Fatalf("tail ended: %v", err)
		case <-timeout:
			t.Fatalf("tail sent %d of 10 lines: %q", len(got), got)
		}
	}
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("ordered print %d", i), fmt.Sprintf("ordered logger %d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tail order = %q, want %q", got, want)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("tail after cancel = %v, want context.Canceled", err)
	}
}

// Queries with bad input get InvalidArgument; with storage off, 503.
func TestFunctionLogsQueryErrors(t *testing.T) {
	n := testenv.Platform(t, nil)
	for _, q := range []client.LogQuery{
		{Service: "s", Limit: fnlog.MaxLimit + 1},
		{Function: "f"},
		{Service: "s", Start: "yesterday"},
		{Service: "s", Start: "1m", End: "2m"},
		{Service: "s", NextToken: "x"},
	} {
		_, _, err := n.Client.QueryLogs(t.Context(), q)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != fc.CodeInvalidArgument {
			t.Errorf("QueryLogs(%+v) = %v, want 400 InvalidArgument", q, err)
		}
	}
	off := testenv.Platform(t, func(c *config.Config) { c.FunctionLogs.Enabled = false })
	_, _, err := off.Client.QueryLogs(t.Context(), client.LogQuery{Service: "s"})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("QueryLogs with function-logs off = %v, want 503", err)
	}
}
