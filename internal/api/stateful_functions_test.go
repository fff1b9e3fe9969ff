package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// ListStatefulAsyncInvocationFunctions lists the function qualifiers whose
// async config turns stateful invocations on, across services, in pages.
func TestListStatefulAsyncInvocationFunctions(t *testing.T) {
	n := testenv.Platform(t, nil)
	for _, svc := range []string{"a", "b"} {
		mkService(t, n, svc)
		for _, f := range []string{"on", "off"} {
			mkFunction(t, n, svc, f, fc.Function{Runtime: "python3", Handler: "index.handler"}, defaultZip(t))
			do(t, n, "PUT", fmt.Sprintf("%s/services/%s/functions/%s/async-invoke-config", prefix, svc, f),
				map[string]any{"statefulInvocation": f == "on"}, nil)
		}
	}
	type page struct {
		Data []struct {
			ServiceName, Qualifier, FunctionName string
		}
		NextToken string
	}
	var got []string
	token := ""
	for range 5 {
		var p page
		q := url.Values{"limit": {"1"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/stateful-async-invocation-functions", Query: q}, &p)
		must(t, "ListStatefulAsyncInvocationFunctions", err)
		if len(p.Data) != 1 {
			t.Fatalf("page of limit 1 has %d entries: %+v", len(p.Data), p)
		}
		d := p.Data[0]
		got = append(got, d.ServiceName+"."+d.Qualifier+"/"+d.FunctionName)
		if token = p.NextToken; token == "" {
			break
		}
	}
	if want := "a.LATEST/on,b.LATEST/on"; strings.Join(got, ",") != want {
		t.Errorf("stateful functions = %q, want %s", got, want)
	}
	_, err := n.Client.Do(t.Context(), client.Request{Method: "GET", Path: prefix + "/stateful-async-invocation-functions",
		Query: url.Values{"limit": {"1001"}}}, nil)
	apiError(t, "limit 1001", err, 400, fc.CodeInvalidArgument)
}
