//go:build linux

package process_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openfc/openfc/internal/sandbox/process"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

var codeDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "openfc-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	codeDir = filepath.Join(dir, "code")
	if err := os.Mkdir(codeDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := sandboxtest.BuildHelper(codeDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func TestProcessConformance(t *testing.T) {
	d, err := process.New(process.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Run(t, d, sandboxtest.Options{CodeDir: codeDir})
}
