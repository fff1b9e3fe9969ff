package client_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// zipB64 returns a base64 zip holding index.py.
func zipB64(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("index.py")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("def handler(event, context):\n    return event\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// must fails the test when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantCode fails the test unless err is an API error with code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
	if e.RequestID == "" {
		t.Errorf("%s: error %v has no request ID", what, err)
	}
}

func setup(t *testing.T) *client.Client {
	t.Helper()
	n := testenv.Platform(t, nil)
	c := n.Client
	ctx := t.Context()
	_, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "svc"})
	must(t, "CreateService", err)
	_, _, err = c.CreateFunction(ctx, "svc", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "fn", Runtime: "python3.10", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: zipB64(t)},
	})
	must(t, "CreateFunction", err)
	return c
}

func TestVersionsAndAliases(t *testing.T) {
	c := setup(t)
	ctx := t.Context()

	v1, r, err := c.PublishVersion(ctx, "svc", "first", "")
	must(t, "PublishVersion", err)
	if v1.VersionID != "1" || v1.Description != "first" || r.Status != http.StatusOK {
		t.Errorf("PublishVersion = %+v (HTTP %d), want version 1 described first", v1, r.Status)
	}
	_, _, err = c.UpdateService(ctx, "svc", map[string]any{"description": "changed"}, "")
	must(t, "UpdateService", err)
	_, _, err = c.PublishVersion(ctx, "svc", "second", "0123456789abcdef0123456789abcdef")
	wantCode(t, "PublishVersion with a stale ETag", err, "PreconditionFailed")
	v2, _, err := c.PublishVersion(ctx, "svc", "second", "")
	must(t, "PublishVersion", err)

	vs, _, err := c.ListVersions(ctx, "svc", client.ListOptions{}, "")
	must(t, "ListVersions", err)
	if got := []string{vs.Versions[0].VersionID, vs.Versions[1].VersionID}; !cmp.Equal(got, []string{v2.VersionID, "1"}) || vs.Direction != "BACKWARD" {
		t.Errorf("ListVersions = %+v, want %s then 1, BACKWARD", vs, v2.VersionID)
	}
	vs, _, err = c.ListVersions(ctx, "svc", client.ListOptions{Limit: 1}, "FORWARD")
	must(t, "ListVersions FORWARD", err)
	if len(vs.Versions) != 1 || vs.Versions[0].VersionID != "1" || vs.NextToken == "" {
		t.Errorf("ListVersions(limit 1, FORWARD) = %+v, want version 1 and a nextToken", vs)
	}

	a, r, err := c.CreateAlias(ctx, "svc", &fc.Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{v2.VersionID: 0.25}})
	must(t, "CreateAlias", err)
	if a.AliasName != "prod" || a.VersionID != "1" || r.ETag == "" {
		t.Errorf("CreateAlias = %+v (ETag %q)", a, r.ETag)
	}
	_, _, err = c.CreateAlias(ctx, "svc", &fc.Alias{AliasName: "prod", VersionID: "1"})
	wantCode(t, "CreateAlias twice", err, "AliasAlreadyExists")
	got, r, err := c.GetAlias(ctx, "svc", "prod")
	must(t, "GetAlias", err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("GetAlias differs from CreateAlias (-create +get):\n%s", diff)
	}
	_, _, err = c.UpdateAlias(ctx, "svc", "prod", map[string]any{"versionId": v2.VersionID}, "0123456789abcdef0123456789abcdef")
	wantCode(t, "UpdateAlias with a stale ETag", err, "PreconditionFailed")
	up, _, err := c.UpdateAlias(ctx, "svc", "prod", map[string]any{"versionId": v2.VersionID, "additionalVersionWeight": map[string]float64{}}, r.ETag)
	must(t, "UpdateAlias", err)
	if up.VersionID != v2.VersionID {
		t.Errorf("UpdateAlias: versionId %q, want %q", up.VersionID, v2.VersionID)
	}
	as, _, err := c.ListAliases(ctx, "svc", client.ListOptions{})
	must(t, "ListAliases", err)
	if len(as.Aliases) != 1 || as.Aliases[0].AliasName != "prod" {
		t.Errorf("ListAliases = %+v, want prod", as)
	}
	_, err = c.DeleteAlias(ctx, "svc", "prod", "")
	must(t, "DeleteAlias", err)
	_, _, err = c.GetAlias(ctx, "svc", "prod")
	wantCode(t, "GetAlias after delete", err, "AliasNotFound")

	r, err = c.DeleteVersion(ctx, "svc", "1")
	must(t, "DeleteVersion", err)
	if r.Status != http.StatusNoContent {
		t.Errorf("DeleteVersion: HTTP %d, want 204", r.Status)
	}
	_, err = c.DeleteVersion(ctx, "svc", "1")
	if err == nil {
		t.Errorf("DeleteVersion twice succeeded")
	}
}

func TestCustomDomains(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	in := &fc.CustomDomain{DomainName: "example.com", RouteConfig: &fc.RouteConfig{Routes: []fc.PathRoute{{Path: "/*", ServiceName: "svc", FunctionName: "fn"}}}}
	d, r, err := c.CreateCustomDomain(ctx, in)
	must(t, "CreateCustomDomain", err)
	if d.DomainName != "example.com" || d.Protocol != "HTTP" || len(d.RouteConfig.Routes) != 1 {
		t.Errorf("CreateCustomDomain = %+v", d)
	}
	_, _, err = c.CreateCustomDomain(ctx, in)
	wantCode(t, "CreateCustomDomain twice", err, "DomainNameAlreadyExists")
	got, r, err := c.GetCustomDomain(ctx, "example.com")
	must(t, "GetCustomDomain", err)
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("GetCustomDomain differs (-create +get):\n%s", diff)
	}
	ds, _, err := c.ListCustomDomains(ctx, client.ListOptions{Prefix: "ex"})
	must(t, "ListCustomDomains", err)
	if len(ds.CustomDomains) != 1 {
		t.Errorf("ListCustomDomains = %+v, want example.com", ds)
	}
	up, _, err := c.UpdateCustomDomain(ctx, "example.com", map[string]any{"protocol": "HTTP,HTTPS"}, r.ETag)
	if err == nil && up.Protocol != "HTTP,HTTPS" {
		t.Errorf("UpdateCustomDomain: protocol %q, want HTTP,HTTPS", up.Protocol)
	}
	if err != nil {
		// HTTPS needs a certificate; an error must say so, not fail otherwise.
		wantCode(t, "UpdateCustomDomain to HTTPS without a certificate", err, "InvalidArgument")
	}
	_, _, err = c.UpdateCustomDomain(ctx, "example.com", map[string]any{"protocol": "HTTP"}, "0123456789abcdef0123456789abcdef")
	wantCode(t, "UpdateCustomDomain with a stale ETag", err, "PreconditionFailed")
	_, err = c.DeleteCustomDomain(ctx, "example.com", "")
	must(t, "DeleteCustomDomain", err)
	_, _, err = c.GetCustomDomain(ctx, "example.com")
	wantCode(t, "GetCustomDomain after delete", err, "DomainNameNotFound")
}

func TestFunctionConfigs(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	_, _, err := c.PublishVersion(ctx, "svc", "", "")
	must(t, "PublishVersion", err)
	_, _, err = c.CreateAlias(ctx, "svc", &fc.Alias{AliasName: "prod", VersionID: "1"})
	must(t, "CreateAlias", err)

	target := int64(2)
	p, _, err := c.PutProvisionConfig(ctx, "svc", "prod", "fn", &fc.ProvisionConfig{Target: &target}, "")
	must(t, "PutProvisionConfig", err)
	if p.Target == nil || *p.Target != 2 || p.Resource == "" {
		t.Errorf("PutProvisionConfig = %+v, want target 2 and a resource", p)
	}
	p, _, err = c.GetProvisionConfig(ctx, "svc", "prod", "fn")
	must(t, "GetProvisionConfig", err)
	if p.Target == nil || *p.Target != 2 {
		t.Errorf("GetProvisionConfig = %+v, want target 2", p)
	}
	ps, _, err := c.ListProvisionConfigs(ctx, "svc", "prod", client.ListOptions{})
	must(t, "ListProvisionConfigs", err)
	if len(ps.ProvisionConfigs) != 1 {
		t.Errorf("ListProvisionConfigs = %+v, want 1", ps)
	}
	_, _, err = c.ListProvisionConfigs(ctx, "", "prod", client.ListOptions{})
	wantCode(t, "ListProvisionConfigs with a qualifier and no service", err, "InvalidArgument")

	max := int64(5)
	o, r, err := c.PutOnDemandConfig(ctx, "svc", "prod", "fn", &fc.OnDemandConfig{MaximumInstanceCount: &max}, "")
	must(t, "PutOnDemandConfig", err)
	if o.MaximumInstanceCount == nil || *o.MaximumInstanceCount != 5 {
		t.Errorf("PutOnDemandConfig = %+v, want 5", o)
	}
	o, _, err = c.GetOnDemandConfig(ctx, "svc", "prod", "fn")
	must(t, "GetOnDemandConfig", err)
	if o.MaximumInstanceCount == nil || *o.MaximumInstanceCount != 5 {
		t.Errorf("GetOnDemandConfig = %+v, want 5", o)
	}
	os, _, err := c.ListOnDemandConfigs(ctx, client.ListOptions{})
	must(t, "ListOnDemandConfigs", err)
	if len(os.Configs) != 1 || os.Configs[0].Resource != o.Resource {
		t.Errorf("ListOnDemandConfigs = %+v, want %s", os, o.Resource)
	}
	_, err = c.DeleteOnDemandConfig(ctx, "svc", "prod", "fn", r.ETag)
	must(t, "DeleteOnDemandConfig", err)
	_, _, err = c.GetOnDemandConfig(ctx, "svc", "prod", "fn")
	if err == nil {
		t.Errorf("GetOnDemandConfig after delete succeeded")
	}

	age, retries := int64(300), int64(1)
	ac, _, err := c.PutAsyncConfig(ctx, "svc", "", "fn", &fc.AsyncConfig{MaxAsyncEventAgeInSeconds: &age, MaxAsyncRetryAttempts: &retries})
	must(t, "PutAsyncConfig", err)
	if ac.Qualifier != "LATEST" || ac.Service != "svc" || ac.Function != "fn" || *ac.MaxAsyncRetryAttempts != 1 {
		t.Errorf("PutAsyncConfig = %+v", ac)
	}
	_, _, err = c.PutAsyncConfig(ctx, "svc", "prod", "fn", &fc.AsyncConfig{MaxAsyncEventAgeInSeconds: &age})
	must(t, "PutAsyncConfig prod", err)
	ac, _, err = c.GetAsyncConfig(ctx, "svc", "prod", "fn")
	must(t, "GetAsyncConfig", err)
	if ac.Qualifier != "prod" {
		t.Errorf("GetAsyncConfig(prod).Qualifier = %q", ac.Qualifier)
	}
	acs, _, err := c.ListAsyncConfigs(ctx, "svc", "fn", client.ListOptions{})
	must(t, "ListAsyncConfigs", err)
	if len(acs.Configs) != 2 {
		t.Errorf("ListAsyncConfigs = %+v, want 2", acs)
	}
	_, err = c.DeleteAsyncConfig(ctx, "svc", "", "fn")
	must(t, "DeleteAsyncConfig", err)
	_, _, err = c.GetAsyncConfig(ctx, "svc", "", "fn")
	wantCode(t, "GetAsyncConfig after delete", err, "AsyncConfigNotExists")
}

func TestLayers(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	in := &fc.LayerInput{Description: "deps", Code: &fc.Code{ZipFile: zipB64(t)}, CompatibleRuntime: []string{"python3.10"}}
	l1, _, err := c.PublishLayerVersion(ctx, "deps", in)
	must(t, "PublishLayerVersion", err)
	l2, _, err := c.PublishLayerVersion(ctx, "deps", in)
	must(t, "PublishLayerVersion", err)
	if l1.Version != 1 || l2.Version != 2 || l1.LayerName != "deps" || l1.ARN == "" || l1.ARNV2 == "" {
		t.Errorf("PublishLayerVersion = %+v then %+v, want versions 1 and 2 with ARNs", l1, l2)
	}
	ls, _, err := c.ListLayers(ctx, client.ListOptions{})
	must(t, "ListLayers", err)
	if len(ls.Layers) != 1 || ls.Layers[0].Version != 2 {
		t.Errorf("ListLayers = %+v, want deps version 2", ls)
	}
	vs, _, err := c.ListLayerVersions(ctx, "deps", 0, 1)
	must(t, "ListLayerVersions", err)
	if len(vs.Layers) != 1 || vs.Layers[0].Version != 1 || vs.NextVersion != 2 {
		t.Errorf("ListLayerVersions(limit 1) = %+v, want version 1, next 2", vs)
	}
	vs, _, err = c.ListLayerVersions(ctx, "deps", vs.NextVersion, 1)
	must(t, "ListLayerVersions", err)
	if len(vs.Layers) != 1 || vs.Layers[0].Version != 2 || vs.NextVersion != 0 {
		t.Errorf("ListLayerVersions(start 2) = %+v, want version 2 and no next", vs)
	}
	got, _, err := c.GetLayerVersion(ctx, "deps", 1)
	must(t, "GetLayerVersion", err)
	if got.Version != 1 || got.CodeChecksum != l1.CodeChecksum {
		t.Errorf("GetLayerVersion = %+v, want %+v", got, l1)
	}
	for _, arn := range []string{l1.ARN, l1.ARNV2} {
		got, _, err := c.GetLayerVersionByARN(ctx, arn)
		must(t, "GetLayerVersionByARN "+arn, err)
		if got.Version != 1 || got.LayerName != "deps" {
			t.Errorf("GetLayerVersionByARN(%q) = %+v, want deps 1", arn, got)
		}
	}
	_, err = c.PutLayerACL(ctx, "deps", true)
	must(t, "PutLayerACL", err)
	_, err = c.DeleteLayerVersion(ctx, "deps", 1)
	must(t, "DeleteLayerVersion", err)
	_, _, err = c.GetLayerVersion(ctx, "deps", 1)
	wantCode(t, "GetLayerVersion after delete", err, "LayerNotFound")
}

func TestTagsAndAccount(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	_, err := c.TagResource(ctx, &fc.TagInput{ResourceARN: "services/svc", Tags: map[string]string{"team": "a", "env": "dev"}})
	must(t, "TagResource", err)
	tags, _, err := c.GetResourceTags(ctx, "services/svc")
	must(t, "GetResourceTags", err)
	if want := map[string]string{"team": "a", "env": "dev"}; !cmp.Equal(tags.Tags, want) || tags.ResourceARN != "services/svc" {
		t.Errorf("GetResourceTags = %+v, want %v", tags, want)
	}
	rs, _, err := c.ListTaggedResources(ctx, client.ListOptions{})
	must(t, "ListTaggedResources", err)
	if len(rs.Resources) != 1 || len(rs.Resources[0].Tags) != 2 {
		t.Errorf("ListTaggedResources = %+v, want svc with 2 tags", rs)
	}
	_, err = c.UntagResource(ctx, &fc.UntagInput{ResourceARN: "services/svc", TagKeys: []string{"env"}})
	must(t, "UntagResource", err)
	tags, _, err = c.GetResourceTags(ctx, "services/svc")
	must(t, "GetResourceTags", err)
	if want := map[string]string{"team": "a"}; !cmp.Equal(tags.Tags, want) {
		t.Errorf("GetResourceTags after untag = %v, want %v", tags.Tags, want)
	}
	_, err = c.UntagResource(ctx, &fc.UntagInput{ResourceARN: "services/svc", All: true})
	must(t, "UntagResource all", err)
	tags, _, err = c.GetResourceTags(ctx, "services/svc")
	must(t, "GetResourceTags", err)
	if len(tags.Tags) != 0 || tags.Tags == nil {
		t.Errorf("GetResourceTags after untag all = %#v, want {}", tags.Tags)
	}
	_, err = c.TagResource(ctx, &fc.TagInput{ResourceARN: "services/nosuch", Tags: map[string]string{"a": "b"}})
	wantCode(t, "TagResource of a missing service", err, "ServiceNotFound")

	s, _, err := c.AccountSettings(ctx)
	must(t, "AccountSettings", err)
	if len(s.AvailableAZs) == 0 {
		t.Errorf("AccountSettings = %+v, want availability zones", s)
	}
}
