package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
)

// BenchmarkAsyncEnqueue measures accepted async invocations (202, stored
// in JetStream) per second with 32 concurrent signed clients. The calls
// are delayed by an hour so that the node's workers do not run them during
// the measurement (fcbench async measures the enqueue with the workers
// running).
func BenchmarkAsyncEnqueue(b *testing.B) {
	n, zip64 := benchPlatform(b)
	createFunction(b, n.Client, "hello", zip64)
	b.ReportAllocs()
	b.SetParallelism(16) // 16 x GOMAXPROCS(2) = 32 clients
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := n.Client.Do(context.Background(), client.Request{Method: "POST", Path: "/2016-08-15/services/bench/functions/hello/invocations",
				Body: []byte("x"), Header: http.Header{"X-Fc-Invocation-Type": {"Async"}, "X-Fc-Async-Delay": {"3599"}}}, nil)
			if err != nil || r.Status != http.StatusAccepted {
				b.Errorf("async invoke: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
