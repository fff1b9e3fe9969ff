package linux

import (
	"os"
	"testing"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// TestLinuxInterpreters runs Python and Node.js in a sandbox, both starting
// threads: glibc tries clone3 first and falls back to clone only on ENOSYS.
func TestLinuxInterpreters(t *testing.T) {
	d := newDriver(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"python", []string{"/usr/bin/python3", "-c", "import threading, json, ssl; t = threading.Thread(target=lambda: print('ok')); t.start(); t.join()"}},
		{"node", []string{"/usr/bin/node", "-e", "const { Worker } = require('worker_threads'); new Worker('require(\"worker_threads\").parentPort.postMessage(1)', { eval: true }).on('message', () => console.log('ok'))"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.args[0]); err != nil {
				t.Skipf("%s not installed", tc.args[0])
			}
			spec := sandbox.Spec{Path: tc.args[0], Args: tc.args, MemoryBytes: 512 << 20, Env: []string{"PATH=/usr/bin:/bin", "HOME=/tmp"}}
			in, stdout, stderr := sandboxtest.Start(t, d, spec)
			e := sandboxtest.Wait(t, in)
			if got := stdout.Rest(); len(got) != 1 || got[0] != "ok" || !e.Success() {
				t.Errorf("%s: stdout %q, stderr %q, %v", tc.name, got, stderr.Rest(), e)
			}
		})
	}
}
