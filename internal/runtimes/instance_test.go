package runtimes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootDir holds the bootstrap files written once for the whole test binary.
var bootDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openfc-runtimes-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// output collects a process's output and lets tests wait for text in it.
type output struct {
	mu      sync.Mutex // guards buf and changed
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains every one of subs and returns
// the output; it fails the test after a bounded wait.
func (o *output) waitFor(t testing.TB, subs ...string) string {
	t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		o.mu.Lock()
		s, ch := o.buf.String(), o.changed
		o.mu.Unlock()
		missing := ""
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				missing = sub
				break
			}
		}
		if missing == "" {
			return s
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("output never contained %q; output:\n%s", missing, s)
		}
	}
}

// instance is a bootstrap started as a plain child process.
type instance struct {
	rt      Runtime
	codeDir string
	socket  string
	client  *http.Client
	stdout  *output
	stderr  *output
	exited  chan struct{}
	kill    func()
}

// stop kills the process and waits for it to end.
func (in *instance) stop() {
	in.kill()
	<-in.exited
}

type instanceOptions struct {
	concurrency int
}

// startInstance starts runtime name with the fixture handlers of
// testdata/<kind> as its code folder and waits until it is ready.
func startInstance(t testing.TB, name string, opts instanceOptions) *instance {
	t.Helper()
	in := launch(t, name, opts)
	in.waitReady(t)
	return in
}

func launch(t testing.TB, name string, opts instanceOptions) *instance {
	t.Helper()
	rt, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) found nothing", name)
	}
	if err := rt.Check(Interpreters{}); err != nil {
		t.Skipf("interpreter missing on this machine: %v", err)
	}
	if _, err := WriteBootstrap(context.Background(), bootDir, rt, Interpreters{}); err != nil {
		t.Fatal(err)
	}
	code, err := filepath.Abs(filepath.Join("testdata", string(rt.Kind)))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "fc.sock")
	cmd, err := rt.Command(CommandOptions{BootstrapDir: bootDir, CodeDir: code, Socket: sock, InstanceConcurrency: opts.concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return run(t, &instance{rt: rt, codeDir: code, socket: sock}, cmd.Args, cmd.Env)
}

// relaunch runs args with cmd's environment in place of in's stopped
// process, on the same socket and code folder.
func relaunch(t testing.TB, in *instance, cmd Command, args []string) *instance {
	t.Helper()
	return run(t, &instance{rt: in.rt, codeDir: in.codeDir, socket: in.socket}, args, cmd.Env)
}

func run(t testing.TB, in *instance, args, env []string) *instance {
	t.Helper()
	in.stdout, in.stderr, in.exited = newOutput(), newOutput(), make(chan struct{})
	sock := in.socket
	c := exec.Command(args[0], args[1:]...)
	// Its own process group, so that stop also ends children (zygotes).
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Env = env
	c.Stdout, c.Stderr = in.stdout, in.stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.Wait() // the exit status of a killed process says nothing
		close(in.exited)
	}()
	in.kill = func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(in.stop)
	in.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
			MaxIdleConnsPerHost: 64,
		},
	}
	t.Cleanup(in.client.CloseIdleConnections)
	return in
}

// waitReady polls, in a bounded loop, until the socket path exists: the
// bootstraps create it only once they accept connections.
func (in *instance) waitReady(t testing.TB) {
	t.Helper()
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		if _, err := os.Stat(in.socket); err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-in.exited:
			t.Fatalf("%s exited before listening; stderr:\n%s", in.rt.Name, in.stderr)
		case <-deadline.C:
			t.Fatalf("%s did not listen on %s; stderr:\n%s", in.rt.Name, in.socket, in.stderr)
		}
	}
}

type call struct {
	method  string // default POST
	path    string // default /invoke
	handler string // x-fc-function-handler
	rid     string // x-fc-request-id
	headers map[string]string
	body    string
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (in *instance) do(t testing.TB, c call) reply {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.path == "" {
		c.path = "/invoke"
	}
	req, err := http.NewRequest(c.method, "http://instance"+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.handler != "" {
		req.Header.Set("x-fc-function-handler", c.handler)
	}
	if c.rid != "" {
		req.Header.Set("x-fc-request-id", c.rid)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v; stderr:\n%s", c.method, c.path, err, in.stderr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// builtins are the runtimes whose bootstraps the tests run.
var builtins = []string{"python3", "nodejs20"}
