package fnlog

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// MaxLine is the longest line kept whole; longer lines are cut with
// TruncMarker appended (FC's 32 KB single-line limit).
const MaxLine = 32 << 10

// TruncMarker ends a line that was cut at MaxLine.
const TruncMarker = " [truncated by openfc]"

// TailBytes is how much of a request's log FC returns in X-Fc-Log-Result.
const TailBytes = 4 << 10

// Line is one line of function output.
type Line struct {
	Time      time.Time
	Stream    string // "stdout" or "stderr"
	RequestID string // "" when the line belongs to no request
	Text      string
}

// Sink receives every line; it must not block (issue #7 buffers them).
type Sink func(Line)

// Router attributes one instance's output lines to requests.
type Router struct {
	sink Sink

	// mu guards current, active and tails.
	mu      sync.Mutex
	current string              // request between its Start and End markers
	active  map[string]struct{} // every request between its Start and End markers
	tails   map[string]*Tail    // subscribed requests
}

// NewRouter returns a Router feeding sink (nil: no sink).
func NewRouter(sink Sink) *Router {
	return &Router{sink: sink, tails: make(map[string]*Tail), active: make(map[string]struct{})}
}

// Tail collects the last TailBytes of one request's log lines.
type Tail struct {
	r     *Router
	buf   []byte
	ended chan struct{} // closed when the request's End marker was seen
	done  bool
}

// Bytes returns a copy of the collected tail; it is safe to call while
// lines are still routed.
func (t *Tail) Bytes() []byte {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// Ended is closed once the runtime printed the request's End marker, so a
// caller knows every line of the request has been routed.
func (t *Tail) Ended() <-chan struct{} { return t.ended }

// Subscribe starts collecting requestID's lines; call Unsubscribe when done.
func (r *Router) Subscribe(requestID string) *Tail {
	t := &Tail{r: r, ended: make(chan struct{})}
	r.mu.Lock()
	r.tails[requestID] = t
	r.mu.Unlock()
	return t
}

// Unsubscribe stops collecting and returns the tail.
func (r *Router) Unsubscribe(requestID string) {
	r.mu.Lock()
	delete(r.tails, requestID)
	r.mu.Unlock()
}

// Writer returns an io.Writer for one stream of the instance.
func (r *Router) Writer(stream string) *StreamWriter {
	return &StreamWriter{r: r, stream: stream}
}

const (
	startPrefix = "FC "
)

// route attributes and delivers one complete line.
func (r *Router) route(stream, text string) {
	now := time.Now()
	r.mu.Lock()
	id, marker := markerID(text)
	switch marker {
	case "Start":
		r.current = id
		r.active[id] = struct{}{}
	case "":
		// The built-in loggers prefix "<time> <requestID> [LEVEL]"; such a
		// line belongs to its request whatever the markers say (instance
		// concurrency > 1). Only IDs of running or subscribed requests
		// count, so user text with a second word is not misread.
		if f := secondField(text); f != "" {
			if _, ok := r.active[f]; ok {
				id = f
			} else if _, ok := r.tails[f]; ok {
				id = f
			}
		}
		if id == "" {
			id = r.current
		}
	}
	if t := r.tails[id]; t != nil && id != "" {
		t.add(text)
		// Only the invocation's End ends its tail: an initializer before it
		// runs under the same request ID.
		if marker == "End" && strings.HasPrefix(text, "FC Invoke End") && !t.done {
			t.done = true
			close(t.ended)
		}
	}
	if marker == "End" {
		delete(r.active, id)
		if r.current == id {
			r.current = ""
		}
	}
	r.mu.Unlock()
	if r.sink != nil {
		r.sink(Line{Time: now, Stream: stream, RequestID: id, Text: text})
	}
}

func (t *Tail) add(line string) {
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > TailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-TailBytes:]...)
	}
}

// markerID recognises "FC <Phase> Start|End RequestId: <id>[, ...]" and
// returns the ID and "Start" or "End".
func markerID(line string) (id, kind string) {
	if !strings.HasPrefix(line, startPrefix) {
		return "", ""
	}
	i := strings.Index(line, "RequestId: ")
	if i < 0 {
		return "", ""
	}
	head := line[:i]
	switch {
	case strings.HasSuffix(head, " Start "):
		kind = "Start"
	case strings.HasSuffix(head, " End "):
		kind = "End"
	default:
		return "", ""
	}
	id = line[i+len("RequestId: "):]
	if j := strings.IndexAny(id, ", "); j >= 0 {
		id = id[:j]
	}
	return id, kind
}

// secondField returns the second space-separated field of a line.
func secondField(line string) string {
	i := strings.IndexByte(line, ' ')
	if i < 0 {
		return ""
	}
	rest := line[i+1:]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		return rest[:j]
	}
	return ""
}

// StreamWriter splits one output stream into lines for its Router. It is
// used from one goroutine (the driver's copier of that stream).
type StreamWriter struct {
	r       *Router
	stream  string
	partial []byte
	cut     bool // the current line was already cut and delivered
}

// Write implements io.Writer.
func (w *StreamWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) > MaxLine {
				w.emit()
				w.cut = true
			}
			break
		}
		w.partial = append(w.partial, p[:i]...)
		p = p[i+1:]
		if !w.cut || len(w.partial) > 0 {
			w.emit()
		}
		w.cut = false
	}
	return n, nil
}

func (w *StreamWriter) emit() {
	line := w.partial
	if len(line) > MaxLine {
		line = append(line[:MaxLine:MaxLine], TruncMarker...)
	}
	if w.cut {
		// The rest of a cut line is dropped rather than delivered as a
		// line of its own.
		w.partial = w.partial[:0]
		return
	}
	w.r.route(w.stream, strings.TrimSuffix(string(line), "\r"))
	w.partial = w.partial[:0]
}

// Close delivers a final line without a newline.
func (w *StreamWriter) Close() error {
	if len(w.partial) > 0 {
		w.emit()
	}
	return nil
}
