package linux

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// Benchmarks of the linux driver against a plain fork/exec of the same
// static program in the same run. Figures: docs/BENCHMARKS.md.
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/sandbox/linux/
//
// The rootless variants force the rootless mode as root (the user
// namespace then maps root; the kernel does the same work). For an
// unprivileged run, build the test binary and run it as another user with
// OPENFC_LINUX_TEST_ROOTLESS=1 and OPENFC_LINUX_TEST_CODE_DIR set to a
// folder holding the test program (see TestRootless): every driver is
// rootless then, and only the rootless variants run.

// durations collects per-operation latencies and reports percentiles.
type durations []time.Duration

func (ds durations) report(b *testing.B, unit string) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		return float64(s[int(p*float64(len(s)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.5), "ms-p50/"+unit)
	b.ReportMetric(q(0.9), "ms-p90/"+unit)
}

// BenchmarkSandboxStart measures from Start to the first line the program
// prints. Every iteration also runs the same program with a plain
// fork/exec, so both see the same load of the (shared) machine; overhead
// is the median of the paired differences. end is from the first line to
// Wait's return (the program exits, the driver reaps and cleans up).
func BenchmarkSandboxStart(b *testing.B) {
	helper := filepath.Join(codeDir, sandboxtest.HelperName)
	plain := func(b *testing.B) time.Duration {
		t0 := time.Now()
		cmd := exec.Command(helper, "hello")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		took := time.Since(t0)
		if err != nil || line != "hello\n" {
			b.Fatalf("first line %q, %v", line, err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		return took
	}
	for _, variant := range []string{"linux", "linux-no-template", "rootless"} {
		// linux-no-template builds and pivots the whole root in every init.
		b.Run(variant, func(b *testing.B) {
			d := benchDriver(b, variant)
			d.noTemplate = d.noTemplate || variant == "linux-no-template"
			var plains, boxed, overhead, end durations
			for b.Loop() {
				p := plain(b)
				t0 := time.Now()
				lines := sandboxtest.NewLines()
				spec := helperSpec("hello")
				spec.Stdout = lines
				in, err := d.Start(b.Context(), spec)
				if err != nil {
					b.Fatal(err)
				}
				line := <-lines.C()
				took := time.Since(t0)
				if line != "hello" {
					b.Fatalf("first line %q", line)
				}
				t1 := time.Now()
				if e := in.Wait(); !e.Success() {
					b.Fatalf("exit %v", e)
				}
				end = append(end, time.Since(t1))
				plains = append(plains, p)
				boxed = append(boxed, took)
				overhead = append(overhead, took-p)
			}
			plains.report(b, "plain")
			boxed.report(b, "sandbox")
			overhead.report(b, "overhead")
			end.report(b, "end")
		})
	}
}

// BenchmarkSandboxStop measures Stop and clean-up of an idle sandbox:
// SIGKILL (ctx already done) and SIGTERM to a runtime that exits on it.
func BenchmarkSandboxStop(b *testing.B) {
	for _, mode := range []string{"kill", "term", "rootless-kill", "rootless-term"} {
		b.Run(mode, func(b *testing.B) {
			d := benchDriver(b, mode)
			mode = strings.TrimPrefix(mode, "rootless-")
			var ds durations
			for b.Loop() {
				b.StopTimer()
				lines := sandboxtest.NewLines()
				spec := helperSpec("graceful")
				spec.Stdout = lines
				in, err := d.Start(b.Context(), spec)
				if err != nil {
					b.Fatal(err)
				}
				<-lines.C() // ready
				ctx, cancel := context.WithCancel(b.Context())
				if mode == "kill" {
					cancel()
				}
				b.StartTimer()
				t0 := time.Now()
				if err := in.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
				cancel()
			}
			ds.report(b, "stop")
		})
	}
}

// BenchmarkSandboxThroughput starts, runs to the first line and ends
// sandboxes from several goroutines at once and reports sandboxes per
// second. plain does the same with fork/exec.
func BenchmarkSandboxThroughput(b *testing.B) {
	helper := filepath.Join(codeDir, sandboxtest.HelperName)
	run := func(b *testing.B, one func() error) {
		const workers = 8
		for b.Loop() {
			const per = 25
			t0 := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				wg.Go(func() {
					for range per {
						if err := one(); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(workers*per)/time.Since(t0).Seconds(), "starts/s")
		}
	}
	b.Run("plain", func(b *testing.B) {
		run(b, func() error {
			out, err := exec.Command(helper, "hello").Output()
			if err != nil || string(out) != "hello\n" {
				return fmt.Errorf("plain: %q, %v", out, err)
			}
			return nil
		})
	})
	b.Run("linux", func(b *testing.B) {
		d := newDriver(b)
		run(b, func() error {
			lines := sandboxtest.NewLines()
			spec := helperSpec("hello")
			spec.Stdout = lines
			in, err := d.Start(b.Context(), spec)
			if err != nil {
				return err
			}
			if e := in.Wait(); !e.Success() {
				return fmt.Errorf("exit %v", e)
			}
			return nil
		})
	})
}

// BenchmarkSandboxIdleMemory starts 100 idle sandboxes (the runtime is
// /usr/bin/sleep) and 100 plain sleep processes, and reports the memory each
// sandbox costs beyond its runtime: the growth of the benchmark's own memory
// cgroup (hierarchical, so it holds the instance cgroups and what the kernel
// charges to the node for namespaces; other processes of the machine are
// not in it), and the init's proportional set size.
func BenchmarkSandboxIdleMemory(b *testing.B) {
	const n = 100
	d := newDriver(b)
	own, err := ownCgroups()
	if err != nil {
		b.Fatal(err)
	}
	usageFile := filepath.Join(cgroupRoot, "memory", own["memory"], "memory.usage_in_bytes")
	if d.cgroups.version() == 2 {
		usageFile = filepath.Join(cgroupRoot, own[""], "memory.current")
	}
	used := func() int64 {
		b.Helper()
		raw, err := os.ReadFile(usageFile)
		if err != nil {
			b.Fatal(err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	for b.Loop() {
		// Plain sleeps: the runtime's own cost.
		before := used()
		var cmds []*exec.Cmd
		for range n {
			c := exec.Command("/usr/bin/sleep", "100000")
			if err := c.Start(); err != nil {
				b.Fatal(err)
			}
			cmds = append(cmds, c)
		}
		plain := used() - before
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}

		before = used()
		var ins []sandbox.Instance
		for range n {
			in, err := d.Start(b.Context(), sandbox.Spec{Path: "/usr/bin/sleep", Args: []string{"sleep", "100000"}, MemoryBytes: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			ins = append(ins, in)
		}
		boxed := used() - before
		pss := initPSS(ins[0].(*instance).pid)
		ctx, cancel := context.WithCancel(b.Context())
		cancel()
		for _, in := range ins {
			if err := in.Stop(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(boxed-plain)/n/1024, "KB/sandbox")
		b.ReportMetric(float64(plain)/n/1024, "KB/plain-runtime")
		b.ReportMetric(float64(pss)/1024, "KB-pss/init")
	}
}

// initPSS returns the proportional set size of a process, in bytes.
func initPSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v << 10
		}
	}
	return -1
}

// BenchmarkInitExec compares what it costs to exec the C init and a static
// Go program that exits at once: the price of re-executing a Go binary as
// the sandbox's init instead.
func BenchmarkInitExec(b *testing.B) {
	initPath := filepath.Join(b.TempDir(), "init")
	if err := os.WriteFile(initPath, initBinary, 0o755); err != nil {
		b.Fatal(err)
	}
	helper := filepath.Join(codeDir, sandboxtest.HelperName)
	for _, c := range []struct {
		name string
		argv []string
	}{
		// Without its fds the init exits at once with status 1.
		{"c-init", []string{initPath}},
		{"go-static", []string{helper, "exit", "1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ds durations
			for b.Loop() {
				t0 := time.Now()
				err := exec.Command(c.argv[0], c.argv[1:]...).Run()
				ds = append(ds, time.Since(t0))
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					b.Fatalf("exit %v, want status 1", err)
				}
			}
			ds.report(b, "exec")
		})
	}
}

// benchDriver returns a rootless driver for a variant named rootless...,
// else a root one; in the unprivileged test binary (rootlessMode) only the
// rootless variants run.
func benchDriver(b *testing.B, variant string) *Driver {
	b.Helper()
	rootless := strings.HasPrefix(variant, "rootless")
	if rootlessMode && !rootless {
		b.Skip("the unprivileged run measures the rootless variants only")
	}
	if !rootless || rootlessMode {
		return newDriver(b)
	}
	requireRoot(b)
	d, err := New(Options{StateDir: b.TempDir(), Rootless: true})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	b.Cleanup(func() {
		if err := d.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	return d
}
