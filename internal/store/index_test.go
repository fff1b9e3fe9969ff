package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openfc/openfc/internal/fc"
)

func TestIndexKeepsKeysSorted(t *testing.T) {
	ix := newIndex()
	for i, k := range []string{"svc.b", "svc.a", "fn.s.f", "svc._", "svc.B", "svc.a-1", "svc.a_1", "svc.a"} {
		ix.put(k, entry{rev: uint64(i + 1)})
	}
	ix.remove("svc.b", 9)
	ix.remove("svc.missing", 10) // removing an absent key is harmless
	want := []string{"fn.s.f", "svc.B", "svc._", "svc.a", "svc.a-1", "svc.a_1"}
	if diff := cmp.Diff(want, ix.keys); diff != "" {
		t.Errorf("index keys mismatch (-want +got):\n%s", diff)
	}
	if ix.rev != 10 {
		t.Errorf("index rev = %d, want 10 (the highest applied)", ix.rev)
	}
	if e, ok := ix.get("svc.a"); !ok || e.rev != 8 {
		t.Errorf("get(svc.a) = %v, %v, want the latest put (rev 8)", e, ok)
	}
	ix.put("svc.z", entry{rev: 3}) // an older revision does not move rev back
	if ix.rev != 10 {
		t.Errorf("index rev after an old put = %d, want 10", ix.rev)
	}
	if n := ix.count("svc."); n != 6 {
		t.Errorf("count(svc.) = %d, want 6", n)
	}
	var scanned []string
	ix.scan("svc.", "a", func(k string, _ entry) bool { scanned = append(scanned, k); return len(scanned) < 3 })
	if diff := cmp.Diff([]string{"svc.a", "svc.a-1", "svc.a_1"}, scanned); diff != "" {
		t.Errorf("scan(svc., a) stopping after 3 mismatch (-want +got):\n%s", diff)
	}
}

func TestPageLimit(t *testing.T) {
	for limit, want := range map[int]int{-5: 20, 0: 20, 1: 1, 20: 20, 99: 99, 100: 100, 101: 100, 1 << 30: 100} {
		if got := (Page{Limit: limit}).limit(); got != want {
			t.Errorf("Page{Limit: %d}.limit() = %d, want %d", limit, got, want)
		}
	}
}

func TestListPages(t *testing.T) {
	s := &Store{idx: newIndex()}
	names := []string{"A", "B", "_x", "a", "a-1", "a-10", "a-2", "a_1", "b"}
	for i, n := range names {
		s.idx.put(serviceKey(n), entry{rev: uint64(i + 1), val: &fc.Service{ServiceName: n}})
	}
	// Keys below a service's own key are not services.
	s.idx.put("svc.a.extra", entry{rev: 100, val: &fc.Service{ServiceName: "nested"}})
	// A value of another type under the prefix is skipped.
	s.idx.put("svc.aa", entry{rev: 101, val: new(uint64)})

	tests := []struct {
		name     string
		page     Page
		want     []string
		wantNext string
	}{
		{"all", Page{}, names, ""},
		{"limit", Page{Limit: 2}, names[:2], "_x"},
		{"limit equals rest", Page{Limit: 9}, names, ""},
		{"limit one short", Page{Limit: 8}, names[:8], "b"},
		{"prefix", Page{Prefix: "a-"}, []string{"a-1", "a-10", "a-2"}, ""},
		{"prefix and limit", Page{Prefix: "a", Limit: 2}, []string{"a", "a-1"}, "a-10"},
		{"startKey inclusive", Page{StartKey: "a-10", Limit: 2}, []string{"a-10", "a-2"}, "a_1"},
		{"startKey absent name", Page{StartKey: "a-11"}, []string{"a-2", "a_1", "b"}, ""},
		{"startKey past end", Page{StartKey: "c"}, []string{}, ""},
		{"nextToken wins", Page{StartKey: "A", NextToken: "a_1"}, []string{"a_1", "b"}, ""},
		{"nextToken below prefix", Page{Prefix: "a-", NextToken: "A"}, []string{"a-1", "a-10", "a-2"}, ""},
		{"nextToken above prefix", Page{Prefix: "a-", NextToken: "a_"}, []string{}, ""},
		{"prefix matches none", Page{Prefix: "zz"}, []string{}, ""},
		{"prefix exact name", Page{Prefix: "b"}, []string{"b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := list[fc.Service](s, pService, tt.page, nil)
			gotNames := []string{}
			for _, g := range got {
				gotNames = append(gotNames, g.ServiceName)
			}
			if diff := cmp.Diff(tt.want, gotNames); diff != "" {
				t.Errorf("list(%+v) mismatch (-want +got):\n%s", tt.page, diff)
			}
			if next != tt.wantNext {
				t.Errorf("list(%+v) next = %q, want %q", tt.page, next, tt.wantNext)
			}
		})
	}
	t.Run("filter", func(t *testing.T) {
		got, next := list(s, pService, Page{Limit: 2}, func(v *fc.Service) bool { return v.ServiceName[0] == 'a' })
		if len(got) != 2 || got[0].ServiceName != "a" || got[1].ServiceName != "a-1" || next != "a-10" {
			t.Errorf("list(filter a*, limit 2) = %v next %q, want a, a-1 next a-10", got, next)
		}
	})
	t.Run("walk", func(t *testing.T) {
		var all []string
		p := Page{Limit: 4}
		for range 10 {
			got, next := list[fc.Service](s, pService, p, nil)
			for _, g := range got {
				all = append(all, g.ServiceName)
			}
			if next == "" {
				break
			}
			p.NextToken = next
		}
		if diff := cmp.Diff(names, all); diff != "" {
			t.Errorf("walking pages of 4 mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestKeysOrderNumerically(t *testing.T) {
	// Version and layer keys are zero-padded so key order is numeric order.
	if !(versionKey("s", "9") < versionKey("s", "10")) || !(layerKey("l", 9) < layerKey("l", 10)) {
		t.Errorf("versionKey/layerKey order 9 after 10: %s %s", versionKey("s", "9"), versionKey("s", "10"))
	}
	if got := ETag("svc.a", 1); len(got) != 32 || got == ETag("svc.a", 2) || got == ETag("svc.b", 1) {
		t.Errorf("ETag(svc.a, 1) = %q, want 32 hex characters unique per key and revision", got)
	}
	for _, tt := range []struct {
		ifMatch string
		want    bool
	}{{"", true}, {"*", true}, {ETag("k", 3), true}, {`"` + ETag("k", 3) + `"`, true}, {" " + ETag("k", 3) + " ", true}, {ETag("k", 2), false}, {"garbage", false}} {
		err := checkIfMatch("k", 3, tt.ifMatch)
		if (err == nil) != tt.want {
			t.Errorf("checkIfMatch(k, 3, %q) = %v, want ok %v", tt.ifMatch, err, tt.want)
		}
		if e, ok := fc.AsError(err); err != nil && (!ok || e.Status != 412 || e.Code != fc.CodePreconditionFailed) {
			t.Errorf("checkIfMatch(k, 3, %q) = %v, want 412 PreconditionFailed", tt.ifMatch, err)
		}
	}
}
