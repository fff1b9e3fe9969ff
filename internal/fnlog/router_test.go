package fnlog

import (
	"fmt"
	"strings"
	"testing"
)

func TestRouterAttributesLines(t *testing.T) {
	var got []Line
	r := NewRouter(func(l Line) { got = append(got, l) })
	a := r.Subscribe("req-a")
	b := r.Subscribe("req-b")
	out := r.Writer("stdout")
	fmt.Fprint(out, "boot line\nFC Invoke Start RequestId: req-a\nhello from a\n")
	// A logger line of b while a is between its markers (concurrency > 1).
	fmt.Fprint(out, "2026-01-01T00:00:00.000Z req-b [INFO] from b\npart")
	fmt.Fprint(out, "ial line of a\nFC Invoke End RequestId: req-a\nafter\n")
	select {
	case <-a.Ended():
	default:
		t.Fatal("tail of req-a not ended after its End marker")
	}
	wantA := "FC Invoke Start RequestId: req-a\nhello from a\npartial line of a\nFC Invoke End RequestId: req-a\n"
	if string(a.Bytes()) != wantA {
		t.Errorf("tail a = %q, want %q", a.Bytes(), wantA)
	}
	if string(b.Bytes()) != "2026-01-01T00:00:00.000Z req-b [INFO] from b\n" {
		t.Errorf("tail b = %q", b.Bytes())
	}
	ids := []string{}
	for _, l := range got {
		ids = append(ids, l.RequestID)
	}
	want := []string{"", "req-a", "req-a", "req-b", "req-a", "req-a", ""}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("line request IDs = %q, want %q", ids, want)
	}
}

func TestRouterTailKeepsLast4KB(t *testing.T) {
	r := NewRouter(nil)
	tl := r.Subscribe("x")
	w := r.Writer("stderr")
	fmt.Fprint(w, "FC Invoke Start RequestId: x\n")
	for i := range 1000 {
		fmt.Fprintf(w, "line %04d\n", i)
	}
	if n := len(tl.Bytes()); n > TailBytes {
		t.Errorf("tail is %d bytes, want at most %d", n, TailBytes)
	}
	if !strings.HasSuffix(string(tl.Bytes()), "line 0999\n") {
		t.Errorf("tail does not end with the last line: %q", tl.Bytes()[len(tl.Bytes())-20:])
	}
}

func TestRouterCutsLongLines(t *testing.T) {
	var got []Line
	r := NewRouter(func(l Line) { got = append(got, l) })
	w := r.Writer("stdout")
	long := strings.Repeat("x", MaxLine+100)
	// Written in small pieces, as a pipe delivers it.
	for i := 0; i < len(long); i += 1000 {
		w.Write([]byte(long[i:min(i+1000, len(long))]))
	}
	fmt.Fprint(w, "\nnext\n")
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2", len(got))
	}
	if !strings.HasSuffix(got[0].Text, TruncMarker) || len(got[0].Text) != MaxLine+len(TruncMarker) {
		t.Errorf("long line = %d bytes, want %d with marker", len(got[0].Text), MaxLine+len(TruncMarker))
	}
	if got[1].Text != "next" {
		t.Errorf("line after the long one = %q", got[1].Text)
	}
}

func TestRouterInitializerDoesNotEndTail(t *testing.T) {
	r := NewRouter(nil)
	tl := r.Subscribe("x")
	w := r.Writer("stdout")
	fmt.Fprint(w, "FC Initialize Start RequestId: x\nFC Initialize End RequestId: x\n")
	select {
	case <-tl.Ended():
		t.Fatal("the initializer's End marker ended the invocation's tail")
	default:
	}
	fmt.Fprint(w, "FC Invoke Start RequestId: x\nline\nFC Invoke End RequestId: x\n")
	select {
	case <-tl.Ended():
	default:
		t.Fatal("the invocation's End marker did not end its tail")
	}
}
