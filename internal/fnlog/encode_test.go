package fnlog

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// appendRecord writes what encoding/json writes (HTML escaping off).
func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 4, 38, 11, 637000100, time.UTC)
	for _, msg := range []string{
		"", "plain", `quote " backslash \ slash /`, "tab\tcr\rnl\nbs\bff\f", "ctl \x00\x01\x1f\x7f",
		"<html> & </html>", "ünïcødé 日本語 🎉", "bad utf8 \xff\xfe end", "sep \u2028 \u2029",
		"truncated rune \xe6\x97",
	} {
		for _, r := range []Record{
			{Time: at, Service: "svc", Function: "fn", Qualifier: "prod", Version: "3", InstanceID: "c-1", RequestID: "r-1", Stream: "stdout", Message: msg},
			{Time: at.In(time.FixedZone("x", 3600)), Service: "svc", Function: "fn", InstanceID: "c-1", Stream: "stderr", Message: msg},
		} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			if got := appendRecord(nil, &r); string(got) != want.String() {
				t.Errorf("appendRecord(%q) =\n%s want\n%s", msg, got, want.String())
			}
		}
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	r := Record{Time: time.Now(), Service: "svc", Function: "fn", Qualifier: "LATEST", Version: "LATEST", InstanceID: "c-19af3b2c11-1",
		RequestID: "3f0c2a6e-1b7d-4c3e-9a1e-2a5d9b7c0e11", Stream: "stdout", Message: "2026-11-25T04:38:11.637Z 3f0c2a6e-1b7d-4c3e-9a1e-2a5d9b7c0e11 [INFO] handled item 3 of the request, status ok"}
	b.Run("appendRecord", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendRecord(buf[:0], &r)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(r)
		}
	})
}
