package flow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestFlowRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Options{})
		c.SetFunction("s", "f", Limits{InvocationsPerSecond: 2})
		c.SetAccount(Limits{InvocationsPerSecond: 100, Burst: 3})
		for i := range 2 {
			tk, err := c.Admit(t.Context(), "s", "f")
			if err != nil {
				t.Fatalf("call %d within the function's burst: %v", i, err)
			}
			tk.Release()
		}
		_, err := c.Admit(t.Context(), "s", "f")
		if !errors.Is(err, ErrRate) || Scope(err) != "function" {
			t.Fatalf("third call at once = %v, want the function's rate refusal", err)
		}
		// The other function is limited by the account only, whose burst
		// of 3 the first function has used 3 of.
		if _, err := c.Admit(t.Context(), "s", "g"); !errors.Is(err, ErrRate) || Scope(err) != "account" {
			t.Fatalf("another function = %v, want the account's rate refusal", err)
		}
		time.Sleep(time.Second)
		if _, err := c.Admit(t.Context(), "s", "f"); err != nil {
			t.Fatalf("a second later: %v", err)
		}
		c.SetFunction("s", "f", Limits{})
		c.SetAccount(Limits{})
		for range 10 {
			if _, err := c.Admit(t.Context(), "s", "f"); err != nil {
				t.Fatalf("without limits: %v", err)
			}
		}
	})
}

func TestFlowConcurrencyQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Options{QueueLength: 2, QueueTimeout: time.Second})
		c.SetService("s", Limits{ConcurrentRequests: 5})
		c.SetFunction("s", "f", Limits{ConcurrentRequests: 1})
		first, err := c.Admit(t.Context(), "s", "f")
		if err != nil {
			t.Fatal(err)
		}
		// Two callers wait, in order; the third finds the queue full.
		var order []int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				tk, err := c.Admit(t.Context(), "s", "f")
				if err != nil {
					t.Errorf("waiter %d: %v", i, err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				tk.Release()
			})
			synctest.Wait()
		}
		if _, err := c.Admit(t.Context(), "s", "f"); !errors.Is(err, ErrConcurrency) || Scope(err) != "function" {
			t.Fatalf("call beyond the queue = %v, want a concurrency refusal", err)
		}
		if got := c.InFlight("s", "f"); got != 1 {
			t.Errorf("InFlight = %d, want 1", got)
		}
		first.Release()
		wg.Wait()
		if len(order) != 2 || order[0] != 0 || order[1] != 1 {
			t.Errorf("waiters served in order %v, want [0 1]", order)
		}
		// A waiter whose time runs out is refused.
		hold, _ := c.Admit(t.Context(), "s", "f")
		start := time.Now()
		if _, err := c.Admit(t.Context(), "s", "f"); !errors.Is(err, ErrConcurrency) || time.Since(start) != time.Second {
			t.Errorf("wait past the timeout = %v after %v, want a refusal after 1s", err, time.Since(start))
		}
		hold.Release()
		// The service's limit counts every function of the service.
		c.SetFunction("s", "f", Limits{})
		var held []Ticket
		for range 5 {
			tk, err := c.Admit(t.Context(), "s", "g")
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, tk)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, err := c.Admit(ctx, "s", "f"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("sixth call in the service = %v, want it to wait until its context ends", err)
		}
		for _, tk := range held {
			tk.Release()
		}
	})
}

// TestFlowNodeFairShare: with the node full, a function holding more than
// its share is refused at once while another function's calls wait and
// get the next free slots.
func TestFlowNodeFairShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Options{NodeConcurrency: 4, QueueTimeout: time.Minute})
		var flood []Ticket
		for range 4 {
			tk, err := c.Admit(t.Context(), "s", "flood")
			if err != nil {
				t.Fatal(err)
			}
			flood = append(flood, tk)
		}
		if _, err := c.Admit(t.Context(), "s", "flood"); !errors.Is(err, ErrNodeBusy) {
			t.Fatalf("flood beyond the node = %v, want ErrNodeBusy", err)
		}
		got := make(chan Ticket, 2)
		for range 2 {
			go func() {
				tk, err := c.Admit(t.Context(), "s", "calm")
				if err != nil {
					t.Error(err)
				}
				got <- tk
			}()
		}
		synctest.Wait()
		// The flood holds 4 of 4 and its share is now 2: refused at once.
		if _, err := c.Admit(t.Context(), "s", "flood"); !errors.Is(err, ErrNodeBusy) {
			t.Fatalf("flood over its share = %v, want ErrNodeBusy", err)
		}
		flood[0].Release()
		flood[1].Release()
		for range 2 {
			(<-got).Release()
		}
		for _, tk := range flood[2:] {
			tk.Release()
		}
		if n := len(c.node.fns); n != 0 {
			t.Errorf("%d functions still tracked after every release", n)
		}
	})
}

func BenchmarkAdmit(b *testing.B) {
	b.Run("none", func(b *testing.B) {
		c := New(Options{})
		b.ReportAllocs()
		for b.Loop() {
			tk, _ := c.Admit(context.Background(), "svc", "fn")
			tk.Release()
		}
	})
	b.Run("all", func(b *testing.B) {
		c := New(Options{NodeConcurrency: 1000})
		c.SetAccount(Limits{InvocationsPerSecond: 1e9})
		c.SetService("svc", Limits{InvocationsPerSecond: 1e9, ConcurrentRequests: 100})
		c.SetFunction("svc", "fn", Limits{InvocationsPerSecond: 1e9, ConcurrentRequests: 100})
		b.ReportAllocs()
		for b.Loop() {
			tk, err := c.Admit(context.Background(), "svc", "fn")
			if err != nil {
				b.Fatal(err)
			}
			tk.Release()
		}
	})
}
