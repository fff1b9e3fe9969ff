package fnlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/testenv"
)

// natsWith starts an embedded JetStream with the given log stream limits.
func natsWith(t testing.TB, maxAge time.Duration, maxBytes int64) *broker.Broker {
	t.Helper()
	b, err := broker.Start(t.Context(), broker.Options{DataDir: t.TempDir(), Logger: testenv.Logger(t),
		LogsMaxAge: maxAge, LogsMaxBytes: maxBytes})
	if err != nil {
		t.Fatalf("start NATS: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	return b
}

func newStore(t testing.TB, b *broker.Broker, buffer int) *fnlog.Store {
	t.Helper()
	s, err := fnlog.NewStore(fnlog.StoreOptions{Conn: b.Conn, BufferLines: buffer, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startStore(t testing.TB, b *broker.Broker, buffer int) *fnlog.Store {
	t.Helper()
	s := newStore(t, b, buffer)
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func decode(t testing.TB, lines [][]byte) []fnlog.Record {
	t.Helper()
	out := make([]fnlog.Record, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l, &out[i]); err != nil {
			t.Fatalf("stored line %q: %v", l, err)
		}
	}
	return out
}

func messages(rs []fnlog.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return out
}

// waitStored polls until a query of f returns want lines.
func waitStored(t *testing.T, s *fnlog.Store, f fnlog.Filter, want int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		p, err := s.Query(t.Context(), f, fnlog.MaxLimit, "")
		if err != nil {
			return err
		}
		if len(p.Lines) != want {
			return fmt.Errorf("%d lines stored, want %d", len(p.Lines), want)
		}
		return nil
	})
}

func TestStoreQueryFilters(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	t0 := time.Now().Add(-5 * time.Second) // lines are stored just after they are written
	add := func(fn, q, rid, stream, msg string, at time.Duration) {
		s.Add(fnlog.Record{Time: t0.Add(at), Service: "svc", Function: fn, Qualifier: q, Version: "1",
			InstanceID: "c-1", RequestID: rid, Stream: stream, Message: msg})
	}
	add("a", "LATEST", "r1", "stdout", "hello one", 0)
	add("a", "prod", "r2", "stderr", "hello two", time.Second)
	add("b", "LATEST", "r3", "stdout", "other function", 2*time.Second)
	add("a", "LATEST", "", "stdout", "boot <no request> & \"quoted\"", 3*time.Second)
	add("a", "LATEST", "r1", "stdout", "bye one", 4*time.Second)
	add("a", "LATEST", "odd id.with*dots", "stdout", "odd request", 5*time.Second)
	waitStored(t, s, fnlog.Filter{Service: "svc"}, 6)

	for _, tc := range []struct {
		name string
		f    fnlog.Filter
		want []string
	}{
		{"function", fnlog.Filter{Service: "svc", Function: "a"}, []string{"hello one", "hello two", "boot <no request> & \"quoted\"", "bye one", "odd request"}},
		{"request", fnlog.Filter{Service: "svc", Function: "a", RequestID: "r1"}, []string{"hello one", "bye one"}},
		{"request without function", fnlog.Filter{RequestID: "r3"}, []string{"other function"}},
		{"odd request ID", fnlog.Filter{Service: "svc", Function: "a", RequestID: "odd id.with*dots"}, []string{"odd request"}},
		{"qualifier", fnlog.Filter{Service: "svc", Function: "a", Qualifier: "prod"}, []string{"hello two"}},
		{"contains", fnlog.Filter{Service: "svc", Contains: "one"}, []string{"hello one", "bye one"}},
		{"contains escaped text", fnlog.Filter{Service: "svc", Contains: "<no request> & \"q"}, []string{"boot <no request> & \"quoted\""}},
		{"time range", fnlog.Filter{Service: "svc", Function: "a", Start: t0.Add(time.Second), End: t0.Add(3 * time.Second)}, []string{"hello two", "boot <no request> & \"quoted\""}},
		{"nothing", fnlog.Filter{Service: "svc", Function: "a", RequestID: "nope"}, nil},
		{"other service", fnlog.Filter{Service: "other"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Query(t.Context(), tc.f, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			got := messages(decode(t, p.Lines))
			if tc.f.RequestID == "" {
				// Lines of different requests written together may come
				// grouped by request.
				slices.Sort(got)
				slices.Sort(tc.want)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Query(%+v) = %q, want %q", tc.f, got, tc.want)
			}
			if p.Next != "" {
				t.Errorf("Query(%+v) next token = %q, want none", tc.f, p.Next)
			}
		})
	}

	rs := decode(t, mustQuery(t, s, fnlog.Filter{Service: "svc", Function: "a", RequestID: "r2"}).Lines)
	want := fnlog.Record{Time: t0.Add(time.Second), Service: "svc", Function: "a", Qualifier: "prod", Version: "1",
		InstanceID: "c-1", RequestID: "r2", Stream: "stderr", Message: "hello two"}
	if len(rs) != 1 || !rs[0].Time.Equal(want.Time) || fmt.Sprint(rs[0].Service, rs[0].Function, rs[0].Qualifier, rs[0].Version, rs[0].InstanceID, rs[0].RequestID, rs[0].Stream) !=
		fmt.Sprint(want.Service, want.Function, want.Qualifier, want.Version, want.InstanceID, want.RequestID, want.Stream) {
		t.Errorf("stored record = %+v, want %+v", rs, want)
	}
}

func mustQuery(t *testing.T, s *fnlog.Store, f fnlog.Filter) fnlog.Page {
	t.Helper()
	p, err := s.Query(t.Context(), f, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStoreQueryPagination(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	for i := range 25 {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: "r", Stream: "stdout", Message: fmt.Sprintf("line %02d", i)})
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: "other", Stream: "stdout", Message: "noise"})
	}
	f := fnlog.Filter{Service: "svc", Function: "f", RequestID: "r"}
	waitStored(t, s, f, 25)
	var got []string
	token, pages := "", 0
	for {
		p, err := s.Query(t.Context(), f, 10, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, messages(decode(t, p.Lines))...)
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("line %02d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Errorf("paged through %d pages: %q, want 3 pages: %q", pages, got, want)
	}
	if _, err := s.Query(t.Context(), f, 10, "bogus"); err != fnlog.ErrBadToken {
		t.Errorf("Query with a bad token: err = %v, want ErrBadToken", err)
	}
}

func TestStoreFollowInOrder(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan string, 1000)
	errc := make(chan error, 1)
	f := fnlog.Filter{Service: "svc", Function: "f"}
	go func() {
		errc <- s.Follow(ctx, f, "", func(_ string, line []byte) error {
			var r fnlog.Record
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			got <- r.Message
			return nil
		})
	}()
	// Lines stored before the tail started are not sent; wait until the
	// tail sees a marker line, then write the numbered ones.
	testenv.Eventually(t, 10*time.Second, func() error {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: "ready"})
		select {
		case <-got:
			return nil
		case <-time.After(50 * time.Millisecond):
			return fmt.Errorf("tail not started")
		}
	})
	for i := range 500 {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: fmt.Sprint("r", i%7), Message: fmt.Sprint(i)})
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "g", Message: "other function"})
	}
	// Each request's lines come in the order written.
	last := map[int]int{}
	deadline := time.After(30 * time.Second)
	for n := 0; n < 500; {
		select {
		case m := <-got:
			if m == "ready" {
				continue
			}
			var i int
			if _, err := fmt.Sscan(m, &i); err != nil {
				t.Fatalf("tail of svc/f sent %q", m)
			}
			if prev, ok := last[i%7]; ok && i != prev+7 || !ok && i != i%7 {
				t.Fatalf("tail line %d of request r%d after line %d, want the request's lines in order", i, i%7, prev)
			}
			last[i%7] = i
			n++
		case err := <-errc:
			t.Fatalf("Follow ended: %v", err)
		case <-deadline:
			t.Fatalf("tail got %d of 500 lines", len(last))
		}
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("Follow after cancel = %v, want context.Canceled", err)
	}
}

func TestStoreRetention(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		b := natsWith(t, 0, 256<<10)
		s := startStore(t, b, 0)
		big := strings.Repeat("x", 1000)
		for i := range 500 {
			s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: fmt.Sprintf("%04d %s", i, big)})
		}
		testenv.Eventually(t, 10*time.Second, func() error {
			info, err := b.JS.Stream(t.Context(), broker.StreamLogs)
			if err != nil {
				return err
			}
			st := info.CachedInfo().State
			p, err := s.Query(t.Context(), fnlog.Filter{Service: "svc", Contains: "0499 "}, 0, "")
			if err != nil {
				return err
			}
			if len(p.Lines) != 1 {
				return fmt.Errorf("the last line is not stored yet")
			}
			if st.Bytes > 256<<10 {
				return fmt.Errorf("stream holds %d bytes, over the 256 KiB limit", st.Bytes)
			}
			return nil
		})
		p, err := s.Query(t.Context(), fnlog.Filter{Service: "svc", Function: "f"}, fnlog.MaxLimit, "")
		if err != nil {
			t.Fatal(err)
		}
		rs := decode(t, p.Lines)
		if len(rs) == 0 || len(rs) >= 500 || !strings.HasPrefix(rs[len(rs)-1].Message, "0499 ") || strings.HasPrefix(rs[0].Message, "0000 ") {
			t.Errorf("after the size limit, %d lines remain from %.4q to %.4q; want the newest few ending at 0499", len(rs), rs[0].Message, rs[len(rs)-1].Message)
		}
	})
	t.Run("age", func(t *testing.T) {
		b := natsWith(t, time.Second, 0)
		s := startStore(t, b, 0)
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: "old"})
		waitStored(t, s, fnlog.Filter{Service: "svc"}, 1)
		// The line expires after a second; the server checks ages itself.
		waitStored(t, s, fnlog.Filter{Service: "svc"}, 0)
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: "new"})
		waitStored(t, s, fnlog.Filter{Service: "svc"}, 1)
	})
}

func TestStoreDropsWhenBufferFull(t *testing.T) {
	b := natsWith(t, 0, 0)
	// Not started: nothing drains the buffer of 100 lines, as when
	// JetStream cannot keep up with a flooding function.
	s := newStore(t, b, 100)
	for i := range 1000 {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", Message: fmt.Sprint(i)})
	}
	if d := s.Dropped(); d != 900 {
		t.Errorf("Dropped() = %d after 1000 lines into a buffer of 100, want 900", d)
	}
	// Once started, the buffered lines are stored.
	s.Start()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	waitStored(t, s, fnlog.Filter{Service: "svc"}, 100)
}

// A tail started at a token (an SSE Last-Event-ID, or a query's next
// token) resumes at that line, also in the middle of a stored message.
func TestStoreFollowFromToken(t *testing.T) {
	b := natsWith(t, 0, 0)
	s := startStore(t, b, 0)
	for i := range 10 {
		s.Add(fnlog.Record{Time: time.Now(), Service: "svc", Function: "f", RequestID: "r", Message: fmt.Sprint(i)})
	}
	f := fnlog.Filter{Service: "svc", Function: "f", RequestID: "r"}
	waitStored(t, s, f, 10)
	p, err := s.Query(t.Context(), f, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(messages(decode(t, p.Lines))) != "[0 1 2]" || p.Next == "" {
		t.Fatalf("first page = %q, next %q; want 0 1 2 and a token", messages(decode(t, p.Lines)), p.Next)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []string
	var ids []string
	err = s.Follow(ctx, f, p.Next, func(next string, line []byte) error {
		got = append(got, messages(decode(t, [][]byte{line}))...)
		ids = append(ids, next)
		if len(got) == 7 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled || fmt.Sprint(got) != "[3 4 5 6 7 8 9]" {
		t.Fatalf("Follow from %q = %q, %v; want 3..9, then canceled", p.Next, got, err)
	}
	// Each line's token resumes after it.
	p, err = s.Query(t.Context(), f, 0, ids[3])
	if err != nil {
		t.Fatal(err)
	}
	if g := messages(decode(t, p.Lines)); fmt.Sprint(g) != "[7 8 9]" {
		t.Errorf("Query from the token after line 6 = %q, want 7 8 9", g)
	}
}
