package invoke_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkInvokeWarm measures a warm invocation through the whole platform
// (signed API call, auth, resolution, slot, runtime call over the
// instance's socket) of a noop custom runtime and a noop python3 function.
func BenchmarkInvokeWarm(b *testing.B) {
	testenv.RequireRoot(b)
	n := testenv.Platform(b, nil)
	c := n.Client
	ctx := context.Background()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "bench"}); err != nil {
		b.Fatal(err)
	}
	// The custom runtime is fcbench's noop server (a static Go binary).
	data := noopServer(b)
	createFunction(b, c, "bench", fc.Function{FunctionName: "custom", Runtime: "custom", Handler: "x"},
		map[string]string{"bootstrap!": string(data)})
	createFunction(b, c, "bench", fc.Function{FunctionName: "python3", Runtime: "python3", Handler: "index.handler"},
		map[string]string{"index.py": "def handler(event, context):\n    return 'ok'\n"})
	for _, fn := range []string{"custom", "python3"} {
		b.Run("runtime="+fn, func(b *testing.B) {
			path := "/2016-08-15/services/bench/functions/" + fn + "/invocations"
			call := func() {
				var out []byte
				if _, err := c.Do(ctx, client.Request{Method: "POST", Path: path, Body: []byte("x")}, &out); err != nil || string(out) != "ok" {
					b.Fatalf("invoke = %q, %v", out, err)
				}
			}
			call() // cold
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
	b.Run("baseline", func(b *testing.B) {
		// The same client code against a bare handler answering "ok".
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })}
		ln := testenv.Listen(b)
		go srv.Serve(ln)
		defer srv.Close()
		bc, err := client.New(client.Options{Endpoint: "http://" + ln.Addr().String(), AccessKeyID: "x", AccessKeySecret: "y"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			var out []byte
			if _, err := bc.Do(ctx, client.Request{Method: "POST", Path: "/x", Body: []byte("x")}, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInvokeWarmParallel is BenchmarkInvokeWarm with 32 concurrent
// callers on the noop custom runtime, for throughput and profiles.
func BenchmarkInvokeWarmParallel(b *testing.B) {
	testenv.RequireRoot(b)
	n := testenv.Platform(b, nil)
	c := n.Client
	ctx := context.Background()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "bench"}); err != nil {
		b.Fatal(err)
	}
	data := noopServer(b)
	createFunction(b, c, "bench", fc.Function{FunctionName: "custom", Runtime: "custom", Handler: "x", InstanceConcurrency: 100},
		map[string]string{"bootstrap!": string(data)})
	path := "/2016-08-15/services/bench/functions/custom/invocations"
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var out []byte
			if _, err := c.Do(ctx, client.Request{Method: "POST", Path: path, Body: []byte("x")}, &out); err != nil || string(out) != "ok" {
				b.Errorf("invoke = %q, %v", out, err)
				return
			}
		}
	})
}

// noopServer builds fcbench, whose binary run as "bootstrap" is a noop
// custom runtime, and returns it.
func noopServer(b *testing.B) []byte {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-o", bin, "github.com/openfc/openfc/cmd/fcbench")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build noop server: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
