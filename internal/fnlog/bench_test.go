package fnlog_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/testenv"
)

// benchLines is how many lines BenchmarkQuery stores: 10 functions,
// 100,000 requests of 10 lines each, eight requests at a time interleaved
// as concurrent invocations write them.
const benchLines = 1_000_000

func benchRequestID(i int) string { return fmt.Sprintf("%08x-1b7d-4c3e-9a1e-2a5d9b7c0e11", i) }

// fill stores benchLines lines of 10 functions as fast as Add takes them
// and waits until JetStream holds them all.
func fill(b *testing.B) (*fnlog.Store, *broker.Broker) { return fillAt(b, 10, 0) }

// fillAt stores benchLines lines of the given number of functions, rate
// lines a second (0: as fast as Add takes them), and waits until
// JetStream holds them all.
func fillAt(b *testing.B, functions, rate int) (*fnlog.Store, *broker.Broker) {
	b.Helper()
	br := natsWith(b, 0, 4<<30)
	s := startStore(b, br, benchLines)
	start := time.Now()
	t0 := time.Now().Add(-time.Hour)
	const perRequest, together = 10, 8
	n := 0
	for group := 0; n < benchLines; group += together {
		for line := range perRequest {
			for r := group; r < group+together && n < benchLines; r++ {
				if rate > 0 && n%500 == 0 {
					time.Sleep(time.Until(start.Add(time.Duration(n) * time.Second / time.Duration(rate))))
				}
				s.Add(fnlog.Record{Time: t0.Add(time.Duration(n) * time.Microsecond), Service: "svc", Function: fmt.Sprint("fn", r%functions),
					Qualifier: "LATEST", Version: "LATEST", InstanceID: "c-19af3b2c11-1", RequestID: benchRequestID(r), Stream: "stdout",
					Message: fmt.Sprintf("2026-11-25T04:38:11.637Z %s [INFO] handled item %d of the request, status ok", benchRequestID(r), line)})
				n++
			}
		}
	}
	// Lines are stored in order, so once the last request's lines are
	// there, all are.
	lastID, lastFn := benchRequestID(benchLines/10-1), fmt.Sprint("fn", (benchLines/10-1)%functions)
	testenv.Eventually(b, 5*time.Minute, func() error {
		p, err := s.Query(b.Context(), fnlog.Filter{Service: "svc", Function: lastFn, RequestID: lastID}, 0, "")
		if err != nil {
			return err
		}
		if len(p.Lines) != 10 {
			return fmt.Errorf("the last request has %d of its 10 lines stored", len(p.Lines))
		}
		return nil
	})
	st, err := br.JS.Stream(b.Context(), broker.StreamLogs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d lines in %d messages, %d MB", benchLines, st.CachedInfo().State.Msgs, st.CachedInfo().State.Bytes>>20)
	if d := s.Dropped(); d != 0 {
		b.Fatalf("%d lines dropped while filling", d)
	}
	b.Logf("stored in %v", time.Since(start))
	return s, br
}

// BenchmarkQuery measures log queries over 1,000,000 stored lines:
// requestId finds one request's 10 lines through the subject index;
// fullscan, the baseline, finds the same lines by their text, reading the
// whole stream (what a store without the per-request subject would do).
func BenchmarkQuery(b *testing.B) {
	s, _ := fill(b)
	b.Run("requestId", func(b *testing.B) { benchRequestQuery(b, s, 10) })
	b.Run("fullscan", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			id := benchRequestID(i * 7919 % (benchLines / 10))
			i++
			f := fnlog.Filter{Service: "svc", Contains: id}
			var lines int
			token := ""
			for {
				p, err := s.Query(b.Context(), f, 0, token)
				if err != nil {
					b.Fatal(err)
				}
				lines += len(p.Lines)
				if p.Next == "" {
					break
				}
				token = p.Next
			}
			if lines != 10 {
				b.Fatalf("scan for %s found %d lines, want 10", id, lines)
			}
		}
	})
}

// BenchmarkQueryPaced is BenchmarkQuery/requestId's worst case: all
// 1,000,000 lines are one function's, stored at 24,000 lines a second (a
// node's top warm rate, 8,000 calls a second of 3 lines each), so every
// bucket gets a small message every publish window and a query by request
// ID reads the most messages. Filling takes about 45 s.
func BenchmarkQueryPaced(b *testing.B) {
	s, _ := fillAt(b, 1, 24000)
	b.Run("requestId", func(b *testing.B) { benchRequestQuery(b, s, 1) })
}

// benchRequestQuery queries one request's 10 lines at a time, a different
// request each time.
func benchRequestQuery(b *testing.B, s *fnlog.Store, functions int) {
	b.ReportAllocs()
	i := 0
	var took []time.Duration
	defer func() { reportLatency(b, took) }()
	for b.Loop() {
		id := benchRequestID(i * 7919 % (benchLines / 10))
		i++
		start := time.Now()
		p, err := s.Query(b.Context(), fnlog.Filter{Service: "svc", Function: fmt.Sprint("fn", (i-1)*7919%(benchLines/10)%functions), RequestID: id}, 0, "")
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		if len(p.Lines) != 10 {
			b.Fatalf("query for %s returned %d lines, want 10", id, len(p.Lines))
		}
	}
}

// reportLatency adds the p50, p99 and max of one query, in ms.
func reportLatency(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
