package scheduler

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/sandbox/linux"
	"github.com/openfc/openfc/internal/seal"
)

// BenchmarkIdleInstanceMemory measures what the platform spends on each
// idle instance beyond the runtime process itself: the node's Go memory
// (pool entry, HTTP client, output routing, goroutines) and the sandbox's
// init process, per instance of a python3 function, over 50 instances.
func BenchmarkIdleInstanceMemory(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for the linux sandbox")
	}
	ctx := context.Background()
	br, err := broker.Start(ctx, broker.Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Shutdown(ctx)
	box, _ := seal.New(bytes.Repeat([]byte{1}, 32))
	bl := blob.New(blob.Options{Objects: br.Code, Box: box, CacheDir: b.TempDir()})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("def handler(e, c): return e\n"))
	zw.Close()
	ref, err := bl.Put(ctx, buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	run := filepath.Join("/run/openfc", "bench-"+strconv.Itoa(os.Getpid()))
	defer os.RemoveAll(run)
	d, err := linux.New(linux.Options{StateDir: filepath.Join(run, "sandbox"), CgroupParent: "openfc-bench-" + strconv.Itoa(os.Getpid())})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	s, err := New(Options{Driver: d, Blobs: bl, WorkDir: run, Prewarm: -1, KeepAlive: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(ctx)
	const n = 50
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var leases []*Lease
		for i := range n {
			spec := &Spec{Service: "s", Function: fmt.Sprintf("f%d", i), Runtime: "python3", Handler: "index.handler",
				MemoryBytes: 128 << 20, Concurrency: 1, CodeSHA256: ref.SHA256, Timeout: time.Minute, Revision: "r"}
			l, err := s.Acquire(ctx, spec)
			if err != nil {
				b.Fatal(err)
			}
			leases = append(leases, l)
		}
		for _, l := range leases {
			l.Release(true)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		goBytes := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
		initRSS := initRSS(b)
		b.ReportMetric(float64(goBytes)/n/1024, "go-KiB/instance")
		b.ReportMetric(float64(initRSS)/n/1024, "init-KiB/instance")
		b.ReportMetric(float64(goBytes+initRSS)/n/1024, "platform-KiB/instance")
		b.StopTimer()
		s.Shutdown(ctx)
		s, _ = New(Options{Driver: d, Blobs: bl, WorkDir: run, Prewarm: -1, KeepAlive: time.Hour})
		b.StartTimer()
	}
}

// initRSS sums the resident memory of this process's sandbox inits: the
// processes whose parent is this process (the driver clones them).
func initRSS(b *testing.B) int64 {
	self := strconv.Itoa(os.Getpid())
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			continue
		}
		var ppid string
		var rss int64
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				ppid = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				rss = kb << 10
			}
		}
		if ppid == self {
			total += rss
		}
	}
	return total
}
