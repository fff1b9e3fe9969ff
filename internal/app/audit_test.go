package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// allAudit reads the whole audit trail matching o, two entries a page.
func allAudit(t *testing.T, c *client.Client, o client.AuditOptions) []fc.AuditEntry {
	t.Helper()
	var all []fc.AuditEntry
	o.Limit = 2
	for {
		page, _, err := c.Audit(t.Context(), o)
		if err != nil {
			t.Fatalf("Audit(%+v): %v", o, err)
		}
		all = append(all, page.Entries...)
		if page.NextToken == "" {
			return all
		}
		o.NextToken = page.NextToken
	}
}

// TestAuditTrail: creating, updating and deleting a function, a refused
// change, and requests with a forged signature, an unknown key and an
// expired date each leave one audit entry with who, what, where and the
// result; reads and invocations leave none; no entry holds a secret, a
// signature or an environment value; the filters select entries.
func TestAuditTrail(t *testing.T) {
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	c := n.Client
	const envSecret = "hunter2-env-value"
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "a"}); err != nil {
		t.Fatal(err)
	}
	zip := testenv.Zip(t, map[string]string{"index.py": "def handler(event, context):\n    return 'ok'\n"})
	if _, _, err := c.CreateFunction(ctx, "a", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler",
			EnvironmentVariables: map[string]string{"DB_PASSWORD": envSecret}},
		Code: &fc.Code{ZipFile: zip},
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunction(ctx, "a", "f", map[string]any{"description": "v2", "environmentVariables": map[string]string{"DB_PASSWORD": envSecret + "-2"}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetFunction(ctx, "a", "", "f"); err != nil { // a read: not audited
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, "a", "f", ""); err != nil {
		t.Fatal(err)
	}
	var dup *client.Error
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "a"}); !errorsAs(err, &dup) {
		t.Fatalf("creating service a twice = %v, want an FC error", err)
	}

	const forgedSecret = "forged-secret-0123456789"
	other := func(keyID, secret string) *client.Client {
		oc, err := client.New(client.Options{Endpoint: n.URL, AccountID: n.Creds.AccountID, AccessKeyID: keyID, AccessKeySecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return oc
	}
	statuses := map[string]int{} // FC error code → the status the client saw
	rejected := func(c *client.Client, req client.Request, code string) {
		t.Helper()
		_, err := c.Do(ctx, req, nil)
		var e *client.Error
		if !errorsAs(err, &e) || e.Code != code {
			t.Fatalf("%s %s = %v, want %s", req.Method, req.Path, err, code)
		}
		statuses[code] = e.Status
	}
	rejected(other(n.Creds.AccessKeyID, forgedSecret), client.Request{Method: "POST", Path: "/2016-08-15/services", Body: &fc.Service{ServiceName: "evil"}}, fc.CodeSignatureNotMatch)
	rejected(other("OFCUNKNOWNKEY0000000", forgedSecret), client.Request{Method: "DELETE", Path: "/2016-08-15/services/a"}, fc.CodeInvalidAccessKeyID)
	rejected(c, client.Request{Method: "GET", Path: "/2016-08-15/services",
		Header: http.Header{"Date": {time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}}}, fc.CodeRequestTimeTooSkewed)

	entries := allAudit(t, c, client.AuditOptions{})
	type brief struct {
		Action, Resource, Key string
		Status                int
		Code                  string
	}
	var got []brief
	for _, e := range entries {
		got = append(got, brief{e.Action, e.Resource, e.AccessKeyID, e.Status, e.ErrorCode})
		if e.RequestID == "" || e.SourceAddress != "127.0.0.1" || e.AccountID != n.Creds.AccountID {
			t.Errorf("entry %+v: want a request ID, source 127.0.0.1 and account %s", e, n.Creds.AccountID)
		}
		if ts, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("entry time %q: want the time of the call", e.Time)
		}
	}
	root := n.Creds.AccessKeyID
	want := []brief{
		{"CreateService", "services", root, 200, ""},
		{"CreateFunction", "services/a/functions", root, 200, ""},
		{"UpdateFunction", "services/a/functions/f", root, 200, ""},
		{"DeleteFunction", "services/a/functions/f", root, 204, ""},
		{"CreateService", "services", root, 400, fc.CodeServiceAlreadyExists},
		{"CreateService", "services", root, 403, fc.CodeSignatureNotMatch},
		{"DeleteService", "services/a", "OFCUNKNOWNKEY0000000", 403, fc.CodeInvalidAccessKeyID},
		{"ListServices", "services", root, 403, fc.CodeRequestTimeTooSkewed},
	}
	// A failure is recorded with the status its client saw.
	statuses[dup.Code] = dup.Status
	for i := range want {
		if want[i].Code != "" {
			want[i].Status = statuses[want[i].Code]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
	raw, _ := json.Marshal(entries)
	for _, secret := range []string{envSecret, n.Creds.AccessKeySecret, forgedSecret, zip[:40], "FC " + root + ":", "DB_PASSWORD"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit trail holds %q:\n%s", secret, raw)
		}
	}

	for name, tc := range map[string]struct {
		o    client.AuditOptions
		want int
	}{
		"action":   {client.AuditOptions{Action: "DeleteFunction"}, 1},
		"resource": {client.AuditOptions{Resource: "services/a/functions"}, 3},
		"key":      {client.AuditOptions{AccessKeyID: "OFCUNKNOWNKEY0000000"}, 1},
		"failure":  {client.AuditOptions{Result: "failure"}, 4},
		"success":  {client.AuditOptions{Result: "success"}, 4},
		"code":     {client.AuditOptions{Result: fc.CodeSignatureNotMatch}, 1},
		"past":     {client.AuditOptions{To: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, 0},
		"since":    {client.AuditOptions{From: "1h"}, 8},
		"nothing":  {client.AuditOptions{Action: "CreateTrigger"}, 0},
	} {
		if got := allAudit(t, c, tc.o); len(got) != tc.want {
			t.Errorf("%s: Audit(%+v) = %d entries, want %d", name, tc.o, len(got), tc.want)
		}
	}
	_, _, err := c.Audit(ctx, client.AuditOptions{From: "last tuesday"})
	var e *client.Error
	if !errorsAs(err, &e) || e.Code != fc.CodeInvalidArgument {
		t.Errorf("Audit with a bad from = %v, want InvalidArgument", err)
	}
}
