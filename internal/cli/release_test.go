package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// TestReleaseCommands drives version, alias, provision and limits against
// a node: publish, canary weights, rollback, provision configs from a file,
// limits per scope, and their errors and exit codes.
func TestReleaseCommands(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	cli(t, vars, "service", "create", "demo").ok(t, "service create")
	code := filepath.Join(t.TempDir(), "index.py")
	os.WriteFile(code, []byte("def handler(event, context):\n    return event\n"), 0o644)
	cli(t, vars, "function", "create", "demo/hello", "--runtime", "python3.10", "--handler", "index.handler", "--code", code).ok(t, "function create")

	// Versions.
	v := fieldsOf(t, cli(t, vars, "version", "publish", "demo", "--description", "first").ok(t, "version publish"))
	if v["Version"] != "1" || v["Description"] != "first" {
		t.Errorf("version publish printed %v", v)
	}
	cli(t, vars, "version", "publish", "demo").fails(t, "publish with no change", ExitFail, "demo")
	cli(t, vars, "function", "update", "demo/hello", "--memory", "256").ok(t, "function update")
	var ver fc.Version
	decode(t, cli(t, vars, "version", "publish", "demo", "-o", "json").ok(t, "version publish -o json"), &ver)
	if ver.VersionID != "2" {
		t.Errorf("second version %q, want 2", ver.VersionID)
	}
	var vl client.VersionList
	decode(t, cli(t, vars, "version", "list", "demo", "-o", "json").ok(t, "version list -o json"), &vl)
	if len(vl.Versions) != 2 || vl.Versions[0].VersionID != "2" {
		t.Errorf("version list = %+v, want 2 then 1", vl.Versions)
	}

	// Aliases: a canary, then a rollback.
	a := fieldsOf(t, cli(t, vars, "alias", "set", "demo/prod", "--version", "1", "--weight", "2=0.25").ok(t, "alias set"))
	if a["Version"] != "1" || a["Canary"] != "2=0.25" || len(a["ETag"]) != 32 {
		t.Errorf("alias set printed %v, want version 1 with canary 2=0.25", a)
	}
	var al fc.Alias
	decode(t, cli(t, vars, "alias", "set", "demo/prod", "--version", "2", "-o", "json").ok(t, "alias set again"), &al)
	if al.VersionID != "2" || len(al.AdditionalVersionWeight) != 0 {
		t.Errorf("alias set without --weight = %+v, want version 2 and no canary", al)
	}
	cli(t, vars, "alias", "set", "demo/prod", "--version", "1", "--if-match", a["ETag"]).fails(t, "alias set with a stale ETag", ExitFail, "PreconditionFailed")
	cli(t, vars, "alias", "set", "demo/prod", "--version", "1", "--weight", "2").fails(t, "bad weight", ExitUsage, "VERSION=SHARE")
	cli(t, vars, "alias", "set", "demo/prod").fails(t, "no version", ExitUsage, "--version")
	cli(t, vars, "alias", "set", "demo/prod", "--version", "9").fails(t, "missing version", ExitFail, "VersionNotFound")
	if got := fieldsOf(t, cli(t, vars, "alias", "get", "demo/prod").ok(t, "alias get")); got["Version"] != "2" || got["Canary"] != "-" {
		t.Errorf("alias get = %v", got)
	}
	cli(t, vars, "alias", "set", "demo/staging", "--version", "1").ok(t, "alias set staging")
	if names := rowsOf(t, cli(t, vars, "alias", "list", "demo").ok(t, "alias list")); !cmp.Equal(names, []string{"prod", "staging"}) {
		t.Errorf("alias list = %v", names)
	}
	cli(t, vars, "version", "delete", "demo/1").fails(t, "delete a version an alias uses", ExitFail, "VersionInUse")
	// A version no alias uses can go; its ID is not given out again.
	cli(t, vars, "alias", "set", "demo/old", "--version", "1").ok(t, "alias set old")
	cli(t, vars, "alias", "delete", "demo/old").ok(t, "alias delete")
	cli(t, vars, "alias", "get", "demo/old").fails(t, "alias get after delete", ExitFail, "AliasNotFound")
	cli(t, vars, "alias", "delete", "demo/old").fails(t, "alias delete twice", ExitFail, "AliasNotFound")
	cli(t, vars, "function", "update", "demo/hello", "--memory", "512").ok(t, "function update")
	decode(t, cli(t, vars, "version", "publish", "demo", "-o", "json").ok(t, "version publish 3"), &ver)
	cli(t, vars, "version", "delete", "demo/3").ok(t, "version delete")
	cli(t, vars, "version", "delete", "demo/3").fails(t, "version delete twice", ExitFail, "VersionNotFound")
	decode(t, cli(t, vars, "version", "list", "demo", "-o", "json").ok(t, "version list -o json"), &vl)
	if len(vl.Versions) != 2 || vl.Versions[0].VersionID != "2" {
		t.Errorf("version list after deleting 3 = %+v, want 2 then 1", vl.Versions)
	}
	cli(t, vars, "function", "update", "demo/hello", "--memory", "1024").ok(t, "function update")
	if v := fieldsOf(t, cli(t, vars, "version", "publish", "demo").ok(t, "version publish 4")); v["Version"] != "4" {
		t.Errorf("publish after deleting version 3 gave version %q, want 4 (IDs are never reused)", v["Version"])
	}

	// Provision configs, scheduled from a file (starting in 2099: no
	// instance is started by this test).
	pf := filepath.Join(t.TempDir(), "provision.json")
	os.WriteFile(pf, []byte(`{"target": 3, "scheduledActions": [{"name": "morning", "target": 2,
		"scheduleExpression": "cron(0 0 8 * * *)", "timeZone": "Asia/Shanghai", "startTime": "2099-01-01T00:00:00Z"}]}`), 0o600)
	p := fieldsOf(t, cli(t, vars, "provision", "set", "demo/hello", "--qualifier", "staging", "--from-file", pf, "--target", "0").ok(t, "provision set"))
	if p["Name"] != "demo.staging/hello" || p["Target"] != "0" || p["Scheduled actions"] != "morning: cron(0 0 8 * * *) Asia/Shanghai -> 2" {
		t.Errorf("provision set printed %v", p)
	}
	cli(t, vars, "provision", "set", "demo/hello", "--target", "1").fails(t, "provision set without a qualifier", ExitUsage, "--qualifier")
	os.WriteFile(pf, []byte(`{"target": 1, "scheduledActions": [{"name": "x", "target": 1, "scheduleExpression": "every day"}]}`), 0o600)
	cli(t, vars, "provision", "set", "demo/hello", "--qualifier", "staging", "--from-file", pf).fails(t, "a bad schedule", ExitFail, "InvalidArgument", "scheduleExpression")
	var pl client.ProvisionConfigList
	decode(t, cli(t, vars, "provision", "list", "--service", "demo", "-o", "json").ok(t, "provision list"), &pl)
	if len(pl.ProvisionConfigs) != 1 || *pl.ProvisionConfigs[0].Target != 0 || pl.ProvisionConfigs[0].ScheduledActions[0].TimeZone != "Asia/Shanghai" {
		t.Errorf("provision list = %+v", pl.ProvisionConfigs)
	}
	if got := fieldsOf(t, cli(t, vars, "provision", "get", "demo/hello", "--qualifier", "staging").ok(t, "provision get")); got["Current"] != "0" || got["Current error"] != "-" {
		t.Errorf("provision get = %v", got)
	}

	// Limits.
	l := fieldsOf(t, cli(t, vars, "limits", "set", "demo/hello", "--concurrency", "10", "--rate", "2.5").ok(t, "limits set function"))
	if l["Name"] != "demo/hello" || l["Scope"] != "function" || l["Concurrent requests"] != "10" || l["Invocations per second"] != "2.5" {
		t.Errorf("limits set printed %v", l)
	}
	cli(t, vars, "limits", "set", "--rate", "100", "--max-instances", "50").ok(t, "limits set account")
	cli(t, vars, "limits", "set", "demo", "--concurrency", "20").ok(t, "limits set service")
	cli(t, vars, "limits", "set", "demo", "--max-instances", "5").fails(t, "max instances on a service", ExitFail, "InvalidArgument", "maxInstances")
	if got := fieldsOf(t, cli(t, vars, "limits", "get", "demo").ok(t, "limits get service")); got["Concurrent requests"] != "20" || got["Max instances"] != "0" {
		t.Errorf("limits of the service after a refused set = %v, want them unchanged", got)
	}
	cli(t, vars, "limits", "set", "nope/hello", "--rate", "1").fails(t, "limits of a missing service", ExitFail, "ServiceNotFound")
	cli(t, vars, "limits", "set", "a/b/c").fails(t, "a bad scope", ExitUsage, "SERVICE/FUNCTION")
	var ls struct{ Limits []fc.Limits }
	decode(t, cli(t, vars, "limits", "list", "-o", "json").ok(t, "limits list"), &ls)
	if len(ls.Limits) != 3 || ls.Limits[0].Scope != "account" || ls.Limits[0].MaxInstances != 50 {
		t.Errorf("limits list = %+v, want the account's, the function's and the service's", ls.Limits)
	}
	if got := fieldsOf(t, cli(t, vars, "limits", "get").ok(t, "limits get")); got["Invocations per second"] != "100" {
		t.Errorf("limits get = %v", got)
	}
	cli(t, vars, "limits", "delete", "demo/hello").ok(t, "limits delete")
	cli(t, vars, "limits", "delete", "demo/hello").fails(t, "limits delete twice", ExitFail, "LimitsNotFound")
	if got := fieldsOf(t, cli(t, vars, "limits", "get", "demo/hello").ok(t, "limits get after delete")); got["Concurrent requests"] != "0" {
		t.Errorf("limits get after delete = %v, want no limit", got)
	}
	if names := rowsOf(t, cli(t, vars, "limits", "list").ok(t, "limits list")); !cmp.Equal(names, []string{"(account)", "demo"}) {
		t.Errorf("limits list = %v", names)
	}
	// A deleted function's limits go with it.
	cli(t, vars, "function", "create", "demo/gone", "--runtime", "python3.10", "--handler", "index.handler", "--code", code).ok(t, "function create")
	cli(t, vars, "limits", "set", "demo/gone", "--rate", "1").ok(t, "limits set")
	cli(t, vars, "function", "delete", "demo/gone").ok(t, "function delete")
	if names := rowsOf(t, cli(t, vars, "limits", "list").ok(t, "limits list")); !cmp.Equal(names, []string{"(account)", "demo"}) {
		t.Errorf("limits list after the function was deleted = %v", names)
	}
}
