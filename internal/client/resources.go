package client

import (
	"context"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// ifMatch returns the If-Match header for etag, or nil.
func ifMatch(etag string) http.Header {
	if etag == "" {
		return nil
	}
	return http.Header{"If-Match": {etag}}
}

// CreateService creates a service.
func (c *Client) CreateService(ctx context.Context, in *fc.Service) (*fc.Service, *Response, error) {
	var out fc.Service
	r, err := c.Do(ctx, Request{Method: "POST", Path: api + "/services", Body: in}, &out)
	return &out, r, err
}

// GetService returns a service (at a qualifier, if given).
func (c *Client) GetService(ctx context.Context, service, qualifier string) (*fc.Service, *Response, error) {
	var out fc.Service
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services/" + svcq(service, qualifier)}, &out)
	return &out, r, err
}

// ServiceList is a page of services.
type ServiceList struct {
	Services  []fc.Service `json:"services"`
	NextToken string       `json:"nextToken"`
}

// ListServices returns a page of services.
func (c *Client) ListServices(ctx context.Context, o ListOptions) (*ServiceList, *Response, error) {
	var out ServiceList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services", Query: o.query()}, &out)
	return &out, r, err
}

// UpdateService merges the fields of patch (a map or struct; absent and
// null fields are left alone) into a service.
func (c *Client) UpdateService(ctx context.Context, service string, patch any, etag string) (*fc.Service, *Response, error) {
	var out fc.Service
	r, err := c.Do(ctx, Request{Method: "PUT", Path: api + "/services/" + seg(service), Body: patch, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// DeleteService deletes a service.
func (c *Client) DeleteService(ctx context.Context, service, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: api + "/services/" + seg(service), Header: ifMatch(etag)}, nil)
}

// CreateFunction creates a function; in.Code carries the base64 zip.
func (c *Client) CreateFunction(ctx context.Context, service string, in *fc.FunctionInput) (*fc.Function, *Response, error) {
	var out fc.Function
	r, err := c.Do(ctx, Request{Method: "POST", Path: api + "/services/" + seg(service) + "/functions", Body: in}, &out)
	return &out, r, err
}

// GetFunction returns a function (at a qualifier, if given).
func (c *Client) GetFunction(ctx context.Context, service, qualifier, function string) (*fc.Function, *Response, error) {
	var out fc.Function
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services/" + svcq(service, qualifier) + "/functions/" + seg(function)}, &out)
	return &out, r, err
}

// FunctionList is a page of functions.
type FunctionList struct {
	Functions []fc.Function `json:"functions"`
	NextToken string        `json:"nextToken"`
}

// ListFunctions returns a page of a service's functions.
func (c *Client) ListFunctions(ctx context.Context, service, qualifier string, o ListOptions) (*FunctionList, *Response, error) {
	var out FunctionList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services/" + svcq(service, qualifier) + "/functions", Query: o.query()}, &out)
	return &out, r, err
}

// UpdateFunction merges patch into a function.
func (c *Client) UpdateFunction(ctx context.Context, service, function string, patch any, etag string) (*fc.Function, *Response, error) {
	var out fc.Function
	r, err := c.Do(ctx, Request{Method: "PUT", Path: api + "/services/" + seg(service) + "/functions/" + seg(function), Body: patch, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// DeleteFunction deletes a function.
func (c *Client) DeleteFunction(ctx context.Context, service, function, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: api + "/services/" + seg(service) + "/functions/" + seg(function), Header: ifMatch(etag)}, nil)
}

// GetFunctionCode returns a download link and the checksum of a function's
// code.
func (c *Client) GetFunctionCode(ctx context.Context, service, qualifier, function string) (*fc.GetFunctionCodeOutput, *Response, error) {
	var out fc.GetFunctionCodeOutput
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services/" + svcq(service, qualifier) + "/functions/" + seg(function) + "/code"}, &out)
	return &out, r, err
}

func triggersPath(service, function string) string {
	return api + "/services/" + seg(service) + "/functions/" + seg(function) + "/triggers"
}

// CreateTrigger creates a trigger.
func (c *Client) CreateTrigger(ctx context.Context, service, function string, in *fc.Trigger) (*fc.Trigger, *Response, error) {
	var out fc.Trigger
	r, err := c.Do(ctx, Request{Method: "POST", Path: triggersPath(service, function), Body: in}, &out)
	return &out, r, err
}

// GetTrigger returns a trigger.
func (c *Client) GetTrigger(ctx context.Context, service, function, trigger string) (*fc.Trigger, *Response, error) {
	var out fc.Trigger
	r, err := c.Do(ctx, Request{Method: "GET", Path: triggersPath(service, function) + "/" + seg(trigger)}, &out)
	return &out, r, err
}

// TriggerList is a page of triggers.
type TriggerList struct {
	Triggers  []fc.Trigger `json:"triggers"`
	NextToken string       `json:"nextToken"`
}

// ListTriggers returns a page of a function's triggers.
func (c *Client) ListTriggers(ctx context.Context, service, function string, o ListOptions) (*TriggerList, *Response, error) {
	var out TriggerList
	r, err := c.Do(ctx, Request{Method: "GET", Path: triggersPath(service, function), Query: o.query()}, &out)
	return &out, r, err
}

// UpdateTrigger merges patch into a trigger.
func (c *Client) UpdateTrigger(ctx context.Context, service, function, trigger string, patch any, etag string) (*fc.Trigger, *Response, error) {
	var out fc.Trigger
	r, err := c.Do(ctx, Request{Method: "PUT", Path: triggersPath(service, function) + "/" + seg(trigger), Body: patch, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// DeleteTrigger deletes a trigger.
func (c *Client) DeleteTrigger(ctx context.Context, service, function, trigger, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: triggersPath(service, function) + "/" + seg(trigger), Header: ifMatch(etag)}, nil)
}
