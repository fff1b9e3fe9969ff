package e2e

import (
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

// deployCustom creates service and, in it, a custom-runtime function of
// code with the given instance concurrency, held to one instance, so that
// a test's events all reach the same process.
func deployCustom(t *testing.T, c *client.Client, service, function, code string, concurrency int) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: service}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateFunction(ctx, service, &fc.FunctionInput{
		Function: fc.Function{FunctionName: function, Runtime: "custom", Handler: "x", InstanceConcurrency: concurrency},
		Code:     &fc.Code{ZipFile: code},
	}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/" + service + ".LATEST/functions/" + function + "/on-demand-config",
		Body: fc.OnDemandConfig{MaximumInstanceCount: &one}}, nil); err != nil {
		t.Fatal(err)
	}
}
