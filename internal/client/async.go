package client

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// GetStatefulAsyncInvocation returns the status of a stateful async
// invocation (spec §2.9).
func (c *Client) GetStatefulAsyncInvocation(ctx context.Context, service, qualifier, function, id string) (*fc.StatefulAsyncInvocation, *Response, error) {
	var out fc.StatefulAsyncInvocation
	r, err := c.Do(ctx, Request{Method: "GET", Path: functionPath(service, qualifier, function) + "/stateful-async-invocations/" + seg(id)}, &out)
	return &out, r, err
}

// StopStatefulAsyncInvocation stops a queued or running stateful async
// invocation.
func (c *Client) StopStatefulAsyncInvocation(ctx context.Context, service, qualifier, function, id string) (*Response, error) {
	return c.Do(ctx, Request{Method: "PUT", Path: functionPath(service, qualifier, function) + "/stateful-async-invocations/" + seg(id)}, nil)
}

// DeadLetterQuery selects dead letters: by service (and function), or by
// IDs; Limit and NextToken page a listing.
type DeadLetterQuery struct {
	Service, Function string
	IDs               []uint64
	Limit             int
	NextToken         string
	// All selects every dead letter when nothing else does (redrive and
	// purge refuse an empty selection otherwise).
	All bool
}

func (q DeadLetterQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("serviceName", q.Service)
	set("functionName", q.Function)
	set("nextToken", q.NextToken)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(q.IDs) > 0 {
		ids := make([]string, len(q.IDs))
		for i, id := range q.IDs {
			ids[i] = strconv.FormatUint(id, 10)
		}
		v.Set("ids", strings.Join(ids, ","))
	}
	if q.All {
		v.Set("all", "true")
	}
	return v
}

const deadLetters = "/openfc/v1/async/dead-letters"

// DeadLetterList is a page of dead letters.
type DeadLetterList struct {
	DeadLetters []fc.DeadLetter `json:"deadLetters"`
	NextToken   string          `json:"nextToken,omitempty"`
}

// ListDeadLetters returns a page of dead letters, oldest first.
func (c *Client) ListDeadLetters(ctx context.Context, q DeadLetterQuery) (*DeadLetterList, error) {
	var out DeadLetterList
	_, err := c.Do(ctx, Request{Method: "GET", Path: deadLetters, Query: q.values()}, &out)
	return &out, err
}

// RedriveDeadLetters enqueues the selected dead letters again and returns
// them with their new request IDs.
func (c *Client) RedriveDeadLetters(ctx context.Context, q DeadLetterQuery) ([]fc.DeadLetter, error) {
	var out struct {
		Redriven []fc.DeadLetter `json:"redriven"`
	}
	_, err := c.Do(ctx, Request{Method: "POST", Path: deadLetters + "/redrive", Query: q.values()}, &out)
	return out.Redriven, err
}

// PurgeDeadLetters deletes the selected dead letters and returns how many.
func (c *Client) PurgeDeadLetters(ctx context.Context, q DeadLetterQuery) (int, error) {
	var out struct {
		Purged int `json:"purged"`
	}
	_, err := c.Do(ctx, Request{Method: "DELETE", Path: deadLetters, Query: q.values()}, &out)
	return out.Purged, err
}
