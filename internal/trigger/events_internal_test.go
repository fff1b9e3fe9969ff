package trigger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openfc/openfc/internal/fc"
)

func TestOSSEventName(t *testing.T) {
	for in, want := range map[string]string{
		"s3:ObjectCreated:Put":                     "ObjectCreated:PutObject",
		"ObjectCreated:Put":                        "ObjectCreated:PutObject", // AWS writes records without s3:
		"s3:ObjectCreated:Post":                    "ObjectCreated:PostObject",
		"s3:ObjectCreated:Copy":                    "ObjectCreated:CopyObject",
		"s3:ObjectCreated:CompleteMultipartUpload": "ObjectCreated:CompleteMultipartUpload",
		"s3:ObjectRemoved:Delete":                  "ObjectRemoved:DeleteObject",
		"s3:ObjectRemoved:DeleteMarkerCreated":     "ObjectRemoved:DeleteMarkerCreated",
		"s3:TestEvent":                             "TestEvent",
	} {
		if got := OSSEventName(in); got != want {
			t.Errorf("OSSEventName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchOSSEvent(t *testing.T) {
	patterns := []string{"oss:ObjectCreated:*", "oss:ObjectRemoved:DeleteObject"}
	for name, want := range map[string]bool{
		"ObjectCreated:PutObject":           true,
		"ObjectCreated:AppendObject":        true,
		"ObjectRemoved:DeleteObject":        true,
		"ObjectRemoved:DeleteMarkerCreated": false,
		"ObjectAccessed:GetObject":          false,
	} {
		if got := matchOSSEvent(patterns, name); got != want {
			t.Errorf("matchOSSEvent(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestOSSEvents converts a MinIO notification with several records, of
// which only some match the trigger.
func TestOSSEvents(t *testing.T) {
	arn := "acs:oss:cn-test:1234:pics"
	tr := &fc.Trigger{TriggerName: "t", TriggerType: "oss", SourceARN: &arn,
		TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"filter":{"key":{"prefix":"a/","suffix":".png"}}}`)}
	rec := func(name, bucket, key string) string {
		return `{"eventName":"` + name + `","eventTime":"2026-01-01T00:00:00.000Z","userIdentity":{"principalId":"me"},` +
			`"requestParameters":{"sourceIPAddress":"10.0.0.1"},"responseElements":{"x-amz-request-id":"RID"},` +
			`"s3":{"configurationId":"cfg","bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `","size":42,"eTag":"\"abc\""}}}`
	}
	body := `{"EventName":"s3:ObjectCreated:Put","Key":"pics/a/x.png","Records":[` + strings.Join([]string{
		rec("s3:ObjectCreated:Put", "pics", "a/x%2By+z.png"),
		rec("s3:ObjectCreated:Put", "pics", "b/x.png"),
		rec("s3:ObjectCreated:Put", "pics", "a/x.jpg"),
		rec("s3:ObjectRemoved:Delete", "pics", "a/x.png"),
		rec("s3:ObjectCreated:Put", "other", "a/x.png"),
	}, ",") + `]}`
	events, total, err := ossEvents(tr, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || len(events) != 1 {
		t.Fatalf("ossEvents = %d of %d records, want 1 of 5: %+v", len(events), total, events)
	}
	got, _ := json.Marshal(events[0])
	want := `{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss","eventTime":"2026-01-01T00:00:00.000Z","eventVersion":"1.0",` +
		`"oss":{"bucket":{"arn":"acs:oss:cn-test:1234:pics","name":"pics","ownerIdentity":"1234","virtualBucket":""},` +
		`"object":{"deltaSize":42,"eTag":"abc","key":"a/x+y z.png","size":42},"ossSchemaVersion":"1.0","ruleId":"cfg"},` +
		`"region":"cn-test","requestParameters":{"sourceIPAddress":"10.0.0.1"},"responseElements":{"requestId":"RID"},"userIdentity":{"principalId":"me"}}`
	var g, w any
	json.Unmarshal(got, &g)
	json.Unmarshal([]byte(want), &w)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("FC OSS event (-want +got):\n%s", diff)
	}
	if _, _, err := ossEvents(tr, []byte(`[1,2]`)); err == nil {
		t.Error("a JSON array was taken for a notification")
	}
}

// TestBatchLimit: a batch stays under the async payload limit and is a
// JSON array of the events it took.
func TestBatchLimit(t *testing.T) {
	b := newBatch(spec{})
	big := strings.Repeat("x", 40<<10)
	n := 0
	for b.add(newEvent("s", []byte(big), nil, fixedTime), nil) {
		n++
	}
	if n != 3 {
		t.Errorf("a batch took %d events of 40 KB, want 3 under %d bytes", n, fc.MaxAsyncPayloadBytes)
	}
	p := b.payload()
	if len(p) > fc.MaxAsyncPayloadBytes {
		t.Errorf("batch payload is %d bytes, over the limit", len(p))
	}
	var evs []Event
	if err := json.Unmarshal(p, &evs); err != nil || len(evs) != 3 {
		t.Fatalf("batch payload is not an array of 3 events: %v", err)
	}
	if b2 := newBatch(spec{}); b2.add(newEvent("s", []byte(strings.Repeat("x", 130<<10)), nil, fixedTime), nil) {
		t.Error("an event over the limit fit in an empty batch")
	}
}

func TestNewEventData(t *testing.T) {
	for _, c := range []struct {
		in, ctype, data, b64 string
	}{
		{`{"level":"INFO"}`, "application/json", `{"level":"INFO"}`, ""},
		{`ERROR disk full`, "text/plain; charset=utf-8", `"ERROR disk full"`, ""},
		{"\xff\x00", "application/octet-stream", "", "/wA="},
		{"", "text/plain; charset=utf-8", `""`, ""},
	} {
		ev := newEvent("s", []byte(c.in), nil, fixedTime)
		if ev.DataContentType != c.ctype || string(ev.Data) != c.data || ev.DataBase64 != c.b64 {
			t.Errorf("newEvent(%q) = %s %s %s, want %s %s %s", c.in, ev.DataContentType, ev.Data, ev.DataBase64, c.ctype, c.data, c.b64)
		}
	}
}

var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
