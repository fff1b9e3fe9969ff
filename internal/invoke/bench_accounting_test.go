package invoke_test

import (
	"context"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkInvokeWarmAccounting measures what metrics and metering cost a
// warm invocation: two nodes of the same build in one process, one with
// --metrics=false --metering=false, called in turn (sequentially, and by
// 32 parallel callers) so that machine noise hits both alike. Compare the
// accounting=on and accounting=off lines of each pair.
func BenchmarkInvokeWarmAccounting(b *testing.B) {
	testenv.RequireRoot(b)
	data := noopServer(b)
	nodes := map[string]*testenv.Node{
		"on": testenv.Platform(b, nil),
		"off": testenv.Platform(b, func(c *config.Config) {
			c.Observability.Metrics, c.Observability.Metering = false, false
		}),
	}
	ctx := context.Background()
	for _, n := range nodes {
		createService(b, n.Client, "bench")
		createFunction(b, n.Client, "bench", fc.Function{FunctionName: "custom", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
			map[string]string{"bootstrap!": string(data)})
	}
	path := "/2016-08-15/services/bench/functions/custom/invocations"
	call := func(b *testing.B, c *client.Client) bool {
		var out []byte
		if _, err := c.Do(ctx, client.Request{Method: "POST", Path: path, Body: []byte("x")}, &out); err != nil || string(out) != "ok" {
			b.Errorf("invoke = %q, %v", out, err)
			return false
		}
		return true
	}
	for _, mode := range []string{"c=1", "c=32"} {
		for _, acc := range []string{"on", "off"} {
			c := nodes[acc].Client
			b.Run(mode+"/accounting="+acc, func(b *testing.B) {
				call(b, c) // cold
				b.ReportAllocs()
				if mode == "c=1" {
					for b.Loop() {
						call(b, c)
					}
					return
				}
				b.SetParallelism(16) // 32 callers on 2 CPUs
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if !call(b, c) {
							return
						}
					}
				})
			})
		}
	}
}
