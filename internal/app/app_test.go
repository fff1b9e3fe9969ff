package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// A function whose runtime cannot run on the node (its interpreter is
// missing) is refused when it is created, with a clear error.
func TestUnavailableRuntimeRefused(t *testing.T) {
	n := testenv.Platform(t, func(c *config.Config) { c.Instances.Python = "/nonexistent/python3" })
	ctx := t.Context()
	if _, _, err := n.Client.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}, // an empty zip
	})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != fc.CodeInvalidArgument || !strings.Contains(e.Message, "not available on this node") {
		t.Fatalf("CreateFunction with a missing interpreter = %v, want 400 InvalidArgument naming the runtime", err)
	}
	// Runtimes whose interpreter exists are still accepted.
	if _, _, err := n.Client.CreateFunction(ctx, "demo", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "g", Runtime: "nodejs20", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
	}); err != nil {
		t.Fatalf("CreateFunction nodejs20 = %v", err)
	}
}
