package fnlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/broker"
)

// Filter selects stored lines. Empty fields match everything.
type Filter struct {
	Service, Function, Qualifier, RequestID string
	// Start and End bound the lines' time (inclusive); zero means open.
	Start, End time.Time
	// Contains keeps lines whose message contains this text (case
	// sensitive, as grep -F).
	Contains string
}

// Page is one answer of Query: stored records as JSON (one object each, as
// Record encodes) and the token of the next page ("" when there is none).
type Page struct {
	Lines [][]byte
	Next  string
}

// Limits of Query.
const (
	// DefaultLimit is the page size when none is asked for.
	DefaultLimit = 100
	// MaxLimit is the largest page.
	MaxLimit = 10000
	// scanBudget bounds the messages one Query reads; a filter that the
	// subject index cannot narrow (text, qualifier) returns a partial page
	// and a next token rather than scanning without end.
	scanBudget = 200000
	// pageBytes bounds one page's size; a page that reaches it ends early
	// with a next token.
	pageBytes = 8 << 20
	// endSlack: a line is stored shortly after it was written, so lines of
	// time ≤ End sit before stream time End+endSlack.
	endSlack = 10 * time.Second
)

// ErrBadToken: the next token was not one Query handed out.
var ErrBadToken = errors.New("fnlog: bad next token")

// subject returns the subject filter of f.
func (f Filter) subject() string {
	tok := func(s string) string {
		if s == "" {
			return "*"
		}
		return Token(s)
	}
	if f.RequestID == "" {
		switch {
		case f.Service == "":
			return subjectPrefix + ">"
		case f.Function == "":
			return subjectPrefix + Token(f.Service) + ".>"
		}
		return subjectPrefix + Token(f.Service) + "." + Token(f.Function) + ".>"
	}
	return subjectPrefix + tok(f.Service) + "." + tok(f.Function) + "." + bucketToken(bucketOf(f.RequestID))
}

// matcher checks the stored records a subject filter passes against the
// rest of a Filter.
type matcher struct {
	f Filter
	// request is the text of f.RequestID's field as appendRecord writes
	// it: `,"requestId":"<id>"`. The bucket holds other requests' lines
	// too; this text occurs in a stored line only as that field (inside a
	// JSON string every quote is escaped), so a line is matched on it
	// without decoding.
	request []byte
	decode  bool
}

func (f Filter) matcher() *matcher {
	m := &matcher{f: f, decode: f.Qualifier != "" || f.Contains != "" || !f.Start.IsZero() || !f.End.IsZero()}
	if f.RequestID != "" {
		m.request = appendField(nil, "requestId", f.RequestID, false)
	}
	return m
}

// match reports whether raw (a stored record) passes f's checks that the
// subject filter does not do.
func (m *matcher) match(raw []byte) bool {
	f := m.f
	if m.request != nil && !bytes.Contains(raw, m.request) {
		return false
	}
	if !m.decode {
		return true
	}
	if f.Contains != "" && !strings.ContainsAny(f.Contains, "\"\\<>&\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r") &&
		!bytes.Contains(raw, []byte(f.Contains)) {
		return false // cheap reject before decoding: JSON keeps such text as is
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return false
	}
	switch {
	case f.RequestID != "" && r.RequestID != f.RequestID:
		return false
	case f.Qualifier != "" && r.Qualifier != f.Qualifier:
		return false
	case f.Contains != "" && !bytes.Contains([]byte(r.Message), []byte(f.Contains)):
		return false
	case !f.Start.IsZero() && r.Time.Before(f.Start):
		return false
	case !f.End.IsZero() && r.Time.After(f.End):
		return false
	}
	return true
}

// A position is a line in the stream: the sequence of its message and the
// line's index in it. Tokens are positions written "seq" or "seq-line".
type position struct {
	seq  uint64
	line int
}

func (p position) token() string {
	if p.line == 0 {
		return strconv.FormatUint(p.seq, 10)
	}
	return strconv.FormatUint(p.seq, 10) + "-" + strconv.Itoa(p.line)
}

func parseToken(token string) (position, error) {
	seqText, lineText, hasLine := strings.Cut(token, "-")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil || seq == 0 {
		return position{}, ErrBadToken
	}
	p := position{seq: seq}
	if hasLine {
		if p.line, err = strconv.Atoi(lineText); err != nil || p.line < 1 {
			return position{}, ErrBadToken
		}
	}
	return p, nil
}

// startAt returns where to start reading: at the token's position, or at
// the stream time of f.Start (a line is stored after it was written, so no
// line of f is earlier).
func (f Filter) startAt(token string) (jetstream.DeliverPolicy, position, *time.Time, error) {
	if token != "" {
		p, err := parseToken(token)
		if err != nil {
			return 0, position{}, nil, err
		}
		return jetstream.DeliverByStartSequencePolicy, p, nil, nil
	}
	if !f.Start.IsZero() {
		t := f.Start
		return jetstream.DeliverByStartTimePolicy, position{}, &t, nil
	}
	return jetstream.DeliverAllPolicy, position{}, nil, nil
}

// lines calls fn for each line of a stored message (JSON lines) from line
// index from on; fn returns false to stop.
func lines(data []byte, from int, fn func(i int, line []byte) bool) {
	for i := 0; len(data) > 0; i++ {
		line := data
		if j := bytes.IndexByte(data, '\n'); j >= 0 {
			line, data = data[:j], data[j+1:]
		} else {
			data = nil
		}
		if i < from || len(line) == 0 {
			continue
		}
		if !fn(i, line) {
			return
		}
	}
}

// Query returns up to limit lines matching f, oldest first, starting after
// token (from a previous Page; "" for the first page). A lookup by request
// ID reads only the bucket of that request (the subject index finds its
// messages) and skips other requests' lines without decoding them.
func (s *Store) Query(ctx context.Context, f Filter, limit int, token string) (Page, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	policy, pos, at, err := f.startAt(token)
	if err != nil {
		return Page{}, err
	}
	stream, err := s.js.Stream(ctx, broker.StreamLogs)
	if err != nil {
		return Page{}, fmt.Errorf("open log stream: %w", err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: f.subject(), DeliverPolicy: policy, OptStartSeq: pos.seq, OptStartTime: at,
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return Page{}, fmt.Errorf("log query consumer: %w", err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		// The consumer also goes away on its own after a minute idle.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, name) // best effort; see above
	}()
	q := query{f: f, m: f.matcher(), limit: limit, pending: cons.CachedInfo().NumPending, skip: pos}
	for q.pending > 0 && !q.done {
		// Fetch exactly what is pending, so the fetch never waits for
		// lines that are not there.
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		batch, err := cons.Fetch(int(min(q.pending, 512)), jetstream.FetchContext(fctx))
		if err == nil {
			err = q.read(batch)
		}
		cancel()
		if err != nil {
			return Page{}, err
		}
	}
	return q.page, nil
}

// query is the state of one Query while it reads batches.
type query struct {
	f       Filter
	m       *matcher
	limit   int
	pending uint64 // matching messages not read yet
	scanned int
	page    Page
	bytes   int
	done    bool
	skip    position // lines of message skip.seq before skip.line were on an earlier page
}

func (q *query) read(batch jetstream.MessageBatch) error {
	got := 0
	for m := range batch.Messages() {
		got++
		if q.done {
			continue // drain the batch
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("log query metadata: %w", err)
		}
		seq := md.Sequence.Stream
		q.pending = md.NumPending
		if !q.f.End.IsZero() && md.Timestamp.After(q.f.End.Add(endSlack)) {
			q.done = true // everything after is newer still
			continue
		}
		from := 0
		if seq == q.skip.seq {
			from = q.skip.line
		}
		lines(m.Data(), from, func(i int, line []byte) bool {
			if len(q.page.Lines) >= q.limit || q.scanned >= scanBudget || q.bytes >= pageBytes {
				// Full: the next page starts at this line.
				q.page.Next = position{seq, i}.token()
				q.done = true
				return false
			}
			q.scanned++
			if q.m.match(line) {
				q.page.Lines = append(q.page.Lines, line)
				q.bytes += len(line)
			}
			return true
		})
		if !q.done && q.pending > 0 && (len(q.page.Lines) >= q.limit || q.scanned >= scanBudget || q.bytes >= pageBytes) {
			q.page.Next = position{seq + 1, 0}.token()
			q.done = true
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return fmt.Errorf("log query fetch: %w", err)
	}
	if got == 0 {
		// Lines counted as pending were removed (age or size limit) while
		// we read.
		q.done = true
	}
	return nil
}

// Follow delivers the lines matching f as they are stored, in stream
// order, to fn until ctx ends or fn fails. It starts at token when one is
// given, else at f.Start, else with the next line stored. fn's next is the
// token of the position after the line, to resume a tail there.
func (s *Store) Follow(ctx context.Context, f Filter, token string, fn func(next string, line []byte) error) error {
	policy, pos, at, err := f.startAt(token)
	if err != nil {
		return err
	}
	if token == "" && f.Start.IsZero() {
		policy = jetstream.DeliverNewPolicy
	}
	cons, err := s.js.OrderedConsumer(ctx, broker.StreamLogs, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{f.subject()}, DeliverPolicy: policy, OptStartSeq: pos.seq, OptStartTime: at,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("log tail consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("log tail: %w", err)
	}
	mt := f.matcher()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("log tail: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("log tail metadata: %w", err)
		}
		seq := md.Sequence.Stream
		from := 0
		if seq == pos.seq {
			from = pos.line
		}
		n := bytes.Count(m.Data(), []byte("\n"))
		var ferr error
		lines(m.Data(), from, func(i int, line []byte) bool {
			if !mt.match(line) {
				return true
			}
			next := position{seq, i + 1}
			if i+1 >= n {
				next = position{seq + 1, 0}
			}
			ferr = fn(next.token(), line)
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
	}
}
