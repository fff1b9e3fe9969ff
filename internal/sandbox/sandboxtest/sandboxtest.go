package sandboxtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/sandbox"
)

// HelperName is the file name of the test program in the folder BuildHelper
// fills; HelperPath is where it is inside an instance whose CodeDir is that
// folder.
const (
	HelperName = "testprog"
	HelperPath = sandbox.CodeMount + "/" + HelperName
)

// Patience bounds every wait of the suite, so that a broken driver fails
// instead of hanging. It is not a timing assertion.
const Patience = 2 * time.Minute

// BuildHelper builds the static test program into dir (made readable by
// everyone, as sandboxes run under another uid) and returns its path.
func BuildHelper(dir string) (string, error) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	out := filepath.Join(dir, HelperName)
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, "github.com/openfc/openfc/internal/sandbox/sandboxtest/testprog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build test program: %w\n%s", err, b)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("build test program: %w", err)
	}
	return out, nil
}

// Options tells Run about the driver under test.
type Options struct {
	// CodeDir is the folder BuildHelper built the test program into.
	CodeDir string
	// Isolated reports whether the driver isolates instances (mount namespace, limits);
	// the subtests that need it skip otherwise.
	Isolated bool
	// NoLimits, when set, says why an isolating driver enforces no
	// resource limits (a rootless linux driver without a delegated cgroup);
	// the subtests that need limits skip with it.
	NoLimits string
}

// Run runs the conformance suite against d.
func Run(t *testing.T, d sandbox.Driver, opts Options) {
	t.Helper()
	if opts.CodeDir == "" {
		t.Fatal("sandboxtest: Options.CodeDir is empty")
	}
	s := &suite{d: d, opts: opts}
	t.Run("output", s.output)
	t.Run("exit code", s.exitCode)
	t.Run("signal", s.signal)
	t.Run("args env dir", s.argsEnvDir)
	t.Run("stop graceful", s.stopGraceful)
	t.Run("stop hung", s.stopHung)
	t.Run("stop idempotent", s.stopIdempotent)
	t.Run("no child outlives stop", s.noChildAfterStop)
	t.Run("no child outlives exit", s.noChildAfterExit)
	t.Run("oom", s.oom)
	t.Run("unix socket", s.unixSocket)
	t.Run("tcp", s.tcp)
	t.Run("concurrent", s.concurrent)
	t.Run("start error", s.startError)
	t.Run("canceled context", s.canceled)
	t.Run("dial after end", s.dialAfterEnd)
	t.Run("deferred", s.deferred)
}

type suite struct {
	d    sandbox.Driver
	opts Options
}

// spec returns a Spec that runs the test program with args.
func (s *suite) spec(args ...string) sandbox.Spec {
	return sandbox.Spec{
		Path:        HelperPath,
		Args:        append([]string{HelperName}, args...),
		CodeDir:     s.opts.CodeDir,
		MemoryBytes: 256 << 20,
		Env:         []string{"PATH=/usr/bin:/bin"},
	}
}

// Start starts spec with d, stops the instance at the end of the test and
// returns it with its stdout and stderr lines.
func Start(t *testing.T, d sandbox.Driver, spec sandbox.Spec) (sandbox.Instance, *Lines, *Lines) {
	t.Helper()
	stdout, stderr := NewLines(), NewLines()
	spec.Stdout, spec.Stderr = stdout, stderr
	in, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		if err := in.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return in, stdout, stderr
}

// Wait waits for in to end, failing the test after Patience.
func Wait(t *testing.T, in sandbox.Instance) sandbox.Exit {
	t.Helper()
	c := make(chan sandbox.Exit, 1)
	go func() { c <- in.Wait() }()
	select {
	case e := <-c:
		return e
	case <-time.After(Patience):
		t.Fatalf("instance %s did not end", in.ID())
		return sandbox.Exit{}
	}
}

func (s *suite) output(t *testing.T) {
	in, stdout, stderr := Start(t, s.d, s.spec("hello"))
	if got := stdout.Next(t); got != "hello" {
		t.Errorf("stdout = %q, want hello", got)
	}
	if got := stderr.Next(t); got != "hello-err" {
		t.Errorf("stderr = %q, want hello-err", got)
	}
	if e := Wait(t, in); !e.Success() {
		t.Errorf("Wait = %v, want exit 0", e)
	}
}

func (s *suite) exitCode(t *testing.T) {
	in, _, _ := Start(t, s.d, s.spec("exit", "3"))
	if e := Wait(t, in); e.Code != 3 || e.Signal != 0 || e.Killed || e.OOMKilled {
		t.Errorf("Wait = %+v, want exit 3", e)
	}
}

func (s *suite) signal(t *testing.T) {
	in, _, _ := Start(t, s.d, s.spec("kill-self"))
	if e := Wait(t, in); e.Signal != syscall.SIGKILL || e.Code != -1 || e.Killed || e.OOMKilled {
		t.Errorf("Wait = %+v, want signal killed", e)
	}
}

func (s *suite) argsEnvDir(t *testing.T) {
	spec := s.spec("info", "a", "b c")
	spec.Env = append(spec.Env, "FOO=bar baz")
	spec.Dir = sandbox.CodeMount
	in, stdout, _ := Start(t, s.d, spec)
	want := []string{`args=["a" "b c"]`, `env=["PATH=/usr/bin:/bin" "FOO=bar baz"]`, "dir=" + sandbox.CodeMount}
	if !s.opts.Isolated {
		// A driver without a mount namespace runs in the code folder itself.
		want[2] = "dir=" + s.opts.CodeDir
	}
	for _, w := range want {
		if got := stdout.Next(t); got != w {
			t.Errorf("line = %q, want %q", got, w)
		}
	}
	if e := Wait(t, in); !e.Success() {
		t.Errorf("Wait = %v, want exit 0", e)
	}
}

func (s *suite) stopGraceful(t *testing.T) {
	in, stdout, _ := Start(t, s.d, s.spec("graceful"))
	stdout.Expect(t, "ready")
	ctx, cancel := context.WithTimeout(t.Context(), Patience)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stdout.Expect(t, "term")
	if e := Wait(t, in); e.Code != 0 || e.Signal != 0 || !e.Killed {
		t.Errorf("Wait = %+v, want exit 0 and Killed", e)
	}
}

func (s *suite) stopHung(t *testing.T) {
	in, stdout, _ := Start(t, s.d, s.spec("hang"))
	stdout.Expect(t, "ready")
	// The runtime ignores SIGTERM: Stop must kill it once ctx is done.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := Wait(t, in); e.Signal != syscall.SIGKILL || !e.Killed {
		t.Errorf("Wait = %+v, want SIGKILL and Killed", e)
	}
}

func (s *suite) stopIdempotent(t *testing.T) {
	in, _, _ := Start(t, s.d, s.spec("exit", "0"))
	first := Wait(t, in)
	for i := range 2 {
		if err := in.Stop(t.Context()); err != nil {
			t.Errorf("Stop #%d: %v", i, err)
		}
	}
	if e := in.Wait(); e != first || e.Killed {
		t.Errorf("Wait after Stop = %+v, want %+v, not Killed (it ended on its own)", e, first)
	}
}

func (s *suite) noChildAfterStop(t *testing.T) {
	marker := fmt.Sprintf("marker-%d-%d", os.Getpid(), time.Now().UnixNano())
	in, stdout, _ := Start(t, s.d, s.spec("spawn", marker))
	stdout.Expect(t, "spawned")
	if err := in.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if pids := HostProcesses(t, marker); len(pids) > 0 {
		t.Errorf("processes %v of the instance survived Stop", pids)
	}
}

func (s *suite) noChildAfterExit(t *testing.T) {
	marker := fmt.Sprintf("marker-%d-%d", os.Getpid(), time.Now().UnixNano())
	in, stdout, _ := Start(t, s.d, s.spec("spawn-exit", marker))
	stdout.Expect(t, "spawned")
	if e := Wait(t, in); !e.Success() {
		t.Errorf("Wait = %v, want exit 0", e)
	}
	if pids := HostProcesses(t, marker); len(pids) > 0 {
		t.Errorf("processes %v of the instance survived its end", pids)
	}
}

func (s *suite) oom(t *testing.T) {
	if !s.opts.Isolated {
		t.Skip("the driver does not enforce memory limits")
	}
	if s.opts.NoLimits != "" {
		t.Skip("no memory limit: " + s.opts.NoLimits)
	}
	spec := s.spec("alloc", "512")
	spec.MemoryBytes = 64 << 20
	in, stdout, _ := Start(t, s.d, spec)
	e := Wait(t, in)
	if !e.OOMKilled || e.Signal != syscall.SIGKILL || e.Killed {
		t.Errorf("Wait = %+v, want OOMKilled by SIGKILL", e)
	}
	if got := stdout.Rest(); len(got) > 0 {
		t.Errorf("the program finished its allocation past the limit: %q", got)
	}
}

func (s *suite) unixSocket(t *testing.T) {
	spec := s.spec("serve-unix", sandbox.SocketMount+"/"+sandbox.SocketName)
	spec.SocketDir = t.TempDir()
	in, stdout, _ := Start(t, s.d, spec)
	if want := "unix:" + filepath.Join(spec.SocketDir, sandbox.SocketName); in.Addr() != want {
		t.Errorf("Addr = %q, want %q", in.Addr(), want)
	}
	stdout.Expect(t, "listening")
	Ping(t, in)
}

func (s *suite) tcp(t *testing.T) {
	// A free port of the host, for drivers that share its network.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	spec := s.spec("serve-tcp", addr)
	spec.ListenAddr = addr
	in, stdout, _ := Start(t, s.d, spec)
	if want := "tcp:" + addr; in.Addr() != want {
		t.Errorf("Addr = %q, want %q", in.Addr(), want)
	}
	stdout.Expect(t, "listening")
	Ping(t, in)
}

// Ping sends a line to a test program serving on in.Addr() and checks the
// answer.
func Ping(t *testing.T, in sandbox.Instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Patience)
	defer cancel()
	c, err := in.Dial(ctx)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(c, "ping"); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "pong ping\n" {
		t.Errorf("answer = %q, %v, want pong ping", line, err)
	}
}

func (s *suite) concurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			spec := s.spec("exit", fmt.Sprint(i))
			in, err := s.d.Start(t.Context(), spec)
			if err != nil {
				t.Errorf("Start #%d: %v", i, err)
				return
			}
			defer func() {
				if err := in.Stop(t.Context()); err != nil {
					t.Errorf("Stop #%d: %v", i, err)
				}
			}()
			if e := in.Wait(); e.Code != i {
				t.Errorf("Wait #%d = %v, want exit %d", i, e, i)
			}
		})
	}
	wg.Wait()
}

func (s *suite) startError(t *testing.T) {
	spec := s.spec()
	spec.Path = sandbox.CodeMount + "/does-not-exist"
	in, err := s.d.Start(t.Context(), spec)
	if err == nil {
		_ = in.Stop(t.Context())
		t.Fatal("Start of a missing program succeeded")
	}
	spec = s.spec()
	spec.ID = "no/slash"
	if _, err := s.d.Start(t.Context(), spec); !errors.Is(err, sandbox.ErrInvalidSpec) {
		t.Errorf("Start with a bad ID = %v, want ErrInvalidSpec", err)
	}
}

func (s *suite) canceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in, err := s.d.Start(ctx, s.spec("hang"))
	if err == nil {
		_ = in.Stop(t.Context())
		t.Fatal("Start with a canceled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start = %v, want context.Canceled", err)
	}
}

func (s *suite) dialAfterEnd(t *testing.T) {
	spec := s.spec("exit", "0")
	spec.SocketDir = t.TempDir()
	in, _, _ := Start(t, s.d, spec)
	Wait(t, in)
	if _, err := in.Dial(t.Context()); !errors.Is(err, sandbox.ErrNotRunning) {
		t.Errorf("Dial after the end = %v, want ErrNotRunning", err)
	}
}

// HostProcesses returns the host pids whose command line contains marker.
func HostProcesses(t *testing.T, marker string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // not a process, or gone
		}
		if bytes.Contains(b, []byte(marker)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// Lines is an io.Writer that splits what it receives into lines.
type Lines struct {
	c chan string

	// mu guards partial and rest.
	mu      sync.Mutex
	partial []byte
	rest    []string
}

// NewLines returns an empty Lines.
func NewLines() *Lines { return &Lines{c: make(chan string, 4096)} }

// Write implements io.Writer. Lines beyond the first 4096 unread ones are
// kept for Rest.
func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		select {
		case l.c <- line:
		default:
			l.rest = append(l.rest, line)
		}
	}
	return len(p), nil
}

// Next returns the next line, failing the test after Patience.
func (l *Lines) Next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.c:
		return s
	case <-time.After(Patience):
		t.Fatal("no output line")
		return ""
	}
}

// Expect fails the test unless the next line is want.
func (l *Lines) Expect(t *testing.T, want string) {
	t.Helper()
	if got := l.Next(t); got != want {
		t.Fatalf("output line = %q, want %q", got, want)
	}
}

// ExpectPrefix returns the next line, failing the test unless it starts with
// prefix.
func (l *Lines) ExpectPrefix(t *testing.T, prefix string) string {
	t.Helper()
	got := l.Next(t)
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("output line = %q, want %q...", got, prefix)
	}
	return got
}

// Rest returns the lines not read yet, without waiting.
func (l *Lines) Rest() []string {
	var out []string
	for {
		select {
		case s := <-l.c:
			out = append(out, s)
		default:
			l.mu.Lock()
			out = append(out, l.rest...)
			l.rest = nil
			l.mu.Unlock()
			return out
		}
	}
}

// C returns the channel lines arrive on, for callers that select or time
// without a testing.T (benchmarks).
func (l *Lines) C() <-chan string { return l.c }

// deferred checks a deferred instance (Spec.Deferred), for drivers that
// can defer: the program named by Exec runs with its own arguments,
// environment and folder, output flows, and it serves on ListenAddr; an
// instance never used stops (and is no longer running).
func (s *suite) deferred(t *testing.T) {
	spec := sandbox.Spec{CodeDir: s.opts.CodeDir, MemoryBytes: 256 << 20, Deferred: true}
	stdout, stderr := NewLines(), NewLines()
	spec.Stdout, spec.Stderr = stdout, stderr
	in, err := s.d.Start(t.Context(), spec)
	if errors.Is(err, sandbox.ErrUnsupported) {
		t.Skipf("the driver cannot defer: %v", err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { in.Stop(context.Background()) })
	ex, ok := in.(sandbox.Execer)
	if !ok {
		t.Fatalf("a deferred instance (%T) is no sandbox.Execer", in)
	}
	p := sandbox.Program{Path: HelperPath, Args: []string{HelperName, "info", "x"}, Env: []string{"FOO=deferred"}, Dir: "/tmp"}
	if err := ex.Exec(t.Context(), p); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for _, w := range []string{`args=["x"]`, `env=["FOO=deferred"]`, "dir=/tmp"} {
		if got := stdout.Next(t); got != w {
			t.Errorf("line = %q, want %q", got, w)
		}
	}
	if e := Wait(t, in); !e.Success() {
		t.Errorf("Wait = %v, want exit 0", e)
	}
	if err := ex.Exec(t.Context(), p); err == nil {
		t.Error("a second Exec succeeded")
	}

	unused, err := s.d.Start(t.Context(), sandbox.Spec{CodeDir: s.opts.CodeDir, Deferred: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), Patience)
	defer cancel()
	if err := unused.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := unused.Wait(); !e.Killed {
		t.Errorf("Wait of an unused deferred instance = %v, want stopped", e)
	}
	if err := unused.(sandbox.Execer).Exec(t.Context(), p); !errors.Is(err, sandbox.ErrNotRunning) {
		t.Errorf("Exec after Stop = %v, want ErrNotRunning", err)
	}
}
