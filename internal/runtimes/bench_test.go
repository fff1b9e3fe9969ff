package runtimes

import (
	"testing"
	"time"
)

// BenchmarkBootstrapStart measures a bootstrap's cold start without a
// sandbox: from process start to its socket accepting connections.
func BenchmarkBootstrapStart(b *testing.B) {
	for _, name := range builtins {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				in := launch(b, name, instanceOptions{})
				in.waitReady(b)
				total += time.Since(t0)
				b.StopTimer()
				in.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
		})
	}
}

// BenchmarkBootstrapInvoke measures a warm event invocation round trip over
// the Unix socket, handler loaded.
func BenchmarkBootstrapInvoke(b *testing.B) {
	for _, name := range builtins {
		b.Run(name, func(b *testing.B) {
			in := startInstance(b, name, instanceOptions{})
			c := call{handler: "index.echo", rid: "req-bench", body: "x"}
			if r := in.do(b, c); r.body != "echo:x" {
				b.Fatalf("invoke = %d %q, want echo:x", r.status, r.body)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				in.do(b, c)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/invoke")
		})
	}
}
