package config

import (
	"strings"
	"testing"
)

func TestSandboxRootless(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instances.Rootless {
		t.Error("rootless by default")
	}
	c, err = Load([]string{"--sandbox-rootless"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Instances.Rootless {
		t.Error("--sandbox-rootless did not set rootless")
	}
	c, err = Load(nil, []string{"OPENFC_SANDBOX_ROOTLESS=true"})
	if err != nil || !c.Instances.Rootless {
		t.Errorf("OPENFC_SANDBOX_ROOTLESS=true: rootless %v, %v", c.Instances.Rootless, err)
	}
	c, err = Load([]string{"--sandbox-rootless=false"}, []string{"OPENFC_SANDBOX_ROOTLESS=1"})
	if err != nil || c.Instances.Rootless {
		t.Errorf("the flag does not override the environment: rootless %v, %v", c.Instances.Rootless, err)
	}
	if _, err := Load(nil, []string{"OPENFC_SANDBOX_ROOTLESS=maybe"}); err == nil || !strings.Contains(err.Error(), "OPENFC_SANDBOX_ROOTLESS") {
		t.Errorf("OPENFC_SANDBOX_ROOTLESS=maybe: %v, want an error naming it", err)
	}
	for _, bad := range []struct{ sandbox, network, want string }{
		{"process", "", "not of process"},
		{"", "bridge", "needs root"},
		{"linux", "bridge", "needs root"},
	} {
		c := Default()
		c.Instances.Rootless, c.Instances.Sandbox, c.Instances.Network = true, bad.sandbox, bad.network
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Validate(rootless, sandbox %q, network %q) = %v, want an error about %s", bad.sandbox, bad.network, err, bad.want)
		}
	}
}
