package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/fnlog"
)

// NextTokenHeader carries the token of a log query's next page.
const NextTokenHeader = "X-Openfc-Next-Token"

// queryLogs serves GET /openfc/v1/logs: stored function log lines as JSON
// lines, oldest first, or with follow=true a live tail as Server-Sent
// Events. Filters: service, function, qualifier, requestId, start and end
// (RFC 3339, or a duration such as 10m meaning that long ago), contains;
// limit and nextToken page through the answer.
func (s *Server) queryLogs(w http.ResponseWriter, r *http.Request) error {
	if s.logs == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionLogsDisabled", "function log storage is off on this node (--function-logs=false)")
	}
	q := r.URL.Query()
	f, err := s.logFilter(q)
	if err != nil {
		return err
	}
	token := q.Get("nextToken")
	if r.URL.Path == "/openfc/v1/logs/tail" || q.Get("follow") == "true" {
		if id := r.Header.Get("Last-Event-ID"); id != "" && token == "" {
			// An EventSource reconnecting resumes after the last line it
			// got: each event's ID is the token of the position after it.
			token = id
		}
		return s.followLogs(w, r, f, token)
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > fnlog.MaxLimit {
			return fc.InvalidArgument("limit %q: use a number from 1 to %d", v, fnlog.MaxLimit)
		}
	}
	page, err := s.logs.Query(r.Context(), f, limit, token)
	if errors.Is(err, fnlog.ErrBadToken) {
		return fc.InvalidArgument("nextToken %q was not handed out by a log query", token)
	}
	if err != nil {
		return fmt.Errorf("query logs: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	if page.Next != "" {
		h.Set(NextTokenHeader, page.Next)
	}
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 64<<10)
	for _, l := range page.Lines {
		buf = append(append(buf, l...), '\n')
		if len(buf) >= 64<<10 {
			if _, err := w.Write(buf); err != nil {
				return nil // the client went away
			}
			buf = buf[:0]
		}
	}
	w.Write(buf)
	return nil
}

// logFilter reads the filters of a log query; bad values are an
// InvalidArgument naming each problem.
func (s *Server) logFilter(q map[string][]string) (fnlog.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := fnlog.Filter{Service: get("service"), Function: get("function"), Qualifier: get("qualifier"),
		RequestID: get("requestId"), Contains: get("contains")}
	var errs []string
	if f.Function != "" && f.Service == "" {
		errs = append(errs, "function needs service")
	}
	now := s.now()
	for _, p := range []struct {
		key string
		to  *time.Time
	}{{"start", &f.Start}, {"end", &f.End}} {
		v := get(p.key)
		if v == "" {
			continue
		}
		t, err := parseLogTime(v, now)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %q: use RFC 3339 (2006-01-02T15:04:05Z) or a duration ago such as 10m", p.key, v))
			continue
		}
		*p.to = t
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		errs = append(errs, "end is before start")
	}
	if len(errs) > 0 {
		return f, fc.InvalidArgument("%s", strings.Join(errs, "; "))
	}
	return f, nil
}

// parseLogTime parses an RFC 3339 time or a duration before now.
func parseLogTime(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, errors.New("bad time")
	}
	return now.Add(-d), nil
}

// tailHeartbeat is how often an idle tail sends a comment, so proxies and
// clients see the stream alive.
const tailHeartbeat = 15 * time.Second

// followLogs streams matching lines as Server-Sent Events: one event per
// line, its id the token of the position after it (Last-Event-ID resumes
// there), its data the line's JSON, in the order they were stored.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request, f fnlog.Filter, token string) error {
	rc := http.NewResponseController(w)
	// A tail lasts as long as the client wants, beyond the server's write
	// timeout.
	_ = rc.SetWriteDeadline(time.Time{}) // not every ResponseWriter supports it; then the server's timeout ends the tail
	type event struct {
		id   string
		line []byte
	}
	ctx := r.Context()
	events := make(chan event, 256)
	errc := make(chan error, 1)
	go func() {
		errc <- s.logs.Follow(ctx, f, token, func(next string, line []byte) error {
			select {
			case events <- event{next, line}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": openfc log tail\n\n")
	rc.Flush()
	beat := time.NewTicker(tailHeartbeat)
	defer beat.Stop()
	var buf []byte
	for {
		select {
		case e := <-events:
			buf = buf[:0]
			buf = append(append(buf, "id: "...), e.id...)
			buf = append(buf, "\ndata: "...)
			buf = append(append(buf, e.line...), "\n\n"...)
			// More lines waiting go out in the same write.
			for more := true; more && len(buf) < 64<<10; {
				select {
				case e := <-events:
					buf = append(append(buf, "id: "...), e.id...)
					buf = append(buf, "\ndata: "...)
					buf = append(append(buf, e.line...), "\n\n"...)
				default:
					more = false
				}
			}
			if _, err := w.Write(buf); err != nil {
				return nil // the client went away
			}
			rc.Flush()
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			rc.Flush()
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			s.logger.Warn("log tail ended", "request_id", RequestID(ctx), "err", err)
			fmt.Fprint(w, "event: error\ndata: {\"ErrorCode\":\"InternalServerError\",\"ErrorMessage\":\"the log tail ended\"}\n\n")
			return nil
		}
	}
}
