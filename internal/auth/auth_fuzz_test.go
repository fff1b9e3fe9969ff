package auth

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// FuzzVerify sends arbitrary Authorization and Date headers, paths and
// queries to Verify: it must not panic, and must answer with an *fc.Error
// or one of the test keys.
func FuzzVerify(f *testing.F) {
	seed := func(method, path, rawQuery string, token string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
		r.Header.Set("Date", testDate)
		fc.SignRequest(r, "testKeyId", "testSecret", token)
		f.Add(method, r.URL.EscapedPath(), rawQuery, r.Header.Get("Authorization"), testDate, token)
	}
	seed("GET", "/2016-08-15/services", "limit=2", "")
	seed("POST", "/2016-08-15/proxy/s/f/a b", "a=1&aaa&b=", "tok")
	seed("GET", "/2016-08-15/proxy/s/f/", "x-fc-expires=1&x-fc-signature", "")
	f.Add("GET", "/2016-08-15/proxy/demo/http-fn/", "x-fc-access-key-id=testKeyId&x-fc-expires=1764000000&x-fc-signature=JeoQ2%2BbYcfpoBNqXR9a29Wgbjwwg9iNSRrNpHdPnfuQ%3D", "", "", "")
	f.Add("GET", "/%zz", "%zz=%&x-fc-signature=+", "FC ::", "Mon, 99 Nov 2025 10:00:00 GMT", "x")

	a := newTestAuthenticator()
	f.Fuzz(func(t *testing.T, method, path, rawQuery, authz, date, token string) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: rawQuery},
			Header: http.Header{
				"Authorization":       {authz},
				"Date":                {date},
				"X-Fc-Security-Token": {token},
				"X-Fc-Account-Id":     {""},
			},
		}
		k, err := a.Verify(r)
		if err != nil {
			if _, ok := fc.AsError(err); !ok {
				t.Fatalf("Verify(%s %q ? %q) error %v is not an *fc.Error", method, path, rawQuery, err)
			}
			return
		}
		if k.ID != "testKeyId" && k.ID != "STS.testKeyId" {
			t.Fatalf("Verify(%s %q ? %q) = key %q, want a test key", method, path, rawQuery, k.ID)
		}
	})
}
