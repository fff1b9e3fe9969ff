package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/openfc/openfc/internal/fc"
)

func layerPath(layer string) string { return api + "/layers/" + seg(layer) }

// PublishLayerVersion publishes a new version of a layer; in.Code carries
// the base64 zip.
func (c *Client) PublishLayerVersion(ctx context.Context, layer string, in *fc.LayerInput) (*fc.Layer, *Response, error) {
	var out fc.Layer
	r, err := c.Do(ctx, Request{Method: "POST", Path: layerPath(layer) + "/versions", Body: in}, &out)
	return &out, r, err
}

// LayerList is a page of layers (the newest version of each).
type LayerList struct {
	Layers    []fc.Layer `json:"layers"`
	NextToken string     `json:"nextToken"`
}

// ListLayers returns a page of layers.
func (c *Client) ListLayers(ctx context.Context, o ListOptions) (*LayerList, *Response, error) {
	var out LayerList
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/layers", Query: o.query()}, &out)
	return &out, r, err
}

// LayerVersionList is a page of a layer's versions; NextVersion, when not
// 0, is the startVersion of the next page.
type LayerVersionList struct {
	Layers      []fc.Layer `json:"layers"`
	NextVersion int64      `json:"nextVersion"`
}

// ListLayerVersions returns up to limit versions of a layer (0: the
// server's default) from startVersion on (0: the first).
func (c *Client) ListLayerVersions(ctx context.Context, layer string, startVersion int64, limit int) (*LayerVersionList, *Response, error) {
	q := ListOptions{Limit: limit}.query()
	if startVersion > 0 {
		q.Set("startVersion", strconv.FormatInt(startVersion, 10))
	}
	var out LayerVersionList
	r, err := c.Do(ctx, Request{Method: "GET", Path: layerPath(layer) + "/versions", Query: q}, &out)
	return &out, r, err
}

// GetLayerVersion returns one version of a layer.
func (c *Client) GetLayerVersion(ctx context.Context, layer string, version int64) (*fc.Layer, *Response, error) {
	var out fc.Layer
	r, err := c.Do(ctx, Request{Method: "GET", Path: layerPath(layer) + "/versions/" + strconv.FormatInt(version, 10)}, &out)
	return &out, r, err
}

// GetLayerVersionByARN returns the layer version an ARN names (either
// form: "<hash>#<name>#<version>" or acs:fc:...:layers/<name>/versions/<v>).
func (c *Client) GetLayerVersionByARN(ctx context.Context, arn string) (*fc.Layer, *Response, error) {
	var out fc.Layer
	r, err := c.Do(ctx, Request{Method: "GET", Path: api + "/layerarn/" + url.PathEscape(arn)}, &out)
	return &out, r, err
}

// DeleteLayerVersion deletes one version of a layer.
func (c *Client) DeleteLayerVersion(ctx context.Context, layer string, version int64) (*Response, error) {
	return c.Do(ctx, Request{Method: "DELETE", Path: layerPath(layer) + "/versions/" + strconv.FormatInt(version, 10)}, nil)
}

// PutLayerACL makes a layer public or private.
func (c *Client) PutLayerACL(ctx context.Context, layer string, public bool) (*Response, error) {
	return c.Do(ctx, Request{Method: "PUT", Path: layerPath(layer) + "/acl", Query: url.Values{"public": {strconv.FormatBool(public)}}}, nil)
}
