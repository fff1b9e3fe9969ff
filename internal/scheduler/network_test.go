package scheduler

import (
	"testing"

	"github.com/openfc/openfc/internal/runtimes"
)

func TestNetworkMode(t *testing.T) {
	for _, c := range []struct {
		network  string
		internet bool
		want     bool
	}{
		{"", true, false},
		{NetworkNone, true, false},
		{NetworkBridge, false, false},
		{NetworkBridge, true, true},
	} {
		s := &Scheduler{network: c.network}
		if got := s.bridged(&Spec{InternetAccess: c.internet}); got != c.want {
			t.Errorf("network %q, internetAccess %v: bridged %v, want %v", c.network, c.internet, got, c.want)
		}
	}
	rt := runtimes.Runtime{Kind: runtimes.KindPython}
	if genericKey(rt, 128<<20, true) == genericKey(rt, 128<<20, false) {
		t.Error("pre-started instances with and without a network share a stock")
	}
}
