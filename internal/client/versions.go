package client

import (
	"context"
	"net/url"

	"github.com/openfc/openfc/internal/fc"
)

// PublishVersion publishes a version of a service (a snapshot of it and
// its functions). etag, if not empty, must match the service's.
func (c *Client) PublishVersion(ctx context.Context, service, description, etag string) (*fc.Version, *Response, error) {
	var out fc.Version
	r, err := c.Do(ctx, Request{Method: "POST", Path: api + "/services/" + seg(service) + "/versions",
		Body: &fc.PublishVersionInput{Description: description}, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// VersionList is a page of a service's versions.
type VersionList struct {
	Versions  []fc.Version `json:"versions"`
	NextToken string       `json:"nextToken"`
	Direction string       `json:"direction"`
}

// ListVersions returns a page of a service's versions; direction is
// BACKWARD (newest first, the default when empty) or FORWARD.
func (c *Client) ListVersions(ctx context.Context, service string, o ListOptions, direction string) (*VersionList, *Response, error) {
	q := o.query()
	if direction != "" {
		q.Set("direction", direction)
	}
	var out VersionList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/services/" + seg(service) + "/versions", Query: q}, &out)
	return &out, r, err
}

// DeleteVersion deletes a version of a service.
func (c *Client) DeleteVersion(ctx context.Context, service, version string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: api + "/services/" + seg(service) + "/versions/" + seg(version)}, nil)
}

func aliasesPath(service string) string { return api + "/services/" + seg(service) + "/aliases" }

// CreateAlias creates an alias of a service.
func (c *Client) CreateAlias(ctx context.Context, service string, in *fc.Alias) (*fc.Alias, *Response, error) {
	var out fc.Alias
	r, err := c.Do(ctx, Request{Method: "POST", Path: aliasesPath(service), Body: in}, &out)
	return &out, r, err
}

// GetAlias returns an alias.
func (c *Client) GetAlias(ctx context.Context, service, alias string) (*fc.Alias, *Response, error) {
	var out fc.Alias
	r, err := c.Do(ctx, Request{Method: "GET", Path: aliasesPath(service) + "/" + seg(alias)}, &out)
	return &out, r, err
}

// AliasList is a page of a service's aliases.
type AliasList struct {
	Aliases   []fc.Alias `json:"aliases"`
	NextToken string     `json:"nextToken"`
}

// ListAliases returns a page of a service's aliases.
func (c *Client) ListAliases(ctx context.Context, service string, o ListOptions) (*AliasList, *Response, error) {
	var out AliasList
	r, err := c.Do(ctx, Request{Method: "GET", Path: aliasesPath(service), Query: o.query()}, &out)
	return &out, r, err
}

// UpdateAlias merges patch (a map or struct) into an alias.
func (c *Client) UpdateAlias(ctx context.Context, service, alias string, patch any, etag string) (*fc.Alias, *Response, error) {
	var out fc.Alias
	r, err := c.Do(ctx, Request{Method: "PUT", Path: aliasesPath(service) + "/" + seg(alias), Body: patch, Header: ifMatch(etag)}, &out)
	return &out, r, err
}

// DeleteAlias deletes an alias.
func (c *Client) DeleteAlias(ctx context.Context, service, alias, etag string) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: aliasesPath(service) + "/" + seg(alias), Header: ifMatch(etag)}, nil)
}

// AccountSettings returns the account's settings.
func (c *Client) AccountSettings(ctx context.Context) (*fc.AccountSettings, *Response, error) {
	var out fc.AccountSettings
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/account-settings"}, &out)
	return &out, r, err
}

// TagResource adds tags to a resource (resourceArn: a full ARN or
// services/<name>).
func (c *Client) TagResource(ctx context.Context, in *fc.TagInput) (*Response, error) {
	return c.Do(ctx, Request{Method: "POST", Path: api + "/tag", Body: in}, nil)
}

// UntagResource removes tags from a resource (all of them with in.All).
func (c *Client) UntagResource(ctx context.Context, in *fc.UntagInput) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: api + "/tag", Body: in}, nil)
}

// GetResourceTags returns the tags of a resource.
func (c *Client) GetResourceTags(ctx context.Context, resourceARN string) (*fc.Tags, *Response, error) {
	var out fc.Tags
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/tag", Query: url.Values{"resourceArn": {resourceARN}}}, &out)
	return &out, r, err
}

// TaggedResourceList is a page of tagged resources.
type TaggedResourceList struct {
	Resources []fc.Tags `json:"resources"`
	NextToken string    `json:"nextToken"`
}

// ListTaggedResources returns a page of the resources that have tags.
func (c *Client) ListTaggedResources(ctx context.Context, o ListOptions) (*TaggedResourceList, *Response, error) {
	var out TaggedResourceList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/tags", Query: o.query()}, &out)
	return &out, r, err
}
