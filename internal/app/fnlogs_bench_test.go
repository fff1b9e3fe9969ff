package app_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkFunctionLogsWarm measures what storing function logs costs a
// warm invocation: the same python3 function (its runtime writes the
// Start and End markers, the handler one line) on a node with function
// logs on and, as the baseline, off (--function-logs=false), one caller
// and 16 in parallel.
func BenchmarkFunctionLogsWarm(b *testing.B) {
	testenv.RequireRoot(b)
	for _, on := range []bool{false, true} {
		n := testenv.Platform(b, func(c *config.Config) { c.FunctionLogs.Enabled = on })
		c := n.Client
		ctx := context.Background()
		if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "bench"}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.CreateFunction(ctx, "bench", &fc.FunctionInput{
			Function: fc.Function{FunctionName: "py", Runtime: "python3", Handler: "index.handler", InstanceConcurrency: 16},
			Code:     &fc.Code{ZipFile: testenv.Zip(b, map[string]string{"index.py": "def handler(event, context):\n    print('handled')\n    return 'ok'\n"})},
		}); err != nil {
			b.Fatal(err)
		}
		call := func() error {
			var out []byte
			_, err := c.Do(ctx, client.Request{Method: "POST", Path: "/2016-08-15/services/bench/functions/py/invocations", Body: []byte("x")}, &out)
			if err == nil && string(out) != "ok" {
				err = fmt.Errorf("invoke = %q", out)
			}
			return err
		}
		if err := call(); err != nil { // cold
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("logs=%v/c=1", on), func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, processCPU())
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("logs=%v/c=16", on), func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, processCPU())
			b.SetParallelism(8) // 2 cores × 8
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		n.Stop(b)
	}
}

// processCPU returns the CPU time (user + system) this process has used:
// the node's API, invoker, log router and store, and embedded JetStream,
// though not the function instances, which are other processes. On a
// shared machine it moves less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the node's CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
