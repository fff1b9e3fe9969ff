package fc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testDate = "Mon, 24 Nov 2025 10:00:00 GMT"

// TestStringToSignVectors checks the worked examples of spec §1.7 and the
// official SDKs' vectors: the string-to-sign where it is known, and the
// signature the SDKs computed.
func TestStringToSignVectors(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string // escaped, as r.URL.EscapedPath()
		rawQuery string
		header   http.Header
		want     string // "" when the vector gives only the signature
		secret   string
		wantSig  string
	}{
		{
			name:     "A list services",
			method:   "GET",
			path:     "/2016-08-15/services",
			rawQuery: "limit=2",
			header:   http.Header{"Date": {testDate}, "X-Fc-Account-Id": {"123456789"}},
			want:     "GET\n\n\nMon, 24 Nov 2025 10:00:00 GMT\nx-fc-account-id:123456789\n/2016-08-15/services",
			secret:   "testSecret",
			wantSig:  "0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ac=",
		},
		{
			name:   "B create service node md5",
			method: "POST",
			path:   "/2016-08-15/services",
			header: http.Header{
				"Date":            {testDate},
				"X-Fc-Account-Id": {"123456789"},
				"Content-Type":    {"application/json"},
				"Content-Md5":     {"NmRjYmU5OTE4MmNhNmJjNTliY2UwOGZlOWY0ZjE0YTY="},
			},
			want:    "POST\nNmRjYmU5OTE4MmNhNmJjNTliY2UwOGZlOWY0ZjE0YTY=\napplication/json\nMon, 24 Nov 2025 10:00:00 GMT\nx-fc-account-id:123456789\n/2016-08-15/services",
			secret:  "testSecret",
			wantSig: "w5tKXX/DeOcOmAfBFJHlCJgNqQnyuauRv856N7WkASw=",
		},
		{
			name:   "C async invoke with sts token",
			method: "POST",
			path:   "/2016-08-15/services/demo.prod/functions/hello/invocations",
			header: http.Header{
				"Date":                 {testDate},
				"Content-Type":         {"application/octet-stream"},
				"X-Fc-Invocation-Type": {"Async"},
				"X-Fc-Account-Id":      {"123456789"},
				"X-Fc-Security-Token":  {"tok123"},
				"X-Fc-Log-Type":        {"None"},
			},
			want:    "POST\n\napplication/octet-stream\nMon, 24 Nov 2025 10:00:00 GMT\nx-fc-account-id:123456789\nx-fc-invocation-type:Async\nx-fc-log-type:None\nx-fc-security-token:tok123\n/2016-08-15/services/demo.prod/functions/hello/invocations",
			secret:  "testSecret",
			wantSig: "kFQYAHMgPjBqW1HLLCwafAppDVaH7NRrrFGJBXgZrHs=",
		},
		{
			name:     "D http trigger with query",
			method:   "GET",
			path:     "/2016-08-15/proxy/demo/http-fn/a%20b/c",
			rawQuery: "y=2&x=b&x=a&k%20k=v%20v",
			header:   http.Header{"Date": {testDate}, "X-Fc-Account-Id": {"123456789"}},
			want:     "GET\n\n\nMon, 24 Nov 2025 10:00:00 GMT\nx-fc-account-id:123456789\n/2016-08-15/proxy/demo/http-fn/a b/c\nk k=v v\nx=a\nx=b\ny=2",
			secret:   "testSecret",
			wantSig:  "VuSgQXfLs6Kn676EeNCxiRPjszC3vTNcYlCtDKlfYDc=",
		},
		{
			name:    "E http trigger without query",
			method:  "GET",
			path:    "/2016-08-15/proxy/demo/http-fn/",
			header:  http.Header{"Date": {testDate}},
			want:    "GET\n\n\nMon, 24 Nov 2025 10:00:00 GMT\n/2016-08-15/proxy/demo/http-fn/\n",
			secret:  "testSecret",
			wantSig: "QnfzwgWQeBOa8yJvwKMaazNfJhNiYGEfabKbhlFXqPo=",
		},
		{
			name:     "F signed url",
			method:   "GET",
			path:     "/2016-08-15/proxy/demo/http-fn/",
			rawQuery: "x-fc-access-key-id=testKeyId&x-fc-expires=1764000000&x-fc-signature=JeoQ2%2BbYcfpoBNqXR9a29Wgbjwwg9iNSRrNpHdPnfuQ%3D",
			want:     "GET\n\n\n1764000000\n/2016-08-15/proxy/demo/http-fn/\nx-fc-access-key-id=testKeyId\nx-fc-expires=1764000000",
			secret:   "testSecret",
			wantSig:  "JeoQ2+bYcfpoBNqXR9a29Wgbjwwg9iNSRrNpHdPnfuQ=",
		},
		{
			name:     "go sdk signature vector",
			method:   "GET",
			path:     "/2016-08-15/proxy/service.LATEST/func/abc%20123",
			rawQuery: "x=xyz&x=456&a=123+45&x-fc-expires=1583221068&x-fc-access-key-id=akID&x-fc-security-token=stsToken",
			header: http.Header{
				"x-fc-trace-id": {"trace-id"},
				"content-type":  {"text/json"},
				"content-md5":   {"ef5b43a0fe1d5b401b62c3ba33a7a3d6"},
			},
			want:    "GET\nef5b43a0fe1d5b401b62c3ba33a7a3d6\ntext/json\n1583221068\nx-fc-trace-id:trace-id\n/2016-08-15/proxy/service.LATEST/func/abc 123\na=123 45\nx-fc-access-key-id=akID\nx-fc-expires=1583221068\nx-fc-security-token=stsToken\nx=456\nx=xyz",
			secret:  "S9MWOBG0AOWHSO9HPASP216QOPHT5YR4NLH3A",
			wantSig: "QFdNhz0Dl+onUM/MvpX940WFH3H8OHayZHbby1c01aI=",
		},
		{
			name:     "java sdk signed url",
			method:   "POST",
			path:     "/2016-08-15/proxy/service.LATEST/funcName/test/path/%E4%B8%AD%E6%96%87",
			rawQuery: "a=1&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=PoEmPVmMfNAhQGYUsQhDD%2Bqj%2Brv4YRCjybLgjtRMJ1U%3D&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
				"conTENT-md5":     {"dummy-md5"},
				"x-FC-TRACE-id":   {"trace-id"},
			},
			want:    "POST\ndummy-md5\napplication/json\n1583844558\nx-fc-trace-id:trace-id\n/2016-08-15/proxy/service.LATEST/funcName/test/path/中文\na=1\nx-fc-access-key-id=akID\nx-fc-expires=1583844558\nx-fc-security-token=stsToken\nx=a\nx=b",
			secret:  "akSec",
			wantSig: "PoEmPVmMfNAhQGYUsQhDD+qj+rv4YRCjybLgjtRMJ1U=",
		},
		{
			name:     "java sdk signed url custom domain",
			method:   "POST",
			path:     "/test/path/%E4%B8%AD%E6%96%87",
			rawQuery: "a=1&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=q6nscsHhckwZh3oIa7fP%2BE3JlY8NBOjVHtGMJqvlfbA%3D&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
				"conTENT-md5":     {"dummy-md5"},
				"x-FC-TRACE-id":   {"trace-id"},
			},
			secret:  "akSec",
			wantSig: "q6nscsHhckwZh3oIa7fP+E3JlY8NBOjVHtGMJqvlfbA=",
		},
		{
			name:     "java sdk signed url custom domain without md5",
			method:   "POST",
			path:     "/test/path/%E4%B8%AD%E6%96%87",
			rawQuery: "a=1&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=f%2BSz9uZUtt6bpYO1iuH2BpU26FWu%2FovTpbGBR0Tn%2B7s%3D&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
				"x-FC-TRACE-id":   {"trace-id"},
			},
			secret:  "akSec",
			wantSig: "f+Sz9uZUtt6bpYO1iuH2BpU26FWu/ovTpbGBR0Tn+7s=",
		},
		{
			name:     "java sdk signed url custom domain without trace id",
			method:   "POST",
			path:     "/test/path/%E4%B8%AD%E6%96%87",
			rawQuery: "a=1&x-fc-access-key-id=akID&x-fc-expires=1583844558&x-fc-security-token=stsToken&x-fc-signature=IalihG51KQhTiwbwrBoFDodjTUTQv9AaAjILPbgoPEU%3D&x=a&x=b",
			header: http.Header{
				"Test-Header-Key": {"testHeaderValue"},
				"ConTENT-Type":    {"application/json"},
			},
			secret:  "akSec",
			wantSig: "IalihG51KQhTiwbwrBoFDodjTUTQv9AaAjILPbgoPEU=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StringToSign(tt.method, tt.path, tt.rawQuery, tt.header)
			if tt.want != "" && got != tt.want {
				t.Errorf("StringToSign(%q, %q, %q) = %q, want %q", tt.method, tt.path, tt.rawQuery, got, tt.want)
			}
			if sig := Signature(tt.secret, got); sig != tt.wantSig {
				t.Errorf("Signature(%q, %q) = %q, want %q", tt.secret, got, sig, tt.wantSig)
			}
			if !SignatureEqual(tt.secret, got, tt.wantSig) {
				t.Errorf("SignatureEqual(%q, %q, %q) = false, want true", tt.secret, got, tt.wantSig)
			}
		})
	}
}

// TestStringToSignNodeHelper is the Node SDK's helper test (string only):
// x-fcdummy and test are not signed, the query is sorted as whole strings.
// Its path is not an HTTP-trigger path, so the query is signed here only
// because the request is a signed URL (x-fc-signature, itself excluded).
func TestStringToSignNodeHelper(t *testing.T) {
	header := http.Header{
		"content-md5":  {"md5value"},
		"content-type": {"text/json"},
		"date":         {"today"},
		"x-fc-foo":     {"123"},
		"x-fc-bar":     {"xyz"},
		"x-fcdummy":    {"dummy"},
		"test":         {"test"},
	}
	rawQuery := "foo=bar&key1=xyz&key1=abc&key3%20with-escaped~chars_here.ext=value%20with-escaped~chars_here.ext&key2=123&x-fc-signature=sig"
	path := "/path/action%20with-escaped~chars_here.ext"
	want := "GET\nmd5value\ntext/json\ntoday\nx-fc-bar:xyz\nx-fc-foo:123\n/path/action with-escaped~chars_here.ext\nfoo=bar\nkey1=abc\nkey1=xyz\nkey2=123\nkey3 with-escaped~chars_here.ext=value with-escaped~chars_here.ext"
	if got := StringToSign("GET", path, rawQuery, header); got != want {
		t.Errorf("StringToSign(%q, %q) = %q, want %q", path, rawQuery, got, want)
	}
}

func TestStringToSignEdgeCases(t *testing.T) {
	const head = "GET\n\n\n" + testDate + "\n"
	date := func(h http.Header) http.Header {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Date", testDate)
		return h
	}
	tests := []struct {
		name     string
		path     string
		rawQuery string
		header   http.Header
		want     string
	}{
		{"api query not signed", "/2016-08-15/services", "limit=2&nextToken=x", date(nil), head + "/2016-08-15/services"},
		{"valueless key", "/2016-08-15/proxy/s/f/", "a=1&aaa", date(nil), head + "/2016-08-15/proxy/s/f/\na=1\naaa"},
		{"key= and key distinct", "/2016-08-15/proxy/s/f/", "key=&key", date(nil), head + "/2016-08-15/proxy/s/f/\nkey\nkey="},
		{"prefix keys sort as strings", "/2016-08-15/proxy/s/f/", "ab=1&a=2&a-b=3&a", date(nil), head + "/2016-08-15/proxy/s/f/\na\na-b=3\na=2\nab=1"},
		{"multi valued", "/2016-08-15/proxy/s/f/", "k=2&k=1&k=2", date(nil), head + "/2016-08-15/proxy/s/f/\nk=1\nk=2\nk=2"},
		{"plus in query is space", "/2016-08-15/proxy/s/f/", "q=a+b&c+d=e", date(nil), head + "/2016-08-15/proxy/s/f/\nc d=e\nq=a b"},
		{"encoded plus", "/2016-08-15/proxy/s/f/", "q=a%2Bb", date(nil), head + "/2016-08-15/proxy/s/f/\nq=a+b"},
		{"plus in path kept", "/2016-08-15/proxy/s/f/a+b%2Bc", "", date(nil), head + "/2016-08-15/proxy/s/f/a+b+c\n"},
		{"unicode path", "/2016-08-15/services/s/functions/f/%E4%B8%AD%E6%96%87", "", date(nil), head + "/2016-08-15/services/s/functions/f/中文"},
		{"raw unicode path", "/2016-08-15/proxy/s/f/中文", "", date(nil), head + "/2016-08-15/proxy/s/f/中文\n"},
		{"encoded slash decoded", "/2016-08-15%2Fproxy/s/f/", "a=1", date(nil), head + "/2016-08-15/proxy/s/f/\na=1"},
		{"invalid path escape kept", "/2016-08-15/proxy/s/f/%zz", "", date(nil), head + "/2016-08-15/proxy/s/f/%zz\n"},
		{"invalid query escape kept", "/2016-08-15/proxy/s/f/", "a=%zz", date(nil), head + "/2016-08-15/proxy/s/f/\na=%zz"},
		{"empty items skipped", "/2016-08-15/proxy/s/f/", "&a=1&&b=2&", date(nil), head + "/2016-08-15/proxy/s/f/\na=1\nb=2"},
		{"empty key kept", "/2016-08-15/proxy/s/f/", "=v", date(nil), head + "/2016-08-15/proxy/s/f/\n=v"},
		{"signature excluded", "/2016-08-15/proxy/s/f/", "x-fc-signature=abc&b=1", date(nil), head + "/2016-08-15/proxy/s/f/\nb=1"},
		{"signature only", "/2016-08-15/proxy/s/f/", "x-fc-signature=abc", date(nil), head + "/2016-08-15/proxy/s/f/\n"},
		{"expires replaces date", "/2016-08-15/proxy/s/f/", "x-fc-expires=99&x-fc-expires=1", date(nil), "GET\n\n\n99\n/2016-08-15/proxy/s/f/\nx-fc-expires=1\nx-fc-expires=99"},
		{"expires ignored outside proxy", "/2016-08-15/services", "x-fc-expires=99", date(nil), head + "/2016-08-15/services"},
		{"proxy without trailing slash", "/2016-08-15/proxy", "a=1", date(nil), head + "/2016-08-15/proxy"},
		{"empty account id kept", "/2016-08-15/services", "", date(http.Header{"X-Fc-Account-Id": {""}}), head + "x-fc-account-id:\n/2016-08-15/services"},
		{"x-fcdummy excluded", "/2016-08-15/services", "", date(http.Header{"X-Fcdummy": {"1"}, "Xx-Fc-A": {"2"}}), head + "/2016-08-15/services"},
		{"values verbatim", "/2016-08-15/services", "", date(http.Header{"X-Fc-Trace-Id": {" Mixed Case "}}), head + "x-fc-trace-id: Mixed Case \n/2016-08-15/services"},
		{"names sorted", "/2016-08-15/services", "", date(http.Header{"X-Fc-B": {"2"}, "X-Fc-A": {"1"}, "X-Fc-A-B": {"3"}}), head + "x-fc-a:1\nx-fc-a-b:3\nx-fc-b:2\n/2016-08-15/services"},
		{"multiple values one line each", "/2016-08-15/services", "", date(http.Header{"X-Fc-A": {"2", "1"}}), head + "x-fc-a:2\nx-fc-a:1\n/2016-08-15/services"},
		{"keys differing in case merged", "/2016-08-15/services", "", date(http.Header{"x-fc-a": {"lower"}, "X-Fc-A": {"canon"}}), head + "x-fc-a:canon\nx-fc-a:lower\n/2016-08-15/services"},
		{"key without values skipped", "/2016-08-15/services", "", date(http.Header{"X-Fc-A": {}}), head + "/2016-08-15/services"},
		{"x-fc-date fallback", "/2016-08-15/services", "", http.Header{"X-Fc-Date": {testDate}}, head + "x-fc-date:" + testDate + "\n/2016-08-15/services"},
		{"date wins over x-fc-date", "/2016-08-15/services", "", date(http.Header{"X-Fc-Date": {"other"}}), head + "x-fc-date:other\n/2016-08-15/services"},
		{"no date", "/2016-08-15/services", "", nil, "GET\n\n\n\n/2016-08-15/services"},
		{"smallest key wins for content-type", "/2016-08-15/services", "", http.Header{"content-type": {"b"}, "Content-Type": {"a"}}, "GET\n\na\n\n/2016-08-15/services"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StringToSign("GET", tt.path, tt.rawQuery, tt.header); got != tt.want {
				t.Errorf("StringToSign(%q, %q) = %q, want %q", tt.path, tt.rawQuery, got, tt.want)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in      string
		wantID  string
		wantSig string
		wantErr bool
	}{
		{in: "FC testKeyId:0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ac=", wantID: "testKeyId", wantSig: "0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ac="},
		{in: "FC STS.abc:sig", wantID: "STS.abc", wantSig: "sig"},
		{in: "FC a:b:sig", wantID: "a:b", wantSig: "sig"},
		{in: "FC id:sig with space", wantID: "id", wantSig: "sig with space"},
		{in: "", wantErr: true},
		{in: "FC", wantErr: true},
		{in: "FC ", wantErr: true},
		{in: "fc id:sig", wantErr: true},
		{in: "Bearer id:sig", wantErr: true},
		{in: "FCid:sig", wantErr: true},
		{in: "FC idsig", wantErr: true},
		{in: "FC :sig", wantErr: true},
		{in: "FC id:", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, sig, err := ParseAuthorization(tt.in)
			if tt.wantErr {
				fcErr, ok := AsError(err)
				if !ok || fcErr.Status != http.StatusForbidden || fcErr.Code != CodeAccessDenied {
					t.Errorf("ParseAuthorization(%q) error = %v, want 403 %s", tt.in, err, CodeAccessDenied)
				}
				return
			}
			if err != nil || id != tt.wantID || sig != tt.wantSig {
				t.Errorf("ParseAuthorization(%q) = %q, %q, %v, want %q, %q, nil", tt.in, id, sig, err, tt.wantID, tt.wantSig)
			}
		})
	}
}

func TestSignatureEqual(t *testing.T) {
	const sts = "GET\n\n\n\n/"
	sig := Signature("secret", sts)
	tests := []struct {
		name string
		sig  string
		want bool
	}{
		{"match", sig, true},
		{"other secret", Signature("other", sts), false},
		{"empty", "", false},
		{"not base64", strings.Repeat("!", len(sig)), false},
		{"truncated", sig[:len(sig)-1], false},
		{"unpadded", strings.TrimRight(sig, "="), false},
		{"extra", sig + "=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignatureEqual("secret", sts, tt.sig); got != tt.want {
				t.Errorf("SignatureEqual(%q) = %v, want %v", tt.sig, got, tt.want)
			}
		})
	}
}

func TestSignRequest(t *testing.T) {
	t.Run("sets date token and authorization", func(t *testing.T) {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/2016-08-15/services/demo.prod/functions/hello/invocations", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/octet-stream")
		r.Header.Set("X-Fc-Invocation-Type", "Async")
		r.Header.Set("X-Fc-Account-Id", "123456789")
		r.Header.Set("X-Fc-Log-Type", "None")
		r.Header.Set("Date", testDate)
		SignRequest(r, "STS.testKeyId", "testSecret", "tok123")
		if got, want := r.Header.Get("X-Fc-Security-Token"), "tok123"; got != want {
			t.Errorf("X-Fc-Security-Token = %q, want %q", got, want)
		}
		// Spec §1.7 example C.
		if got, want := r.Header.Get("Authorization"), "FC STS.testKeyId:kFQYAHMgPjBqW1HLLCwafAppDVaH7NRrrFGJBXgZrHs="; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
	})
	t.Run("adds date when absent", func(t *testing.T) {
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/2016-08-15/services", nil)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(-time.Second)
		SignRequest(r, "id", "secret", "")
		d, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			t.Fatalf("Date %q: %v", r.Header.Get("Date"), err)
		}
		if d.Before(before.Truncate(time.Second)) || d.After(time.Now()) {
			t.Errorf("Date = %v, want about now", d)
		}
		if _, ok := r.Header["X-Fc-Security-Token"]; ok {
			t.Errorf("X-Fc-Security-Token set without a token")
		}
		id, sig, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil || id != "id" {
			t.Fatalf("ParseAuthorization(%q) = %q, %q, %v", r.Header.Get("Authorization"), id, sig, err)
		}
		if !SignatureEqual("secret", StringToSign("GET", r.URL.EscapedPath(), r.URL.RawQuery, r.Header), sig) {
			t.Errorf("signature %q does not verify", sig)
		}
	})
}

func TestSignURL(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		token string
		want  string
	}{
		// The fc-go-sdk's TestSignURL.
		{"go sdk with token", "http://localhost/2016-08-15/proxy/service/func/", "stsToken",
			"http://localhost/2016-08-15/proxy/service/func/?x-fc-access-key-id=akid&x-fc-expires=1583339600&x-fc-security-token=stsToken&x-fc-signature=Yi0jCBQ6cTZc%2BtN8wtYUz9FbYNijx5jDiE3sVNW6XwA%3D"},
		{"go sdk without token", "http://localhost/2016-08-15/proxy/service/func/", "",
			"http://localhost/2016-08-15/proxy/service/func/?x-fc-access-key-id=akid&x-fc-expires=1583339600&x-fc-signature=6Rc4KxEAv3%2BlHpbNQWceIUqWVWq3ewxhadlJBRzZ0XQ%3D"},
		{"earlier auth params replaced", "http://localhost/2016-08-15/proxy/service/func/?x-fc-signature=old&x-fc-expires=1&x-fc-access-key-id=old&x-fc-security-token=old", "",
			"http://localhost/2016-08-15/proxy/service/func/?x-fc-access-key-id=akid&x-fc-expires=1583339600&x-fc-signature=6Rc4KxEAv3%2BlHpbNQWceIUqWVWq3ewxhadlJBRzZ0XQ%3D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			SignURL(u, "GET", "akid", "akSec", tt.token, time.Unix(1583339600, 0), nil)
			if got := u.String(); got != tt.want {
				t.Errorf("SignURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}

	t.Run("keeps query and headers signed", func(t *testing.T) {
		u, err := url.Parse("http://localhost/2016-08-15/proxy/s/f/a%20b?aaa&b=&c=1+2")
		if err != nil {
			t.Fatal(err)
		}
		header := http.Header{"Content-Type": {"text/plain"}, "X-Fc-Trace-Id": {"t"}}
		SignURL(u, "POST", "akid", "akSec", "", time.Unix(1583339600, 0), header)
		if !strings.HasPrefix(u.RawQuery, "aaa&b=&c=1+2&x-fc-access-key-id=akid&") {
			t.Errorf("SignURL query = %q, want the original items first, as encoded", u.RawQuery)
		}
		sig := u.Query().Get(QuerySignature)
		sts := StringToSign("POST", u.EscapedPath(), u.RawQuery, header)
		want := "POST\n\ntext/plain\n1583339600\nx-fc-trace-id:t\n/2016-08-15/proxy/s/f/a b\naaa\nb=\nc=1 2\nx-fc-access-key-id=akid\nx-fc-expires=1583339600"
		if sts != want {
			t.Errorf("StringToSign(signed URL %q) = %q, want %q", u, sts, want)
		}
		if !SignatureEqual("akSec", sts, sig) {
			t.Errorf("signed URL %q does not verify", u)
		}
	})
}
