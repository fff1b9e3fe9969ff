package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

const testDate = "Mon, 24 Nov 2025 10:00:00 GMT"

var testNow = time.Date(2025, 11, 24, 10, 0, 0, 0, time.UTC)

// testKeys are the keys of newTestAuthenticator, by ID.
func testKeys() map[string]Key {
	keys := map[string]Key{
		"testKeyId":     {ID: "testKeyId", Secret: "testSecret", AccountID: "123456789"},
		"STS.testKeyId": {ID: "STS.testKeyId", Secret: "testSecret", SecurityToken: "tok123", AccountID: "123456789", Expires: testNow.Add(time.Hour)},
		"expired":       {ID: "expired", Secret: "s", Expires: testNow.Add(-time.Second)},
		"STS.expired":   {ID: "STS.expired", Secret: "s", SecurityToken: "t", Expires: testNow.Add(-time.Second)},
	}
	return keys
}

// newTestAuthenticator returns an Authenticator over testKeys whose clock
// reads testNow.
func newTestAuthenticator() *Authenticator {
	keys := testKeys()
	return New(Options{
		Lookup: func(id string) (Key, bool) { k, ok := keys[id]; return k, ok },
		Now:    func() time.Time { return testNow },
	})
}

// failingBody fails the test if Verify reads the request body.
type failingBody struct{ t *testing.T }

func (b failingBody) Read([]byte) (int, error) {
	b.t.Error("Verify read the request body")
	return 0, io.EOF
}

// request returns a request with a fixed Date and the given x-fc- and other
// headers (pairs of name and value), and a body Verify must not read.
func request(t *testing.T, method, target string, header ...string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, failingBody{t})
	r.Header.Set("Date", testDate)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func signed(t *testing.T, method, target, keyID, secret, token string, header ...string) *http.Request {
	t.Helper()
	r := request(t, method, target, header...)
	fc.SignRequest(r, keyID, secret, token)
	return r
}

// signedURL returns a request for target signed in the signed-URL form.
func signedURL(t *testing.T, method, target, keyID, secret, token string, expires time.Time) *http.Request {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	fc.SignURL(u, method, keyID, secret, token, expires, nil)
	return httptest.NewRequest(method, u.String(), failingBody{t})
}

func TestAuthVerify(t *testing.T) {
	const (
		api    = "http://127.0.0.1/2016-08-15/services?limit=2"
		invoke = "http://127.0.0.1/2016-08-15/services/demo.prod/functions/hello/invocations"
		proxy  = "http://127.0.0.1/2016-08-15/proxy/demo/http-fn/a%20b/c?y=2&x=b&x=a&k%20k=v%20v"
	)
	tests := []struct {
		name       string
		req        func(t *testing.T) *http.Request
		wantKeyID  string
		wantStatus int
		wantCode   string
	}{
		{
			name: "spec example A as sent",
			req: func(t *testing.T) *http.Request {
				return request(t, "GET", api, "X-Fc-Account-Id", "123456789",
					"Authorization", "FC testKeyId:0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ac=")
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "spec example D as sent",
			req: func(t *testing.T) *http.Request {
				return request(t, "GET", proxy, "X-Fc-Account-Id", "123456789",
					"Authorization", "FC testKeyId:VuSgQXfLs6Kn676EeNCxiRPjszC3vTNcYlCtDKlfYDc=")
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "spec example F signed url as sent",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest("GET", "http://127.0.0.1/2016-08-15/proxy/demo/http-fn/?x-fc-access-key-id=testKeyId&x-fc-expires=1764000000&x-fc-signature=JeoQ2%2BbYcfpoBNqXR9a29Wgbjwwg9iNSRrNpHdPnfuQ%3D", nil)
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "signed url with unencoded plus",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest("GET", "http://127.0.0.1/2016-08-15/proxy/demo/http-fn/?x-fc-access-key-id=testKeyId&x-fc-expires=1764000000&x-fc-signature=JeoQ2+bYcfpoBNqXR9a29Wgbjwwg9iNSRrNpHdPnfuQ%3D", nil)
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "invoke signed by client",
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", invoke, "testKeyId", "testSecret", "",
					"Content-Type", "application/octet-stream", "Content-MD5", "not checked against the body",
					"X-Fc-Invocation-Type", "Async", "X-Fc-Account-Id", "")
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "api query is not signed",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "GET", api, "testKeyId", "testSecret", "")
				r.URL.RawQuery = "limit=100"
				return r
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "x-fc-date stands in for date",
			req: func(t *testing.T) *http.Request {
				r := request(t, "GET", api, "X-Fc-Date", testDate)
				r.Header.Del("Date")
				sts := fc.StringToSign(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
				r.Header.Set("Authorization", "FC testKeyId:"+fc.Signature("testSecret", sts))
				return r
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "date within skew",
			req: func(t *testing.T) *http.Request {
				r := request(t, "GET", api)
				r.Header.Set("Date", testNow.Add(-14*time.Minute).Format(http.TimeFormat))
				fc.SignRequest(r, "testKeyId", "testSecret", "")
				return r
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "proxy signed by client",
			req: func(t *testing.T) *http.Request {
				return signed(t, "PUT", proxy+"&aaa&b=", "testKeyId", "testSecret", "")
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "sts key with token",
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", invoke, "STS.testKeyId", "testSecret", "tok123")
			},
			wantKeyID: "STS.testKeyId",
		},
		{
			name: "signed url by client",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "GET", proxy, "testKeyId", "testSecret", "", testNow.Add(time.Minute))
			},
			wantKeyID: "testKeyId",
		},
		{
			name: "signed url sts key with token",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "POST", proxy, "STS.testKeyId", "testSecret", "tok123", testNow.Add(time.Minute))
			},
			wantKeyID: "STS.testKeyId",
		},

		{
			name:       "missing authorization",
			req:        func(t *testing.T) *http.Request { return request(t, "GET", api) },
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "garbled authorization",
			req: func(t *testing.T) *http.Request {
				return request(t, "GET", api, "Authorization", "Basic dXNlcjpwYXNz")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "unknown key",
			req: func(t *testing.T) *http.Request {
				return signed(t, "GET", api, "nobody", "testSecret", "")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidAccessKeyID,
		},
		{
			name: "expired key",
			req: func(t *testing.T) *http.Request {
				return signed(t, "GET", api, "expired", "s", "")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidAccessKeyID,
		},
		{
			name: "expired sts key",
			req: func(t *testing.T) *http.Request {
				return signed(t, "GET", api, "STS.expired", "s", "t")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidSecurityToken,
		},
		{
			name: "wrong secret",
			req: func(t *testing.T) *http.Request {
				return signed(t, "GET", api, "testKeyId", "otherSecret", "")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "tampered method",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "GET", api, "testKeyId", "testSecret", "")
				r.Method = "DELETE"
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "tampered path",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "GET", "http://127.0.0.1/2016-08-15/services/a", "testKeyId", "testSecret", "")
				r.URL.Path = "/2016-08-15/services/b"
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "tampered x-fc header",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "POST", invoke, "testKeyId", "testSecret", "", "X-Fc-Invocation-Type", "Async")
				r.Header.Set("X-Fc-Invocation-Type", "Sync")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "added x-fc header",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "POST", invoke, "testKeyId", "testSecret", "")
				r.Header.Set("X-Fc-Log-Type", "Tail")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "repeated x-fc header",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "POST", invoke, "testKeyId", "testSecret", "", "X-Fc-Invocation-Type", "Async")
				r.Header.Add("X-Fc-Invocation-Type", "Sync")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "tampered content type",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "POST", invoke, "testKeyId", "testSecret", "", "Content-Type", "application/json")
				r.Header.Set("Content-Type", "text/plain")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "tampered proxy query",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "GET", proxy, "testKeyId", "testSecret", "")
				r.URL.RawQuery += "&admin=1"
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "non-canonical signature encoding",
			req: func(t *testing.T) *http.Request {
				// Same bytes as example A's signature with nonzero padding bits.
				return request(t, "GET", api, "X-Fc-Account-Id", "123456789",
					"Authorization", "FC testKeyId:0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ad=")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "stale date",
			req: func(t *testing.T) *http.Request {
				r := request(t, "GET", api)
				r.Header.Set("Date", testNow.Add(-16*time.Minute).Format(http.TimeFormat))
				fc.SignRequest(r, "testKeyId", "testSecret", "")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeRequestTimeTooSkewed,
		},
		{
			name: "future date",
			req: func(t *testing.T) *http.Request {
				r := request(t, "GET", api)
				r.Header.Set("Date", testNow.Add(16*time.Minute).Format(http.TimeFormat))
				fc.SignRequest(r, "testKeyId", "testSecret", "")
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeRequestTimeTooSkewed,
		},
		{
			name: "missing date",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "GET", api, "testKeyId", "testSecret", "")
				r.Header.Del("Date")
				return r
			},
			wantStatus: http.StatusBadRequest, wantCode: fc.CodeMissingRequiredHeader,
		},
		{
			name: "unparsable date",
			req: func(t *testing.T) *http.Request {
				r := request(t, "GET", api)
				r.Header.Set("Date", "yesterday")
				fc.SignRequest(r, "testKeyId", "testSecret", "")
				return r
			},
			wantStatus: http.StatusBadRequest, wantCode: fc.CodeInvalidArgument,
		},
		{
			name: "sts key without token",
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", invoke, "STS.testKeyId", "testSecret", "")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidSecurityToken,
		},
		{
			name: "sts key with wrong token",
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", invoke, "STS.testKeyId", "testSecret", "tok124")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidSecurityToken,
		},
		{
			name: "header form with expired x-fc-expires",
			req: func(t *testing.T) *http.Request {
				// x-fc-expires replaces Date in the string-to-sign, so a
				// fresh Date must not revive the request.
				return signed(t, "GET", proxy+"&x-fc-expires=1", "testKeyId", "testSecret", "")
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "signed url expired",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "GET", proxy, "testKeyId", "testSecret", "", testNow.Add(-time.Second))
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "signed url tampered query",
			req: func(t *testing.T) *http.Request {
				r := signedURL(t, "GET", proxy, "testKeyId", "testSecret", "", testNow.Add(time.Minute))
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "y=2", "y=3", 1)
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "signed url tampered method",
			req: func(t *testing.T) *http.Request {
				r := signedURL(t, "GET", proxy, "testKeyId", "testSecret", "", testNow.Add(time.Minute))
				r.Method = "POST"
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "signed url extended expiry",
			req: func(t *testing.T) *http.Request {
				r := signedURL(t, "GET", proxy, "testKeyId", "testSecret", "", testNow.Add(time.Minute))
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "x-fc-expires=", "x-fc-expires=9", 1)
				return r
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeSignatureNotMatch,
		},
		{
			name: "signed url unknown key",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "GET", proxy, "nobody", "testSecret", "", testNow.Add(time.Minute))
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidAccessKeyID,
		},
		{
			name: "signed url without key id",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest("GET", "http://127.0.0.1/2016-08-15/proxy/s/f/?x-fc-expires=1764000000&x-fc-signature=x", nil)
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "signed url without expires",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest("GET", "http://127.0.0.1/2016-08-15/proxy/s/f/?x-fc-access-key-id=testKeyId&x-fc-signature=x", nil)
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
		{
			name: "signed url unparsable expires",
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest("GET", "http://127.0.0.1/2016-08-15/proxy/s/f/?x-fc-access-key-id=testKeyId&x-fc-expires=soon&x-fc-signature=x", nil)
			},
			wantStatus: http.StatusBadRequest, wantCode: fc.CodeInvalidArgument,
		},
		{
			name: "signed url sts key without token",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "GET", proxy, "STS.testKeyId", "testSecret", "", testNow.Add(time.Minute))
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeInvalidSecurityToken,
		},
		{
			name: "signed url outside proxy needs authorization",
			req: func(t *testing.T) *http.Request {
				return signedURL(t, "GET", api, "testKeyId", "testSecret", "", testNow.Add(time.Minute))
			},
			wantStatus: http.StatusForbidden, wantCode: fc.CodeAccessDenied,
		},
	}
	a := newTestAuthenticator()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req(t)
			k, err := a.Verify(r)
			if tt.wantCode == "" {
				if err != nil || k.ID != tt.wantKeyID {
					t.Fatalf("Verify(%s %s) = %q, %v, want key %q", r.Method, r.URL, k.ID, err, tt.wantKeyID)
				}
				if k.Secret == "" {
					t.Errorf("Verify(%s %s) returned a key without its secret", r.Method, r.URL)
				}
				return
			}
			fcErr, ok := fc.AsError(err)
			if !ok || fcErr.Status != tt.wantStatus || fcErr.Code != tt.wantCode {
				t.Fatalf("Verify(%s %s) = %q, %v, want %d %s", r.Method, r.URL, k.ID, err, tt.wantStatus, tt.wantCode)
			}
			if k != (Key{}) {
				t.Errorf("Verify(%s %s) returned key %q with an error", r.Method, r.URL, k.ID)
			}
		})
	}
}

func TestAuthVerifyMessages(t *testing.T) {
	a := newTestAuthenticator()
	tests := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"signature", signed(t, "GET", "/2016-08-15/services", "testKeyId", "x", ""),
			"The request signature we calculated does not match the signature you provided. Check your access key and signing method"},
		{"access key", signed(t, "GET", "/2016-08-15/services", "nobody", "x", ""), "invalid access key ID 'nobody'"},
		{"date", func() *http.Request {
			r := signed(t, "GET", "/2016-08-15/services", "testKeyId", "testSecret", "")
			r.Header.Del("Date")
			return r
		}(), "required HTTP header Date was not specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Verify(tt.req)
			fcErr, ok := fc.AsError(err)
			if !ok || fcErr.Message != tt.want {
				t.Errorf("Verify() error = %v, want message %q", err, tt.want)
			}
		})
	}
}

func TestAuthDefaults(t *testing.T) {
	t.Run("nil lookup refuses every key", func(t *testing.T) {
		a := New(Options{Now: func() time.Time { return testNow }})
		_, err := a.Verify(signed(t, "GET", "/2016-08-15/services", "testKeyId", "testSecret", ""))
		if fcErr, ok := fc.AsError(err); !ok || fcErr.Code != fc.CodeInvalidAccessKeyID {
			t.Errorf("Verify() error = %v, want %s", err, fc.CodeInvalidAccessKeyID)
		}
	})
	t.Run("real clock", func(t *testing.T) {
		keys := testKeys()
		a := New(Options{Lookup: func(id string) (Key, bool) { k, ok := keys[id]; return k, ok }})
		r := httptest.NewRequest("GET", "/2016-08-15/services", nil)
		fc.SignRequest(r, "testKeyId", "testSecret", "")
		if _, err := a.Verify(r); err != nil {
			t.Errorf("Verify(request signed now) = %v, want nil", err)
		}
	})
	t.Run("max skew", func(t *testing.T) {
		keys := testKeys()
		a := New(Options{
			Lookup:  func(id string) (Key, bool) { k, ok := keys[id]; return k, ok },
			Now:     func() time.Time { return testNow.Add(2 * time.Minute) },
			MaxSkew: time.Minute,
		})
		_, err := a.Verify(signed(t, "GET", "/2016-08-15/services", "testKeyId", "testSecret", ""))
		if fcErr, ok := fc.AsError(err); !ok || fcErr.Code != fc.CodeRequestTimeTooSkewed {
			t.Errorf("Verify() error = %v, want %s", err, fc.CodeRequestTimeTooSkewed)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	keys := testKeys()
	a := New(Options{
		Lookup: func(id string) (Key, bool) { k, ok := keys[id]; return k, ok },
		Now:    func() time.Time { return testNow },
	})
	header := func(method, target string, h ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Date", testDate)
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		fc.SignRequest(r, "testKeyId", "testSecret", "")
		return r
	}
	u, err := url.Parse("http://127.0.0.1/2016-08-15/proxy/demo/http-fn/a%20b/c?y=2&x=b")
	if err != nil {
		b.Fatal(err)
	}
	fc.SignURL(u, "GET", "testKeyId", "testSecret", "", testNow.Add(time.Minute), nil)
	benchmarks := []struct {
		name string
		r    *http.Request
	}{
		{"api", header("GET", "http://127.0.0.1/2016-08-15/services?limit=2", "X-Fc-Account-Id", "123456789", "User-Agent", "fc-go-sdk")},
		{"invoke", header("POST", "http://127.0.0.1/2016-08-15/services/demo.prod/functions/hello/invocations",
			"Content-Type", "application/octet-stream", "Content-MD5", "6dcbe99182ca6bc59bce08fe9f4f14a6",
			"X-Fc-Account-Id", "123456789", "X-Fc-Invocation-Type", "Sync", "X-Fc-Log-Type", "None",
			"X-Fc-Trace-Id", "0a1b2c3d", "User-Agent", "fc-go-sdk", "Accept-Encoding", "gzip")},
		{"proxy", header("GET", "http://127.0.0.1/2016-08-15/proxy/demo/http-fn/a%20b/c?y=2&x=b&x=a&k%20k=v%20v",
			"X-Fc-Account-Id", "123456789")},
		{"signed-url", httptest.NewRequest("GET", u.String(), nil)},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			if _, err := a.Verify(bm.r); err != nil {
				b.Fatalf("Verify(%s) = %v", bm.r.URL, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(bm.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
