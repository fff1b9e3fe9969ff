package client

import (
	"context"

	"github.com/openfc/openfc/internal/fc"
)

// limitsPath is the path of the account's limits (service ""), a
// service's (function "") or a function's.
func limitsPath(service, function string) string {
	p := "/openfc/v1/limits"
	switch {
	case service == "":
		return p + "/account"
	case function == "":
		return p + "/services/" + seg(service)
	}
	return p + "/services/" + seg(service) + "/functions/" + seg(function)
}

// PutLimits replaces the flow-control limits of the account (service ""),
// a service (function "") or a function.
func (c *Client) PutLimits(ctx context.Context, service, function string, in *fc.Limits) (*fc.Limits, *Response, error) {
	var out fc.Limits
	r, err := c.Do(ctx, Request{Method: "PUT", Path: limitsPath(service, function), Body: in}, &out)
	return &out, r, err
}

// GetLimits returns the flow-control limits of a scope (see PutLimits).
func (c *Client) GetLimits(ctx context.Context, service, function string) (*fc.Limits, *Response, error) {
	var out fc.Limits
	r, err := c.Do(ctx, Request{Method: "GET", Path: limitsPath(service, function)}, &out)
	return &out, r, err
}

// DeleteLimits lifts the flow-control limits of a scope (see PutLimits).
func (c *Client) DeleteLimits(ctx context.Context, service, function string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: limitsPath(service, function)}, nil)
}

// ListLimits returns every limits set.
func (c *Client) ListLimits(ctx context.Context) ([]fc.Limits, *Response, error) {
	var out struct {
		Limits []fc.Limits `json:"limits"`
	}
	r, err := c.Do(ctx, Request{Method: "GET", Path: "/openfc/v1/limits"}, &out)
	return out.Limits, r, err
}
