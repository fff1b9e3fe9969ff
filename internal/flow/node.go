package flow

import (
	"context"
	"sync"
	"time"
)

// node shares the node's concurrency between functions: while there is
// room any function is admitted; when the node is full, a function that
// holds less than its fair share (the cap divided by the functions in
// flight or waiting) waits in its own bounded queue, and a function that
// holds its share or more is refused at once. Freed slots go to the
// waiting functions in turn (round robin), not to the longest queue.
type node struct {
	limit int

	// mu guards everything below.
	mu       sync.Mutex
	inflight int
	fns      map[fnKey]*nodeFn // functions holding or waiting for a slot
	ring     []*nodeFn         // functions with waiters, served in turn
}

type nodeFn struct {
	key     fnKey
	held    int
	waiters []*nodeWaiter
}

type nodeWaiter struct {
	ch      chan struct{} // closed when a slot is handed over
	granted bool
}

func (n *node) acquire(ctx context.Context, k fnKey, queueLen int64, timeout time.Duration) error {
	n.mu.Lock()
	f := n.fns[k]
	if f == nil {
		f = &nodeFn{key: k}
		n.fns[k] = f
	}
	if n.inflight < n.limit && len(n.ring) == 0 {
		n.inflight++
		f.held++
		n.mu.Unlock()
		return nil
	}
	share := max(1, n.limit/len(n.fns))
	if f.held >= share || int64(len(f.waiters)) >= queueLen {
		n.forgetLocked(f)
		n.mu.Unlock()
		return errNodeConcurrency
	}
	w := &nodeWaiter{ch: make(chan struct{})}
	f.waiters = append(f.waiters, w)
	if len(f.waiters) == 1 {
		n.ring = append(n.ring, f)
	}
	// Room may be free while others wait (they are being handed slots).
	n.handLocked()
	n.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errNodeQueueTimeout
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if w.granted {
		return nil // handed over as the wait ended: keep it
	}
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			break
		}
	}
	if len(f.waiters) == 0 {
		n.dropFromRingLocked(f)
	}
	n.forgetLocked(f)
	return err
}

func (n *node) release(k fnKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.inflight--
	if f := n.fns[k]; f != nil {
		f.held--
		n.forgetLocked(f)
	}
	n.handLocked()
}

// handLocked hands free slots to waiting functions, one per function in
// turn.
func (n *node) handLocked() {
	for n.inflight < n.limit && len(n.ring) > 0 {
		f := n.ring[0]
		w := f.waiters[0]
		f.waiters = f.waiters[1:]
		n.ring = n.ring[1:]
		if len(f.waiters) > 0 {
			n.ring = append(n.ring, f) // to the back: the others go first
		}
		w.granted = true
		close(w.ch)
		n.inflight++
		f.held++
	}
}

func (n *node) dropFromRingLocked(f *nodeFn) {
	for i, x := range n.ring {
		if x == f {
			n.ring = append(n.ring[:i], n.ring[i+1:]...)
			return
		}
	}
}

// forgetLocked removes f once it holds and awaits nothing, so the fair
// share counts only busy functions.
func (n *node) forgetLocked(f *nodeFn) {
	if f.held == 0 && len(f.waiters) == 0 {
		delete(n.fns, f.key)
	}
}
