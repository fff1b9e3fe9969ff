package linux

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// Deferred instances (Spec.Deferred): the sandbox is set up ahead of
// demand and the program comes later with Exec. What the escape suite
// checks of an ordinary instance must hold for the program of a deferred
// one, and nothing of the waiting state may reach it.

// startDeferred starts a deferred instance of d with the test program's
// folder as its code, stopped at the end of the test.
func startDeferred(t *testing.T, d *Driver, spec sandbox.Spec) (*instance, *sandboxtest.Lines) {
	t.Helper()
	spec.Deferred = true
	if spec.CodeDir == "" {
		spec.CodeDir = codeDir
	}
	if spec.MemoryBytes == 0 {
		spec.MemoryBytes = 256 << 20
	}
	in, stdout, _ := sandboxtest.Start(t, d, spec)
	return in.(*instance), stdout
}

// execDeferred runs the test program with args in a new deferred instance
// of d and returns the line it printed.
func execDeferred(t *testing.T, d *Driver, args ...string) string {
	t.Helper()
	in, stdout := startDeferred(t, d, sandbox.Spec{})
	p := sandbox.Program{Path: sandboxtest.HelperPath, Args: append([]string{sandboxtest.HelperName}, args...), Env: []string{"PATH=/usr/bin:/bin"}}
	if err := in.Exec(t.Context(), p); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	e := sandboxtest.Wait(t, in)
	lines := stdout.Rest()
	if len(lines) == 0 {
		t.Fatalf("%q printed nothing (exit %v)", args, e)
	}
	return lines[0]
}

// TestLinuxDeferredWaitsForProgram checks that a deferred instance runs
// nothing but its init until Exec, and that Dial finds nothing listening.
func TestLinuxDeferredWaitsForProgram(t *testing.T) {
	d := newDriver(t)
	in, stdout := startDeferred(t, d, sandbox.Spec{ListenAddr: "0.0.0.0:9000"})
	if noLimits(d) == "" {
		b, err := os.ReadFile(filepath.Join(cgroupDir(in), "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(b))); n != 1 {
			t.Errorf("a waiting instance's cgroup holds %d processes (%q), want its init only", n, b)
		}
	}
	if c, err := in.Dial(t.Context()); err == nil {
		c.Close()
		t.Error("Dial reached something in a waiting instance")
	}
	p := sandbox.Program{Path: sandboxtest.HelperPath, Args: []string{sandboxtest.HelperName, "serve-tcp", "0.0.0.0:9000"}}
	if err := in.Exec(t.Context(), p); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	stdout.Expect(t, "listening")
	sandboxtest.Ping(t, in)
}

// TestLinuxDeferredRestrictions checks the deferred program's user,
// capabilities, no_new_privs and seccomp, its view of processes, and that
// the sandbox's restrictions apply to it.
func TestLinuxDeferredRestrictions(t *testing.T) {
	d := newDriver(t)
	got := execDeferred(t, d, "status")
	// The same as an ordinary instance's program (TestEscapeCapabilitiesAndUser).
	if want := try(t, d, "status"); got != want {
		t.Errorf("status of a deferred program = %q, want %q as an ordinary one's", got, want)
	}
	for _, w := range []string{"CapEff=0000000000000000", "CapBnd=0000000000000000", "NoNewPrivs=1", "Seccomp=2"} {
		if !strings.Contains(got+" ", w+" ") && !strings.HasSuffix(got, w) {
			t.Errorf("status %q lacks %q", got, w)
		}
	}
	if !rootlessMode && !strings.Contains(got, "Uid=10000,10000,10000,10000") {
		t.Errorf("status %q: the program does not run as the sandbox user", got)
	}
	if got := execDeferred(t, d, "ps"); got != "ok 1 2" {
		t.Errorf("processes seen = %q, want the init and itself: ok 1 2", got)
	}
	wantErr(t, "mount", execDeferred(t, d, "mount"), "EPERM")
	wantErr(t, "write /code", execDeferred(t, d, "write", "/code/x"), "EROFS", "EACCES")
	wantErr(t, "clone3", execDeferred(t, d, "clone3"), "ENOSYS")
}

// TestLinuxDeferredNothingLeaks checks that the program gets its own
// environment, folder and arguments only, and the same open files and
// /tmp as an ordinary instance's program: nothing of the waiting init.
func TestLinuxDeferredNothingLeaks(t *testing.T) {
	d := newDriver(t)
	in, stdout := startDeferred(t, d, sandbox.Spec{})
	p := sandbox.Program{Path: sandboxtest.HelperPath, Args: []string{sandboxtest.HelperName, "info", "a"}, Env: []string{"FC_FUNCTION_NAME=f", "SECRET=s"}}
	if err := in.Exec(t.Context(), p); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for _, w := range []string{`args=["a"]`, `env=["FC_FUNCTION_NAME=f" "SECRET=s"]`, "dir=" + sandbox.CodeMount} {
		if got := stdout.Next(t); got != w {
			t.Errorf("line = %q, want %q", got, w)
		}
	}
	for _, args := range [][]string{{"ls", "/proc/self/fd"}, {"ls", "/tmp"}, {"ls", "/run"}} {
		if got, want := execDeferred(t, d, args...), try(t, d, args...); got != want {
			t.Errorf("%q in a deferred instance = %q, want %q as in an ordinary one", args, got, want)
		}
	}
}

// TestLinuxDeferredStopUnused checks that an instance never used stops
// at once (its init ignores SIGTERM while waiting) and leaves nothing.
func TestLinuxDeferredStopUnused(t *testing.T) {
	d := newDriver(t)
	in, _ := startDeferred(t, d, sandbox.Spec{})
	dir := cgroupDir(in)
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("the instance's cgroup: %v", err)
		}
	}
	// No deadline: a SIGTERM the init ignored would hang here.
	if err := in.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if e := in.Wait(); !e.Killed {
		t.Errorf("Wait = %v, want stopped", e)
	}
	if _, err := os.Stat(dir); dir != "" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cgroup %s remains after Stop (%v)", dir, err)
	}
	p := sandbox.Program{Path: sandboxtest.HelperPath}
	if err := in.Exec(t.Context(), p); !errors.Is(err, sandbox.ErrNotRunning) {
		t.Errorf("Exec after Stop = %v, want ErrNotRunning", err)
	}
}

// TestLinuxDeferredExecErrors: a program that cannot start ends the
// instance; Exec on an ordinary instance, twice, or with a bad program
// fails; a deferred spec may not name a program.
func TestLinuxDeferredExecErrors(t *testing.T) {
	d := newDriver(t)
	in, _ := startDeferred(t, d, sandbox.Spec{})
	if err := in.Exec(t.Context(), sandbox.Program{Path: "/code/missing"}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Exec of a missing program = %v, want an error naming it", err)
	}
	if e := sandboxtest.Wait(t, in); e.Success() {
		t.Errorf("Wait after a failed Exec = %v", e)
	}

	in, _ = startDeferred(t, d, sandbox.Spec{})
	if err := in.Exec(t.Context(), sandbox.Program{Path: "x", Dir: "rel"}); !errors.Is(err, sandbox.ErrInvalidSpec) {
		t.Errorf("Exec with a relative dir = %v, want ErrInvalidSpec", err)
	}
	p := sandbox.Program{Path: sandboxtest.HelperPath, Args: []string{sandboxtest.HelperName, "exit", "0"}}
	if err := in.Exec(t.Context(), p); err != nil {
		t.Fatalf("Exec after a refused one: %v", err)
	}
	if err := in.Exec(t.Context(), p); err == nil {
		t.Error("a second Exec succeeded")
	}

	ordinary, stdout, _ := sandboxtest.Start(t, d, helperSpec("graceful"))
	stdout.Expect(t, "ready")
	if err := ordinary.(sandbox.Execer).Exec(t.Context(), p); !errors.Is(err, sandbox.ErrInvalidSpec) {
		t.Errorf("Exec in an ordinary instance = %v, want ErrInvalidSpec", err)
	}

	bad := helperSpec("hello")
	bad.Deferred = true
	if _, err := d.Start(t.Context(), bad); !errors.Is(err, sandbox.ErrInvalidSpec) {
		t.Errorf("Start of a deferred spec naming a program = %v, want ErrInvalidSpec", err)
	}
}

// cgroupDir returns the folder of in's cgroup holding its processes, or ""
// when it has none (rootless without a delegated cgroup).
func cgroupDir(in *instance) string {
	switch g := in.cg.(type) {
	case *v1group:
		return g.dir("pids")
	case *v2group:
		return g.dir
	}
	return ""
}
