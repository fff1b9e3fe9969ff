package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
)

// Options configures a Client.
type Options struct {
	// Endpoint is the API base URL, e.g. http://127.0.0.1:9700.
	Endpoint        string
	AccountID       string
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// HTTPClient overrides the transport; nil uses one with timeouts.
	HTTPClient *http.Client
	// Timeout of one call when HTTPClient is nil; 0 means 60 s (FC SDKs').
	Timeout time.Duration
}

// Client calls an openfc node.
type Client struct {
	base *url.URL
	opts Options
	hc   *http.Client
}

// New returns a Client for opts.Endpoint.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(opts.Endpoint, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: use a URL such as http://127.0.0.1:9700", opts.Endpoint)
	}
	hc := opts.HTTPClient
	if hc == nil {
		t := opts.Timeout
		if t == 0 {
			t = 60 * time.Second
		}
		hc = &http.Client{Timeout: t, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &Client{base: u, opts: opts, hc: hc}, nil
}

// Error is an error answer of the API: FC's error body plus the HTTP
// status and request ID.
type Error struct {
	Status    int    `json:"-"`
	Code      string `json:"ErrorCode"`
	Message   string `json:"ErrorMessage"`
	RequestID string `json:"RequestId"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d, request %s)", e.Code, e.Message, e.Status, e.RequestID)
}

// Response is what a call returned besides its decoded body.
type Response struct {
	Status    int
	Header    http.Header
	RequestID string
	ETag      string
}

// Request is one API call.
type Request struct {
	Method string
	Path   string // escaped, below the endpoint, e.g. /2016-08-15/services
	Query  url.Values
	Header http.Header
	Body   any // JSON-encoded unless []byte or io.Reader
}

// Do sends a signed request and decodes a JSON answer into out (when out is
// not nil and the answer has a body). Non-2xx answers are *Error.
func (c *Client) Do(ctx context.Context, req Request, out any) (*Response, error) {
	resp, err := c.Send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.Path, err)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, RequestID: resp.Header.Get("X-Fc-Request-Id"), ETag: resp.Header.Get("ETag")}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if err := json.Unmarshal(body, e); err != nil || e.Code == "" {
			e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(body))
		}
		if e.RequestID == "" {
			e.RequestID = r.RequestID
		}
		return r, e
	}
	if out != nil && len(body) > 0 {
		if b, ok := out.(*[]byte); ok {
			*b = body
			return r, nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return r, fmt.Errorf("%s %s: decode answer: %w", req.Method, req.Path, err)
		}
	}
	return r, nil
}

// Send sends a signed request and returns the raw response; the caller
// closes its body.
func (c *Client) Send(ctx context.Context, req Request) (*http.Response, error) {
	var body io.Reader
	contentType := ""
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		body, contentType = bytes.NewReader(b), "application/octet-stream"
	case io.Reader:
		body, contentType = b, "application/octet-stream"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body, contentType = bytes.NewReader(data), "application/json"
	}
	u := *c.base
	u.RawPath = c.base.Path + req.Path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", req.Path, err)
	}
	u.Path = p
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	// net/http sends req.Host, not a Host header: honour one given (custom
	// domains route by it).
	if h := hr.Header.Get("Host"); h != "" {
		hr.Host = h
		hr.Header.Del("Host")
	}
	if contentType != "" && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", contentType)
	}
	if c.opts.AccountID != "" {
		hr.Header.Set("X-Fc-Account-Id", c.opts.AccountID)
	}
	fc.SignRequest(hr, c.opts.AccessKeyID, c.opts.AccessKeySecret, c.opts.SecurityToken)
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	return resp, nil
}

// api is the FC API prefix.
const api = "/2016-08-15"

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// svcq joins a service and an optional qualifier as FC's paths do.
func svcq(service, qualifier string) string {
	if qualifier == "" {
		return seg(service)
	}
	return seg(service) + "." + seg(qualifier)
}

// ListOptions are FC's pagination parameters.
type ListOptions struct {
	Limit     int
	Prefix    string
	StartKey  string
	NextToken string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", fmt.Sprint(o.Limit))
	}
	for k, v := range map[string]string{"prefix": o.Prefix, "startKey": o.StartKey, "nextToken": o.NextToken} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}
