package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSandboxDriver(t *testing.T) {
	file := filepath.Join(t.TempDir(), "openfc.yaml")
	if err := os.WriteFile(file, []byte("instances:\n  sandbox: process\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		args, env []string
		want      string
	}{
		// Empty: the node picks (linux as root on Linux or rootless, else process).
		{"default", nil, nil, ""},
		{"flag linux", []string{"--sandbox=linux"}, nil, "linux"},
		{"flag process", []string{"--sandbox", "process"}, nil, "process"},
		{"environment", nil, []string{"OPENFC_SANDBOX=process"}, "process"},
		{"flag over environment", []string{"--sandbox=linux"}, []string{"OPENFC_SANDBOX=process"}, "linux"},
		{"config file", []string{"--config", file}, nil, "process"},
		{"flag over config file", []string{"--config", file, "--sandbox=linux"}, nil, "linux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, tc.env)
			if err != nil {
				t.Fatalf("Load(%q, %q): %v", tc.args, tc.env, err)
			}
			if c.Instances.Sandbox != tc.want {
				t.Errorf("Load(%q, %q): sandbox %q, want %q", tc.args, tc.env, c.Instances.Sandbox, tc.want)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate(sandbox %q) = %v, want nil", c.Instances.Sandbox, err)
			}
		})
	}

	for _, bad := range []struct {
		name      string
		args, env []string
	}{
		{"flag", []string{"--sandbox=docker"}, nil},
		{"environment", nil, []string{"OPENFC_SANDBOX=docker"}},
		{"case matters", []string{"--sandbox=Linux"}, nil},
	} {
		t.Run("unknown "+bad.name, func(t *testing.T) {
			c, err := Load(bad.args, bad.env)
			if err != nil {
				t.Fatalf("Load(%q, %q): %v; an unknown driver is Validate's to refuse", bad.args, bad.env, err)
			}
			err = c.Validate()
			if err == nil {
				t.Fatalf("Validate(sandbox %q) = nil, want an error", c.Instances.Sandbox)
			}
			// The message names the setting, the bad value and the choices.
			msg := err.Error()
			for _, w := range []string{"sandbox", `"` + c.Instances.Sandbox + `"`, "linux", "process"} {
				if !strings.Contains(msg, w) {
					t.Errorf("Validate(sandbox %q) = %q, want it to name %s", c.Instances.Sandbox, msg, w)
				}
			}
		})
	}

	if _, err := Load([]string{"--sandbox"}, nil); err == nil || !strings.Contains(err.Error(), "sandbox") {
		t.Errorf(`Load(["--sandbox"]) = %v, want an error naming the flag's missing value`, err)
	}
}
