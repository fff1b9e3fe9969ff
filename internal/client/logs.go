package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogLine is one stored line of function output.
type LogLine struct {
	Time       time.Time `json:"time"`
	Service    string    `json:"service"`
	Function   string    `json:"function"`
	Qualifier  string    `json:"qualifier,omitempty"`
	Version    string    `json:"version,omitempty"`
	InstanceID string    `json:"instanceId"`
	RequestID  string    `json:"requestId,omitempty"`
	Stream     string    `json:"stream"`
	Message    string    `json:"message"`
}

// LogQuery selects function log lines; empty fields match everything.
type LogQuery struct {
	Service, Function, Qualifier, RequestID string
	// Start and End bound the lines' time: RFC 3339, or a duration such as
	// "10m" meaning that long ago.
	Start, End string
	// Contains keeps lines whose message contains the text.
	Contains string
	// Limit is the page size (server default 100); NextToken continues a
	// previous page.
	Limit     int
	NextToken string
}

func (q LogQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"service": q.Service, "function": q.Function, "qualifier": q.Qualifier,
		"requestId": q.RequestID, "start": q.Start, "end": q.End, "contains": q.Contains, "nextToken": q.NextToken} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// QueryLogs returns one page of stored lines, oldest first, and the token
// of the next page ("" when this was the last).
func (c *Client) QueryLogs(ctx context.Context, q LogQuery) ([]LogLine, string, error) {
	var body []byte
	r, err := c.Do(ctx, Request{Method: "GET", Path: "/openfc/v1/logs", Query: q.values()}, &body)
	if err != nil {
		return nil, "", err
	}
	var out []LogLine
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l LogLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, "", fmt.Errorf("decode log line: %w", err)
		}
		out = append(out, l)
	}
	return out, r.Header.Get("X-Openfc-Next-Token"), nil
}

// TailLogs follows the lines matching q as they are stored (Server-Sent
// Events from GET /openfc/v1/logs?follow=true), calling fn for each in
// order, until ctx ends (then it returns ctx's error) or fn fails. q.Start
// replays stored lines from that time first.
func (c *Client) TailLogs(ctx context.Context, q LogQuery, fn func(LogLine) error) error {
	v := q.values()
	v.Set("follow", "true")
	// A tail has no overall timeout: copy the client without one, sharing
	// its transport.
	hc := *c.hc
	hc.Timeout = 0
	cc := *c
	cc.hc = &hc
	resp, err := cc.Send(ctx, Request{Method: "GET", Path: "/openfc/v1/logs", Query: v})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Fc-Request-Id")}
		if err := json.Unmarshal(body, e); err != nil || e.Code == "" {
			e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(body))
		}
		return e
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			if event == "error" {
				e := &Error{Status: http.StatusInternalServerError}
				_ = json.Unmarshal(data, e) // best effort: the message says enough
				return e
			}
			var l LogLine
			if err := json.Unmarshal(data, &l); err != nil {
				return fmt.Errorf("decode log line: %w", err)
			}
			if err := fn(l); err != nil {
				return err
			}
		case line == "":
			event = ""
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("log tail: %w", err)
	}
	return fmt.Errorf("log tail: the server closed the stream")
}
