package runtimes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRuntimesLookup(t *testing.T) {
	tests := []struct {
		name   string
		ok     bool
		kind   Kind
		listen Listen
	}{
		{"python3", true, KindPython, ListenUnix},
		{"python3.9", true, KindPython, ListenUnix},
		{"python3.10", true, KindPython, ListenUnix},
		{"nodejs12", true, KindNodejs, ListenUnix},
		{"nodejs20", true, KindNodejs, ListenUnix},
		{"custom", true, KindCustom, ListenTCP},
		{"custom.debian10", true, KindCustom, ListenTCP},
		{"go1", true, KindGo, ListenUnix},
		{"python2.7", false, "", ""},
		{"java8", false, "", ""},
		{"Python3", false, "", ""},
		{"", false, "", ""},
	}
	for _, tt := range tests {
		rt, ok := Lookup(tt.name)
		if ok != tt.ok || rt.Kind != tt.kind || rt.Listen != tt.listen {
			t.Errorf("Lookup(%q) = %v %q %q, want %v %q %q", tt.name, ok, rt.Kind, rt.Listen, tt.ok, tt.kind, tt.listen)
		}
	}
	var names []string
	for _, rt := range All() {
		names = append(names, rt.Name)
	}
	want := []string{"custom", "custom.debian10", "go1", "nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20", "python3", "python3.10", "python3.9"}
	if !cmp.Equal(names, want) {
		t.Errorf("All() names = %v, want %v", names, want)
	}
}

func TestRuntimesCheck(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "python3")
	plain := filepath.Join(dir, "plain")
	for p, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	py, _ := Lookup("python3.10")
	node, _ := Lookup("nodejs18")
	custom, _ := Lookup("custom")
	tests := []struct {
		name string
		rt   Runtime
		ip   Interpreters
		ok   bool
	}{
		{"present", py, Interpreters{Python: exe}, true},
		{"missing", py, Interpreters{Python: filepath.Join(dir, "absent")}, false},
		{"not executable", py, Interpreters{Python: plain}, false},
		{"directory", node, Interpreters{Node: dir}, false},
		{"user executable", custom, Interpreters{Python: "/nonexistent", Node: "/nonexistent"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rt.Check(tt.ip)
			if (err == nil) != tt.ok {
				t.Fatalf("%s.Check(%+v) = %v, want ok %v", tt.rt.Name, tt.ip, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.rt.Name)) {
				t.Errorf("%s.Check error %q does not wrap ErrUnavailable or name the runtime", tt.rt.Name, err)
			}
		})
	}
}

func TestRuntimesCommand(t *testing.T) {
	py, _ := Lookup("python3")
	node, _ := Lookup("nodejs16")
	custom, _ := Lookup("custom.debian10")
	goRT, _ := Lookup("go1")
	opts := CommandOptions{Socket: "/run/fc/fc.sock", Handler: "main", RuntimeAPI: "127.0.0.1:9001", InstanceConcurrency: 4}
	tests := []struct {
		name    string
		rt      Runtime
		opts    CommandOptions
		args    []string
		env     []string // must be present
		wantErr bool
	}{
		{"python", py, opts, []string{DefaultPython, "-B", "-c", "", DefaultBootstrapDir},
			[]string{"FC_SERVER_SOCKET=/run/fc/fc.sock", "FC_FUNC_CODE_PATH=/code", "FC_INSTANCE_CONCURRENCY=4"}, false},
		{"python interpreter", py, CommandOptions{Socket: "/s", Interpreters: Interpreters{Python: "/opt/py/bin/python3"}, BootstrapDir: "/b"},
			[]string{"/opt/py/bin/python3", "-B", "-c", "", "/b"}, nil, false},
		{"node", node, opts, []string{DefaultNode, DefaultBootstrapDir + "/bootstrap.js"},
			[]string{"FC_SERVER_SOCKET=/run/fc/fc.sock", "NODE_PATH=/opt/nodejs/node_modules"}, false},
		{"custom", custom, opts, []string{"/code/bootstrap"}, []string{"FC_CUSTOM_LISTEN_PORT=9000", "FC_SERVER_PORT=9000"}, false},
		{"go", goRT, opts, []string{DefaultPython, "-B", "-c", "", DefaultBootstrapDir}, []string{"FC_RUNTIME_API=127.0.0.1:9001", "FC_FUNCTION_HANDLER=main"}, false},
		{"python without socket", py, CommandOptions{}, nil, nil, true},
		{"go without runtime api", goRT, CommandOptions{Handler: "main"}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := tt.rt.Command(tt.opts)
			if tt.wantErr {
				if !errors.Is(err, ErrOptions) {
					t.Fatalf("Command(%+v) error = %v, want ErrOptions", tt.opts, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The -c program is checked by the bootstrap tests, which run it.
			args := slices.Clone(cmd.Args)
			if len(args) > 3 && args[2] == "-c" {
				args[3] = ""
			}
			if !cmp.Equal(args, tt.args) {
				t.Errorf("Command args = %q, want %q", args, tt.args)
			}
			for _, kv := range tt.env {
				if !slices.Contains(cmd.Env, kv) {
					t.Errorf("Command env %q lacks %q", cmd.Env, kv)
				}
			}
		})
	}
}

func TestWriteBootstrap(t *testing.T) {
	for _, name := range []string{"python3", "nodejs20", "custom", "go1"} {
		t.Run(name, func(t *testing.T) {
			rt, _ := Lookup(name)
			if err := rt.Check(Interpreters{}); err != nil {
				t.Skipf("interpreter missing on this machine: %v", err)
			}
			dir := filepath.Join(t.TempDir(), "runtime")
			p, err := WriteBootstrap(t.Context(), dir, rt, Interpreters{})
			if err != nil {
				t.Fatal(err)
			}
			src, file := Bootstrap(rt)
			if src == nil {
				if p != "" {
					t.Errorf("WriteBootstrap(%s) = %q, want no file", name, p)
				}
				return
			}
			if p != filepath.Join(dir, file) {
				t.Errorf("WriteBootstrap(%s) = %q, want %q", name, p, filepath.Join(dir, file))
			}
			got, err := os.ReadFile(p)
			if err != nil || string(got) != string(src) {
				t.Fatalf("written bootstrap differs from the embedded one (err %v)", err)
			}
			before, _ := os.Stat(p)
			// A second write leaves the file alone.
			if _, err := WriteBootstrap(t.Context(), dir, rt, Interpreters{}); err != nil {
				t.Fatal(err)
			}
			after, _ := os.Stat(p)
			if !os.SameFile(before, after) {
				t.Errorf("second WriteBootstrap replaced an identical file")
			}
			if rt.Kind == KindPython {
				pycs, _ := filepath.Glob(filepath.Join(dir, "__pycache__", "openfc_bootstrap.*.pyc"))
				if len(pycs) != 1 {
					t.Errorf("compiled bootstrap files = %v, want one", pycs)
				}
			}
		})
	}
}
