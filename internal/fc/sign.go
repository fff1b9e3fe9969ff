package fc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names used by FC's request signature (spec §1). The query keys are those of
// the signed-URL form, which all SDKs spell in lower case.
const (
	// ProxyPathPrefix starts every HTTP-trigger path of the API. Requests
	// under it sign their query string too.
	ProxyPathPrefix = "/2016-08-15/proxy/"

	HeaderAuthorization = "Authorization"
	HeaderDate          = "Date"
	HeaderFCDate        = "X-Fc-Date"
	HeaderSecurityToken = "X-Fc-Security-Token"

	QueryAccessKeyID   = "x-fc-access-key-id"
	QueryExpires       = "x-fc-expires"
	QuerySecurityToken = "x-fc-security-token"
	QuerySignature     = "x-fc-signature"

	// authScheme is the scheme word of the Authorization header.
	authScheme = "FC"
	// fcHeaderPrefix selects the headers that are signed. It keeps the dash,
	// as the doc, Node, Go and Python SDKs do: "x-fcdummy" is not signed.
	fcHeaderPrefix = "x-fc-"
)

// StringToSign returns FC's string-to-sign for a request, byte for byte as
// the official SDKs build it (spec §1.2), so that a signature made by any of
// them verifies here and one made here verifies at FC:
//
//	VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//	CanonicalizedFCHeaders CanonicalizedResource
//
// method is used as given (clients send it upper-case). path is the escaped
// request path (r.URL.EscapedPath()); it is percent-decoded, leaving "+"
// alone, and used verbatim when it is not valid percent-encoding. rawQuery is
// r.URL.RawQuery.
//
// Content-MD5 and Content-Type are signed verbatim and never checked against
// the body: the SDKs disagree on how Content-MD5 is encoded (spec §1.3). The
// Date line is the Date header or, when that is absent or empty, X-Fc-Date
// (for clients such as browsers that cannot set Date).
//
// Every header whose lower-cased, trimmed name starts with "x-fc-" is signed
// as "name:value\n", values verbatim and empty ones kept, sorted by name.
// Header keys may be in any case; the values of keys that differ only in
// case are merged in the byte order of the keys, which is how net/http puts
// them on the wire and so what the server sees. A header with several values
// gives one line per value, in order. No SDK sends repeated x-fc- headers;
// one line each keeps the string unambiguous (a value cannot contain a
// newline), unlike joining with commas, which would let "a,b" be split into
// two headers under the same signature. The same lookup rule (any case,
// first value of the byte-wise smallest key) applies to Content-MD5,
// Content-Type and Date.
//
// The canonicalized resource is the decoded path alone, except for paths
// under ProxyPathPrefix (HTTP triggers) and signed URLs (a query with
// x-fc-signature, which also covers custom domains): then the path is
// followed by "\n" and the query parameters other than x-fc-signature, each
// as "key=value" (or "key" for an item without "="), query-decoded ("+" is a
// space), one per value, sorted byte-wise as whole strings and joined by
// "\n". With no parameters the resource still ends in "\n". When those
// parameters contain x-fc-expires, its first value replaces the Date line,
// as in the Go SDK. Empty items ("a&&b") are skipped; an item that is not
// valid query encoding is used raw. FC's format cannot tell "a=1\nb=2" (one
// value holding an encoded newline) from two parameters; clients never send
// such values.
func StringToSign(method, path, rawQuery string, header http.Header) string {
	decoded, err := url.PathUnescape(path)
	if err != nil {
		decoded = path
	}
	withQuery := strings.HasPrefix(decoded, ProxyPathPrefix) || hasQueryKey(rawQuery, QuerySignature)
	return stringToSign(method, decoded, rawQuery, withQuery, header)
}

// Signature returns FC's signature of stringToSign: the standard Base64
// (with padding) of its HMAC-SHA256 under secret.
func Signature(secret, stringToSign string) string {
	var sum [sha256.Size]byte
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// SignatureEqual reports whether signature is FC's signature of stringToSign
// under secret (see Signature). It compares in constant time, and only the
// canonical padded Base64 form matches, so a signature has one spelling.
func SignatureEqual(secret, stringToSign, signature string) bool {
	// Decode first: a malformed signature is refused without an HMAC.
	var got [sha256.Size + 1]byte
	enc := base64.StdEncoding.Strict()
	if len(signature) != enc.EncodedLen(sha256.Size) {
		return false
	}
	n, err := enc.Decode(got[:], []byte(signature))
	if err != nil || n != sha256.Size {
		return false
	}
	var sum [sha256.Size]byte
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hmac.Equal(got[:n], mac.Sum(sum[:0]))
}

// ParseAuthorization splits an Authorization header "FC <keyID>:<signature>"
// (spec §1.1). The scheme ends at the first space and the signature at the
// last colon, so key IDs may contain colons and dots (STS.xxx). A malformed
// value gives a 403 AccessDenied *Error, which is what FC answers for a
// request it cannot attribute to a key.
func ParseAuthorization(v string) (keyID, signature string, err error) {
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || scheme != authScheme {
		return "", "", AccessDenied("the Authorization header must have the form \"FC <AccessKeyId>:<Signature>\"")
	}
	i := strings.LastIndexByte(cred, ':')
	if i <= 0 || i == len(cred)-1 {
		return "", "", AccessDenied("the Authorization header must have the form \"FC <AccessKeyId>:<Signature>\"")
	}
	return cred[:i], cred[i+1:], nil
}

// SignRequest signs r in FC's header form, for clients. It sets Date to the
// current time when r has none, sets X-Fc-Security-Token when securityToken
// is not empty (it is an x-fc- header, so it is signed), then sets
// Authorization. Call it last: any later change to the method, path, query
// (for HTTP triggers), Content-MD5, Content-Type, Date or an x-fc- header
// invalidates the signature. It does not read the body or add Content-MD5.
func SignRequest(r *http.Request, keyID, secret, securityToken string) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	if r.Header.Get(HeaderDate) == "" {
		r.Header.Set(HeaderDate, time.Now().UTC().Format(http.TimeFormat))
	}
	if securityToken != "" {
		r.Header.Set(HeaderSecurityToken, securityToken)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet // what net/http sends for ""
	}
	sts := StringToSign(method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
	r.Header.Set(HeaderAuthorization, authScheme+" "+keyID+":"+Signature(secret, sts))
}

// SignURL turns u into FC's signed URL (spec §1.5), valid until expires, for
// a request with the given method and headers. It appends
// x-fc-access-key-id, x-fc-expires (Unix seconds), x-fc-security-token (when
// securityToken is not empty) and finally x-fc-signature to u's query, in
// the Go SDK's order, replacing any earlier values of those four keys and
// keeping the other items exactly as encoded. header holds the Content-MD5,
// Content-Type and x-fc- headers the request will carry; it may be nil.
func SignURL(u *url.URL, method, keyID, secret, securityToken string, expires time.Time, header http.Header) {
	var q strings.Builder
	for item := range strings.SplitSeq(u.RawQuery, "&") {
		if item == "" {
			continue
		}
		switch key, _, _ := strings.Cut(item, "="); unescapeQuery(key) {
		case QueryAccessKeyID, QueryExpires, QuerySecurityToken, QuerySignature:
			continue
		}
		q.WriteString(item)
		q.WriteByte('&')
	}
	q.WriteString(QueryAccessKeyID + "=" + url.QueryEscape(keyID))
	q.WriteString("&" + QueryExpires + "=" + strconv.FormatInt(expires.Unix(), 10))
	if securityToken != "" {
		q.WriteString("&" + QuerySecurityToken + "=" + url.QueryEscape(securityToken))
	}
	path := u.EscapedPath()
	decoded, err := url.PathUnescape(path)
	if err != nil {
		decoded = path
	}
	sig := Signature(secret, stringToSign(method, decoded, q.String(), true, header))
	q.WriteString("&" + QuerySignature + "=" + url.QueryEscape(sig))
	u.RawQuery = q.String()
}

// stringToSign builds the string-to-sign from the decoded path; withQuery
// selects the HTTP-trigger / signed-URL resource.
func stringToSign(method, path, rawQuery string, withQuery bool, header http.Header) string {
	// The headers and parameters are collected in fixed arrays so that the
	// common request (a handful of each) costs one allocation, the result.
	var (
		hdrBuf [16]fcHeader
		hdrs   = hdrBuf[:0]
		md5    pick
		ctype  pick
		date   pick
		fcDate pick
	)
	size := len(method) + len(path) + 8
	for k, vs := range header {
		if len(vs) == 0 {
			continue // net/http sends nothing for a key without values
		}
		name := strings.TrimSpace(k)
		if len(name) >= len(fcHeaderPrefix) && strings.EqualFold(name[:len(fcHeaderPrefix)], fcHeaderPrefix) {
			hdrs = append(hdrs, fcHeader{name: name, values: vs})
			for _, v := range vs {
				size += len(name) + len(v) + 2
			}
			if strings.EqualFold(name, HeaderFCDate) {
				fcDate.offer(name, vs[0])
			}
			continue
		}
		switch {
		case strings.EqualFold(name, "Content-MD5"):
			md5.offer(name, vs[0])
		case strings.EqualFold(name, "Content-Type"):
			ctype.offer(name, vs[0])
		case strings.EqualFold(name, HeaderDate):
			date.offer(name, vs[0])
		}
	}
	dateValue := date.value
	if dateValue == "" {
		dateValue = fcDate.value
	}

	var (
		paramBuf [16]queryParam
		params   = paramBuf[:0]
	)
	if withQuery {
		expiresSeen := false
		for item := range strings.SplitSeq(rawQuery, "&") {
			if item == "" {
				continue
			}
			k, v, hasValue := strings.Cut(item, "=")
			p := queryParam{key: unescapeQuery(k), bare: !hasValue}
			if hasValue {
				p.value = unescapeQuery(v)
			}
			if p.key == QuerySignature {
				continue
			}
			if p.key == QueryExpires && hasValue && !expiresSeen {
				dateValue, expiresSeen = p.value, true
			}
			params = append(params, p)
			size += len(p.key) + len(p.value) + 2
		}
		slices.SortFunc(params, compareParams)
	}
	size += len(md5.value) + len(ctype.value) + len(dateValue)

	var b strings.Builder
	b.Grow(size)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(md5.value)
	b.WriteByte('\n')
	b.WriteString(ctype.value)
	b.WriteByte('\n')
	b.WriteString(dateValue)
	b.WriteByte('\n')
	slices.SortFunc(hdrs, compareHeaders)
	for _, h := range hdrs {
		for _, v := range h.values {
			writeLower(&b, h.name)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	b.WriteString(path)
	if withQuery {
		b.WriteByte('\n')
		for i, p := range params {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.key)
			if !p.bare {
				b.WriteByte('=')
				b.WriteString(p.value)
			}
		}
	}
	return b.String()
}

// fcHeader is one x-fc- header key of the request with its values.
type fcHeader struct {
	name   string // trimmed, case as given
	values []string
}

// compareHeaders orders headers by lower-cased name, then by the name as
// given, which is the order in which net/http writes keys differing only in
// case, so their values reach the server in this order.
func compareHeaders(a, b fcHeader) int {
	if c := compareFold(a.name, b.name); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// compareFold compares a and b byte-wise after ASCII lower-casing. Header
// names are ASCII tokens on the wire, so this is the order of their
// lower-cased forms without building them.
func compareFold(a, b string) int {
	for i := range min(len(a), len(b)) {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func writeLower(b *strings.Builder, s string) {
	for i := range len(s) {
		b.WriteByte(lower(s[i]))
	}
}

// pick keeps the first value of the byte-wise smallest header key matching
// a name in any case: the value http.Header.Get returns on the server once
// net/http has sent the keys in sorted order and merged them.
type pick struct {
	key, value string
	ok         bool
}

func (p *pick) offer(key, value string) {
	if !p.ok || key < p.key {
		p.key, p.value, p.ok = key, value, true
	}
}

// queryParam is one decoded query item; bare means it had no "=".
type queryParam struct {
	key, value string
	bare       bool
}

func (p queryParam) len() int {
	if p.bare {
		return len(p.key)
	}
	return len(p.key) + 1 + len(p.value)
}

// at returns byte i of the parameter's "key=value" (or "key") form.
func (p queryParam) at(i int) byte {
	switch {
	case i < len(p.key):
		return p.key[i]
	case i == len(p.key):
		return '='
	default:
		return p.value[i-len(p.key)-1]
	}
}

// compareParams orders parameters as the SDKs do, by their whole
// "key=value" strings, without building those strings.
func compareParams(a, b queryParam) int {
	if a.key == b.key {
		switch {
		case a.bare && b.bare:
			return 0
		case a.bare:
			return -1 // "k" < "k=..."
		case b.bare:
			return 1
		}
		return strings.Compare(a.value, b.value)
	}
	n := min(len(a.key), len(b.key))
	if c := strings.Compare(a.key[:n], b.key[:n]); c != 0 {
		return c
	}
	// One key is a proper prefix of the other: compare the rest byte-wise.
	la, lb := a.len(), b.len()
	for i := n; i < min(la, lb); i++ {
		if ca, cb := a.at(i), b.at(i); ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return la - lb
}

// unescapeQuery decodes a query key or value ("+" is a space), returning s
// itself when it is not valid query encoding: the string-to-sign must be
// computable for every request, and such a request simply will not match.
func unescapeQuery(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// hasQueryKey reports whether the raw query has an item whose decoded key is
// key.
func hasQueryKey(rawQuery, key string) bool {
	for rawQuery != "" {
		var item string
		item, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, _, _ := strings.Cut(item, "=")
		if unescapeQuery(k) == key {
			return true
		}
	}
	return false
}
