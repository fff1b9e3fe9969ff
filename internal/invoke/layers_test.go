package invoke_test

import (
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestInvokeLayers checks that a function's layers appear under /opt, the
// earlier layer winning where two layers hold the same file (spec §2.10).
func TestInvokeLayers(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	ctx := t.Context()
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "demo"}); err != nil {
		t.Fatal(err)
	}
	first, _, err := c.PublishLayerVersion(ctx, "first", &fc.LayerInput{Code: &fc.Code{ZipFile: zipOf(t, map[string]string{
		"python/greet.py": "WHO = 'first layer'\n", "data/shared.txt": "from first",
	})}, CompatibleRuntime: []string{"python3"}})
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := c.PublishLayerVersion(ctx, "second", &fc.LayerInput{Code: &fc.Code{ZipFile: zipOf(t, map[string]string{
		"data/shared.txt": "from second", "data/only2.txt": "second only",
	})}, CompatibleRuntime: []string{"python3"}})
	if err != nil {
		t.Fatal(err)
	}
	createFunction(t, c, "demo", fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler",
		Layers: []string{first.ARN, second.ARNV2}},
		map[string]string{"index.py": "import greet\ndef handler(event, context):\n" +
			"    return greet.WHO + '|' + open('/opt/data/shared.txt').read() + '|' + open('/opt/data/only2.txt').read()\n"})
	got := invoke(t, c, "demo", "", "f", "", nil)
	if want := "first layer|from first|second only"; got.status != 200 || got.body != want {
		t.Errorf("invoke = %d %q, want %q", got.status, got.body, want)
	}
}
