package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// result is what one command line did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs an openfc command line in process with exactly vars as its
// environment.
func cli(t *testing.T, vars []string, args ...string) result {
	t.Helper()
	return cliIn(t, vars, "", args...)
}

func cliIn(t *testing.T, vars []string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, vars: vars})
	return result{code, stdout.String(), stderr.String()}
}

// ok fails the test unless r succeeded, and returns its stdout.
func (r result) ok(t *testing.T, what string) string {
	t.Helper()
	if r.code != ExitOK {
		t.Fatalf("%s: exit %d, stderr:\n%s", what, r.code, r.stderr)
	}
	return r.stdout
}

// fails checks r failed with code and a stderr containing each of want.
func (r result) fails(t *testing.T, what string, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
		return
	}
	if !strings.HasPrefix(r.stderr, "openfc: ") {
		t.Errorf("%s: stderr %q does not start with \"openfc: \"", what, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr %q does not contain %q", what, r.stderr, w)
		}
	}
}

// nodeVars is an environment that points the CLI at n, with an empty
// config file location so that no developer file is read.
func nodeVars(t *testing.T, n *testenv.Node) []string {
	return []string{
		"OPENFC_ENDPOINT=" + n.URL,
		"OPENFC_ACCOUNT_ID=" + n.Creds.AccountID,
		"OPENFC_ACCESS_KEY_ID=" + n.Creds.AccessKeyID,
		"OPENFC_ACCESS_KEY_SECRET=" + n.Creds.AccessKeySecret,
		"OPENFC_CLI_CONFIG=" + filepath.Join(t.TempDir(), "none.yaml"),
	}
}

// decode parses JSON output into v.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

// fieldsOf parses a single-object table into its fields.
func fieldsOf(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("line %q of the table has no colon:\n%s", line, out)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// rowsOf parses a list table into its name column (after the header).
func rowsOf(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "NAME ") {
		t.Fatalf("table has no NAME header:\n%s", out)
	}
	names := []string{}
	for _, l := range lines[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	return names
}

func TestServiceCommands(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)

	f := fieldsOf(t, cli(t, vars, "service", "create", "demo", "--description", "first", "--internet-access=false").ok(t, "service create"))
	if f["Name"] != "demo" || f["Description"] != "first" || f["Internet access"] != "false" || len(f["ETag"]) != 32 {
		t.Errorf("service create printed %v, want demo, first, internet access false and an ETag", f)
	}
	var s fc.Service
	decode(t, cli(t, vars, "service", "create", "other", "-o", "json").ok(t, "service create -o json"), &s)
	if s.ServiceName != "other" || s.InternetAccess == nil || !*s.InternetAccess || s.ServiceID == "" {
		t.Errorf("service create -o json = %+v, want other with internet access", s)
	}
	cli(t, vars, "service", "create", "demo").fails(t, "service create twice", ExitFail, "ServiceAlreadyExists", "request ID")

	got := fieldsOf(t, cli(t, vars, "service", "get", "demo").ok(t, "service get"))
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("service get differs from create (-create +get):\n%s", diff)
	}
	decode(t, cli(t, vars, "service", "get", "demo", "--output", "json").ok(t, "service get -o json"), &s)
	if s.ServiceName != "demo" || s.Description != "first" {
		t.Errorf("service get -o json = %+v", s)
	}

	if names := rowsOf(t, cli(t, vars, "service", "list").ok(t, "service list")); !cmp.Equal(names, []string{"demo", "other"}) {
		t.Errorf("service list names = %v, want demo other", names)
	}
	var l client.ServiceList
	decode(t, cli(t, vars, "service", "list", "-o", "json", "--prefix", "ot").ok(t, "service list -o json"), &l)
	if len(l.Services) != 1 || l.Services[0].ServiceName != "other" {
		t.Errorf("service list --prefix ot -o json = %+v, want other", l)
	}

	u := fieldsOf(t, cli(t, vars, "service", "update", "demo", "--description", "second", "--if-match", f["ETag"]).ok(t, "service update"))
	if u["Description"] != "second" || u["Internet access"] != "false" || u["ETag"] == f["ETag"] {
		t.Errorf("service update printed %v, want description second, internet access kept false, a new ETag", u)
	}
	cli(t, vars, "service", "update", "demo", "--description", "third", "--if-match", f["ETag"]).fails(t, "service update with a stale ETag", ExitFail, "PreconditionFailed")
	patch := filepath.Join(t.TempDir(), "patch.json")
	os.WriteFile(patch, []byte(`{"description":"from file","role":"acs:ram::1:role/x"}`), 0o600)
	u = fieldsOf(t, cli(t, vars, "service", "update", "demo", "--from-file", patch, "--role", "acs:ram::1:role/y").ok(t, "service update --from-file"))
	if u["Description"] != "from file" || u["Role"] != "acs:ram::1:role/y" {
		t.Errorf("service update --from-file printed %v, want the file's description and the flag's role", u)
	}

	cli(t, vars, "service", "delete", "demo", "--if-match", f["ETag"]).fails(t, "service delete with a stale ETag", ExitFail, "PreconditionFailed")
	if out := cli(t, vars, "service", "delete", "demo").ok(t, "service delete"); out != "deleted service demo\n" {
		t.Errorf("service delete printed %q", out)
	}
	if out := cli(t, vars, "service", "delete", "other", "-o", "json").ok(t, "service delete -o json"); out != "" {
		t.Errorf("service delete -o json printed %q, want nothing", out)
	}
	cli(t, vars, "service", "get", "demo").fails(t, "service get after delete", ExitFail, "ServiceNotFound", "HTTP 404", "request ID")
}

// writeFiles creates files (name → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFunctionCommands(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	cli(t, vars, "service", "create", "demo").ok(t, "service create")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"index.py": "def handler(event, context):\n    return event\n", "lib/util.py": "X = 1\n"})

	f := fieldsOf(t, cli(t, vars, "function", "create", "demo/hello", "--runtime", "python3.10", "--handler", "index.handler",
		"--memory", "256", "--timeout", "30", "--concurrency", "4", "--env", "A=1", "--env", "B=x=y", "--code", src).ok(t, "function create"))
	want := map[string]string{"Name": "hello", "Runtime": "python3.10", "Handler": "index.handler", "Memory": "256 MB",
		"Timeout": "30 s", "Concurrency": "4", "Environment": "A=1, B=x=y"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("function create printed %s %q, want %q", k, f[k], v)
		}
	}
	if f["Code size"] == "0 bytes" || len(f["ETag"]) != 32 {
		t.Errorf("function create printed code size %q and ETag %q", f["Code size"], f["ETag"])
	}

	var fn fc.Function
	decode(t, cli(t, vars, "function", "get", "demo/hello", "-o", "json").ok(t, "function get -o json"), &fn)
	if fn.FunctionName != "hello" || fn.MemorySize != 256 || fn.EnvironmentVariables["B"] != "x=y" {
		t.Errorf("function get -o json = %+v", fn)
	}
	if got := fieldsOf(t, cli(t, vars, "function", "get", "demo/hello").ok(t, "function get")); !cmp.Equal(got, f) {
		t.Errorf("function get differs from create:\n%s", cmp.Diff(f, got))
	}

	// The code is the directory, zipped.
	code, _, err := n.Client.GetFunctionCode(t.Context(), "demo", "", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if code.Checksum != fn.CodeChecksum {
		t.Errorf("code checksum %s, want %s", code.Checksum, fn.CodeChecksum)
	}

	single := filepath.Join(t.TempDir(), "index.py")
	os.WriteFile(single, []byte("def handler(e, c): return 'single'\n"), 0o644)
	decode(t, cli(t, vars, "function", "create", "demo/single", "--runtime", "python3.10", "--handler", "index.handler", "--code", single, "-o", "json").ok(t, "function create with one file"), &fn)
	if fn.CodeSize == 0 {
		t.Errorf("function create with one file: code size 0")
	}
	spec := filepath.Join(t.TempDir(), "fn.json")
	os.WriteFile(spec, []byte(`{"runtime":"python3.10","handler":"main.handler","description":"from file"}`), 0o600)
	decode(t, cli(t, vars, "function", "create", "demo/filed", "--from-file", spec, "--code", single, "-o", "json").ok(t, "function create --from-file"), &fn)
	if fn.Handler != "main.handler" || fn.Description != "from file" {
		t.Errorf("function create --from-file = %+v", fn)
	}

	if names := rowsOf(t, cli(t, vars, "function", "list", "demo").ok(t, "function list")); !cmp.Equal(names, []string{"filed", "hello", "single"}) {
		t.Errorf("function list = %v", names)
	}
	var l client.FunctionList
	decode(t, cli(t, vars, "function", "list", "demo", "-o", "json", "--limit", "1", "--all").ok(t, "function list --all"), &l)
	if len(l.Functions) != 3 || l.NextToken != "" {
		t.Errorf("function list --limit 1 --all -o json: %d functions, nextToken %q; want 3 and none", len(l.Functions), l.NextToken)
	}

	u := fieldsOf(t, cli(t, vars, "function", "update", "demo/hello", "--memory", "512", "--env", "C=3", "--if-match", f["ETag"]).ok(t, "function update"))
	if u["Memory"] != "512 MB" || u["Environment"] != "C=3" || u["Timeout"] != "30 s" || u["Code checksum"] != f["Code checksum"] {
		t.Errorf("function update printed %v, want memory 512, env replaced, timeout and code kept", u)
	}
	cli(t, vars, "function", "update", "demo/hello", "--memory", "100").fails(t, "function update to a bad memory size", ExitFail, "InvalidArgument")
	cli(t, vars, "function", "update", "demo/hello", "--timeout", "5", "--if-match", f["ETag"]).fails(t, "function update with a stale ETag", ExitFail, "PreconditionFailed")

	cli(t, vars, "function", "delete", "demo/single").ok(t, "function delete")
	cli(t, vars, "function", "get", "demo/single").fails(t, "function get after delete", ExitFail, "FunctionNotFound")
	cli(t, vars, "function", "get", "nosuch/fn").fails(t, "function get in a missing service", ExitFail, "ServiceNotFound")
}

func TestTriggerCommands(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	cli(t, vars, "service", "create", "demo").ok(t, "service create")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"index.py": "def handler(e, c): return e\n"})
	cli(t, vars, "function", "create", "demo/hello", "--runtime", "python3.10", "--handler", "index.handler", "--code", src).ok(t, "function create")

	f := fieldsOf(t, cli(t, vars, "trigger", "create", "demo/hello/web", "--type", "http", "--config", `{"authType":"anonymous","methods":["GET"]}`,
		"--description", "web entry").ok(t, "trigger create"))
	if f["Name"] != "web" || f["Type"] != "http" || f["Config"] != `{"authType":"anonymous","methods":["GET"]}` || f["Description"] != "web entry" {
		t.Errorf("trigger create printed %v", f)
	}
	timer := filepath.Join(t.TempDir(), "timer.json")
	os.WriteFile(timer, []byte(`{"cronExpression": "@every 5m", "payload": "tick", "enable": true}`), 0o600)
	var tr fc.Trigger
	decode(t, cli(t, vars, "trigger", "create", "demo/hello/tick", "--type", "timer", "--config", "@"+timer, "-o", "json").ok(t, "trigger create --config @file"), &tr)
	if tr.TriggerType != "timer" || compactJSON(tr.TriggerConfig) != `{"cronExpression":"@every 5m","payload":"tick","enable":true}` {
		t.Errorf("trigger create --config @file = %+v (config %s)", tr, tr.TriggerConfig)
	}
	cli(t, vars, "trigger", "create", "demo/hello/web", "--type", "http", "--config", `{"authType":"anonymous","methods":["GET"]}`).
		fails(t, "trigger create twice", ExitFail, "TriggerAlreadyExists")

	if got := fieldsOf(t, cli(t, vars, "trigger", "get", "demo/hello/web").ok(t, "trigger get")); !cmp.Equal(got, f) {
		t.Errorf("trigger get differs from create:\n%s", cmp.Diff(f, got))
	}
	decode(t, cli(t, vars, "trigger", "get", "demo/hello/web", "-o", "json").ok(t, "trigger get -o json"), &tr)
	if tr.TriggerName != "web" || tr.TriggerType != "http" {
		t.Errorf("trigger get -o json = %+v", tr)
	}
	if names := rowsOf(t, cli(t, vars, "trigger", "list", "demo/hello").ok(t, "trigger list")); !cmp.Equal(names, []string{"tick", "web"}) {
		t.Errorf("trigger list = %v", names)
	}
	var l client.TriggerList
	decode(t, cli(t, vars, "trigger", "list", "demo/hello", "-o", "json").ok(t, "trigger list -o json"), &l)
	if len(l.Triggers) != 2 {
		t.Errorf("trigger list -o json = %+v", l)
	}

	u := fieldsOf(t, cli(t, vars, "trigger", "update", "demo/hello/web", "--config", `{"authType":"function","methods":["GET","POST"]}`, "--if-match", f["ETag"]).ok(t, "trigger update"))
	if u["Config"] != `{"authType":"function","methods":["GET","POST"]}` || u["Description"] != "web entry" {
		t.Errorf("trigger update printed %v", u)
	}
	cli(t, vars, "trigger", "update", "demo/hello/web", "--description", "x", "--if-match", f["ETag"]).fails(t, "trigger update with a stale ETag", ExitFail, "PreconditionFailed")

	cli(t, vars, "trigger", "delete", "demo/hello/tick").ok(t, "trigger delete")
	cli(t, vars, "trigger", "get", "demo/hello/tick").fails(t, "trigger get after delete", ExitFail, "TriggerNotFound")
}

func TestListPages(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	for _, s := range []string{"a", "b", "c"} {
		cli(t, vars, "service", "create", s).ok(t, "service create")
	}
	r := cli(t, vars, "service", "list", "--limit", "2")
	if names := rowsOf(t, r.ok(t, "service list --limit 2")); !cmp.Equal(names, []string{"a", "b"}) {
		t.Errorf("service list --limit 2 = %v, want a b", names)
	}
	if !strings.Contains(r.stderr, "--next-token c") {
		t.Errorf("service list --limit 2: stderr %q does not tell the next token", r.stderr)
	}
	if names := rowsOf(t, cli(t, vars, "service", "list", "--limit", "2", "--next-token", "c").ok(t, "service list --next-token")); !cmp.Equal(names, []string{"c"}) {
		t.Errorf("service list --next-token c = %v, want c", names)
	}
	if names := rowsOf(t, cli(t, vars, "service", "list", "--limit", "1", "--all").ok(t, "service list --all")); !cmp.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("service list --limit 1 --all = %v, want a b c", names)
	}
	var l client.ServiceList
	decode(t, cli(t, vars, "service", "list", "--limit", "1", "-o", "json").ok(t, "service list -o json"), &l)
	if len(l.Services) != 1 || l.NextToken != "b" {
		t.Errorf("service list --limit 1 -o json: %d services, nextToken %q; want 1 and b", len(l.Services), l.NextToken)
	}
}

func TestUsageErrors(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"service", "create"}, "takes NAME"},
		{"two names", []string{"service", "get", "a", "b"}, "takes NAME"},
		{"unknown verb", []string{"service", "frob"}, `unknown command "frob"`},
		{"unknown noun", []string{"frob"}, `unknown command "frob"`},
		{"unknown flag", []string{"service", "list", "--frob"}, "unknown flag"},
		{"bad int", []string{"service", "list", "--limit", "x"}, "invalid argument"},
		{"negative limit", []string{"service", "list", "--limit", "-1"}, "--limit"},
		{"bad output", []string{"service", "list", "-o", "yaml"}, "table or json"},
		{"function not service/function", []string{"function", "get", "hello"}, "SERVICE/FUNCTION"},
		{"empty function", []string{"function", "get", "demo/"}, "FUNCTION is empty"},
		{"trigger path", []string{"trigger", "get", "a/b"}, "SERVICE/FUNCTION/TRIGGER"},
		{"function without runtime", []string{"function", "create", "a/b", "--handler", "h"}, "--runtime is required"},
		// With both missing the first in the create's order is named, every time.
		{"function without runtime or handler", []string{"function", "create", "a/b"}, "--runtime is required"},
		{"trigger without type or config", []string{"trigger", "create", "a/b/c"}, "--type is required"},
		{"bad env", []string{"function", "update", "a/b", "--env", "novalue"}, "KEY=VALUE"},
		{"nothing to update", []string{"service", "update", "a"}, "nothing to update"},
		{"trigger without config", []string{"trigger", "create", "a/b/c", "--type", "http"}, "--config is required"},
		{"trigger config not JSON", []string{"trigger", "create", "a/b/c", "--type", "http", "--config", "{nope"}, "not a JSON object"},
		{"from-file not JSON", []string{"service", "create", "a", "--from-file", "-"}, "not a JSON object"},
		{"config set nothing", []string{"config", "set"}, "nothing to set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cliIn(t, vars, "[1,2]", tc.args...)
			r.fails(t, strings.Join(tc.args, " "), ExitUsage, tc.want)
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
	if got := cli(t, vars, "service", "list").code; got != ExitOK {
		t.Errorf("service list: exit %d, want 0", got)
	}
}

func TestNoCredentials(t *testing.T) {
	t.Chdir(t.TempDir())
	vars := []string{"HOME=" + t.TempDir()}
	cli(t, vars, "service", "list").fails(t, "service list with no credentials", ExitFail,
		"no endpoint, access key id, access key secret found", "openfc config set", "--data-dir")
	cli(t, vars, "service", "list", "--data-dir", t.TempDir()).fails(t, "service list with an empty data dir", ExitFail, "credentials.json")
}

func TestConfigSetThenUse(t *testing.T) {
	n := testenv.Platform(t, nil)
	home := t.TempDir()
	t.Chdir(t.TempDir()) // no ./openfc-data here
	vars := []string{"HOME=" + home}
	path := filepath.Join(home, ".config", "openfc", "config.yaml")

	out := cli(t, vars, "config", "set", "--endpoint", n.URL, "--access-key-id", n.Creds.AccessKeyID, "--access-key-secret", "wrong").ok(t, "config set")
	if out != "saved in "+path+"\n" {
		t.Errorf("config set printed %q", out)
	}
	cli(t, vars, "service", "list").fails(t, "service list with a wrong secret", ExitFail, "SignatureNotMatch")
	cli(t, vars, "config", "set", "--access-key-secret", n.Creds.AccessKeySecret, "--account-id", n.Creds.AccountID).ok(t, "config set again")

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	want := "endpoint: " + n.URL + "\naccountId: \"" + n.Creds.AccountID + "\"\naccessKeyId: " + n.Creds.AccessKeyID + "\naccessKeySecret: " + n.Creds.AccessKeySecret + "\n"
	if strings.ReplaceAll(string(data), `"`, "") != strings.ReplaceAll(want, `"`, "") {
		t.Errorf("config file:\n%s\nwant:\n%s", data, want)
	}

	cli(t, vars, "service", "create", "fromconfig").ok(t, "service create with the config file")
	if names := rowsOf(t, cli(t, vars, "service", "list").ok(t, "service list")); !cmp.Equal(names, []string{"fromconfig"}) {
		t.Errorf("service list = %v", names)
	}

	// config show tells where each setting comes from, the secret masked.
	var show map[string]map[string]string
	decode(t, cli(t, append(vars, "OPENFC_ACCOUNT_ID=other"), "config", "show", "-o", "json", "--endpoint", "http://flag:1").ok(t, "config show"), &show)
	wantShow := map[string]map[string]string{
		"endpoint":          {"value": "http://flag:1", "source": "flag"},
		"account-id":        {"value": "other", "source": "$OPENFC_ACCOUNT_ID"},
		"access-key-id":     {"value": n.Creds.AccessKeyID, "source": path},
		"access-key-secret": {"value": "****" + n.Creds.AccessKeySecret[len(n.Creds.AccessKeySecret)-4:], "source": path},
	}
	if diff := cmp.Diff(wantShow, show); diff != "" {
		t.Errorf("config show -o json (-want +got):\n%s", diff)
	}
	table := cli(t, vars, "config", "show").ok(t, "config show")
	if strings.Contains(table, n.Creds.AccessKeySecret) || !strings.Contains(table, path) {
		t.Errorf("config show shows the secret or not the file:\n%s", table)
	}

	// OPENFC_CLI_CONFIG names another file.
	other := filepath.Join(t.TempDir(), "other.yaml")
	cli(t, append(vars, "OPENFC_CLI_CONFIG="+other), "config", "set", "--endpoint", "http://elsewhere:1").ok(t, "config set to OPENFC_CLI_CONFIG")
	if _, err := os.Stat(other); err != nil {
		t.Errorf("config set with OPENFC_CLI_CONFIG: %v", err)
	}
}

func TestCredentialsFile(t *testing.T) {
	n := testenv.Platform(t, nil)
	// The node wrote <data-dir>/credentials.json, as openfc serve does.
	vars := []string{"HOME=" + t.TempDir()}
	cli(t, vars, "service", "create", "viadatadir", "--data-dir", n.Config.DataDir).ok(t, "service create --data-dir")
	cli(t, append(vars, "OPENFC_DATA_DIR="+n.Config.DataDir), "service", "get", "viadatadir").ok(t, "service get with OPENFC_DATA_DIR")

	// With nothing else, ./openfc-data/credentials.json.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(n.Config.DataDir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"openfc-data/credentials.json": string(data)})
	t.Chdir(dir)
	if names := rowsOf(t, cli(t, vars, "service", "list").ok(t, "service list from ./openfc-data")); !cmp.Equal(names, []string{"viadatadir"}) {
		t.Errorf("service list = %v", names)
	}
	// Flags and the environment come first.
	cli(t, append(vars, "OPENFC_ACCESS_KEY_SECRET=wrong"), "service", "list").fails(t, "a wrong secret in the environment", ExitFail, "SignatureNotMatch")
	cli(t, vars, "service", "list", "--access-key-secret", "wrong").fails(t, "a wrong secret as a flag", ExitFail, "SignatureNotMatch")
}

func TestZipCode(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.py": "print(1)\n", "lib/a.txt": "a"})
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.py", filepath.Join(dir, "link.py")); err != nil {
		t.Fatal(err)
	}
	data, err := zipCode(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		got[f.Name] = f.Mode().String()
	}
	want := map[string]string{"bootstrap": "-rwxr-xr-x", "index.py": "-rw-r--r--", "lib/": "drwxr-xr-x", "lib/a.txt": "-rw-r--r--", "link.py": "Lrwxrwxrwx"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zipCode(dir) entries (-want +got):\n%s", diff)
	}

	zipFile := filepath.Join(t.TempDir(), "code.zip")
	os.WriteFile(zipFile, data, 0o644)
	if again, err := zipCode(zipFile); err != nil || !bytes.Equal(again, data) {
		t.Errorf("zipCode(a zip) = %d bytes, %v; want the file as it is", len(again), err)
	}
	if _, err := zipCode(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("zipCode(missing) succeeded")
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{
		"service", "service create", "service get", "service list", "service update", "service delete",
		"function", "function create", "function get", "function list", "function update", "function delete", "function deploy", "invoke",
		"trigger", "trigger create", "trigger get", "trigger list", "trigger update", "trigger delete",
		"config", "config set", "config show", "usage", "audit",
		"version", "version publish", "version list", "version delete",
		"alias", "alias set", "alias get", "alias list", "alias delete",
		"provision", "provision set", "provision get", "provision list",
		"limits", "limits set", "limits get", "limits list", "limits delete",
	} {
		t.Run(cmd, func(t *testing.T) {
			out := cli(t, nil, append(strings.Fields(cmd), "--help")...).ok(t, cmd+" --help")
			if !strings.Contains(out, "Examples:\n  openfc "+cmd) {
				t.Errorf("%s --help has no example of itself:\n%s", cmd, out)
			}
			golden(t, filepath.Join("help", strings.ReplaceAll(cmd, " ", "_")+".golden"), out)
		})
	}
}

var timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

func TestFunctionListTable(t *testing.T) {
	n := testenv.Platform(t, nil)
	vars := nodeVars(t, n)
	cli(t, vars, "service", "create", "demo").ok(t, "service create")
	code := filepath.Join(t.TempDir(), "index.py")
	os.WriteFile(code, []byte("def handler(event, context):\n    return event\n"), 0o644)
	cli(t, vars, "function", "create", "demo/hello", "--runtime", "python3.10", "--handler", "index.handler", "--code", code).ok(t, "function create")
	cli(t, vars, "function", "create", "demo/api-server", "--runtime", "nodejs18", "--handler", "index.handler", "--code", code,
		"--memory", "1024", "--timeout", "300", "--concurrency", "20").ok(t, "function create")
	out := cli(t, vars, "function", "list", "demo").ok(t, "function list")
	golden(t, "function_list.golden", timestamp.ReplaceAllString(out, "2006-01-02T15:04:05Z"))
}
