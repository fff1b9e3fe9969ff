package scheduler

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/linux"
	"github.com/openfc/openfc/internal/sandbox/process"
	"github.com/openfc/openfc/internal/seal"
)

// Deferred instances of custom functions (generic.go): a cold start takes a
// sandbox prepared ahead and execs the function's bootstrap in it.

var (
	fcserverOnce sync.Once
	fcserverZip  []byte
	fcserverErr  error
)

// customZip returns a code package whose bootstrap is the invoke tests'
// static custom-runtime server (../invoke/testdata/fcserver), built once.
func customZip(t *testing.T) []byte {
	t.Helper()
	fcserverOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fcserver")
		if err != nil {
			fcserverErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../invoke/testdata/fcserver")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fcserverErr = fmt.Errorf("build fcserver: %v\n%s", err, out)
			return
		}
		exe, err := os.ReadFile(bin)
		if err != nil {
			fcserverErr = err
			return
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(exe)
		}
		if err == nil {
			err = zw.Close()
		}
		fcserverZip, fcserverErr = buf.Bytes(), err
	})
	if fcserverErr != nil {
		t.Fatal(fcserverErr)
	}
	return fcserverZip
}

// deferredEnv is a scheduler on driver d with the custom test function's
// code stored.
type deferredEnv struct {
	s    *Scheduler
	code string // sha256 of the code package
}

func newDeferredEnv(t *testing.T, d sandbox.Driver, prewarm int) *deferredEnv {
	t.Helper()
	ctx := t.Context()
	br, err := broker.Start(ctx, broker.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Shutdown(context.Background()) })
	box, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	bl := blob.New(blob.Options{Objects: br.Code, Box: box, CacheDir: t.TempDir()})
	ref, err := bl.Put(ctx, customZip(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Driver: d, Blobs: bl, WorkDir: t.TempDir(), Prewarm: prewarm, KeepAlive: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.Shutdown(ctx)
	})
	return &deferredEnv{s: s, code: ref.SHA256}
}

func linuxDriver(t *testing.T) *linux.Driver {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root for the linux sandbox, and CI is set")
		}
		t.Skip("needs root for the linux sandbox")
	}
	d, err := linux.New(linux.Options{StateDir: t.TempDir(), CgroupParent: fmt.Sprintf("openfc-sched-test-%d-%s", os.Getpid(), filepath.Base(t.TempDir())),
		Bridge: fmt.Sprintf("ofcsch%d", os.Getpid()%1000000)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Fails while an instance cgroup remains.
		if err := d.Close(); err != nil {
			t.Errorf("driver Close: %v", err)
		}
	})
	return d
}

func (e *deferredEnv) spec(function string, env map[string]string) *Spec {
	return &Spec{Service: "s", Function: function, Runtime: "custom", Handler: "bootstrap", Revision: "r",
		MemoryBytes: 128 << 20, Concurrency: 1, CodeSHA256: e.code, Timeout: time.Minute, Env: env,
		AccountID: "1", Region: "local"}
}

// call invokes the test function on a lease's instance with event.
func call(t *testing.T, l *Lease, event string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://instance/invoke", strings.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Fc-Control-Path", "/invoke")
	resp, err := l.Instance.Client().Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", event, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s = %s %s", event, resp.Status, b)
	}
	return string(b)
}

// coldStart acquires spec's first instance, calls it with event and
// releases it, which refills the stock; it returns the answer.
func (e *deferredEnv) coldStart(t *testing.T, spec *Spec, event string) string {
	t.Helper()
	l, err := e.s.Acquire(t.Context(), spec)
	if err != nil {
		t.Fatalf("Acquire %s: %v", spec.Function, err)
	}
	if !l.Cold {
		t.Fatalf("Acquire %s: not a cold start", spec.Function)
	}
	out := call(t, l, event)
	l.Release(true)
	return out
}

// stocked waits for the refills and returns the ready pre-started instances.
func (e *deferredEnv) stocked() int {
	e.s.bg.Wait()
	return e.s.Stats().Generic
}

// TestSchedulerDeferredCustom: once a custom function has started, a stock of
// deferred instances is ready; the next custom function's cold start takes
// one, and its bootstrap sees the function's environment and its own
// instance ID, nothing of the generic start.
func TestSchedulerDeferredCustom(t *testing.T) {
	e := newDeferredEnv(t, linuxDriver(t), 2)
	e.coldStart(t, e.spec("first", nil), "str:x")
	if n := e.stocked(); n != 2 {
		t.Fatalf("deferred instances ready after the first custom cold start: %d, want 2", n)
	}

	spec := e.spec("second", map[string]string{"GREETING": "deferred hello"})
	l, err := e.s.Acquire(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.s.Stats().Generic; n != 1 {
		t.Errorf("deferred instances ready during the second cold start: %d, want 1 (one taken)", n)
	}
	var env map[string]string
	out := call(t, l, "env")
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("env %q: %v", out, err)
	}
	want := map[string]string{
		"GREETING": "deferred hello", "FC_FUNCTION_NAME": "second", "FC_SERVICE_NAME": "s",
		"FC_FUNCTION_HANDLER": "bootstrap", "FC_FUNCTION_MEMORY_SIZE": "128", "FC_INSTANCE_ID": l.Instance.ID(),
		"FC_FUNC_CODE_PATH": "/code", "FC_CUSTOM_LISTEN_PORT": "9000", "FC_QUALIFIER": "LATEST", "FC_ACCOUNT_ID": "1",
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("%s = %q, want %q", k, env[k], w)
		}
	}
	if l.Instance.Spec() != spec {
		t.Error("the instance does not run the function's spec")
	}
	if got := call(t, l, "count"); got != "1" {
		t.Errorf("count = %q, want 1: a fresh runtime", got)
	}
	l.Release(true)

	// A function on another port cannot use them: its sandbox's address
	// differs.
	other := e.spec("port", nil)
	other.CAPort = 9100
	rt, _ := runtimes.Lookup("custom")
	if m := e.s.prestartMode(rt, other); m != modeFunction {
		t.Errorf("mode of a custom function on port 9100 = %v, want modeFunction", m)
	}
}

// TestSchedulerDeferredDisabled: with Prewarm negative (--prewarm -1) no
// deferred instance is started.
func TestSchedulerDeferredDisabled(t *testing.T) {
	e := newDeferredEnv(t, linuxDriver(t), -1)
	for i := range 2 {
		e.coldStart(t, e.spec("f"+strconv.Itoa(i), nil), "str:x")
	}
	if n := e.stocked(); n != 0 {
		t.Errorf("pre-started instances with Prewarm -1: %d, want 0", n)
	}
}

// TestSchedulerDeferredShutdown: deferred instances never used are stopped
// by Shutdown, leaving no cgroup (the driver's Close, at cleanup, fails
// otherwise), no folder and no process behind.
func TestSchedulerDeferredShutdown(t *testing.T) {
	d := linuxDriver(t)
	e := newDeferredEnv(t, d, 2)
	e.coldStart(t, e.spec("first", nil), "str:x")
	if n := e.stocked(); n != 2 {
		t.Fatalf("deferred instances ready: %d, want 2", n)
	}
	e.s.mu.Lock()
	var stock []*Instance
	for _, st := range e.s.stocks {
		stock = append(stock, st.ready...)
	}
	e.s.mu.Unlock()
	// No deadline: an unused instance must not wait for a SIGTERM it
	// ignores.
	if err := e.s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, inst := range stock {
		select {
		case <-inst.Done():
		case <-time.After(time.Minute):
			t.Fatalf("deferred instance %s still running after Shutdown", inst.ID())
		}
		if !inst.Exit().Killed {
			t.Errorf("instance %s ended %v, want stopped", inst.ID(), inst.Exit())
		}
		for _, dir := range []string{inst.dir, inst.codeDir} {
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s remains after Shutdown (%v)", dir, err)
			}
		}
	}
}

// TestSchedulerDeferredUnsupportedDriver: with a driver that cannot defer
// (process), custom functions start the ordinary way.
func TestSchedulerDeferredUnsupportedDriver(t *testing.T) {
	d, err := process.New(process.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newDeferredEnv(t, d, 2)
	rt, _ := runtimes.Lookup("custom")
	spec := e.spec("f", nil)
	if e.s.takeGeneric(spec, rt) != nil {
		t.Fatal("an empty stock gave an instance")
	}
	e.s.refillFor(spec, rt)
	if n := e.stocked(); n != 0 {
		t.Errorf("deferred instances of the process driver: %d, want 0", n)
	}
	if !e.s.noDefer.Load() {
		t.Fatal("the scheduler did not note that the driver cannot defer")
	}
	if m := e.s.prestartMode(rt, spec); m != modeFunction {
		t.Errorf("mode of a custom function = %v, want modeFunction", m)
	}
	// The process driver shares the host's network: a free port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	spec.CAPort = l.Addr().(*net.TCPAddr).Port
	l.Close()
	// The runtime listens on $FC_CUSTOM_LISTEN_PORT, which must be the
	// function's caPort, not the custom runtime's default 9000.
	if got := e.coldStart(t, spec, "str:b"); got != "str b" {
		t.Errorf("answer = %q, want str b", got)
	}
}
