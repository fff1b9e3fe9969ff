package e2e

import (
	"testing"

	"github.com/openfc/openfc/internal/testenv"
)

// TestNodeSDKEventTriggers runs e2e/node/fc2_events.test.js: NATS
// (eventbridge) and oss triggers through the official @alicloud/fc2 2.6.6
// SDK, and the oss webhook as MinIO calls it.
func TestNodeSDKEventTriggers(t *testing.T) {
	testenv.RequireRoot(t) // the node runs functions (the webhook enqueues for one)
	runNodeTest(t, "fc2_events.test.js", nil)
}
