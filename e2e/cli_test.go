package e2e

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

// cliEnv isolates the CLI from the developer's own configuration.
func cliEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "OPENFC_CLI_CONFIG=" + filepath.Join(home, "no-such-config.yaml")}
}

// TestCLIService drives `openfc service` against a server, finding the
// endpoint and key in the server's credentials.json (--data-dir), and
// checks stdout, stderr and exit codes.
func TestCLIService(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir})
	env := cliEnv(t)
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return runOpenfc(t, env, append(args, "--data-dir", dataDir)...)
	}
	want := func(what string, stdout, stderr string, code, wantCode int) {
		t.Helper()
		if code != wantCode {
			t.Errorf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", what, code, wantCode, stdout, stderr)
		}
	}

	stdout, stderr, code := cli("service", "create", "demo", "--description", "my first service")
	want("service create demo", stdout, stderr, code, 0)
	if !strings.Contains(stdout, "demo") || !strings.Contains(stdout, "my first service") || stderr != "" {
		t.Errorf("service create demo: stdout %q, stderr %q; want the service on stdout and nothing on stderr", stdout, stderr)
	}
	got, _, err := s.Client.GetService(t.Context(), "demo", "")
	if err != nil || got.Description != "my first service" {
		t.Fatalf("GetService(demo) after the CLI created it = %+v, %v", got, err)
	}

	stdout, stderr, code = cli("service", "create", "demo")
	want("service create demo again", stdout, stderr, code, 1)
	if stdout != "" || !strings.Contains(stderr, "ServiceAlreadyExists") {
		t.Errorf("service create demo again: stdout %q, stderr %q; want ServiceAlreadyExists on stderr only", stdout, stderr)
	}

	stdout, stderr, code = cli("service", "list")
	want("service list", stdout, stderr, code, 0)
	if !regexp.MustCompile(`(?m)^NAME\s`).MatchString(stdout) || !regexp.MustCompile(`(?m)^demo\s+my first service\s`).MatchString(stdout) {
		t.Errorf("service list: stdout\n%s\nwant a NAME header and a row for demo", stdout)
	}

	stdout, stderr, code = cli("service", "get", "demo", "-o", "json")
	want("service get demo -o json", stdout, stderr, code, 0)
	var svc fc.Service
	if err := json.Unmarshal([]byte(stdout), &svc); err != nil || svc.ServiceName != "demo" || svc.ServiceID != got.ServiceID {
		t.Errorf("service get demo -o json: %v, %+v; stdout:\n%s", err, svc, stdout)
	}

	stdout, stderr, code = cli("service", "update", "demo", "--description", "changed")
	want("service update demo", stdout, stderr, code, 0)
	if got, _, err := s.Client.GetService(t.Context(), "demo", ""); err != nil || got.Description != "changed" {
		t.Errorf("GetService(demo) after the CLI updated it = %+v, %v", got, err)
	}

	stdout, stderr, code = cli("service", "list", "-o", "json")
	want("service list -o json", stdout, stderr, code, 0)
	var list client.ServiceList
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list.Services) != 1 || list.Services[0].Description != "changed" {
		t.Errorf("service list -o json: %v, %+v; stdout:\n%s", err, list, stdout)
	}

	stdout, stderr, code = cli("service", "get", "nope")
	want("service get nope", stdout, stderr, code, 1)
	if stdout != "" || !strings.Contains(stderr, "ServiceNotFound") {
		t.Errorf("service get nope: stdout %q, stderr %q; want ServiceNotFound on stderr only", stdout, stderr)
	}

	for _, args := range [][]string{{"service", "get"}, {"service", "list", "--no-such-flag"}, {"service", "frobnicate"}} {
		stdout, stderr, code = cli(args...)
		want("openfc "+strings.Join(args, " "), stdout, stderr, code, 2)
		if stderr == "" {
			t.Errorf("openfc %s: nothing on stderr", strings.Join(args, " "))
		}
	}

	stdout, stderr, code = cli("service", "delete", "demo")
	want("service delete demo", stdout, stderr, code, 0)
	var ae *client.Error
	if _, _, err := s.Client.GetService(t.Context(), "demo", ""); !errors.As(err, &ae) || ae.Code != "ServiceNotFound" {
		t.Errorf("GetService(demo) after the CLI deleted it: %v, want ServiceNotFound", err)
	}
	stdout, stderr, code = cli("service", "delete", "demo")
	want("service delete demo again", stdout, stderr, code, 1)

	// The same through the environment instead of credentials.json.
	envCreds := append(cliEnv(t), "OPENFC_ENDPOINT="+s.Endpoint, "OPENFC_ACCOUNT_ID="+s.Creds.AccountID,
		"OPENFC_ACCESS_KEY_ID="+s.Creds.AccessKeyID, "OPENFC_ACCESS_KEY_SECRET="+s.Creds.AccessKeySecret)
	stdout, stderr, code = runOpenfc(t, envCreds, "service", "create", "from_env")
	want("service create from_env (OPENFC_* credentials)", stdout, stderr, code, 0)
	stdout, stderr, code = runOpenfc(t, append(slices.Clone(envCreds), "OPENFC_ACCESS_KEY_SECRET=wrong-secret-0123456789"), "service", "list")
	want("service list with a wrong secret", stdout, stderr, code, 1)
	if !strings.Contains(stderr, "SignatureNotMatch") {
		t.Errorf("service list with a wrong secret: stderr %q, want SignatureNotMatch", stderr)
	}
}
