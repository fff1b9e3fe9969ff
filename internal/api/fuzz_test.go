package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/seal"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/testenv"
)

const (
	fuzzAccount = "1234567890"
	fuzzKeyID   = "fuzzKey"
	fuzzSecret  = "fuzzSecret"
)

// fuzzHandler builds the API handler the way app does, from the real parts
// (embedded NATS, the sealed store, the code store and the authenticator),
// so requests can be served through httptest without a socket. app keeps
// its handler private, and an in-process handler lets the fuzzer run many
// more requests than HTTP would.
func fuzzHandler(t testing.TB) http.Handler {
	t.Helper()
	b := testenv.NATS(t)
	box, err := seal.New(bytes.Repeat([]byte{7}, 32))
	must(t, "seal.New", err)
	blobs := blob.New(blob.Options{Objects: b.Code, Box: box, CacheDir: t.TempDir(), Logger: testenv.Logger(t)})
	st := store.New(store.Options{KV: b.Meta, Box: box, Blobs: blobs, AccountID: fuzzAccount, Logger: testenv.Logger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, "store.Start", st.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st.Shutdown(ctx)
	})
	authn := auth.New(auth.Options{Lookup: func(id string) (auth.Key, bool) {
		if id != fuzzKeyID {
			return auth.Key{}, false
		}
		return auth.Key{ID: fuzzKeyID, Secret: fuzzSecret, AccountID: fuzzAccount}, true
	}})
	return api.New(api.Options{Store: st, Auth: authn, AccountID: fuzzAccount, URLKey: []byte("fuzz-url-key"), Logger: testenv.Logger(t)})
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"}

// FuzzAPIRequest sends arbitrary signed requests (method, path, query, body,
// If-Match) to the API handler: it must never panic or answer 500, every
// answer carries a request ID, and every error is FC's JSON error body.
func FuzzAPIRequest(f *testing.F) {
	zip := b64(zipOf(f, map[string]string{"index.py": "x = 1\n"}))
	seeds := []struct {
		method     byte
		path, body string
	}{
		{1, "/2016-08-15/services", `{"serviceName":"s"}`},
		{0, "/2016-08-15/services?limit=2&prefix=s&nextToken=s", ``},
		{2, "/2016-08-15/services/s", `{"description":"","tracingConfig":{}}`},
		{1, "/2016-08-15/services/s/functions", `{"functionName":"f","runtime":"python3.9","handler":"index.handler","code":{"zipFile":"` + zip + `"}}`},
		{1, "/2016-08-15/services/s/functions", `{"functionName":"g","runtime":"python3.9","handler":"h","code":{"zipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`},
		{2, "/2016-08-15/services/s/functions/f", `{"memorySize":"x","environmentVariables":{"A":1}}`},
		{0, "/2016-08-15/services/s.1/functions/f", ``},
		{0, "/2016-08-15/services/s.prod/functions/f/code", ``},
		{1, "/2016-08-15/services/s/functions/f/triggers", `{"triggerName":"t","triggerType":"timer","triggerConfig":{"cronExpression":"@every 1m"}}`},
		{1, "/2016-08-15/services/s/versions", `{}`},
		{1, "/2016-08-15/services/s/aliases", `{"aliasName":"prod","versionId":"1","additionalVersionWeight":{"1":2}}`},
		{3, "/2016-08-15/services/s/versions/1", ``},
		{2, "/2016-08-15/services/s.prod/functions/f/provision-config", `{"target":1}`},
		{2, "/2016-08-15/services/s/functions/f/on-demand-config", `{"maximumInstanceCount":-1}`},
		{2, "/2016-08-15/services/s/functions/f/async-invoke-config", `{"DestinationConfig":{"OnSuccess":{"Destination":"nats:x"}}}`},
		{0, "/2016-08-15/services/s/functions/f/async-invoke-configs", ``},
		{1, "/2016-08-15/custom-domains", `{"domainName":"a.com","certConfig":{"privateKey":"k"}}`},
		{1, "/2016-08-15/layers/l/versions", `{"code":{"zipFile":"` + zip + `"}}`},
		{0, "/2016-08-15/layerarn/" + url.PathEscape("acs:fc:local:1234567890:layers/l/versions/1"), ``},
		{3, "/2016-08-15/layers/l/versions/0", ``},
		{2, "/2016-08-15/layers/l/acl?public=maybe", ``},
		{1, "/2016-08-15/tag", `{"resourceArn":"services/s","tags":{"k":"v"}}`},
		{3, "/2016-08-15/tag", `{"resourceArn":"services/s","all":true}`},
		{0, "/2016-08-15/tag?resourceArn=acs:fc:x:1:services/s", ``},
		{0, "/2016-08-15/provision-configs?qualifier=x", ``},
		{0, "/2016-08-15/on-demand-configs?limit=0&prefix=&startKey=&nextToken=", ``},
		{0, "/2016-08-15/services/s/versions?direction=sideways", ``},
		{0, "/2016-08-15/account-settings", ``},
		{0, "/openfc/v1/code/abc?expires=1&token=x", ``},
		{5, "/2016-08-15/services/%2e%2e/functions", `[`},
		{0, "/", ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body), "")
	}
	f.Add(byte(2), "/2016-08-15/services/s", []byte(`{}`), "0123456789abcdef0123456789abcdef")
	h := fuzzHandler(f)

	f.Fuzz(func(t *testing.T, method byte, target string, body []byte, ifMatch string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // not something a client can send
		}
		req := &http.Request{
			Method: fuzzMethods[int(method)%len(fuzzMethods)], URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"X-Fc-Account-Id": {fuzzAccount}}, Host: "fc.local",
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		if ifMatch != "" && !strings.ContainsAny(ifMatch, "\r\n\x00") {
			req.Header.Set("If-Match", ifMatch)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req = req.WithContext(ctx)
		fc.SignRequest(req, fuzzKeyID, fuzzSecret, "")

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q body %q: status %d %s, want no 5xx", req.Method, target, body, res.StatusCode, rec.Body.Bytes())
		}
		if id := res.Header.Get("X-Fc-Request-Id"); len(id) != 36 {
			t.Fatalf("%s %q: X-Fc-Request-Id = %q, want a UUID", req.Method, target, id)
		}
		if res.StatusCode >= 400 {
			var e struct{ ErrorCode, ErrorMessage, RequestId string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorCode == "" || e.RequestId != res.Header.Get("X-Fc-Request-Id") {
				t.Fatalf("%s %q: error body %q is not FC's error JSON with the request ID", req.Method, target, rec.Body.Bytes())
			}
		}
		if res.StatusCode == http.StatusNoContent && (rec.Body.Len() != 0 || res.Header.Get("Content-Type") != "") {
			t.Fatalf("%s %q: 204 with body %q and Content-Type %q", req.Method, target, rec.Body.Bytes(), res.Header.Get("Content-Type"))
		}
	})
}
