package fc

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzStringToSign feeds arbitrary requests to StringToSign: it must not
// panic, must not depend on map order, and its result must verify.
func FuzzStringToSign(f *testing.F) {
	f.Add("GET", "/2016-08-15/services", "limit=2", "X-Fc-Account-Id", "123456789", "x-fc-account-id", "")
	f.Add("GET", "/2016-08-15/proxy/demo/http-fn/a%20b/c", "y=2&x=b&x=a&k%20k=v%20v", "Date", testDate, "x-FC-a", "1")
	f.Add("POST", "/2016-08-15/proxy/s/f/%zz", "a=%zz&aaa&=&&x-fc-expires=1&x-fc-signature=%", "Content-MD5", "x", "X-Fc-A", "2")
	f.Add("GET", "/p%E4%B8", "x-fc-signature&a+b=c+d", " x-fc-b ", "", "Content-Type", "text/plain")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, k1, v1, k2, v2 string) {
		header := http.Header{k1: {v1, v2}, k2: {v2}, "X-Fc-Trace-Id": {v1}}
		got := StringToSign(method, path, rawQuery, header)
		if again := StringToSign(method, path, rawQuery, header); again != got {
			t.Fatalf("StringToSign(%q, %q, %q) not deterministic: %q then %q", method, path, rawQuery, got, again)
		}
		if !strings.HasPrefix(got, method+"\n") {
			t.Fatalf("StringToSign(%q, %q, %q) = %q, want it to start with the method", method, path, rawQuery, got)
		}
		if !SignatureEqual("secret", got, Signature("secret", got)) {
			t.Fatalf("SignatureEqual(Signature(%q)) = false", got)
		}
	})
}

// FuzzParseAuthorization checks that ParseAuthorization never panics and
// that what it accepts is exactly "FC <id>:<signature>".
func FuzzParseAuthorization(f *testing.F) {
	f.Add("FC testKeyId:0DLWmj/NBSlm7DoGu02dJw0g67oCAQxbC3Lj1JzW6Ac=")
	f.Add("FC STS.a:b:c")
	f.Add("FC :")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		id, sig, err := ParseAuthorization(v)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("ParseAuthorization(%q) error %v is not an *Error", v, err)
			}
			return
		}
		if id == "" || sig == "" || strings.Contains(sig, ":") || "FC "+id+":"+sig != v {
			t.Fatalf("ParseAuthorization(%q) = %q, %q, want the parts of %q", v, id, sig, v)
		}
	})
}
