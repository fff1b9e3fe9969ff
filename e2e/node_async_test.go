package e2e

import (
	"testing"

	"github.com/openfc/openfc/internal/testenv"
)

// TestNodeSDKAsync runs e2e/node/fc2_async.test.js: async invocations,
// the async invoke config and stateful async invocations (status, list,
// stop), retries, delayed start and a function destination, through the
// official @alicloud/fc2 2.6.6 SDK on `openfc serve`. Functions run in real
// sandboxes, so it needs root.
func TestNodeSDKAsync(t *testing.T) {
	testenv.RequireRoot(t)
	runNodeTest(t, "fc2_async.test.js", nil)
}
