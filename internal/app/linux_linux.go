package app

import (
	"path/filepath"

	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/linux"
)

func newLinuxDriver(a *App, run string) (sandbox.Driver, func() error, error) {
	d, err := linux.New(linux.Options{
		Logger:       a.logger,
		StateDir:     filepath.Join(run, "sandbox"),
		CgroupParent: "openfc-" + nodeID(a.cfg),
		// The bootstraps' folder is a mount point of the template root, so
		// instances that mount it keep the fast start path.
		MountPoints: []string{runtimes.DefaultBootstrapDir},
	})
	if err != nil {
		return nil, nil, err
	}
	return d, d.Close, nil
}
