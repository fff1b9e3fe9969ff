package client

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// UsageOptions selects aggregated usage (GET /openfc/v1/usage).
type UsageOptions struct {
	// GroupBy lists some of account, service, function, qualifier.
	GroupBy []string
	// Interval is hour or day ("" means day).
	Interval string
	// Service, Function and Qualifier filter when set.
	Service, Function, Qualifier string
	// From and To select the periods overlapping [From, To): RFC 3339
	// times, Unix seconds, or a duration before now such as 24h.
	From, To string
}

func (o UsageOptions) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("groupBy", strings.Join(o.GroupBy, ","))
	set("interval", o.Interval)
	set("serviceName", o.Service)
	set("functionName", o.Function)
	set("qualifier", o.Qualifier)
	set("from", o.From)
	set("to", o.To)
	return q
}

// Usage returns aggregated usage.
func (c *Client) Usage(ctx context.Context, o UsageOptions) (*fc.UsageReport, *Response, error) {
	var out fc.UsageReport
	r, err := c.Do(ctx, Request{Method: "GET", Path: "/openfc/v1/usage", Query: o.query()}, &out)
	return &out, r, err
}

// UsageRecordOptions selects raw usage records
// (GET /openfc/v1/usage/records).
type UsageRecordOptions struct {
	Service, Function string
	From, To          string
	Limit             int
	NextToken         string
}

// UsageRecords returns a page of usage records in stream order.
func (c *Client) UsageRecords(ctx context.Context, o UsageRecordOptions) (*fc.UsageRecords, *Response, error) {
	q := UsageOptions{Service: o.Service, Function: o.Function, From: o.From, To: o.To}.query()
	page(q, o.Limit, o.NextToken)
	var out fc.UsageRecords
	r, err := c.Do(ctx, Request{Method: "GET", Path: "/openfc/v1/usage/records", Query: q}, &out)
	return &out, r, err
}

// AuditOptions selects audit entries (GET /openfc/v1/audit).
type AuditOptions struct {
	From, To string
	// Action is an FC operation name such as CreateFunction.
	Action string
	// Resource matches as a prefix, e.g. services/demo.
	Resource    string
	AccessKeyID string
	// Result is success, failure, an HTTP status or an FC error code.
	Result    string
	Limit     int
	NextToken string
}

// Audit returns a page of audit entries, oldest first.
func (c *Client) Audit(ctx context.Context, o AuditOptions) (*fc.AuditEntries, *Response, error) {
	q := url.Values{}
	for k, v := range map[string]string{"from": o.From, "to": o.To, "action": o.Action, "resource": o.Resource,
		"accessKeyId": o.AccessKeyID, "result": o.Result} {
		if v != "" {
			q.Set(k, v)
		}
	}
	page(q, o.Limit, o.NextToken)
	var out fc.AuditEntries
	r, err := c.Do(ctx, Request{Method: "GET", Path: "/openfc/v1/audit", Query: q}, &out)
	return &out, r, err
}

func page(q url.Values, limit int, next string) {
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if next != "" {
		q.Set("nextToken", next)
	}
}
