package archtest

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/openfc/openfc/"

// layers lists openfc's packages from the bottom of the dependency tree up
// (STYLE.md §1, plus seal, which sits beside fc: encryption at rest for
// blob and store). A package may import only packages earlier in this
// list, and the rules below restrict further.
var layers = []string{
	"internal/fc",
	"internal/config",
	"internal/sandbox",
	"internal/seal",
	"internal/broker",
	"internal/blob",
	"internal/store",
	"internal/meter",
	"internal/fnlog",
	"internal/audit",
	"internal/runtimes",
	"internal/pool",
	"internal/flow",
	"internal/scheduler",
	"internal/invoke",
	"internal/queue",
	"internal/trigger",
	"internal/auth",
	"internal/api",
	"internal/console",
	"internal/client",
	"internal/app",
	"internal/cli",
	"internal/testenv",
	"cmd/openfc",
	"cmd/fcbench",
	"e2e",
}

// only restricts what some packages may import (by prefix of ours), beyond
// the layer order.
var only = map[string][]string{
	"internal/fc":      {},
	"internal/config":  {},
	"internal/sandbox": {"internal/sandbox"},
	"internal/seal":    {},
	"internal/flow":    {},
	"internal/client":  {"internal/fc"},
	"internal/api":     {"internal/fc", "internal/store", "internal/auth", "internal/invoke", "internal/queue", "internal/meter", "internal/fnlog", "internal/audit", "internal/trigger"},
	"cmd/fcbench":      {"internal/fc", "internal/client"},
}

// importers lists who alone may import a package.
var importers = map[string][]string{
	"internal/app":     {"internal/cli", "internal/testenv"},
	"internal/config":  {"internal/app", "internal/cli", "internal/testenv"},
	"internal/testenv": {}, // test files only; go list -deps of non-test code must never reach it
}

type pkg struct {
	ImportPath string
	Imports    []string
	Doc        string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/openfc/openfc/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// layerOf returns the rule entry a package falls under: the longest layer
// that is the package or a parent folder of it.
func layerOf(rel string) (string, int) {
	best, idx := "", -1
	for i, l := range layers {
		if (rel == l || strings.HasPrefix(rel, l+"/")) && len(l) > len(best) {
			best, idx = l, i
		}
	}
	return best, idx
}

func TestArchImports(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if rel == "internal/archtest" {
			continue
		}
		layer, li := layerOf(rel)
		if li < 0 {
			t.Errorf("package %s is not in archtest's layer table: add it where it belongs", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			irel := strings.TrimPrefix(imp, module)
			ilayer, ii := layerOf(irel)
			if ilayer == layer {
				continue // within one component (e.g. sandbox/linux imports sandbox)
			}
			if ii < 0 || ii > li {
				t.Errorf("%s imports %s, which sits above it (STYLE.md §1: import only packages listed above)", rel, irel)
			}
			if allowed, ok := only[layer]; ok && !slices.Contains(allowed, ilayer) {
				t.Errorf("%s imports %s; it may import only %v", rel, irel, allowed)
			}
			if who, ok := importers[ilayer]; ok && !slices.Contains(who, layer) {
				t.Errorf("%s imports %s; only %v may", rel, irel, who)
			}
		}
	}
}

func TestArchPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Doc == "" {
			t.Errorf("package %s has no package doc: add a doc.go saying what it does", p.ImportPath)
		}
	}
}
