package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func TestServeFirstStart(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir})

	out := s.Stdout.String()
	if want := "listening on http://" + s.Addr; !strings.Contains(out, want) {
		t.Errorf("stdout does not show the listen address %q:\n%s", want, out)
	}
	for name, v := range map[string]string{"account ID": s.Creds.AccountID, "access key ID": s.Creds.AccessKeyID, "access key secret": s.Creds.AccessKeySecret} {
		re := regexp.MustCompile(`(?m)^\s*` + name + `:\s+` + regexp.QuoteMeta(v) + `$`)
		if n := len(re.FindAllString(out, -1)); n != 1 {
			t.Errorf("stdout shows %q = %q %d times, want once:\n%s", name, v, n, out)
		}
	}
	if strings.Contains(s.Stderr.String(), s.Creds.AccessKeySecret) {
		t.Errorf("the access key secret is in the log (stderr)")
	}
	for _, name := range []string{"master.key", "credentials.json"} {
		fi, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, got)
		}
	}
	ctx := t.Context()
	if _, _, err := s.Client.CreateService(ctx, &fc.Service{ServiceName: "first"}); err != nil {
		t.Fatalf("CreateService with the printed credentials: %v", err)
	}
	s.Stop(t)

	s2 := startServer(t, serverOptions{DataDir: dataDir})
	out2 := s2.Stdout.String()
	if want := "listening on http://" + s2.Addr; !strings.Contains(out2, want) {
		t.Errorf("second start: stdout does not show the listen address %q:\n%s", want, out2)
	}
	if strings.Contains(out2, s.Creds.AccessKeySecret) {
		t.Errorf("second start printed the access key secret again:\n%s", out2)
	}
	if s2.Creds.AccountID != s.Creds.AccountID || s2.Creds.AccessKeyID != s.Creds.AccessKeyID || s2.Creds.AccessKeySecret != s.Creds.AccessKeySecret {
		t.Errorf("second start changed the credentials: %+v, was %+v", s2.Creds, s.Creds)
	}
	if _, _, err := s2.Client.GetService(ctx, "first", ""); err != nil {
		t.Errorf("GetService after restart: %v", err)
	}
	s2.Stop(t)
}

func TestServeRestartKeepsState(t *testing.T) {
	testRestartKeepsState(t, (*server).Stop)
}

func TestServeKill9KeepsState(t *testing.T) {
	testRestartKeepsState(t, (*server).Kill)
}

func testRestartKeepsState(t *testing.T, stop func(*server, *testing.T)) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir})
	zips, created := populate(t, s.Client)
	stop(s, t) // right after the last create returned

	s2 := startServer(t, serverOptions{DataDir: dataDir})
	after := snapshot(t, s2.Client)
	for k, want := range created {
		if diff := cmp.Diff(want, after[k]); diff != "" {
			t.Errorf("%s after restart differs from what the create returned (-created +after):\n%s", k, diff)
		}
	}
	checkCode(t, s2.Client, zips)
	// A second restart changes nothing either.
	s2.Stop(t)
	s3 := startServer(t, serverOptions{DataDir: dataDir})
	if diff := cmp.Diff(after, snapshot(t, s3.Client)); diff != "" {
		t.Errorf("state after a second restart differs (-first +second):\n%s", diff)
	}
	// The restarted node still takes writes.
	if _, _, err := s3.Client.CreateService(t.Context(), &fc.Service{ServiceName: "after_restart"}); err != nil {
		t.Errorf("CreateService after restart: %v", err)
	}
}

// makeZip returns a zip holding files (name → content).
func makeZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, content := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(content))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// populate creates services, functions with code and environment
// variables, and http and timer triggers. It returns each function's zip by
// "service/function", and what each create returned (object and ETag) keyed
// as snapshot keys them.
func populate(t *testing.T, c *client.Client) (map[string][]byte, map[string]any) {
	t.Helper()
	ctx := t.Context()
	zips := map[string][]byte{}
	created := map[string]any{}
	services := []fc.Service{
		{ServiceName: "e2e-alpha", Description: "first service"},
		{ServiceName: "e2e_beta", Description: "second service"},
	}
	for _, svc := range services {
		out, r, err := c.CreateService(ctx, &svc)
		if err != nil {
			t.Fatalf("CreateService(%s): %v", svc.ServiceName, err)
		}
		created["GetService "+svc.ServiceName] = out
		created["ETag service "+svc.ServiceName] = r.ETag
	}
	functions := []struct {
		service string
		fn      fc.Function
		files   map[string]string
	}{
		{"e2e-alpha", fc.Function{FunctionName: "hello", Runtime: "python3.10", Handler: "index.handler", MemorySize: 256, Timeout: 30,
			EnvironmentVariables: map[string]string{"GREETING": "hello, world", "MODE": "e2e"}},
			map[string]string{"index.py": "def handler(event, context):\n    return 'hello'\n"}},
		{"e2e-alpha", fc.Function{FunctionName: "tick", Runtime: "nodejs18", Handler: "index.handler",
			EnvironmentVariables: map[string]string{"TZ": "UTC"}},
			map[string]string{"index.js": "exports.handler = (event, context, cb) => cb(null, 'tick');\n", "lib/util.js": "module.exports = 1;\n"}},
		{"e2e_beta", fc.Function{FunctionName: "only", Runtime: "python3", Handler: "main.handler", Description: "no env"},
			map[string]string{"main.py": "def handler(event, context):\n    return event\n"}},
	}
	for _, f := range functions {
		z := makeZip(t, f.files)
		zips[f.service+"/"+f.fn.FunctionName] = z
		in := &fc.FunctionInput{Function: f.fn, Code: &fc.Code{ZipFile: base64.StdEncoding.EncodeToString(z)}}
		got, r, err := c.CreateFunction(ctx, f.service, in)
		if err != nil {
			t.Fatalf("CreateFunction(%s/%s): %v", f.service, f.fn.FunctionName, err)
		}
		created["GetFunction "+f.service+"/"+f.fn.FunctionName] = got
		created["ETag function "+f.service+"/"+f.fn.FunctionName] = r.ETag
		if want := strconv.FormatUint(crc64.Checksum(z, crc64.MakeTable(crc64.ECMA)), 10); got.CodeChecksum != want {
			t.Errorf("CreateFunction(%s/%s).codeChecksum = %q, want %q (CRC-64/ECMA of the zip)", f.service, f.fn.FunctionName, got.CodeChecksum, want)
		}
		if got.CodeSize != int64(len(z)) {
			t.Errorf("CreateFunction(%s/%s).codeSize = %d, want %d", f.service, f.fn.FunctionName, got.CodeSize, len(z))
		}
	}
	triggers := []struct {
		service, function string
		tr                fc.Trigger
	}{
		{"e2e-alpha", "hello", fc.Trigger{TriggerName: "web", TriggerType: fc.TriggerHTTP,
			TriggerConfig: json.RawMessage(`{"authType":"anonymous","methods":["GET","POST"]}`)}},
		{"e2e-alpha", "tick", fc.Trigger{TriggerName: "every5m", TriggerType: fc.TriggerTimer, Description: "timer",
			TriggerConfig: json.RawMessage(`{"cronExpression":"@every 5m","payload":"{\"k\":1}","enable":true}`)}},
	}
	for _, tr := range triggers {
		out, r, err := c.CreateTrigger(ctx, tr.service, tr.function, &tr.tr)
		if err != nil {
			t.Fatalf("CreateTrigger(%s/%s/%s): %v", tr.service, tr.function, tr.tr.TriggerName, err)
		}
		key := tr.service + "/" + tr.function + "/" + tr.tr.TriggerName
		created["GetTrigger "+key] = out
		created["ETag trigger "+key] = r.ETag
	}
	return zips, created
}

// snapshot reads everything through the API: each object with its ETag,
// and the lists.
func snapshot(t *testing.T, c *client.Client) map[string]any {
	t.Helper()
	ctx := t.Context()
	snap := map[string]any{}
	svcs, _, err := c.ListServices(ctx, client.ListOptions{Limit: 100})
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	snap["ListServices"] = svcs
	for _, svc := range svcs.Services {
		sn := svc.ServiceName
		got, r, err := c.GetService(ctx, sn, "")
		if err != nil {
			t.Fatalf("GetService(%s): %v", sn, err)
		}
		snap["GetService "+sn] = got
		snap["ETag service "+sn] = r.ETag
		fns, _, err := c.ListFunctions(ctx, sn, "", client.ListOptions{Limit: 100})
		if err != nil {
			t.Fatalf("ListFunctions(%s): %v", sn, err)
		}
		snap["ListFunctions "+sn] = fns
		for _, fn := range fns.Functions {
			key := sn + "/" + fn.FunctionName
			got, r, err := c.GetFunction(ctx, sn, "", fn.FunctionName)
			if err != nil {
				t.Fatalf("GetFunction(%s): %v", key, err)
			}
			snap["GetFunction "+key] = got
			snap["ETag function "+key] = r.ETag
			trs, _, err := c.ListTriggers(ctx, sn, fn.FunctionName, client.ListOptions{Limit: 100})
			if err != nil {
				t.Fatalf("ListTriggers(%s): %v", key, err)
			}
			snap["ListTriggers "+key] = trs
			for _, tr := range trs.Triggers {
				got, r, err := c.GetTrigger(ctx, sn, fn.FunctionName, tr.TriggerName)
				if err != nil {
					t.Fatalf("GetTrigger(%s/%s): %v", key, tr.TriggerName, err)
				}
				snap["GetTrigger "+key+"/"+tr.TriggerName] = got
				snap["ETag trigger "+key+"/"+tr.TriggerName] = r.ETag
			}
		}
	}
	// Make sure the snapshot saw what populate made, so that an empty
	// node cannot compare equal to an empty node.
	for _, k := range []string{"GetFunction e2e-alpha/hello", "GetFunction e2e-alpha/tick", "GetFunction e2e_beta/only",
		"GetTrigger e2e-alpha/hello/web", "GetTrigger e2e-alpha/tick/every5m"} {
		if _, ok := snap[k]; !ok {
			t.Fatalf("snapshot lacks %s", k)
		}
	}
	f := snap["GetFunction e2e-alpha/hello"].(*fc.Function)
	if want := map[string]string{"GREETING": "hello, world", "MODE": "e2e"}; !cmp.Equal(f.EnvironmentVariables, want) {
		t.Errorf("GetFunction(e2e-alpha/hello).environmentVariables = %v, want %v", f.EnvironmentVariables, want)
	}
	return snap
}

// checkCode downloads each function's code through GetFunctionCode and
// compares it with the zip it was created with.
func checkCode(t *testing.T, c *client.Client, zips map[string][]byte) {
	t.Helper()
	for key, z := range zips {
		service, function, _ := strings.Cut(key, "/")
		code, _, err := c.GetFunctionCode(t.Context(), service, "", function)
		if err != nil {
			t.Fatalf("GetFunctionCode(%s): %v", key, err)
		}
		if want := strconv.FormatUint(crc64.Checksum(z, crc64.MakeTable(crc64.ECMA)), 10); code.Checksum != want {
			t.Errorf("GetFunctionCode(%s).checksum = %q, want %q", key, code.Checksum, want)
		}
		got := httpGet(t, code.URL)
		if !bytes.Equal(got, z) {
			t.Errorf("code downloaded from %s: %d bytes, differs from the %d-byte zip uploaded", code.URL, len(got), len(z))
		}
	}
}

func TestServeEnvCredentials(t *testing.T) {
	const (
		account   = "1234567890123456"
		keyID     = "E2EKEYID0000000001"
		secret    = "e2e-secret-0123456789abcdef"
		masterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	)
	env := []string{"OPENFC_ACCOUNT_ID=" + account, "OPENFC_ACCESS_KEY_ID=" + keyID,
		"OPENFC_ACCESS_KEY_SECRET=" + secret, "OPENFC_MASTER_KEY=" + masterKey}
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, serverOptions{DataDir: dataDir, Env: env})
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("master.key with OPENFC_MASTER_KEY set: stat = %v, want it not to exist", err)
	}
	if s.Creds.AccountID != account || s.Creds.AccessKeyID != keyID || s.Creds.AccessKeySecret != secret {
		t.Errorf("credentials.json = %+v, want the OPENFC_* ones", s.Creds)
	}
	ctx := t.Context()
	c := newClient(t, s.Endpoint, account, keyID, secret)
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler",
		EnvironmentVariables: map[string]string{"SECRET_THING": "sealed under OPENFC_MASTER_KEY"}},
		Code: &fc.Code{ZipFile: base64.StdEncoding.EncodeToString(makeZip(t, map[string]string{"index.py": "x = 1\n"}))}}
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "env-creds"}); err != nil {
		t.Fatalf("CreateService with OPENFC_* credentials: %v", err)
	}
	if _, _, err := c.CreateFunction(ctx, "env-creds", in); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	bad := newClient(t, s.Endpoint, account, keyID, secret+"x")
	var ae *client.Error
	if _, _, err := bad.GetService(ctx, "env-creds", ""); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "SignatureNotMatch" {
		t.Errorf("GetService with a wrong secret: %v, want 403 SignatureNotMatch", err)
	}
	unknown := newClient(t, s.Endpoint, account, "NOSUCHKEY", secret)
	if _, _, err := unknown.GetService(ctx, "env-creds", ""); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "InvalidAccessKeyID" {
		t.Errorf("GetService with an unknown key ID: %v, want 403 InvalidAccessKeyID", err)
	}
	s.Stop(t)

	// Restart with the same environment: the data sealed under the master
	// key from the environment opens again.
	s2 := startServer(t, serverOptions{DataDir: dataDir, Env: env})
	c2 := newClient(t, s2.Endpoint, account, keyID, secret)
	f, _, err := c2.GetFunction(ctx, "env-creds", "", "f")
	if err != nil {
		t.Fatalf("GetFunction after restart: %v", err)
	}
	if diff := cmp.Diff(in.EnvironmentVariables, f.EnvironmentVariables); diff != "" {
		t.Errorf("environmentVariables after restart (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("master.key after restart with OPENFC_MASTER_KEY: stat = %v, want it not to exist", err)
	}
}

func TestServeBadConfig(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"bad listen", []string{"serve", "--listen", "nope", "--data-dir", dataDir}, nil, 2, "", `listen "nope"`},
		{"bad listen env", []string{"serve", "--data-dir", dataDir}, []string{"OPENFC_LISTEN=nope"}, 2, "", `listen "nope"`},
		{"bad log level", []string{"serve", "--log-level", "loud", "--data-dir", dataDir}, nil, 2, "", `log-level "loud"`},
		{"unknown flag", []string{"serve", "--no-such-flag"}, nil, 2, "", "no-such-flag"},
		{"short secret", []string{"serve", "--data-dir", dataDir}, []string{"OPENFC_ACCESS_KEY_ID=k", "OPENFC_ACCESS_KEY_SECRET=short"}, 2, "", "OPENFC_ACCESS_KEY_SECRET"},
		{"check config", []string{"serve", "--check-config", "--data-dir", dataDir}, nil, 0, "configuration is valid", ""},
		{"check config bad", []string{"serve", "--check-config", "--listen", "nope"}, nil, 2, "", `listen "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runOpenfc(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("openfc %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tt.args, " "), code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if tt.wantCode != 0 && strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", stderr)
			}
		})
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected or checked configuration created the data dir: stat = %v", err)
	}
}

var natsAddrRE = regexp.MustCompile(`msg="nats listening".* addr=(\S+)`)

func TestServeExternalNATS(t *testing.T) {
	env := []string{"OPENFC_ACCOUNT_ID=2222333344445555", "OPENFC_ACCESS_KEY_ID=E2ESHAREDKEY",
		"OPENFC_ACCESS_KEY_SECRET=shared-secret-0123456789",
		// Both nodes seal and open the same stored data: one master key.
		"OPENFC_MASTER_KEY=" + strings.Repeat("ab", 32)}
	n1 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n1"), Env: env, Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(n1.Stderr.String())
	if m == nil {
		t.Fatalf("node 1 logged no `nats listening addr=...` line:\n%s", n1.Stderr)
	}
	n2 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n2"), Env: env, Args: []string{"--nats-url", "nats://" + m[1]}})
	if n1.Creds.AccessKeyID != n2.Creds.AccessKeyID || n1.Creds.AccountID != n2.Creds.AccountID {
		t.Fatalf("nodes have different credentials: %+v and %+v", n1.Creds, n2.Creds)
	}
	ctx := t.Context()
	z := makeZip(t, map[string]string{"index.py": "def handler(e, c):\n    return e\n"})
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: "shared", Runtime: "python3.10", Handler: "index.handler",
		EnvironmentVariables: map[string]string{"FROM": "node1"}}, Code: &fc.Code{ZipFile: base64.StdEncoding.EncodeToString(z)}}
	if _, _, err := n1.Client.CreateService(ctx, &fc.Service{ServiceName: "via-node1", Description: "made on node 1"}); err != nil {
		t.Fatalf("node 1 CreateService: %v", err)
	}
	made, _, err := n1.Client.CreateFunction(ctx, "via-node1", in)
	if err != nil {
		t.Fatalf("node 1 CreateFunction: %v", err)
	}

	poll(t, 30*time.Second, func() error {
		got, _, err := n2.Client.GetFunction(ctx, "via-node1", "", "shared")
		if err != nil {
			return fmt.Errorf("node 2 GetFunction: %w", err)
		}
		if diff := cmp.Diff(made, got); diff != "" {
			return fmt.Errorf("node 2 GetFunction differs from node 1's CreateFunction (-node1 +node2):\n%s", diff)
		}
		return nil
	})
	svc, _, err := n2.Client.GetService(ctx, "via-node1", "")
	if err != nil || svc.Description != "made on node 1" {
		t.Errorf("node 2 GetService(via-node1) = %+v, %v", svc, err)
	}
	checkCode(t, n2.Client, map[string][]byte{"via-node1/shared": z})

	// And the other way round.
	if _, _, err := n2.Client.CreateService(ctx, &fc.Service{ServiceName: "via-node2"}); err != nil {
		t.Fatalf("node 2 CreateService: %v", err)
	}
	poll(t, 30*time.Second, func() error {
		_, _, err := n1.Client.GetService(ctx, "via-node2", "")
		return err
	})
	n2.Stop(t)
	n1.Stop(t)
}

// httpGet fetches url without signing (GetFunctionCode links carry their
// own token).
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s, %v\n%s", url, resp.Status, err, body)
	}
	return body
}
