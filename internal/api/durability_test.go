package api_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// snapshot is what a client can read about every kind of resource, with
// the ETags, so two nodes on the same data can be compared.
type snapshot struct {
	Service       *fc.Service
	ServiceETag   string
	Function      *fc.Function
	FunctionETag  string
	Trigger       *fc.Trigger
	TriggerETag   string
	Alias         json.RawMessage
	AliasETag     string
	Version1      *fc.Function
	Versions      json.RawMessage
	Domain        json.RawMessage
	Layer         json.RawMessage
	Tags          json.RawMessage
	Async         json.RawMessage
	OnDemand      json.RawMessage
	Provision     json.RawMessage
	CodeChecksum  string
	CodeDownload  []byte
	FunctionsList *client.FunctionList
}

func takeSnapshot(t *testing.T, n *testenv.Node) snapshot {
	t.Helper()
	ctx := t.Context()
	var s snapshot
	var r *client.Response
	var err error
	s.Service, r, err = n.Client.GetService(ctx, "svc", "")
	must(t, "GetService", err)
	s.ServiceETag = r.ETag
	s.Function, r, err = n.Client.GetFunction(ctx, "svc", "", "f")
	must(t, "GetFunction", err)
	s.FunctionETag = r.ETag
	s.Trigger, r, err = n.Client.GetTrigger(ctx, "svc", "f", "web")
	must(t, "GetTrigger", err)
	s.TriggerETag = r.ETag
	r = do(t, n, "GET", prefix+"/services/svc/aliases/prod", nil, &s.Alias)
	s.AliasETag = r.ETag
	s.Version1, _, err = n.Client.GetFunction(ctx, "svc", "1", "f")
	must(t, "GetFunction(svc.1)", err)
	do(t, n, "GET", prefix+"/services/svc/versions", nil, &s.Versions)
	do(t, n, "GET", prefix+"/custom-domains/example.com", nil, &s.Domain)
	do(t, n, "GET", prefix+"/layers/lib/versions/1", nil, &s.Layer)
	_, err = n.Client.Do(ctx, client.Request{Method: "GET", Path: prefix + "/tag", Query: map[string][]string{"resourceArn": {"services/svc"}}}, &s.Tags)
	must(t, "GetResourceTags", err)
	do(t, n, "GET", prefix+"/services/svc/functions/f/async-invoke-config", nil, &s.Async)
	do(t, n, "GET", prefix+"/services/svc.prod/functions/f/on-demand-config", nil, &s.OnDemand)
	// current counts the provisioned instances running right now, which
	// depends on how far the node got starting them, not on what it
	// stored: compare the config without it.
	var pc map[string]any
	do(t, n, "GET", prefix+"/services/svc.prod/functions/f/provision-config", nil, &pc)
	if _, ok := pc["current"]; !ok {
		t.Fatalf("GetProvisionConfig = %v, want a current field", pc)
	}
	delete(pc, "current")
	s.Provision, err = json.Marshal(pc)
	must(t, "marshal provision config", err)
	code, _, err := n.Client.GetFunctionCode(ctx, "svc", "", "f")
	must(t, "GetFunctionCode", err)
	s.CodeChecksum = code.Checksum
	_, s.CodeDownload = download(t, code.URL)
	s.FunctionsList, _, err = n.Client.ListFunctions(ctx, "svc", "", client.ListOptions{})
	must(t, "ListFunctions", err)
	return s
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	useDir := func(c *config.Config) { c.DataDir = dir }
	n := testenv.Platform(t, useDir)

	const envMarker = "env-marker-7f3a9c1e55d04b2b"
	const keyMarker = "pem-marker-0c9e8d7b6a5f4e3d"
	const plainMarker = "plain-marker-4d2c1b0a9f8e7d6c"
	code := zipOf(t, map[string]string{"index.py": "def handler(e, c):\n    return 1\n"})
	_, _, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: "svc", Description: plainMarker})
	must(t, "CreateService", err)
	mkFunction(t, n, "svc", "f", fc.Function{EnvironmentVariables: map[string]string{"SECRET": envMarker}, MemorySize: 256}, code)
	mkFunction(t, n, "svc", "g", fc.Function{}, code)
	_, _, err = n.Client.CreateTrigger(t.Context(), "svc", "f", httpTrigger("web"))
	must(t, "CreateTrigger", err)
	_, err = publish(t, n, "svc", "v1")
	must(t, "PublishServiceVersion", err)
	do(t, n, "POST", prefix+"/services/svc/aliases", map[string]string{"aliasName": "prod", "versionId": "1"}, nil)
	_, _, err = n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": "after v1"}, "")
	must(t, "UpdateFunction", err)
	do(t, n, "POST", prefix+"/custom-domains", map[string]any{"domainName": "example.com", "protocol": "HTTP,HTTPS",
		"certConfig": map[string]string{"certName": "c", "certificate": "cert", "privateKey": keyMarker}}, nil)
	do(t, n, "POST", prefix+"/layers/lib/versions", map[string]any{"code": map[string]string{"zipFile": b64(code)}}, nil)
	do(t, n, "POST", prefix+"/tag", map[string]any{"resourceArn": "services/svc", "tags": map[string]string{"k": "v"}}, nil)
	do(t, n, "PUT", prefix+"/services/svc/functions/f/async-invoke-config", map[string]any{"maxAsyncRetryAttempts": 1}, nil)
	do(t, n, "PUT", prefix+"/services/svc.prod/functions/f/on-demand-config", map[string]any{"maximumInstanceCount": 3}, nil)
	do(t, n, "PUT", prefix+"/services/svc.prod/functions/f/provision-config", map[string]any{"target": 1}, nil)
	// A deleted resource stays deleted.
	mkFunction(t, n, "svc", "deleted", fc.Function{}, code)
	_, err = n.Client.DeleteFunction(t.Context(), "svc", "deleted", "")
	must(t, "DeleteFunction(deleted)", err)

	before := takeSnapshot(t, n)
	creds := n.Creds
	n.Stop(t)

	t.Run("secrets sealed at rest", func(t *testing.T) {
		natsDir := filepath.Join(dir, "nats")
		found := map[string]bool{}
		markers := []string{envMarker, keyMarker, plainMarker, creds.AccessKeySecret}
		err := filepath.WalkDir(natsDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range markers {
				if bytes.Contains(data, []byte(m)) {
					found[m] = true
				}
			}
			return nil
		})
		must(t, "walk "+natsDir, err)
		// The plain marker proves the search reads the stored metadata.
		if !found[plainMarker] {
			t.Fatalf("service description %q not found under %s: the search does not see the stored data", plainMarker, natsDir)
		}
		for name, m := range map[string]string{"environment variable": envMarker, "certificate private key": keyMarker, "access key secret": creds.AccessKeySecret} {
			if found[m] {
				t.Errorf("%s found in clear under %s", name, natsDir)
			}
		}
	})

	n2 := testenv.Platform(t, useDir)
	if n2.Creds.AccountID != creds.AccountID || n2.Creds.AccessKeyID != creds.AccessKeyID || n2.Creds.AccessKeySecret != creds.AccessKeySecret {
		t.Errorf("restarted node credentials = %s/%s, want the same account and key %s/%s", n2.Creds.AccountID, n2.Creds.AccessKeyID, creds.AccountID, creds.AccessKeyID)
	}
	after := takeSnapshot(t, n2)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("resources after restart mismatch (-before +after):\n%s", diff)
	}
	if after.Function.EnvironmentVariables["SECRET"] != envMarker {
		t.Errorf("GetFunction env after restart = %v, want SECRET=%s", after.Function.EnvironmentVariables, envMarker)
	}
	if len(after.FunctionsList.Functions) != 2 {
		t.Errorf("ListFunctions after restart = %d functions, want f and g", len(after.FunctionsList.Functions))
	}
	// Counters survive too: the next version is 2 and the next layer version 2.
	_, _, err = n2.Client.UpdateFunction(t.Context(), "svc", "g", map[string]any{"description": "x"}, "")
	must(t, "UpdateFunction after restart", err)
	v, err := publish(t, n2, "svc", "")
	must(t, "PublishServiceVersion after restart", err)
	if v.VersionID != "2" {
		t.Errorf("PublishServiceVersion after restart = %q, want 2", v.VersionID)
	}
	var l fc.Layer
	do(t, n2, "POST", prefix+"/layers/lib/versions", map[string]any{"code": map[string]string{"zipFile": b64(code)}}, &l)
	if l.Version != 2 {
		t.Errorf("PublishLayerVersion after restart = %d, want 2", l.Version)
	}
	// Writes with the ETags from before the restart still match.
	_, _, err = n2.Client.UpdateService(t.Context(), "svc", map[string]any{"description": "y"}, before.ServiceETag)
	must(t, "UpdateService with pre-restart ETag", err)
}

func TestConcurrentUpdates(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	_, r := mkFunction(t, n, "svc", "f", fc.Function{}, defaultZip(t))
	const workers = 20

	t.Run("without if-match", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wg.Go(func() {
				_, _, errs[i] = n.Client.UpdateFunction(t.Context(), "svc", "f",
					map[string]any{"environmentVariables": map[string]string{"WORKER": string(rune('A' + i))}}, "")
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("UpdateFunction from worker %d: %v", i, err)
			}
		}
		got, _, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
		must(t, "GetFunction", err)
		if w := got.EnvironmentVariables["WORKER"]; len(w) != 1 || w[0] < 'A' || w[0] >= 'A'+workers {
			t.Errorf("GetFunction env after concurrent updates = %v, want one worker's value", got.EnvironmentVariables)
		}
	})

	t.Run("same if-match", func(t *testing.T) {
		_, cur, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
		must(t, "GetFunction", err)
		etag := cur.ETag
		if etag == r.ETag {
			t.Fatalf("ETag did not change after updates")
		}
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wg.Go(func() {
				_, _, errs[i] = n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": string(rune('a' + i))}, etag)
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Errorf("UpdateFunction with If-Match %s succeeded for workers %d and %d, want exactly one", etag, won, i)
				}
				won = i
				continue
			}
			apiError(t, "UpdateFunction(same If-Match, lost)", err, 412, fc.CodePreconditionFailed)
		}
		if won < 0 {
			t.Fatalf("UpdateFunction with If-Match %s: no worker succeeded, want exactly one", etag)
		}
		got, _, err := n.Client.GetFunction(t.Context(), "svc", "", "f")
		must(t, "GetFunction", err)
		if want := string(rune('a' + won)); got.Description != want {
			t.Errorf("GetFunction description = %q, want the winner's %q", got.Description, want)
		}
	})
}
