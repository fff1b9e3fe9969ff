package runtimes

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var (
	//go:embed bootstrap/python/openfc_bootstrap.py
	pythonSource []byte
	//go:embed bootstrap/nodejs/bootstrap.js
	nodeSource []byte
	//go:embed bootstrap/go1/openfc_go1.py
	goShimSource []byte
)

const (
	pythonBootstrap = "openfc_bootstrap.py"
	nodeBootstrap   = "bootstrap.js"
	goShim          = "openfc_go1.py"
)

// Bootstrap returns the source of rt's embedded bootstrap program and its
// file name, or nil and "" for runtimes without one. The caller must not
// modify the returned slice.
func Bootstrap(rt Runtime) (src []byte, name string) {
	switch rt.Kind {
	case KindPython:
		return pythonSource, pythonBootstrap
	case KindNodejs:
		return nodeSource, nodeBootstrap
	case KindGo:
		// go1's shim runs on the Python bootstrap's HTTP server; both files
		// are written (see WriteBootstrap).
		return goShimSource, goShim
	}
	return nil, ""
}

// compileTimeout bounds the one-off precompilation of the Python bootstrap.
const compileTimeout = 30 * time.Second

// WriteBootstrap writes rt's bootstrap program into dir (created if
// needed) and returns the file's path; it returns "" and nil for runtimes
// without a bootstrap. The folder is meant to be written once per node and
// mounted read-only into every instance (see CommandOptions.BootstrapDir).
// For Python it also compiles the program to a .pyc (with interpreter
// ip.Python; hash-checked, so it stays valid wherever the folder is
// mounted), which saves every start the compilation.
//
// It is idempotent and safe for concurrent use, also by several processes:
// files are replaced atomically, and only when their content differs.
func WriteBootstrap(ctx context.Context, dir string, rt Runtime, ip Interpreters) (string, error) {
	src, name := Bootstrap(rt)
	if src == nil {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write bootstrap: %w", err)
	}
	p := filepath.Join(dir, name)
	files := map[string][]byte{name: src}
	if rt.Kind == KindGo {
		files[pythonBootstrap] = pythonSource
	}
	for fname, data := range files {
		fp := filepath.Join(dir, fname)
		changed, err := writeIfChanged(fp, data)
		if err != nil {
			return "", fmt.Errorf("write bootstrap: %w", err)
		}
		if rt.Kind == KindPython || rt.Kind == KindGo {
			stem := fname[:len(fname)-len(".py")]
			pycs, _ := filepath.Glob(filepath.Join(dir, "__pycache__", stem+".*.pyc")) // only a malformed pattern fails
			if changed || len(pycs) == 0 {
				if err := compilePython(ctx, ip.PythonPath(), fp); err != nil {
					return "", fmt.Errorf("write bootstrap: %w", err)
				}
			}
		}
	}
	return p, nil
}

func writeIfChanged(p string, data []byte) (bool, error) {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".bootstrap-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(f.Name(), p)
}

// compilePython writes __pycache__/<name>.<tag>.pyc next to the source.
// py_compile replaces the file atomically.
func compilePython(ctx context.Context, python, src string) error {
	ctx, cancel := context.WithTimeout(ctx, compileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c",
		"import sys,py_compile;py_compile.compile(sys.argv[1],doraise=True,invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)",
		src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compile %s with %s: %w: %s", src, python, err, bytes.TrimSpace(out))
	}
	return nil
}
