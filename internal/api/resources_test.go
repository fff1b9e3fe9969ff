package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// do is client.Do that fails the test on error.
func do(t *testing.T, n *testenv.Node, method, path string, body, out any) *client.Response {
	t.Helper()
	r, err := n.Client.Do(t.Context(), client.Request{Method: method, Path: path, Body: body}, out)
	must(t, method+" "+path, err)
	return r
}

func TestCustomDomains(t *testing.T) {
	n := testenv.Platform(t, nil)
	const key = "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----"
	status, h, body := call(t, n, "POST", prefix+"/custom-domains", []byte(`{"domainName":"api.example.com","protocol":"HTTP,HTTPS",
		"routeConfig":{"routes":[{"path":"/login/*","serviceName":"s","functionName":"f","qualifier":"LATEST","methods":["GET"]}]},
		"CertConfig":{"CertName":"c","Certificate":"-----BEGIN CERTIFICATE-----","PrivateKey":"`+strings.ReplaceAll(key, "\n", `\n`)+`"}}`), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateCustomDomain = %d %s, want 200", status, body)
	}
	if !etagRE.MatchString(h.Get("ETag")) {
		t.Errorf("CreateCustomDomain ETag = %q, want 32 hex", h.Get("ETag"))
	}
	m := rawJSON(t, body)
	if got := compact(m["certConfig"]); got != `{"certName":"c","certificate":"-----BEGIN CERTIFICATE-----","privateKey":null}` {
		t.Errorf("CreateCustomDomain certConfig = %s, want the certificate and privateKey null", got)
	}
	if strings.Contains(string(body), "secret") {
		t.Errorf("CreateCustomDomain body leaks the private key: %s", body)
	}
	for k, want := range map[string]string{"domainName": `"api.example.com"`, "protocol": `"HTTP,HTTPS"`, "apiVersion": `"2016-08-15"`,
		"accountId": `"` + n.Creds.AccountID + `"`} {
		if got := compact(m[k]); got != want {
			t.Errorf("CreateCustomDomain %s = %s, want %s", k, got, want)
		}
	}
	_, _, body = call(t, n, "GET", prefix+"/custom-domains/api.example.com", nil, nil)
	if got := compact(rawJSON(t, body)["certConfig"]); !strings.Contains(got, `"privateKey":null`) {
		t.Errorf("GetCustomDomain certConfig = %s, want privateKey null", got)
	}

	var plain fc.CustomDomain
	do(t, n, "POST", prefix+"/custom-domains", map[string]any{"domainName": "plain.example.com"}, &plain)
	if plain.Protocol != "HTTP" {
		t.Errorf("CreateCustomDomain without protocol = %q, want HTTP", plain.Protocol)
	}
	var got fc.CustomDomain
	do(t, n, "GET", prefix+"/custom-domains/plain.example.com", nil, &got)
	if diff := cmp.Diff(plain, got); diff != "" {
		t.Errorf("GetCustomDomain mismatch (-create +get):\n%s", diff)
	}
	var upd fc.CustomDomain
	do(t, n, "PUT", prefix+"/custom-domains/plain.example.com", map[string]any{"routeConfig": map[string]any{
		"routes": []map[string]string{{"path": "/*", "serviceName": "s", "functionName": "g"}}}}, &upd)
	if upd.Protocol != "HTTP" || len(upd.RouteConfig.Routes) != 1 || upd.RouteConfig.Routes[0].FunctionName != "g" {
		t.Errorf("UpdateCustomDomain = %+v, want protocol kept and one route to g", upd)
	}
	var list struct {
		CustomDomains []fc.CustomDomain `json:"customDomains"`
	}
	do(t, n, "GET", prefix+"/custom-domains", nil, &list)
	if len(list.CustomDomains) != 2 || list.CustomDomains[0].DomainName != "api.example.com" {
		t.Errorf("ListCustomDomains = %v, want api.example.com and plain.example.com", list.CustomDomains)
	}

	_, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/custom-domains", Body: map[string]any{"domainName": "plain.example.com"}}, nil)
	apiError(t, "CreateCustomDomain again", err, http.StatusConflict, fc.CodeDomainAlreadyExists)
	for _, b := range []map[string]any{{"domainName": "bad domain"}, {"domainName": "x.com", "protocol": "FTP"},
		{"domainName": "y.com", "protocol": "HTTP,HTTPS"}, {"domainName": "z.com", "routeConfig": map[string]any{"routes": []map[string]string{{"path": "nope"}}}}} {
		_, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/custom-domains", Body: b}, nil)
		apiError(t, "CreateCustomDomain(bad)", err, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	status, h, body = call(t, n, "DELETE", prefix+"/custom-domains/plain.example.com", nil, nil)
	if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
		t.Errorf("DeleteCustomDomain = %d %q %q, want 204, empty, no Content-Type", status, body, h.Get("Content-Type"))
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/custom-domains/plain.example.com"}, nil)
	apiError(t, "GetCustomDomain after delete", err, http.StatusNotFound, fc.CodeDomainNameNotFound)
}

func TestFunctionConfigs(t *testing.T) {
	n := testenv.Platform(t, nil)
	acct := n.Creds.AccountID
	mkService(t, n, "svc")
	mkFunction(t, n, "svc", "f", fc.Function{}, defaultZip(t))
	_, err := publish(t, n, "svc", "")
	must(t, "PublishServiceVersion", err)
	do(t, n, "POST", prefix+"/services/svc/aliases", map[string]string{"aliasName": "prod", "versionId": "1"}, nil)

	t.Run("provision", func(t *testing.T) {
		var pc fc.ProvisionConfig
		do(t, n, "PUT", prefix+"/services/svc.prod/functions/f/provision-config", map[string]any{"target": 2}, &pc)
		if pc.Resource != acct+"#svc#prod#f" || pc.Target == nil || *pc.Target != 2 {
			t.Errorf("PutProvisionConfig = resource %q target %v, want %s#svc#prod#f and 2", pc.Resource, pc.Target, acct)
		}
		_, err := n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: prefix + "/services/svc.prod/functions/f/provision-config",
			Body: map[string]any{"target": 3}, Header: http.Header{"If-Match": {"0123456789abcdef0123456789abcdef"}}}, nil)
		apiError(t, "PutProvisionConfig(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		_, _, body := call(t, n, "GET", prefix+"/services/svc.prod/functions/f/provision-config", nil, nil)
		m := rawJSON(t, body)
		if compact(m["target"]) != "2" || compact(m["current"]) != "0" || compact(m["resource"]) != `"`+acct+`#svc#prod#f"` {
			t.Errorf("GetProvisionConfig = %s, want target 2, current 0 and the resource", body)
		}
		for _, b := range []string{`{}`, `{"target":-1}`, `{"target":"two"}`} {
			status, h, resp := call(t, n, "PUT", prefix+"/services/svc.prod/functions/f/provision-config", []byte(b), nil)
			wantErrorBody(t, "PutProvisionConfig("+b+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "PUT", Path: prefix + "/services/svc.nope/functions/f/provision-config",
			Body: map[string]any{"target": 1}}, nil)
		apiError(t, "PutProvisionConfig(unknown alias)", err, http.StatusNotFound, fc.CodeAliasNotFound)
		var list struct {
			ProvisionConfigs []fc.ProvisionConfig `json:"provisionConfigs"`
		}
		var raw []byte
		_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/provision-configs",
			Query: url.Values{"serviceName": {"svc"}, "qualifier": {"prod"}}}, &raw)
		must(t, "ListProvisionConfigs", err)
		must(t, "decode", json.Unmarshal(raw, &list))
		if len(list.ProvisionConfigs) != 1 || list.ProvisionConfigs[0].Resource != acct+"#svc#prod#f" {
			t.Errorf("ListProvisionConfigs = %s, want the one config", raw)
		}
		if _, ok := rawJSON(t, raw)["nextToken"]; ok {
			t.Errorf("ListProvisionConfigs (exhausted) has a nextToken key: %s", raw)
		}
		status, h, body := call(t, n, "GET", prefix+"/provision-configs?qualifier=prod", nil, nil)
		wantErrorBody(t, "ListProvisionConfigs(qualifier without serviceName)", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)
	})

	t.Run("on-demand", func(t *testing.T) {
		var raw []byte
		_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/on-demand-configs",
			Query: url.Values{"limit": {"0"}, "prefix": {""}, "startKey": {""}, "nextToken": {""}}}, &raw)
		must(t, "ListOnDemandConfigs(none)", err)
		if _, ok := rawJSON(t, raw)["configs"]; ok {
			t.Errorf("ListOnDemandConfigs with none = %s, want no configs key", raw)
		}
		var c fc.OnDemandConfig
		do(t, n, "PUT", prefix+"/services/svc.prod/functions/f/on-demand-config", map[string]any{"maximumInstanceCount": 5}, &c)
		if c.Resource != "services/svc.prod/functions/f" || c.MaximumInstanceCount == nil || *c.MaximumInstanceCount != 5 {
			t.Errorf("PutOnDemandConfig = %+v, want services/svc.prod/functions/f and 5", c)
		}
		do(t, n, "PUT", prefix+"/services/svc/functions/f/on-demand-config", map[string]any{"maximumInstanceCount": 1}, &c)
		if c.Resource != "services/svc.LATEST/functions/f" {
			t.Errorf("PutOnDemandConfig without qualifier resource = %q, want services/svc.LATEST/functions/f", c.Resource)
		}
		var got fc.OnDemandConfig
		do(t, n, "GET", prefix+"/services/svc.prod/functions/f/on-demand-config", nil, &got)
		if got.Resource != "services/svc.prod/functions/f" || *got.MaximumInstanceCount != 5 {
			t.Errorf("GetOnDemandConfig = %+v", got)
		}
		var list struct {
			Configs []fc.OnDemandConfig `json:"configs"`
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/on-demand-configs",
			Query: url.Values{"prefix": {"services/svc.p"}}}, &list)
		must(t, "ListOnDemandConfigs(prefix)", err)
		if len(list.Configs) != 1 || list.Configs[0].Resource != "services/svc.prod/functions/f" {
			t.Errorf("ListOnDemandConfigs(prefix services/svc.p) = %+v, want the prod config", list.Configs)
		}
		status, h, body := call(t, n, "DELETE", prefix+"/services/svc.prod/functions/f/on-demand-config", nil, nil)
		if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
			t.Errorf("DeleteOnDemandConfig = %d %q %q, want 204, empty, no Content-Type", status, body, h.Get("Content-Type"))
		}
		_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc.prod/functions/f/on-demand-config"}, nil)
		apiError(t, "GetOnDemandConfig after delete", err, http.StatusNotFound, fc.CodeOnDemandConfigNotFound)
		status, h, body = call(t, n, "PUT", prefix+"/services/svc.prod/functions/f/on-demand-config", []byte(`{}`), nil)
		wantErrorBody(t, "PutOnDemandConfig({})", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)
	})

	t.Run("async", func(t *testing.T) {
		const path = prefix + "/services/svc/functions/f/async-invoke-config"
		status, h, body := call(t, n, "GET", path, nil, nil)
		wantErrorBody(t, "GetFunctionAsyncInvokeConfig(none)", status, h, body, http.StatusNotFound, fc.CodeAsyncConfigNotExists)

		dest := "acs:fc:local:" + acct + ":services/svc.LATEST/functions/f"
		// The Python SDK's test sends PascalCase keys and expects camelCase back.
		status, _, body = call(t, n, "PUT", path, []byte(`{"MaxAsyncRetryAttempts":2,"MaxAsyncEventAgeInSeconds":300,`+
			`"DestinationConfig":{"OnSuccess":{"Destination":"`+dest+`"}}}`), nil)
		if status != http.StatusOK {
			t.Fatalf("PutFunctionAsyncInvokeConfig = %d %s, want 200", status, body)
		}
		m := rawJSON(t, body)
		for k, want := range map[string]string{"service": `"svc"`, "function": `"f"`, "qualifier": `"LATEST"`,
			"maxAsyncRetryAttempts": `2`, "maxAsyncEventAgeInSeconds": `300`,
			"destinationConfig": `{"onSuccess":{"destination":"` + dest + `"},"onFailure":null}`} {
			if got := compact(m[k]); got != want {
				t.Errorf("PutFunctionAsyncInvokeConfig %s = %s, want %s", k, got, want)
			}
		}
		for _, k := range []string{"createdTime", "lastModifiedTime"} {
			if _, ok := m[k]; !ok {
				t.Errorf("PutFunctionAsyncInvokeConfig lacks %s: %s", k, body)
			}
		}
		var prod fc.AsyncConfig
		do(t, n, "PUT", prefix+"/services/svc.prod/functions/f/async-invoke-config", map[string]any{"maxAsyncRetryAttempts": 0}, &prod)
		if prod.Qualifier != "prod" {
			t.Errorf("PutFunctionAsyncInvokeConfig(svc.prod) qualifier = %q, want prod", prod.Qualifier)
		}
		_, _, body = call(t, n, "GET", prefix+"/services/svc/functions/f/async-invoke-configs", nil, nil)
		lm := rawJSON(t, body)
		if got := compact(lm["nextToken"]); got != `""` {
			t.Errorf("ListFunctionAsyncInvokeConfigs nextToken = %s, want \"\" (%s)", got, body)
		}
		var list struct {
			Configs []fc.AsyncConfig `json:"configs"`
		}
		must(t, "decode", json.Unmarshal(body, &list))
		if len(list.Configs) != 2 || list.Configs[0].Qualifier != "LATEST" || list.Configs[1].Qualifier != "prod" {
			t.Errorf("ListFunctionAsyncInvokeConfigs = %+v, want LATEST and prod", list.Configs)
		}
		for _, b := range []string{`{"maxAsyncRetryAttempts":9}`, `{"maxAsyncEventAgeInSeconds":0}`,
			`{"destinationConfig":{"onFailure":{"destination":"http://x"}}}`, `{"maxAsyncRetryAttempts":"x"}`} {
			status, h, resp := call(t, n, "PUT", path, []byte(b), nil)
			wantErrorBody(t, "PutFunctionAsyncInvokeConfig("+b+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
		}
		var again fc.AsyncConfig
		do(t, n, "GET", path, nil, &again)
		if again.MaxAsyncRetryAttempts == nil || *again.MaxAsyncRetryAttempts != 2 {
			t.Errorf("GetFunctionAsyncInvokeConfig after refused puts = %+v, want retries 2", again)
		}
		status, h, body = call(t, n, "DELETE", path, nil, nil)
		if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
			t.Errorf("DeleteFunctionAsyncInvokeConfig = %d %q %q, want 204", status, body, h.Get("Content-Type"))
		}
		_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: path}, nil)
		apiError(t, "GetFunctionAsyncInvokeConfig after delete", err, http.StatusNotFound, fc.CodeAsyncConfigNotExists)
		_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services/svc/functions/nofn/async-invoke-config"}, nil)
		apiError(t, "GetFunctionAsyncInvokeConfig(nofn)", err, http.StatusNotFound, fc.CodeFunctionNotFound)
	})
}

func TestLayers(t *testing.T) {
	n := testenv.Platform(t, nil)
	acct := n.Creds.AccountID
	code := zipOf(t, map[string]string{"python/lib.py": "X = 1\n"})
	var l1, l2 fc.Layer
	do(t, n, "POST", prefix+"/layers/lib/versions", map[string]any{"description": "one", "compatibleRuntime": []string{"python3.9"},
		"code": map[string]string{"zipFile": b64(code)}}, &l1)
	do(t, n, "POST", prefix+"/layers/lib/versions", map[string]any{"Code": map[string]string{"ZipFile": b64(code)}}, &l2)
	if l1.Version != 1 || l2.Version != 2 || l1.LayerName != "lib" {
		t.Fatalf("PublishLayerVersion versions = %d, %d, want 1, 2", l1.Version, l2.Version)
	}
	if l1.CodeSize != int64(len(code)) || l1.CodeChecksum != crc(code) || l1.CreateTime == "" {
		t.Errorf("PublishLayerVersion = size %d checksum %s createTime %q, want %d %s and a time", l1.CodeSize, l1.CodeChecksum, l1.CreateTime, len(code), crc(code))
	}
	if !strings.HasSuffix(l1.ARN, "#lib#1") || strings.Count(l1.ARN, "#") != 2 {
		t.Errorf("layer arn = %q, want <hash>#lib#1", l1.ARN)
	}
	if want := "acs:fc:" + n.Config.Region + ":" + acct + ":layers/lib/versions/1"; l1.ARNV2 != want && !strings.HasSuffix(l1.ARNV2, ":"+acct+":layers/lib/versions/1") {
		t.Errorf("layer arnV2 = %q, want %q", l1.ARNV2, want)
	}
	do(t, n, "POST", prefix+"/layers/alib/versions", map[string]any{"code": map[string]string{"zipFile": b64(code)}}, nil)

	var ls struct {
		Layers []fc.Layer `json:"layers"`
	}
	do(t, n, "GET", prefix+"/layers", nil, &ls)
	if len(ls.Layers) != 2 || ls.Layers[0].LayerName != "alib" || ls.Layers[1].LayerName != "lib" || ls.Layers[1].Version != 2 {
		t.Errorf("ListLayers = %+v, want alib and lib (version 2)", ls.Layers)
	}
	do(t, n, "GET", prefix+"/layers/lib/versions", nil, &ls)
	if len(ls.Layers) != 2 || ls.Layers[0].Version != 1 || ls.Layers[1].Version != 2 {
		t.Errorf("ListLayerVersions(lib) = %+v, want versions 1 and 2", ls.Layers)
	}
	var got fc.Layer
	do(t, n, "GET", prefix+"/layers/lib/versions/1", nil, &got)
	if diff := cmp.Diff(l1, got); diff != "" {
		t.Errorf("GetLayerVersion(lib, 1) mismatch (-publish +get):\n%s", diff)
	}
	for _, arn := range []string{l1.ARN, l1.ARNV2} {
		var byARN fc.Layer
		do(t, n, "GET", prefix+"/layerarn/"+url.PathEscape(arn), nil, &byARN)
		if diff := cmp.Diff(l1, byARN); diff != "" {
			t.Errorf("GetLayerVersionByArn(%s) mismatch (-publish +get):\n%s", arn, diff)
		}
	}
	_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/layerarn/" + url.PathEscape("nohash#lib#1")}, nil)
	apiError(t, "GetLayerVersionByArn(unknown)", err, http.StatusNotFound, fc.CodeLayerNotFound)

	mkService(t, n, "svc")
	f, _ := mkFunction(t, n, "svc", "withlayer", fc.Function{Layers: []string{l1.ARNV2, l2.ARN}}, defaultZip(t))
	if diff := cmp.Diff([]string{l1.ARNV2, l2.ARN}, f.Layers); diff != "" {
		t.Errorf("CreateFunction layers mismatch (-want +got):\n%s", diff)
	}
	_, _, err = n.Client.CreateFunction(t.Context(), "svc", &fc.FunctionInput{Function: fc.Function{FunctionName: "nolayer", Runtime: "python3.9",
		Handler: "h", Layers: []string{"acs:fc:local:" + acct + ":layers/lib/versions/9"}}, Code: &fc.Code{ZipFile: b64(defaultZip(t))}})
	apiError(t, "CreateFunction(missing layer version)", err, http.StatusBadRequest, fc.CodeInvalidArgument)

	status, h, body := call(t, n, "DELETE", prefix+"/layers/lib/versions/1", nil, nil)
	if status != http.StatusNoContent || len(body) != 0 || h.Get("Content-Type") != "" {
		t.Errorf("DeleteLayerVersion = %d %q %q, want 204, empty, no Content-Type", status, body, h.Get("Content-Type"))
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/layers/lib/versions/1"}, nil)
	apiError(t, "GetLayerVersion(lib, 1) after delete", err, http.StatusNotFound, fc.CodeLayerNotFound)
	_, err = n.Client.Do(t.Context(), client.Request{Method: "DELETE", Path: prefix + "/layers/lib/versions/1"}, nil)
	apiError(t, "DeleteLayerVersion(lib, 1) again", err, http.StatusNotFound, fc.CodeLayerNotFound)
	var l3 fc.Layer
	do(t, n, "POST", prefix+"/layers/lib/versions", map[string]any{"code": map[string]string{"zipFile": b64(code)}}, &l3)
	if l3.Version != 3 {
		t.Errorf("PublishLayerVersion after deleting 1 = version %d, want 3", l3.Version)
	}
	for _, b := range []string{`{}`, `{"code":{"zipFile":"bm90IGEgemlw"}}`, `{"code":{"zipFile":"` + b64(code) + `"},"compatibleRuntime":["cobol"]}`} {
		status, h, resp := call(t, n, "POST", prefix+"/layers/lib/versions", []byte(b), nil)
		wantErrorBody(t, "PublishLayerVersion("+b+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	status, h, body = call(t, n, "POST", prefix+"/layers/9bad/versions", []byte(`{"code":{"zipFile":"`+b64(code)+`"}}`), nil)
	wantErrorBody(t, "PublishLayerVersion(9bad)", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)
}

func TestTagsAndAccountSettings(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "a")
	mkService(t, n, "b")
	mkService(t, n, "c")
	full := "acs:fc:" + n.Config.Region + ":" + n.Creds.AccountID + ":services/b"

	status, h, body := call(t, n, "POST", prefix+"/tag", []byte(`{"resourceArn":"services/a","tags":{"env":"prod","team":"x"}}`), nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !json.Valid(body) || len(body) == 0 {
		t.Errorf("TagResource = %d %q %s, want 200 with a JSON body", status, h.Get("Content-Type"), body)
	}
	do(t, n, "POST", prefix+"/tag", map[string]any{"resourceArn": full, "tags": map[string]string{"env": "dev"}}, nil)

	var tags fc.Tags
	_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/tag", Query: url.Values{"resourceArn": {"services/a"}}}, &tags)
	must(t, "GetResourceTags(a)", err)
	if diff := cmp.Diff(fc.Tags{ResourceARN: "services/a", Tags: map[string]string{"env": "prod", "team": "x"}}, tags); diff != "" {
		t.Errorf("GetResourceTags(a) mismatch (-want +got):\n%s", diff)
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/tag", Query: url.Values{"resourceArn": {full}}}, &tags)
	must(t, "GetResourceTags(full arn)", err)
	if tags.ResourceARN != full || tags.Tags["env"] != "dev" {
		t.Errorf("GetResourceTags(%s) = %+v, want the ARN as given and env=dev", full, tags)
	}

	for q, want := range map[string][]string{"tag_env=prod": {"a"}, "tag_env=dev": {"b"}, "tag_env=prod&tag_team=x": {"a"},
		"tag_env=prod&tag_team=y": {}, "tag_nope=1": {}} {
		query, _ := url.ParseQuery(q)
		names, _, _ := listServices(t, n, query)
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("ListServices(%s) mismatch (-want +got):\n%s", q, diff)
		}
	}
	var svc fc.Service
	do(t, n, "GET", prefix+"/services/a", nil, &svc)
	if svc.Tags["team"] != "x" {
		t.Errorf("GetService(a) tags = %v, want team=x", svc.Tags)
	}

	status, h, body = call(t, n, "DELETE", prefix+"/tag", []byte(`{"resourceArn":"services/a","tagKeys":["team"]}`), nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !json.Valid(body) || len(body) == 0 {
		t.Errorf("UntagResource = %d %q %s, want 200 with a JSON body", status, h.Get("Content-Type"), body)
	}
	do(t, n, "DELETE", prefix+"/tag", map[string]any{"resourceArn": "services/a", "all": true, "tagKeys": []string{}}, nil)
	var raw []byte
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/tag", Query: url.Values{"resourceArn": {"services/a"}}}, &raw)
	must(t, "GetResourceTags(a) after untag all", err)
	if got := compact(rawJSON(t, raw)["tags"]); got != "{}" {
		t.Errorf("GetResourceTags(a) after untag all tags = %s, want {}", got)
	}

	for _, b := range []string{`{"resourceArn":"services/a","tags":{}}`, `{"resourceArn":"functions/x","tags":{"k":"v"}}`,
		`{"resourceArn":"services/a","tags":{"acs:x":"v"}}`} {
		status, h, resp := call(t, n, "POST", prefix+"/tag", []byte(b), nil)
		wantErrorBody(t, "TagResource("+b+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	_, err = n.Client.Do(t.Context(), client.Request{Method: "POST", Path: prefix + "/tag", Body: map[string]any{"resourceArn": "services/zzz", "tags": map[string]string{"k": "v"}}}, nil)
	apiError(t, "TagResource(missing service)", err, http.StatusNotFound, fc.CodeServiceNotFound)
	status, h, body = call(t, n, "DELETE", prefix+"/tag", []byte(`{"resourceArn":"services/a"}`), nil)
	wantErrorBody(t, "UntagResource(no keys)", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)

	var settings fc.AccountSettings
	do(t, n, "GET", prefix+"/account-settings", nil, &settings)
	if len(settings.AvailableAZs) == 0 {
		t.Errorf("GetAccountSettings availableAZs = %v, want at least one", settings.AvailableAZs)
	}
	var cfg map[string]string
	_, err = n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/accountConfigs", Query: url.Values{"config": {"CodeSizeLimit"}}}, &cfg)
	must(t, "accountConfigs", err)
	if cfg["CodeSizeLimit"] != "104857600" {
		t.Errorf("accountConfigs CodeSizeLimit = %q, want \"104857600\"", cfg["CodeSizeLimit"])
	}
}
