package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestTriggerCRUD(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	mkFunction(t, n, "svc", "f", fc.Function{}, defaultZip(t))

	// http triggers return sourceArn null whatever the client sent.
	body := `{"triggerName":"web","triggerType":"http","sourceArn":"acs:oss:x:1:b","invocationRole":"",` +
		`"triggerConfig":{"authType":"anonymous","methods":["GET","POST"]}}`
	status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions/f/triggers", []byte(body), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateTrigger = %d %s, want 200", status, resp)
	}
	etag := h.Get("ETag")
	if !etagRE.MatchString(etag) {
		t.Errorf("CreateTrigger ETag = %q, want 32 hex", etag)
	}
	m := rawJSON(t, resp)
	for k, want := range map[string]string{
		"triggerName": `"web"`, "triggerType": `"http"`, "sourceArn": `null`, "invocationRole": `""`, "qualifier": `"LATEST"`,
		"triggerConfig": `{"authType":"anonymous","methods":["GET","POST"]}`,
	} {
		if got := compact(m[k]); got != want {
			t.Errorf("CreateTrigger %s = %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"triggerId", "createdTime", "lastModifiedTime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("CreateTrigger body lacks %s: %s", k, resp)
		}
	}

	timer := &fc.Trigger{TriggerName: "tick", TriggerType: "timer", TriggerConfig: json.RawMessage(`{"cronExpression":"@every 5m","payload":"p","enable":true}`)}
	_, _, err := n.Client.CreateTrigger(t.Context(), "svc", "f", timer)
	must(t, "CreateTrigger(timer)", err)

	got, r, err := n.Client.GetTrigger(t.Context(), "svc", "f", "web")
	must(t, "GetTrigger(web)", err)
	if r.ETag != etag || got.SourceARN != nil {
		t.Errorf("GetTrigger(web) ETag %s sourceArn %v, want %s and nil", r.ETag, got.SourceARN, etag)
	}
	list, _, err := n.Client.ListTriggers(t.Context(), "svc", "f", client.ListOptions{})
	must(t, "ListTriggers", err)
	var names []string
	for _, tr := range list.Triggers {
		names = append(names, tr.TriggerName)
	}
	if diff := cmp.Diff([]string{"tick", "web"}, names); diff != "" {
		t.Errorf("ListTriggers names mismatch (-want +got):\n%s", diff)
	}

	t.Run("errors", func(t *testing.T) {
		_, _, err := n.Client.CreateTrigger(t.Context(), "svc", "f", timer)
		apiError(t, "CreateTrigger(tick) again", err, http.StatusConflict, fc.CodeTriggerAlreadyExists)
		_, _, err = n.Client.CreateTrigger(t.Context(), "svc", "nofn", timer)
		apiError(t, "CreateTrigger(nofn)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
		_, _, err = n.Client.CreateTrigger(t.Context(), "nosvc", "f", timer)
		apiError(t, "CreateTrigger(nosvc)", err, http.StatusNotFound, fc.CodeServiceNotFound)
		_, _, err = n.Client.GetTrigger(t.Context(), "svc", "f", "nope")
		apiError(t, "GetTrigger(nope)", err, http.StatusNotFound, fc.CodeTriggerNotFound)
		_, err = n.Client.DeleteTrigger(t.Context(), "svc", "f", "nope", "")
		apiError(t, "DeleteTrigger(nope)", err, http.StatusNotFound, fc.CodeTriggerNotFound)
		for _, b := range []string{
			`{"triggerName":"x","triggerType":"kafka","triggerConfig":{}}`,
			`{"triggerName":"x","triggerType":"http"}`,
			`{"triggerName":"x y","triggerType":"http","triggerConfig":{"authType":"anonymous","methods":["GET"]}}`,
			`{"triggerName":"x","triggerType":"timer","triggerConfig":{"cronExpression":"not a cron"}}`,
			`{"triggerName":"x","triggerType":"http","triggerConfig":"GET"}`,
			`{"triggerName":"x","triggerType":"http","qualifier":"a.b","triggerConfig":{"authType":"anonymous","methods":["GET"]}}`,
		} {
			status, h, resp := call(t, n, "POST", prefix+"/services/svc/functions/f/triggers", []byte(b), nil)
			wantErrorBody(t, "CreateTrigger("+b+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
		}
		_, _, err = n.Client.CreateTrigger(t.Context(), "svc", "f", &fc.Trigger{TriggerName: "x", TriggerType: "http", Qualifier: "prod",
			TriggerConfig: json.RawMessage(`{"authType":"anonymous","methods":["GET"]}`)})
		apiError(t, "CreateTrigger(qualifier prod, no such alias)", err, http.StatusNotFound, fc.CodeAliasNotFound)
		_, _, err = n.Client.GetTrigger(t.Context(), "svc", "f", "x")
		apiError(t, "GetTrigger(x) after refused creates", err, http.StatusNotFound, fc.CodeTriggerNotFound)
	})

	t.Run("update", func(t *testing.T) {
		upd, r2, err := n.Client.UpdateTrigger(t.Context(), "svc", "f", "web", map[string]any{
			"description": "now", "triggerType": "timer", "triggerName": "renamed", "sourceArn": "acs:x",
			"triggerConfig": map[string]any{"authType": "function", "methods": []string{"PUT"}},
		}, etag)
		must(t, "UpdateTrigger(web)", err)
		if r2.ETag == etag || !etagRE.MatchString(r2.ETag) {
			t.Errorf("UpdateTrigger ETag = %q, want a new 32-hex ETag", r2.ETag)
		}
		want := *got
		want.Description = "now"
		want.TriggerConfig = json.RawMessage(`{"authType":"function","methods":["PUT"]}`)
		if diff := cmp.Diff(want, *upd, ignoreTimes); diff != "" {
			t.Errorf("UpdateTrigger mismatch (-want +got):\n%s", diff)
		}
		_, _, err = n.Client.UpdateTrigger(t.Context(), "svc", "f", "web", map[string]any{"description": "stale"}, etag)
		apiError(t, "UpdateTrigger(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		_, _, err = n.Client.UpdateTrigger(t.Context(), "svc", "f", "web", map[string]any{"triggerConfig": map[string]any{"authType": "none"}}, "")
		apiError(t, "UpdateTrigger(bad config)", err, http.StatusBadRequest, fc.CodeInvalidArgument)
		after, r3, err := n.Client.GetTrigger(t.Context(), "svc", "f", "web")
		must(t, "GetTrigger(web)", err)
		if diff := cmp.Diff(upd, after); diff != "" || r3.ETag != r2.ETag {
			t.Errorf("GetTrigger after refused updates changed (ETag %s → %s):\n%s", r2.ETag, r3.ETag, diff)
		}
		_, err = n.Client.DeleteTrigger(t.Context(), "svc", "f", "web", etag)
		apiError(t, "DeleteTrigger(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		status, h, body := call(t, n, "DELETE", prefix+"/services/svc/functions/f/triggers/web", nil, http.Header{"If-Match": {r2.ETag}})
		if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
			t.Errorf("DeleteTrigger = %d %q Content-Type %q, want 204, empty, none", status, body, h.Get("Content-Type"))
		}
	})
}
