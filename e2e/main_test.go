package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
)

// openfcBin is the binary under test: built by TestMain, or named by
// OPENFC_E2E_BINARY.
var openfcBin string

// raceEnabled is set by race_test.go when the tests run with -race; the
// binary under test is then built with the race detector too.
var raceEnabled bool

// Bounds for waiting on the subprocess. They are generous because the
// suite runs beside the race-enabled tests of every other package on two
// cores; they are limits, never expectations.
const (
	startTimeout = 90 * time.Second
	stopTimeout  = 60 * time.Second
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("OPENFC_E2E_BINARY"); bin != "" {
		// Test a binary built elsewhere (a release build, say).
		openfcBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "openfc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	openfcBin = filepath.Join(dir, "openfc")
	args := []string{"build", "-o", openfcBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/openfc/openfc/cmd/openfc")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build openfc:", err)
		return 1
	}
	return m.Run()
}

// baseEnv is the test process's environment without OPENFC_* variables,
// so that a developer's own settings do not leak into the servers.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENFC_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer collects a subprocess's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// credentials is <data-dir>/credentials.json.
type credentials struct {
	AccountID       string `json:"accountId"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
}

// serverOptions configure one `openfc serve` subprocess.
type serverOptions struct {
	DataDir string   // required: reuse it to restart on the same data
	Env     []string // extra KEY=VALUE
	Args    []string // extra flags
}

// server is one running `openfc serve` subprocess.
type server struct {
	Addr     string // host:port of the API
	Endpoint string // http://Addr
	Creds    credentials
	Client   *client.Client
	Stdout   *syncBuffer
	Stderr   *syncBuffer

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, valid after exited
}

// startServer starts `openfc serve` on a free port and returns once it has
// written its address file and credentials. The process is killed at
// cleanup if the test has not stopped it.
func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	if o.DataDir == "" {
		t.Fatal("startServer: DataDir is required")
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "--data-dir", o.DataDir}, o.Args...)
	s := &server{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(openfcBin, args...)
	s.cmd.Env = append(baseEnv(), o.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.Stdout, s.Stderr
	// Its own process group, as a service manager would start it: signals
	// meant for the test processes' group (go test runs every package's
	// tests in one) must not reach the server, whose SIGTERM handling the
	// tests check.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start openfc serve: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("openfc serve %s\n--- stdout ---\n%s--- stderr ---\n%s", strings.Join(args, " "), s.Stdout, s.Stderr)
		}
	})

	deadline := time.Now().Add(startTimeout)
	for {
		data, err := os.ReadFile(addrFile)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			s.Addr = strings.TrimSpace(string(data))
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("openfc serve exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", s.err, s.Stdout, s.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("openfc serve did not write %s within %v\nstdout:\n%s\nstderr:\n%s", addrFile, startTimeout, s.Stdout, s.Stderr)
		}
	}
	s.Endpoint = "http://" + s.Addr
	s.Creds = readCredentials(t, o.DataDir)
	if s.Creds.Endpoint != s.Endpoint {
		t.Errorf("credentials.json endpoint = %q, want %q (from the addr file)", s.Creds.Endpoint, s.Endpoint)
	}
	s.Client = newClient(t, s.Endpoint, s.Creds.AccountID, s.Creds.AccessKeyID, s.Creds.AccessKeySecret)
	return s
}

func readCredentials(t *testing.T, dataDir string) credentials {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "credentials.json"))
	if err != nil {
		t.Fatalf("read credentials: %v", err)
	}
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("credentials.json: %v\n%s", err, data)
	}
	if c.AccountID == "" || c.AccessKeyID == "" || c.AccessKeySecret == "" || c.Endpoint == "" {
		t.Fatalf("credentials.json lacks a field: %s", data)
	}
	return c
}

func newClient(t *testing.T, endpoint, account, keyID, secret string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Endpoint: endpoint, AccountID: account, AccessKeyID: keyID,
		AccessKeySecret: secret, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Stop sends SIGTERM and waits for a clean exit (status 0).
func (s *server) Stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("openfc serve did not exit within %v of SIGTERM\nstderr:\n%s", stopTimeout, s.Stderr)
	}
	if s.err != nil {
		t.Fatalf("openfc serve after SIGTERM: %v\nstderr:\n%s", s.err, s.Stderr)
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *server) Kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	<-s.exited
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("openfc serve after SIGKILL: %v, want killed by SIGKILL", s.err)
	}
}

// runOpenfc runs the binary to completion with args and extra env, and
// returns stdout, stderr and the exit code.
func runOpenfc(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, openfcBin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("openfc %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// poll calls fn until it returns nil or timeout passes, then fails with
// fn's last error. It is for state that becomes true asynchronously (a
// watch on another node), never to wait out time.
func poll(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}
