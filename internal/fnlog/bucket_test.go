package fnlog_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fnlog"
)

// sameBucket returns n request IDs stored under the same subject as id,
// id among them, the first with id as a prefix.
func sameBucket(t *testing.T, id string, n int) []string {
	t.Helper()
	want := fnlog.Subject("svc", "f", id)
	out := []string{id}
	for i := 0; len(out) < n && i < 100000; i++ {
		if c := fmt.Sprint(id, i); fnlog.Subject("svc", "f", c) == want {
			out = append(out, c)
		}
	}
	if len(out) < n {
		t.Fatalf("found %d request IDs in the bucket of %s, want %d", len(out), id, n)
	}
	return out
}

// Requests share a bucket (subject); a query by request ID returns that
// request's lines only, in order, page by page, also when another
// request's ID starts with it or another line's text names it.
func TestStoreQueryRequestSharingBucket(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	ids := sameBucket(t, "r1", 3)
	for i := range 30 {
		for _, id := range ids {
			s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: id, Message: fmt.Sprint(id, " ", i)})
		}
	}
	s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: ids[1], Message: `"requestId":"r1"`})
	s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: `,"requestId":"r1"`})
	waitStored(t, s, fnlog.Filter{Service: "svc"}, 92)

	f := fnlog.Filter{Service: "svc", Function: "f", RequestID: "r1"}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 30 {
			t.Fatalf("more than 30 pages of 7 lines for 30 lines")
		}
		p, err := s.Query(t.Context(), f, 7, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range decode(t, p.Lines) {
			if r.RequestID != "r1" {
				t.Fatalf("query for r1 returned a line of %q: %q", r.RequestID, r.Message)
			}
			got = append(got, r.Message)
		}
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprint("r1 ", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages of r1 = %q, want %q", got, want)
	}
	if p := mustQuery(t, s, fnlog.Filter{Service: "svc", RequestID: ids[1], Contains: "requestId"}); len(p.Lines) != 1 {
		t.Errorf("query for %s containing requestId = %d lines, want 1", ids[1], len(p.Lines))
	}
}

// However many requests a function serves, its lines go to at most 33
// subjects (32 buckets and lines of no request).
func TestStoreSubjectsBounded(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	for i := range 1000 {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: fmt.Sprintf("req-%d", i), Message: "x"})
	}
	s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: "boot"})
	waitStored(t, s, fnlog.Filter{Service: "svc"}, 1001)
	st, err := b.JS.Stream(t.Context(), broker.StreamLogs)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(info.State.Subjects); n < 2 || n > 33 {
		t.Errorf("lines of 1000 requests stored under %d subjects, want 2 to 33: %v", n, info.State.Subjects)
	}
	if info.State.Msgs >= 1000 {
		t.Errorf("lines of 1000 requests stored as %d messages, want them grouped", info.State.Msgs)
	}
}
