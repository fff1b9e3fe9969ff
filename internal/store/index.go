package store

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// entry is one decoded KV value and the revision that wrote it.
type entry struct {
	rev uint64
	val any
}

// index is the in-memory copy of the bucket, ordered by key for listing.
type index struct {
	// mu guards m, keys, rev and changed.
	mu      sync.RWMutex
	m       map[string]entry
	keys    []string // sorted
	rev     uint64   // highest revision applied
	changed chan struct{}
}

func newIndex() *index {
	return &index{m: make(map[string]entry), changed: make(chan struct{})}
}

func (ix *index) get(key string) (entry, bool) {
	ix.mu.RLock()
	e, ok := ix.m[key]
	ix.mu.RUnlock()
	return e, ok
}

func (ix *index) put(key string, e entry) {
	ix.mu.Lock()
	if _, ok := ix.m[key]; !ok {
		i, _ := slices.BinarySearch(ix.keys, key)
		ix.keys = slices.Insert(ix.keys, i, key)
	}
	ix.m[key] = e
	ix.advance(e.rev)
	ix.mu.Unlock()
}

func (ix *index) remove(key string, rev uint64) {
	ix.mu.Lock()
	if _, ok := ix.m[key]; ok {
		delete(ix.m, key)
		if i, found := slices.BinarySearch(ix.keys, key); found {
			ix.keys = slices.Delete(ix.keys, i, i+1)
		}
	}
	ix.advance(rev)
	ix.mu.Unlock()
}

// skip records a revision that changed nothing the index keeps.
func (ix *index) skip(rev uint64) {
	ix.mu.Lock()
	ix.advance(rev)
	ix.mu.Unlock()
}

// advance records rev and wakes writers waiting for it; mu must be held.
func (ix *index) advance(rev uint64) {
	if rev > ix.rev {
		ix.rev = rev
	}
	close(ix.changed)
	ix.changed = make(chan struct{})
}

// waitFor blocks until cond holds under the read lock, or ctx ends.
func (ix *index) waitFor(ctx context.Context, cond func() bool) error {
	for {
		ix.mu.RLock()
		ok := cond()
		ch := ix.changed
		ix.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitRev waits until the index has applied revision rev.
func (ix *index) waitRev(ctx context.Context, rev uint64) error {
	return ix.waitFor(ctx, func() bool { return ix.rev >= rev })
}

// waitGone waits until key is absent or rewritten after rev.
func (ix *index) waitGone(ctx context.Context, key string, rev uint64) error {
	return ix.waitFor(ctx, func() bool {
		e, ok := ix.m[key]
		return !ok || e.rev > rev
	})
}

// scan calls fn for each key with prefix, in key order, starting at the
// first key >= prefix+from, until fn returns false.
func (ix *index) scan(prefix, from string, fn func(key string, e entry) bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, _ := slices.BinarySearch(ix.keys, prefix+from)
	for ; i < len(ix.keys); i++ {
		k := ix.keys[i]
		if !strings.HasPrefix(k, prefix) {
			return
		}
		if !fn(k, ix.m[k]) {
			return
		}
	}
}

// count returns how many keys start with prefix.
func (ix *index) count(prefix string) int {
	n := 0
	ix.scan(prefix, "", func(string, entry) bool { n++; return true })
	return n
}
