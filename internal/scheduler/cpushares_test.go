package scheduler

import "testing"

// TestCPUShares checks that an instance's CPU weight is proportional to its
// memory (1024 shares per GiB, FC's ratio), with the kernel's minimum of 2.
func TestCPUShares(t *testing.T) {
	for _, tc := range []struct {
		name   string
		memory int64
		want   uint64
	}{
		{"zero", 0, 2},
		{"1MiB", 1 << 20, 2},
		{"2MiB", 2 << 20, 2},
		{"3MiB", 3 << 20, 3},
		{"64MiB", 64 << 20, 64},
		{"128MiB", 128 << 20, 128},
		{"512MiB", 512 << 20, 512},
		{"1GiB", 1 << 30, 1024},
		{"3GiB", 3 << 30, 3072},
		{"32GiB", 32 << 30, 32768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuShares(tc.memory); got != tc.want {
				t.Errorf("cpuShares(%d) = %d, want %d", tc.memory, got, tc.want)
			}
		})
	}
	// Proportional: twice the memory, twice the weight.
	for m := int64(64 << 20); m <= 16<<30; m *= 2 {
		if a, b := cpuShares(m), cpuShares(2*m); b != 2*a {
			t.Errorf("cpuShares(%d) = %d, cpuShares(%d) = %d: not proportional", m, a, 2*m, b)
		}
	}
}
