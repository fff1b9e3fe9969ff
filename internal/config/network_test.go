package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestSandboxNetwork(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instances.Network != "" || len(c.Instances.EgressAllow) != 0 {
		t.Errorf("default network %q, egress allow %q; want none", c.Instances.Network, c.Instances.EgressAllow)
	}
	c, err = Load([]string{"--sandbox-network", "bridge", "--sandbox-egress-allow", "10.1.2.0/24,192.168.0.7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Instances.EgressAllowPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24"), netip.MustParsePrefix("192.168.0.7/32")}
	if c.Instances.Network != "bridge" || !slices.Equal(got, want) {
		t.Errorf("flags: network %q, egress allow %v; want bridge, %v", c.Instances.Network, got, want)
	}
	c, err = Load(nil, []string{"OPENFC_SANDBOX_NETWORK=bridge", "OPENFC_SANDBOX_EGRESS_ALLOW=172.20.0.0/16, 10.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Instances.EgressAllowPrefixes(); c.Instances.Network != "bridge" || len(got) != 2 {
		t.Errorf("environment: network %q, egress allow %v", c.Instances.Network, got)
	}

	for _, bad := range []struct {
		network, sandbox string
		allow            []string
		want             string
	}{
		{"wifi", "", nil, "sandbox-network"},
		{"bridge", "process", nil, "linux sandbox"},
		{"bridge", "", []string{"not-a-cidr"}, "sandbox-egress-allow"},
		{"bridge", "", []string{"fd00::/8"}, "IPv4"},
	} {
		c := Default()
		c.Instances.Network, c.Instances.Sandbox, c.Instances.EgressAllow = bad.network, bad.sandbox, bad.allow
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Validate(network %q, sandbox %q, allow %q) = %v, want an error about %s", bad.network, bad.sandbox, bad.allow, err, bad.want)
		}
	}
}
