package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/process"
)

// runDir returns the short per-node folder for sockets and sandbox state:
// /run/openfc/<hash of the data dir> unless configured.
func runDir(cfg config.Config) (string, error) {
	if cfg.Instances.RunDir != "" {
		return cfg.Instances.RunDir, nil
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	base := "/run/openfc"
	if os.Geteuid() != 0 {
		base = filepath.Join(os.TempDir(), "openfc-run")
	}
	return filepath.Join(base, hex.EncodeToString(sum[:6])), nil
}

// nodeID names this node's cgroups and state: derived from the data dir so
// a restart on the same data finds (and removes) what a crash left.
func nodeID(cfg config.Config) string {
	abs, _ := filepath.Abs(cfg.DataDir)
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:6])
}

// memoryBudget returns the configured budget or 75% of the machine.
func memoryBudget(cfg config.Config) (int64, error) {
	if cfg.Instances.Memory != "" {
		return config.ParseBytes(cfg.Instances.Memory)
	}
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0, fmt.Errorf("read machine memory: %w", err)
	}
	return int64(si.Totalram) * int64(si.Unit) * 3 / 4, nil
}

func interpreters(cfg config.Config) runtimes.Interpreters {
	return runtimes.Interpreters{Python: cfg.Instances.Python, Node: cfg.Instances.Node}
}

// sandboxKind returns the configured driver, defaulting to linux as root.
func sandboxKind(cfg config.Config) string {
	if k := cfg.Instances.Sandbox; k != "" {
		return k
	}
	if runtime.GOOS == "linux" && (os.Geteuid() == 0 || cfg.Instances.Rootless) {
		return "linux"
	}
	return "process"
}

// newDriver builds the sandbox driver.
func (a *App) newDriver(run string) (sandbox.Driver, func() error, error) {
	kind := sandboxKind(a.cfg)
	if kind == "process" {
		d, err := process.New(process.Options{Logger: a.logger})
		return d, func() error { return nil }, err
	}
	return newLinuxDriver(a, run)
}
