package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func publish(t *testing.T, n *testenv.Node, service, description string) (*fc.Version, error) {
	t.Helper()
	var v fc.Version
	_, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/" + service + "/versions",
		Body: map[string]string{"description": description}}, &v)
	return &v, err
}

func TestVersionsAndAliases(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	code1 := defaultZip(t)
	mkFunction(t, n, "svc", "f", fc.Function{Description: "one", MemorySize: 128}, code1)

	v1, err := publish(t, n, "svc", "first")
	must(t, "PublishServiceVersion", err)
	if v1.VersionID != "1" || v1.Description != "first" || v1.CreatedTime == "" {
		t.Errorf("PublishServiceVersion = %+v, want versionId 1, description first and times", v1)
	}
	_, err = publish(t, n, "svc", "again")
	apiError(t, "PublishServiceVersion with no change", err, http.StatusBadRequest, fc.CodeInvalidArgument)

	code2 := zipOf(t, map[string]string{"index.py": "# two\n"})
	_, _, err = n.Client.UpdateFunction(t.Context(), "svc", "f", map[string]any{"description": "two", "memorySize": 256,
		"code": map[string]string{"zipFile": b64(code2)}}, "")
	must(t, "UpdateFunction", err)
	v2, err := publish(t, n, "svc", "")
	must(t, "PublishServiceVersion 2", err)
	if v2.VersionID != "2" {
		t.Fatalf("second PublishServiceVersion = %q, want 2", v2.VersionID)
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "DELETE", Path: prefix + "/services/svc/versions/2"}, nil)
	must(t, "DeleteServiceVersion(2)", err)
	_, _, err = n.Client.UpdateService(t.Context(), "svc", map[string]any{"description": "changed"}, "")
	must(t, "UpdateService", err)
	v3, err := publish(t, n, "svc", "")
	must(t, "PublishServiceVersion after delete", err)
	if v3.VersionID != "3" {
		t.Errorf("PublishServiceVersion after deleting 2 = %q, want 3 (IDs are never reused)", v3.VersionID)
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "DELETE", Path: prefix + "/services/svc/versions/2"}, nil)
	apiError(t, "DeleteServiceVersion(2) again", err, http.StatusNotFound, fc.CodeVersionNotFound)

	var vl struct {
		Versions  []fc.Version `json:"versions"`
		NextToken string       `json:"nextToken"`
		Direction string       `json:"direction"`
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc/versions"}, &vl)
	must(t, "ListServiceVersions", err)
	if ids := versionIDs(vl.Versions); !cmp.Equal(ids, []string{"3", "1"}) || vl.Direction != "BACKWARD" {
		t.Errorf("ListServiceVersions = %v %s, want [3 1] BACKWARD", ids, vl.Direction)
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc/versions",
		Query: map[string][]string{"direction": {"FORWARD"}, "limit": {"1"}}}, &vl)
	must(t, "ListServiceVersions FORWARD", err)
	if ids := versionIDs(vl.Versions); !cmp.Equal(ids, []string{"1"}) || vl.NextToken != "3" || vl.Direction != "FORWARD" {
		t.Errorf("ListServiceVersions(FORWARD, limit 1) = %v next %q %s, want [1] next 3 FORWARD", ids, vl.NextToken, vl.Direction)
	}

	t.Run("qualified reads", func(t *testing.T) {
		f1, r, err := n.Client.GetFunction(t.Context(), "svc", "1", "f")
		must(t, "GetFunction(svc.1, f)", err)
		if f1.Description != "one" || f1.MemorySize != 128 || f1.CodeChecksum != crc(code1) {
			t.Errorf("GetFunction(svc.1) = %q %d %s, want the version 1 snapshot (one 128 %s)", f1.Description, f1.MemorySize, f1.CodeChecksum, crc(code1))
		}
		if len(r.RequestID) != 36 {
			t.Errorf("GetFunction(svc.1) request ID = %q", r.RequestID)
		}
		latest, _, err := n.Client.GetFunction(t.Context(), "svc", "LATEST", "f")
		must(t, "GetFunction(svc.LATEST)", err)
		if latest.Description != "two" || latest.MemorySize != 256 {
			t.Errorf("GetFunction(svc.LATEST) = %q %d, want two 256", latest.Description, latest.MemorySize)
		}
		code, _, err := n.Client.GetFunctionCode(t.Context(), "svc", "1", "f")
		must(t, "GetFunctionCode(svc.1)", err)
		if code.Checksum != crc(code1) {
			t.Errorf("GetFunctionCode(svc.1) checksum = %s, want %s", code.Checksum, crc(code1))
		}
		if _, data := download(t, code.URL); string(data) != string(code1) {
			t.Errorf("downloaded code of svc.1 differs from version 1's zip")
		}
		s3, _, err := n.Client.GetService(t.Context(), "svc", "3")
		must(t, "GetService(svc.3)", err)
		s1, _, err := n.Client.GetService(t.Context(), "svc", "1")
		must(t, "GetService(svc.1)", err)
		if s3.Description != "changed" || s1.Description != "" {
			t.Errorf("GetService(svc.3, svc.1) descriptions = %q, %q, want changed and empty", s3.Description, s1.Description)
		}
		fl, _, err := n.Client.ListFunctions(t.Context(), "svc", "1", client.ListOptions{})
		must(t, "ListFunctions(svc.1)", err)
		if len(fl.Functions) != 1 || fl.Functions[0].Description != "one" {
			t.Errorf("ListFunctions(svc.1) = %v, want f at version 1", fl.Functions)
		}
		_, _, err = n.Client.GetFunction(t.Context(), "svc", "99", "f")
		apiError(t, "GetFunction(svc.99)", err, http.StatusNotFound, fc.CodeVersionNotFound)
		_, _, err = n.Client.GetFunction(t.Context(), "svc", "nope", "f")
		apiError(t, "GetFunction(svc.nope)", err, http.StatusNotFound, fc.CodeAliasNotFound)
		_, _, err = n.Client.GetFunction(t.Context(), "svc", "1", "g")
		apiError(t, "GetFunction(svc.1, g)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
	})

	t.Run("aliases", func(t *testing.T) {
		var a fc.Alias
		r, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/aliases",
			Body: map[string]any{"aliasName": "prod", "versionId": "1", "description": "d", "additionalVersionWeight": map[string]float64{"3": 0.2}}}, &a)
		must(t, "CreateAlias(prod)", err)
		if r.Status != http.StatusOK || !etagRE.MatchString(r.ETag) {
			t.Errorf("CreateAlias status %d ETag %q, want 200 and 32 hex", r.Status, r.ETag)
		}
		want := fc.Alias{AliasName: "prod", VersionID: "1", Description: "d", AdditionalVersionWeight: map[string]float64{"3": 0.2},
			CreatedTime: a.CreatedTime, LastModifiedTime: a.LastModifiedTime}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("CreateAlias mismatch (-want +got):\n%s", diff)
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/aliases",
			Body: map[string]any{"aliasName": "prod", "versionId": "1"}}, nil)
		apiError(t, "CreateAlias(prod) again", err, http.StatusConflict, fc.CodeAliasAlreadyExists)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/aliases",
			Body: map[string]any{"aliasName": "gone", "versionId": "9"}}, nil)
		apiError(t, "CreateAlias(missing version)", err, http.StatusNotFound, fc.CodeVersionNotFound)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/services/svc/aliases",
			Body: map[string]any{"aliasName": "w", "versionId": "1", "additionalVersionWeight": map[string]float64{"3": 1.5}}}, nil)
		apiError(t, "CreateAlias(weight 1.5)", err, http.StatusBadRequest, fc.CodeInvalidArgument)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc/aliases/gone"}, nil)
		apiError(t, "GetAlias(gone)", err, http.StatusNotFound, fc.CodeAliasNotFound)

		// Node SDK style: versionId null or absent keeps the version.
		var upd fc.Alias
		r2, err := n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: prefix + "/services/svc/aliases/prod",
			Body:   map[string]any{"versionId": nil, "description": "", "additionalVersionWeight": map[string]float64{"3": 0.5}},
			Header: http.Header{"If-Match": {r.ETag}}}, &upd)
		must(t, "UpdateAlias(prod)", err)
		if upd.VersionID != "1" || upd.Description != "" || upd.AdditionalVersionWeight["3"] != 0.5 || r2.ETag == r.ETag {
			t.Errorf("UpdateAlias = %+v ETag %s, want version 1 kept, empty description, weight 0.5, new ETag", upd, r2.ETag)
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: prefix + "/services/svc/aliases/prod",
			Body: map[string]any{"versionId": "3"}, Header: http.Header{"If-Match": {r.ETag}}}, nil)
		apiError(t, "UpdateAlias(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: prefix + "/services/svc/aliases/prod",
			Body: map[string]any{"versionId": "7"}}, nil)
		apiError(t, "UpdateAlias(missing version)", err, http.StatusNotFound, fc.CodeVersionNotFound)
		var got fc.Alias
		r3, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc/aliases/prod"}, &got)
		must(t, "GetAlias(prod)", err)
		if diff := cmp.Diff(upd, got); diff != "" || r3.ETag != r2.ETag {
			t.Errorf("GetAlias after refused updates changed (ETag %s → %s):\n%s", r2.ETag, r3.ETag, diff)
		}

		f, _, err := n.Client.GetFunction(t.Context(), "svc", "prod", "f")
		must(t, "GetFunction(svc.prod)", err)
		if f.Description != "one" {
			t.Errorf("GetFunction(svc.prod) description = %q, want one (alias → version 1)", f.Description)
		}
		fl, _, err := n.Client.ListFunctions(t.Context(), "svc", "prod", client.ListOptions{})
		must(t, "ListFunctions(svc.prod)", err)
		if len(fl.Functions) != 1 || fl.Functions[0].Description != "one" {
			t.Errorf("ListFunctions(svc.prod) = %v, want f at version 1", fl.Functions)
		}
		if _, _, err := n.Client.GetService(t.Context(), "svc", "prod"); err != nil {
			t.Errorf("GetService(svc.prod): %v", err)
		}

		for _, id := range []string{"1", "3"} {
			_, err = n.Client.Do(t.Context(), client.Request{Method: "DELETE", Path: prefix + "/services/svc/versions/" + id}, nil)
			apiError(t, "DeleteServiceVersion("+id+") used by alias prod", err, http.StatusBadRequest, fc.CodeVersionInUse)
		}
		_, err = n.Client.DeleteService(t.Context(), "svc", "")
		apiError(t, "DeleteService with versions and aliases", err, http.StatusBadRequest, fc.CodeServiceNotEmpty)

		status, h, body := call(t, n, "DELETE", prefix+"/services/svc/aliases/prod", nil, nil)
		if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
			t.Errorf("DeleteAlias = %d %q %q, want 204, empty, no Content-Type", status, body, h.Get("Content-Type"))
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "DELETE", Path: prefix + "/services/svc/versions/1"}, nil)
		must(t, "DeleteServiceVersion(1) once unused", err)
	})
}

// TestProvisionConfigPinsVersionAndAlias: a version that a provision
// config names as its qualifier cannot be deleted (400 VersionInUse), nor
// can an alias with a provision config (400 InvalidArgument): the
// instances provisioned for them would be left without a version to run.
// Both errors name the config, and nothing is deleted.
func TestProvisionConfigPinsVersionAndAlias(t *testing.T) {
	n := testenv.Platform(t, nil)
	ctx := t.Context()
	mkService(t, n, "pin")
	mkFunction(t, n, "pin", "f", fc.Function{}, defaultZip(t))
	_, err := publish(t, n, "pin", "")
	must(t, "PublishServiceVersion 1", err)
	_, _, err = n.Client.UpdateFunction(ctx, "pin", "f", map[string]any{"description": "two"}, "")
	must(t, "UpdateFunction", err)
	_, err = publish(t, n, "pin", "")
	must(t, "PublishServiceVersion 2", err)
	_, _, err = n.Client.CreateAlias(ctx, "pin", &fc.Alias{AliasName: "prod", VersionID: "2"})
	must(t, "CreateAlias(prod)", err)
	// Version 1 is used by its provision config only (no alias names it).
	one := int64(1)
	for _, q := range []string{"1", "prod"} {
		_, _, err = n.Client.PutProvisionConfig(ctx, "pin", q, "f", &fc.ProvisionConfig{Target: &one}, "")
		must(t, "PutProvisionConfig(pin."+q+")", err)
	}

	_, err = n.Client.DeleteVersion(ctx, "pin", "1")
	e := apiError(t, "DeleteServiceVersion(1) with a provision config", err, http.StatusBadRequest, fc.CodeVersionInUse)
	if !strings.Contains(e.Message, "provision config") {
		t.Errorf("DeleteServiceVersion(1) message %q does not name the provision config", e.Message)
	}
	_, err = n.Client.DeleteAlias(ctx, "pin", "prod", "")
	e = apiError(t, "DeleteAlias(prod) with a provision config", err, http.StatusBadRequest, fc.CodeInvalidArgument)
	if !strings.Contains(e.Message, "provision config") {
		t.Errorf("DeleteAlias(prod) message %q does not name the provision config", e.Message)
	}

	_, _, err = n.Client.GetFunction(ctx, "pin", "1", "f")
	must(t, "GetFunction(pin.1) after the refused delete", err)
	_, err = n.Client.Do(ctx, client.Request{Method: "GET", Path: prefix + "/services/pin/aliases/prod"}, nil)
	must(t, "GetAlias(prod) after the refused delete", err)
}

func versionIDs(vs []fc.Version) []string {
	ids := []string{}
	for _, v := range vs {
		ids = append(ids, v.VersionID)
	}
	return ids
}
