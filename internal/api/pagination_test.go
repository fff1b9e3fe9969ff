package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// listServices does a raw ListServices and returns the names and the
// nextToken, and whether the nextToken key was present at all.
func listServices(t *testing.T, n *testenv.Node, q url.Values) (names []string, next string, hasNext bool) {
	t.Helper()
	var out client.ServiceList
	var raw []byte
	_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/services", Query: q}, &raw)
	must(t, "ListServices("+q.Encode()+")", err)
	m := rawJSON(t, raw)
	_, hasNext = m["nextToken"]
	if got := compact(m["services"]); got == "null" {
		t.Errorf("ListServices(%s) services = null, want a list", q.Encode())
	}
	if err := jsonUnmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Services {
		names = append(names, s.ServiceName)
	}
	if names == nil {
		names = []string{}
	}
	return names, out.NextToken, hasNext
}

func TestListServicesPagination(t *testing.T) {
	n := testenv.Platform(t, nil)
	if names, _, hasNext := listServices(t, n, nil); len(names) != 0 || hasNext {
		t.Errorf("ListServices on an empty node = %v (nextToken present %v), want [] and no nextToken", names, hasNext)
	}
	// Byte-wise order: 'A' < 'B' < '_' < 'a', and '-' < '_' inside names.
	odd := []string{"b", "a_1", "a-1", "a", "_x", "B", "A", "a-10", "a-2"}
	var all []string
	for i := range 105 {
		all = append(all, fmt.Sprintf("s%03d", i))
	}
	all = append(all, odd...)
	for _, name := range all {
		mkService(t, n, name)
	}
	slices.Sort(all) // Go's string order is byte-wise
	if all[0] != "A" || all[2] != "_x" || all[3] != "a" || all[4] != "a-1" {
		t.Fatalf("test setup: unexpected order %v", all[:8])
	}

	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name      string
		query     url.Values
		want      []string
		wantNext  string
		wantExhst bool
	}{
		{"default limit 20", nil, all[:20], all[20], false},
		{"limit 0 is default", q("limit", "0"), all[:20], all[20], false},
		{"empty values are absent", q("limit", "", "prefix", "", "startKey", "", "nextToken", ""), all[:20], all[20], false},
		{"limit 3", q("limit", "3"), all[:3], all[3], false},
		{"limit capped at 100", q("limit", "1000"), all[:100], all[100], false},
		{"limit 100", q("limit", "100"), all[:100], all[100], false},
		{"prefix", q("prefix", "a"), []string{"a", "a-1", "a-10", "a-2", "a_1"}, "", true},
		{"prefix with limit", q("prefix", "a-", "limit", "2"), []string{"a-1", "a-10"}, "a-2", false},
		{"startKey inclusive", q("startKey", "a-1", "limit", "3"), []string{"a-1", "a-10", "a-2"}, "a_1", false},
		{"startKey between names", q("startKey", "a-11", "limit", "2"), []string{"a-2", "a_1"}, "b", false},
		{"startKey with prefix", q("startKey", "a-2", "prefix", "a"), []string{"a-2", "a_1"}, "", true},
		{"startKey below prefix", q("startKey", "A", "prefix", "a_"), []string{"a_1"}, "", true},
		{"nextToken", q("nextToken", "s100"), []string{"s100", "s101", "s102", "s103", "s104"}, "", true},
		{"nextToken wins over startKey", q("startKey", "A", "nextToken", "s103"), []string{"s103", "s104"}, "", true},
		{"nextToken keeps prefix", q("prefix", "a", "nextToken", "a-2"), []string{"a-2", "a_1"}, "", true},
		{"nextToken past prefix", q("prefix", "a", "nextToken", "b"), []string{}, "", true},
		{"prefix matches nothing", q("prefix", "zzz"), []string{}, "", true},
		{"exact last page", q("startKey", "s095", "limit", "10"), all[len(all)-10:], "", true},
		{"unknown params ignored", q("limit", "2", "foo", "bar", "qualifier", "x"), all[:2], all[2], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, next, hasNext := listServices(t, n, tt.query)
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("ListServices(%s) names mismatch (-want +got):\n%s", tt.query.Encode(), diff)
			}
			if next != tt.wantNext {
				t.Errorf("ListServices(%s) nextToken = %q, want %q", tt.query.Encode(), next, tt.wantNext)
			}
			if tt.wantExhst && hasNext {
				t.Errorf("ListServices(%s) has a nextToken key on the last page, want it omitted", tt.query.Encode())
			}
		})
	}

	t.Run("walk", func(t *testing.T) {
		var got []string
		token := ""
		for range 100 {
			names, next, _ := listServices(t, n, q("limit", "7", "nextToken", token))
			got = append(got, names...)
			if next == "" {
				break
			}
			token = next
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("walking ListServices pages mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("bad limit", func(t *testing.T) {
		for _, l := range []string{"-1", "ten", "1.5"} {
			status, h, body := call(t, n, "GET", prefix+"/services?limit="+url.QueryEscape(l), nil, nil)
			wantErrorBody(t, "ListServices(limit="+l+")", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)
		}
	})
}

func TestListFunctionsTriggersAliasesPagination(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	mkService(t, n, "svc-2") // its functions must not leak into svc's list
	code := defaultZip(t)
	fns := []string{"f_b", "f-a", "F", "fa", "fb"}
	for _, f := range fns {
		mkFunction(t, n, "svc", f, fc.Function{}, code)
	}
	mkFunction(t, n, "svc-2", "other", fc.Function{}, code)
	slices.Sort(fns)

	var got []string
	opts := client.ListOptions{Limit: 2}
	for range 10 {
		page, _, err := n.Client.ListFunctions(t.Context(), "svc", "", opts)
		must(t, "ListFunctions", err)
		for _, f := range page.Functions {
			got = append(got, f.FunctionName)
		}
		if page.NextToken == "" {
			break
		}
		opts.NextToken = page.NextToken
	}
	if diff := cmp.Diff(fns, got); diff != "" {
		t.Errorf("ListFunctions pages mismatch (-want +got):\n%s", diff)
	}
	page, _, err := n.Client.ListFunctions(t.Context(), "svc", "", client.ListOptions{Prefix: "f", StartKey: "f_"})
	must(t, "ListFunctions(prefix f, startKey f_)", err)
	if len(page.Functions) != 3 || page.Functions[0].FunctionName != "f_b" {
		t.Errorf("ListFunctions(prefix f, startKey f_) = %v, want f_b, fa, fb", page.Functions)
	}

	for _, tr := range []string{"t3", "t1", "t2"} {
		_, _, err := n.Client.CreateTrigger(t.Context(), "svc", "fa", &fc.Trigger{TriggerName: tr, TriggerType: "timer",
			TriggerConfig: []byte(`{"cronExpression":"@every 1h"}`)})
		must(t, "CreateTrigger("+tr+")", err)
	}
	tl, _, err := n.Client.ListTriggers(t.Context(), "svc", "fa", client.ListOptions{Limit: 2})
	must(t, "ListTriggers", err)
	if len(tl.Triggers) != 2 || tl.Triggers[0].TriggerName != "t1" || tl.NextToken != "t3" {
		t.Errorf("ListTriggers(limit 2) = %d triggers, nextToken %q, want t1, t2 and t3", len(tl.Triggers), tl.NextToken)
	}
	_, _, body := call(t, n, "GET", prefix+"/services/svc/functions/fb/triggers", nil, nil)
	if got := strings.TrimSpace(string(body)); got != `{"triggers":[]}` {
		t.Errorf("ListTriggers(no triggers) = %s, want {\"triggers\":[]}", got)
	}
	_, _, body = call(t, n, "GET", prefix+"/services/svc-2/aliases", nil, nil)
	if got := strings.TrimSpace(string(body)); got != `{"aliases":[]}` {
		t.Errorf("ListAliases(none) = %s, want {\"aliases\":[]}", got)
	}
	_, _, body = call(t, n, "GET", prefix+"/services/svc-2/versions", nil, nil)
	if got := compact(rawJSON(t, body)["versions"]); got != `[]` {
		t.Errorf("ListVersions(none) versions = %s, want []", got)
	}
	_, _, body = call(t, n, "GET", prefix+"/custom-domains", nil, nil)
	if got := compact(rawJSON(t, body)["customDomains"]); got != `[]` {
		t.Errorf("ListCustomDomains(none) customDomains = %s, want []", got)
	}
	_, _, body = call(t, n, "GET", prefix+"/layers", nil, nil)
	if got := compact(rawJSON(t, body)["layers"]); got != `[]` {
		t.Errorf("ListLayers(none) layers = %s, want []", got)
	}
}
