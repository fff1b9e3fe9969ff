package auth

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// DefaultMaxSkew is how far a request's Date may be from the server's clock,
// either way: FC's documented 15 minutes.
const DefaultMaxSkew = 15 * time.Minute

// Key is an access key as the metadata index holds it.
type Key struct {
	ID     string
	Secret string
	// SecurityToken is set for an STS-style temporary key: every request
	// signed with it must carry this token (x-fc-security-token). Empty for
	// a permanent key, in which case a token sent along is signed but not
	// checked.
	SecurityToken string
	// AccountID is the account the key belongs to.
	AccountID string
	// Expires is when the key stops being valid; zero means never.
	Expires time.Time
}

// Options configure an Authenticator.
type Options struct {
	// Lookup returns the key with the given ID and whether it exists. It is
	// called once per request, from many goroutines at once, so it must be
	// cheap and safe for concurrent use (a read of the in-memory metadata
	// index). Nil means no key exists, so every request is refused.
	Lookup func(keyID string) (Key, bool)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the largest accepted difference between a request's Date
	// and Now; zero or negative means DefaultMaxSkew.
	MaxSkew time.Duration
	// Logger receives a Debug record for each refused request (its error
	// code, never key IDs or signatures); nil discards.
	Logger *slog.Logger
}

// Authenticator verifies FC request signatures. It is safe for concurrent
// use.
type Authenticator struct {
	lookup  func(string) (Key, bool)
	now     func() time.Time
	maxSkew time.Duration
	log     *slog.Logger
}

// New returns an Authenticator configured by opts.
func New(opts Options) *Authenticator {
	a := &Authenticator{
		lookup:  opts.Lookup,
		now:     opts.Now,
		maxSkew: opts.MaxSkew,
		log:     opts.Logger,
	}
	if a.lookup == nil {
		a.lookup = func(string) (Key, bool) { return Key{}, false }
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.maxSkew <= 0 {
		a.maxSkew = DefaultMaxSkew
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "auth")
	return a
}

// Verify checks r's FC signature and returns the key that signed it.
//
// Requests under fc.ProxyPathPrefix (HTTP triggers) whose query carries
// x-fc-signature are checked as signed URLs (spec §1.5); every other request
// must carry "Authorization: FC <id>:<signature>" and a Date header (spec
// §1.6). When Date is absent, X-Fc-Date stands in for it, in the freshness
// check and in the string-to-sign alike, for clients (browsers) that cannot
// set Date; FC's own behaviour there is unconfirmed.
//
// Every failure is an *fc.Error with FC's status and code:
//
//   - 403 AccessDenied: no Authorization header, a malformed one, a signed
//     URL without x-fc-access-key-id or x-fc-expires, or one past its
//     x-fc-expires ("signature expired");
//   - 403 InvalidAccessKeyID: the key does not exist or has expired;
//   - 400 MissingRequiredHeader: no Date (nor X-Fc-Date);
//   - 400 InvalidArgument: a Date or x-fc-expires that does not parse;
//   - 403 RequestTimeTooSkewed: Date further than MaxSkew from now;
//   - 403 SignatureNotMatch: the signature is wrong;
//   - 403 InvalidSecurityToken: the key is an STS-style key and the request
//     carries no token or another one, or the key has expired.
//
// Verify reads only the method, URL and headers, never the body. It does
// not decide which routes are anonymous; the caller skips Verify for those.
func (a *Authenticator) Verify(r *http.Request) (Key, error) {
	k, err := a.verify(r)
	if err != nil {
		if ctx := r.Context(); a.log.Enabled(ctx, slog.LevelDebug) {
			code := "unknown"
			if fcErr, ok := fc.AsError(err); ok {
				code = fcErr.Code
			}
			a.log.LogAttrs(ctx, slog.LevelDebug, "request not authenticated",
				slog.String("method", r.Method), slog.String("code", code))
		}
		return Key{}, err
	}
	return k, nil
}

func (a *Authenticator) verify(r *http.Request) (Key, error) {
	now := a.now()
	q := scanQuery(r.URL.RawQuery)
	if strings.HasPrefix(r.URL.Path, fc.ProxyPathPrefix) && q.signature.ok {
		return a.verifyURL(r, q, now)
	}

	authz := r.Header.Get(fc.HeaderAuthorization)
	if authz == "" {
		return Key{}, fc.AccessDenied("the request is not signed: the Authorization header is missing")
	}
	id, sig, err := fc.ParseAuthorization(authz)
	if err != nil {
		return Key{}, err
	}
	k, err := a.key(id, now)
	if err != nil {
		return Key{}, err
	}
	if err := a.checkDate(r.Header, now); err != nil {
		return Key{}, err
	}
	if q.expires.ok {
		// Where the query is signed, x-fc-expires replaces Date in the
		// string-to-sign, so Date cannot bound a replay: the expiry must.
		// Elsewhere it is unsigned and checking it costs an honest client
		// nothing.
		if err := checkExpires(q.expires.value, now); err != nil {
			return Key{}, err
		}
	}
	sts := fc.StringToSign(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
	if !fc.SignatureEqual(k.Secret, sts, sig) {
		return Key{}, fc.SignatureNotMatch()
	}
	if err := checkToken(k, r.Header.Get(fc.HeaderSecurityToken)); err != nil {
		return Key{}, err
	}
	return k, nil
}

// verifyURL checks a signed URL: the key, expiry and signature all come
// from the query.
func (a *Authenticator) verifyURL(r *http.Request, q authQuery, now time.Time) (Key, error) {
	if !q.accessKeyID.ok || q.accessKeyID.value == "" {
		return Key{}, fc.AccessDenied("the signed URL has no %s", fc.QueryAccessKeyID)
	}
	k, err := a.key(q.accessKeyID.value, now)
	if err != nil {
		return Key{}, err
	}
	if !q.expires.ok {
		return Key{}, fc.AccessDenied("the signed URL has no %s", fc.QueryExpires)
	}
	if err := checkExpires(q.expires.value, now); err != nil {
		return Key{}, err
	}
	// Base64 holds no spaces: a space is a "+" its client did not encode.
	sig := strings.ReplaceAll(q.signature.value, " ", "+")
	sts := fc.StringToSign(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
	if !fc.SignatureEqual(k.Secret, sts, sig) {
		return Key{}, fc.SignatureNotMatch()
	}
	token := q.securityToken.value
	if !q.securityToken.ok {
		token = r.Header.Get(fc.HeaderSecurityToken)
	}
	if err := checkToken(k, token); err != nil {
		return Key{}, err
	}
	return k, nil
}

// key looks up an unexpired key.
func (a *Authenticator) key(id string, now time.Time) (Key, error) {
	k, ok := a.lookup(id)
	if !ok {
		return Key{}, fc.Errorf(http.StatusForbidden, fc.CodeInvalidAccessKeyID, "invalid access key ID '%s'", id)
	}
	if !k.Expires.IsZero() && now.After(k.Expires) {
		if k.SecurityToken != "" {
			return Key{}, fc.Errorf(http.StatusForbidden, fc.CodeInvalidSecurityToken, "the security token has expired")
		}
		return Key{}, fc.Errorf(http.StatusForbidden, fc.CodeInvalidAccessKeyID, "access key ID '%s' has expired", id)
	}
	return k, nil
}

// checkDate checks that the request's Date (or X-Fc-Date) is within
// maxSkew of now, which bounds how long a captured request can be replayed.
func (a *Authenticator) checkDate(h http.Header, now time.Time) error {
	v := h.Get(fc.HeaderDate)
	if v == "" {
		v = h.Get(fc.HeaderFCDate)
	}
	if v == "" {
		return fc.Errorf(http.StatusBadRequest, fc.CodeMissingRequiredHeader, "required HTTP header Date was not specified")
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return fc.InvalidArgument("the Date header %q is not an HTTP date such as %q", v, http.TimeFormat)
	}
	skew := now.Sub(t)
	if skew < 0 {
		skew = -skew
	}
	if skew > a.maxSkew {
		return fc.Errorf(http.StatusForbidden, fc.CodeRequestTimeTooSkewed,
			"the difference between the request time %s and the server time %s is more than %s",
			t.UTC().Format(http.TimeFormat), now.UTC().Format(http.TimeFormat), a.maxSkew)
	}
	return nil
}

// checkExpires checks an x-fc-expires value (Unix seconds) against now.
func checkExpires(v string, now time.Time) error {
	exp, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fc.InvalidArgument("%s %q is not a Unix time in seconds", fc.QueryExpires, v)
	}
	if now.Unix() > exp {
		return fc.AccessDenied("signature expired at %s", time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// checkToken requires an STS-style key's token, compared in constant time.
func checkToken(k Key, token string) error {
	if k.SecurityToken == "" {
		return nil
	}
	if token == "" {
		return fc.Errorf(http.StatusForbidden, fc.CodeInvalidSecurityToken, "the access key requires a security token (%s)", strings.ToLower(fc.HeaderSecurityToken))
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(k.SecurityToken)) != 1 {
		return fc.Errorf(http.StatusForbidden, fc.CodeInvalidSecurityToken, "the security token is invalid")
	}
	return nil
}

// queryValue is the first value of a query key; ok says it had one.
type queryValue struct {
	value string
	ok    bool
}

// authQuery holds the signed-URL parameters of a query.
type authQuery struct {
	signature, accessKeyID, expires, securityToken queryValue
}

// scanQuery finds the signed-URL parameters in a raw query, reading keys as
// fc.StringToSign does (query-decoded, the first item with "=" wins), without
// building a url.Values map. A bare x-fc-signature counts, with an empty
// value, because it makes fc.StringToSign sign the query.
func scanQuery(rawQuery string) authQuery {
	var q authQuery
	for rawQuery != "" {
		var item string
		item, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, hasValue := strings.Cut(item, "=")
		if !strings.Contains(k, "x-fc-") && !strings.ContainsAny(k, "%+") {
			continue
		}
		var dst *queryValue
		switch unescapeQuery(k) {
		case fc.QuerySignature:
			dst = &q.signature
			hasValue = true
		case fc.QueryAccessKeyID:
			dst = &q.accessKeyID
		case fc.QueryExpires:
			dst = &q.expires
		case fc.QuerySecurityToken:
			dst = &q.securityToken
		default:
			continue
		}
		if hasValue && !dst.ok {
			*dst = queryValue{value: unescapeQuery(v), ok: true}
		}
	}
	return q
}

// unescapeQuery decodes a query key or value, falling back to s as
// fc.StringToSign does.
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
