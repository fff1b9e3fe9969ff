package app

import (
	"path/filepath"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/linux"
)

func newLinuxDriver(a *App, run string) (sandbox.Driver, func() error, error) {
	d, err := linux.New(linux.Options{
		Logger:       a.logger,
		StateDir:     filepath.Join(run, "sandbox"),
		CgroupParent: "openfc-" + nodeID(a.cfg),
	})
	if err != nil {
		return nil, nil, err
	}
	return d, d.Close, nil
}
