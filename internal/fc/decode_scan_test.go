package fc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTopLevelKeys(t *testing.T) {
	cases := []string{
		`{}`,
		`{"a":1,"B":null,"c":"x\"y","d":{"e":null,"f":[1,{"g":"}"}]},"h":[],"i":true,"j":false}`,
		` { "k\u0041" : "v" , "n" : null , "s":"\\" } `,
		`{"zipFile":"` + strings.Repeat("QUJD", 1000) + `","x":[null]}`,
	}
	for _, c := range cases {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c), &raw); err != nil {
			t.Fatal(err)
		}
		want := Present{}
		for k, v := range raw {
			if string(v) != "null" {
				want[strings.ToLower(k)] = true
			}
		}
		if d := cmp.Diff(want, topLevelKeys([]byte(strings.TrimSpace(c)))); d != "" {
			t.Errorf("topLevelKeys(%.60q) mismatch (-want +got):\n%s", c, d)
		}
	}
}

func FuzzTopLevelKeys(f *testing.F) {
	f.Add(`{"a":1,"b":null,"c":{"d":"}"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var raw map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &raw) != nil || strings.TrimSpace(s)[0] != '{' {
			return
		}
		want := Present{}
		for k, v := range raw {
			if string(v) != "null" {
				want[strings.ToLower(k)] = true
			}
		}
		if len(raw) != countKeys(s) {
			return // keys that differ only in case: the map above cannot say which came last
		}
		if d := cmp.Diff(want, topLevelKeys([]byte(strings.TrimSpace(s)))); d != "" {
			t.Errorf("topLevelKeys(%q) mismatch (-want +got):\n%s", s, d)
		}
	})
}

// countKeys counts the distinct lower-cased top-level keys of a valid object.
func countKeys(s string) int {
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(s), &m)
	seen := map[string]bool{}
	for k := range m {
		seen[strings.ToLower(k)] = true
	}
	return len(seen)
}
