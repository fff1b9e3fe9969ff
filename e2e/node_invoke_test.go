package e2e

import (
	"testing"

	"github.com/openfc/openfc/internal/testenv"
)

// TestNodeSDKInvoke runs e2e/node/fc2_invoke.test.js, which invokes a
// python3, a nodejs20 and a custom function through the official
// @alicloud/fc2 2.6.6 SDK (results, log tail, handled and unhandled errors)
// on `openfc serve`. Functions run in real sandboxes, so it needs root.
func TestNodeSDKInvoke(t *testing.T) {
	testenv.RequireRoot(t)
	runNodeTest(t, "fc2_invoke.test.js")
}
