package client

import (
	"context"

	"github.com/openfc/openfc/internal/fc"
)

// CreateCustomDomain creates a custom domain.
func (c *Client) CreateCustomDomain(ctx context.Context, in *fc.CustomDomain) (*fc.CustomDomain, *Response, error) {
	var out fc.CustomDomain
	r, err := c.Do(ctx, Request{Method: "POST", Path: api + "/custom-domains", Body: in}, &out)
	return &out, r, err
}

// GetCustomDomain returns a custom domain.
func (c *Client) GetCustomDomain(ctx context.Context, domain string) (*fc.CustomDomain, *Response, error) {
	var out fc.CustomDomain
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/custom-domains/" + seg(domain)}, &out)
	return &out, r, err
}

// CustomDomainList is a page of custom domains.
type CustomDomainList struct {
	CustomDomains []fc.CustomDomain `json:"customDomains"`
	NextToken     string            `json:"nextToken"`
}

// ListCustomDomains returns a page of custom domains.
func (c *Client) ListCustomDomains(ctx context.Context, o ListOptions) (*CustomDomainList, *Response, error) {
	var out CustomDomainList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/custom-domains", Query: o.query()}, &out)
	return &out, r, err
}

// UpdateCustomDomain merges patch (a map or struct) into a custom domain.
func (c *Client) UpdateCustomDomain(ctx context.Context, domain string, patch any, etag string) (*fc.CustomDomain, *Response, error) {
	var out fc.CustomDomain
	r, err := c.Do(ctx, Request{Method: "PUT", Path: api + "/custom-domains/" + seg(domain), Body: patch, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// DeleteCustomDomain deletes a custom domain.
func (c *Client) DeleteCustomDomain(ctx context.Context, domain, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: api + "/custom-domains/" + seg(domain), Header: ifMatch(etag)}, nil)
}
