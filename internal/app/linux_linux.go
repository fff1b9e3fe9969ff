package app

import (
	"path/filepath"
	"runtime"

	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/linux"
)

func newLinuxDriver(a *App, run string) (sandbox.Driver, func() error, error) {
	allow, err := a.cfg.Instances.EgressAllowPrefixes()
	if err != nil {
		return nil, nil, err
	}
	d, err := linux.New(linux.Options{
		Logger:       a.logger,
		StateDir:     filepath.Join(run, "sandbox"),
		CgroupParent: "openfc-" + nodeID(a.cfg),
		// The bootstraps' folder is a mount point of the template root, so
		// instances that mount it keep the fast start path.
		MountPoints: []string{runtimes.DefaultBootstrapDir},
		// Functions together weigh as much as 8 busy threads per CPU of the
		// node's own (API, scheduler) or other processes, so that under
		// contention the platform does not starve the code it serves;
		// among themselves instances share by memory size.
		ParentCPUShares: uint64(8 * 1024 * runtime.NumCPU()),
		// bridge: the bridge, NAT and veth pool are set up now, not on the
		// first call of a function with internetAccess.
		Network:     sandbox.Network(a.cfg.Instances.Network),
		EgressAllow: allow,
		// User namespaces; implied by the driver when openfc is not root.
		Rootless: a.cfg.Instances.Rootless,
	})
	if err != nil {
		return nil, nil, err
	}
	return d, d.Close, nil
}
