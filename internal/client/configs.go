package client

import (
	"context"

	"github.com/openfc/openfc/internal/fc"
)

// functionPath is a function's path at a qualifier.
func functionPath(service, qualifier, function string) string {
	return api + "/services/" + svcq(service, qualifier) + "/functions/" + seg(function)
}

// PutProvisionConfig sets the provisioned instances of a function at a
// qualifier (FC has no delete: put a target of 0 to release them).
func (c *Client) PutProvisionConfig(ctx context.Context, service, qualifier, function string, in *fc.ProvisionConfig, etag string) (*fc.ProvisionConfig, *Response, error) {
	var out fc.ProvisionConfig
	r, err := c.Do(ctx, Request{Method: "PUT", Path: functionPath(service, qualifier, function) + "/provision-config", Body: in, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// GetProvisionConfig returns the provision config of a function at a
// qualifier.
func (c *Client) GetProvisionConfig(ctx context.Context, service, qualifier, function string) (*fc.ProvisionConfig, *Response, error) {
	var out fc.ProvisionConfig
	r, err := c.Do(ctx, Request{Method: "GET", Path: functionPath(service, qualifier, function) + "/provision-config"}, &out)
	return &out, r, err
}

// ProvisionConfigList is a page of provision configs.
type ProvisionConfigList struct {
	ProvisionConfigs []fc.ProvisionConfig `json:"provisionConfigs"`
	NextToken        string               `json:"nextToken"`
}

// ListProvisionConfigs returns a page of provision configs, of one service
// (and qualifier) when service is not empty.
func (c *Client) ListProvisionConfigs(ctx context.Context, service, qualifier string, o ListOptions) (*ProvisionConfigList, *Response, error) {
	q := o.query()
	if service != "" {
		q.Set("serviceName", service)
	}
	if qualifier != "" {
		q.Set("qualifier", qualifier)
	}
	var out ProvisionConfigList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/provision-configs", Query: q}, &out)
	return &out, r, err
}

// PutOnDemandConfig caps the on-demand instances of a function at a
// qualifier.
func (c *Client) PutOnDemandConfig(ctx context.Context, service, qualifier, function string, in *fc.OnDemandConfig, etag string) (*fc.OnDemandConfig, *Response, error) {
	var out fc.OnDemandConfig
	r, err := c.Do(ctx, Request{Method: "PUT", Path: functionPath(service, qualifier, function) + "/on-demand-config", Body: in, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// GetOnDemandConfig returns the on-demand config of a function at a
// qualifier.
func (c *Client) GetOnDemandConfig(ctx context.Context, service, qualifier, function string) (*fc.OnDemandConfig, *Response, error) {
	var out fc.OnDemandConfig
	r, err := c.Do(ctx, Request{Method: "GET", Path: functionPath(service, qualifier, function) + "/on-demand-config"}, &out)
	return &out, r, err
}

// DeleteOnDemandConfig removes the on-demand config of a function at a
// qualifier.
func (c *Client) DeleteOnDemandConfig(ctx context.Context, service, qualifier, function, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: functionPath(service, qualifier, function) + "/on-demand-config", Header: ifMatch(etag)}, nil)
}

// OnDemandConfigList is a page of on-demand configs.
type OnDemandConfigList struct {
	Configs   []fc.OnDemandConfig `json:"configs"`
	NextToken string              `json:"nextToken"`
}

// ListOnDemandConfigs returns a page of on-demand configs; o.Prefix
// matches their resource.
func (c *Client) ListOnDemandConfigs(ctx context.Context, o ListOptions) (*OnDemandConfigList, *Response, error) {
	var out OnDemandConfigList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/on-demand-configs", Query: o.query()}, &out)
	return &out, r, err
}

// PutAsyncConfig sets the async invocation policy of a function at a
// qualifier.
func (c *Client) PutAsyncConfig(ctx context.Context, service, qualifier, function string, in *fc.AsyncConfig) (*fc.AsyncConfig, *Response, error) {
	var out fc.AsyncConfig
	r, err := c.Do(ctx, Request{Method: "PUT", Path: functionPath(service, qualifier, function) + "/async-invoke-config", Body: in}, &out)
	return &out, r, err
}

// GetAsyncConfig returns the async invocation policy of a function at a
// qualifier.
func (c *Client) GetAsyncConfig(ctx context.Context, service, qualifier, function string) (*fc.AsyncConfig, *Response, error) {
	var out fc.AsyncConfig
	r, err := c.Do(ctx, Request{Method: "GET", Path: functionPath(service, qualifier, function) + "/async-invoke-config"}, &out)
	return &out, r, err
}

// DeleteAsyncConfig removes the async invocation policy of a function at a
// qualifier.
func (c *Client) DeleteAsyncConfig(ctx context.Context, service, qualifier, function string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: functionPath(service, qualifier, function) + "/async-invoke-config"}, nil)
}

// AsyncConfigList is a page of a function's async invocation policies.
type AsyncConfigList struct {
	Configs   []fc.AsyncConfig `json:"configs"`
	NextToken string           `json:"nextToken"`
}

// ListAsyncConfigs returns a page of a function's async invocation
// policies, one per qualifier.
func (c *Client) ListAsyncConfigs(ctx context.Context, service, function string, o ListOptions) (*AsyncConfigList, *Response, error) {
	var out AsyncConfigList
	r, err := c.Do(ctx, Request{Method: "GET", Path: functionPath(service, "", function) + "/async-invoke-configs", Query: o.query()}, &out)
	return &out, r, err
}
