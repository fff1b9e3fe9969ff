//go:build !linux

package app

import (
	"errors"

	"github.com/openfc/openfc/internal/sandbox"
)

func newLinuxDriver(a *App, run string) (sandbox.Driver, func() error, error) {
	return nil, nil, errors.New("the linux sandbox driver needs Linux: use --sandbox process")
}
