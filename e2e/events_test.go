package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// eventServer starts a node whose embedded NATS listens on TCP, with a
// recorder function ev/rec (one instance, so one memory of what it saw)
// behind an anonymous HTTP trigger, and returns it with a NATS connection.
func eventServer(t *testing.T) (*server, *nats.Conn) {
	t.Helper()
	testenv.RequireRoot(t)
	s := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "data"), Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(s.Stderr.String())
	if m == nil {
		t.Fatalf("the node logged no `nats listening addr=...` line:\n%s", s.Stderr)
	}
	nc, err := nats.Connect("nats://" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	deployCustom(t, s.Client, "ev", "rec", testenv.RecorderZip(t), 100)
	createTrigger(t, s, fc.Trigger{TriggerName: "web", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)})
	return s, nc
}

func createTrigger(t *testing.T, s *server, tr fc.Trigger) {
	t.Helper()
	if _, _, err := s.Client.CreateTrigger(t.Context(), "ev", "rec", &tr); err != nil {
		t.Fatalf("create trigger %s: %v", tr.TriggerName, err)
	}
}

func updateTrigger(t *testing.T, s *server, name, config string) {
	t.Helper()
	if _, _, err := s.Client.UpdateTrigger(t.Context(), "ev", "rec", name, map[string]any{"triggerConfig": json.RawMessage(config)}, ""); err != nil {
		t.Fatalf("update trigger %s: %v", name, err)
	}
}

// natsTrigger is an eventbridge triggerConfig with a NATS source.
func natsTrigger(enable bool, params string, count, window int) string {
	return fmt.Sprintf(`{"triggerEnable":%t,"asyncInvocationType":true,"eventSourceConfig":{"eventSourceType":"NATS",`+
		`"eventSourceParameters":{"sourceNATSParameters":%s}},"runOptions":{"batchWindow":{"CountBasedWindow":%d,"TimeBasedWindow":%d}}}`,
		enable, params, count, window)
}

// batches returns the NATS batches the recorder received: one slice of
// events per invocation.
func batches(t *testing.T, s *server) [][]map[string]any {
	t.Helper()
	events, _ := testenv.Recorded(t, s.Endpoint+"/2016-08-15/proxy/ev/rec/")
	var out [][]map[string]any
	for _, e := range events {
		var b []map[string]any
		if err := json.Unmarshal([]byte(e), &b); err != nil {
			continue // not a NATS batch (an OSS event)
		}
		out = append(out, b)
	}
	return out
}

// dataBySubject lists the data of every delivered event on subject,
// sorted: batches run as async invocations, in no set order.
func dataBySubject(bs [][]map[string]any, subject string) []string {
	var out []string
	for _, b := range bs {
		for _, e := range b {
			if e["subject"] == subject {
				d, _ := json.Marshal(e["data"])
				out = append(out, strings.Trim(string(d), `"`))
			}
		}
	}
	slices.Sort(out)
	return out
}

// subscribed reports whether something subscribes to subject: a request
// to a subject nobody reads fails at once with "no responders". (The probe
// itself is delivered to the trigger when it does.)
func subscribed(nc *nats.Conn, subject string) bool {
	_, err := nc.Request(subject, []byte("probe"), 300*time.Millisecond)
	return !errors.Is(err, nats.ErrNoResponders)
}

func publish(t *testing.T, nc *nats.Conn, subject string, data ...string) {
	t.Helper()
	for _, d := range data {
		if err := nc.Publish(subject, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

// TestNATSSubjectTrigger: an eventbridge NATS trigger on a plain subject
// delivers published messages in batches (at most CountBasedWindow each,
// every message once); disabling it stops delivery, updating its subject
// moves it, deleting it unsubscribes.
func TestNATSSubjectTrigger(t *testing.T) {
	s, nc := eventServer(t)
	createTrigger(t, s, fc.Trigger{TriggerName: "logs", TriggerType: "eventbridge",
		TriggerConfig: []byte(natsTrigger(true, `{"Subject":"logs.a.>"}`, 5, 3))})
	poll(t, 60*time.Second, func() error {
		if !subscribed(nc, "logs.a.probe") {
			return errors.New("the trigger has not subscribed to logs.a.> yet")
		}
		return nil
	})
	want := seq("m", 0, 12)
	publish(t, nc, "logs.a.data", want...)
	testenv.Eventually(t, 90*time.Second, func() error {
		got := dataBySubject(batches(t, s), "logs.a.data")
		if !slices.Equal(got, want) {
			return fmt.Errorf("delivered %q, want %q", got, want)
		}
		return nil
	})
	bs := batches(t, s)
	largest := 0
	for _, b := range bs {
		largest = max(largest, len(b))
		for _, e := range b {
			if e["specversion"] != "1.0" || e["type"] != "nats:Subject:Message" || e["source"] != "openfc:nats" || e["id"] == "" {
				t.Errorf("event %v lacks the CloudEvents fields", e)
			}
		}
	}
	if m := string(httpGet(t, s.Endpoint+"/metrics")); !regexp.MustCompile(`(?m)^openfc_trigger_nats_messages_total 1[3-9]$`).MatchString(m) {
		// 12 messages and the probe (or probes)
		t.Errorf("/metrics does not count the 12 messages and the probe:\n%s", grepLines(m, "openfc_trigger_nats"))
	}
	if largest > 5 || largest < 2 {
		t.Errorf("largest batch has %d events; want 2..5 (CountBasedWindow 5, a 12-message burst): %v", largest, bs)
	}

	// Disabled: nobody reads the subject; what is published meanwhile is
	// not delivered (core NATS has no memory).
	updateTrigger(t, s, "logs", natsTrigger(false, `{"Subject":"logs.a.>"}`, 5, 3))
	poll(t, 60*time.Second, func() error {
		if subscribed(nc, "logs.a.probe") {
			return errors.New("the disabled trigger still subscribes")
		}
		return nil
	})
	publish(t, nc, "logs.a.data", "while-disabled")

	// Updated to another subject, enabled: the old one is not read.
	// Through its own connection this time (Url), to the same server.
	updateTrigger(t, s, "logs", natsTrigger(true, `{"Subject":"logs.b","Url":"`+nc.ConnectedUrl()+`"}`, 1, 0))
	poll(t, 60*time.Second, func() error {
		if !subscribed(nc, "logs.b") {
			return errors.New("the updated trigger has not subscribed to logs.b")
		}
		return nil
	})
	if subscribed(nc, "logs.a.probe") {
		t.Error("after the update the trigger still reads logs.a.>")
	}
	publish(t, nc, "logs.a.data", "old-subject")
	publish(t, nc, "logs.b", "new-subject")
	testenv.Eventually(t, 90*time.Second, func() error {
		if got := dataBySubject(batches(t, s), "logs.b"); !slices.Contains(got, "new-subject") {
			return fmt.Errorf("logs.b delivered %q", got)
		}
		return nil
	})
	for _, b := range batches(t, s) {
		if len(b) != 1 && b[0]["subject"] == "logs.b" {
			t.Errorf("CountBasedWindow 1 delivered a batch of %d", len(b))
		}
	}
	if got := dataBySubject(batches(t, s), "logs.a.data"); !slices.Equal(got, want) {
		t.Errorf("logs.a.data delivered %q after the disable and the update, want only %q", got, want)
	}

	if _, err := s.Client.DeleteTrigger(t.Context(), "ev", "rec", "logs", ""); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, func() error {
		if subscribed(nc, "logs.b") {
			return errors.New("the deleted trigger still subscribes")
		}
		return nil
	})
	s.Stop(t)
}

// TestNATSStreamTrigger: an eventbridge NATS trigger on a JetStream stream
// reads it through a durable consumer, from the start (messages stored
// before the trigger existed), in batches; disabled, it leaves new messages
// in the stream and takes them up when enabled again; deleted, its
// consumer is removed.
func TestNATSStreamTrigger(t *testing.T) {
	s, nc := eventServer(t)
	ctx := t.Context()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "APPLOGS", Subjects: []string{"applogs.>"}}); err != nil {
		t.Fatal(err)
	}
	pub := func(data ...string) {
		for _, d := range data {
			if _, err := js.Publish(ctx, "applogs.web", []byte(d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := seq("s", 0, 7)
	pub(before...)
	cfg := func(enable bool) string {
		return natsTrigger(enable, `{"Stream":"APPLOGS","Subject":"applogs.web"}`, 3, 2)
	}
	createTrigger(t, s, fc.Trigger{TriggerName: "stream", TriggerType: "eventbridge", TriggerConfig: []byte(cfg(true))})
	testenv.Eventually(t, 90*time.Second, func() error {
		if got := dataBySubject(batches(t, s), "applogs.web"); !slices.Equal(got, before) {
			return fmt.Errorf("delivered %q, want %q", got, before)
		}
		return nil
	})
	var seqs []float64
	for _, b := range batches(t, s) {
		if len(b) > 3 {
			t.Errorf("a batch of %d events; CountBasedWindow is 3", len(b))
		}
		for _, e := range b {
			if e["type"] != "nats:JetStream:Message" || e["natsstream"] != "APPLOGS" {
				t.Errorf("event %v is not marked as from stream APPLOGS", e)
			}
			n, _ := e["natssequence"].(float64)
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []float64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("stream sequences delivered: %v", seqs)
	}
	stream, err := js.Stream(ctx, "APPLOGS")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.Consumer(ctx, "openfc_ev_rec_stream")
	if err != nil {
		t.Fatalf("the trigger's durable consumer: %v", err)
	}

	updateTrigger(t, s, "stream", cfg(false))
	// Disabled: no node asks the consumer for messages any more.
	poll(t, 90*time.Second, func() error {
		ci, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if ci.NumWaiting != 0 {
			return fmt.Errorf("%d pull requests still wait on the consumer", ci.NumWaiting)
		}
		return nil
	})
	during := seq("d", 0, 4)
	pub(during...)
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.NumPending != 4 {
		t.Errorf("consumer pending = %d while the trigger is disabled, want the 4 new messages", ci.NumPending)
	}
	updateTrigger(t, s, "stream", cfg(true))
	all := slices.Sorted(slices.Values(append(slices.Clone(before), during...)))
	testenv.Eventually(t, 90*time.Second, func() error {
		if got := dataBySubject(batches(t, s), "applogs.web"); !slices.Equal(got, all) {
			return fmt.Errorf("delivered %q, want %q", got, all)
		}
		return nil
	})

	if _, err := s.Client.DeleteTrigger(ctx, "ev", "rec", "stream", ""); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, func() error {
		if _, err := stream.Consumer(ctx, "openfc_ev_rec_stream"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("the deleted trigger's consumer: %v", err)
		}
		return nil
	})
	s.Stop(t)
}

// s3Event is a notification as MinIO posts it.
func s3Event(name, bucket, key string, size int) []byte {
	b, _ := json.Marshal(map[string]any{
		"EventName": name, "Key": bucket + "/" + key,
		"Records": []any{map[string]any{
			"eventVersion": "2.0", "eventSource": "minio:s3", "awsRegion": "", "eventTime": "2026-01-02T03:04:05.678Z",
			"eventName": name, "userIdentity": map[string]any{"principalId": "minioadmin"},
			"requestParameters": map[string]any{"sourceIPAddress": "127.0.0.1"},
			"responseElements":  map[string]any{"x-amz-request-id": "17F1E1B1D7C1"},
			"s3": map[string]any{"s3SchemaVersion": "1.0", "configurationId": "Config",
				"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
				"object": map[string]any{"key": key, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "17F1E1B1D7"}},
		}},
	})
	return b
}

// ossEvents returns the FC OSS events the recorder received.
func recordedOSS(t *testing.T, s *server) []map[string]any {
	t.Helper()
	events, _ := testenv.Recorded(t, s.Endpoint+"/2016-08-15/proxy/ev/rec/")
	var out []map[string]any
	for _, e := range events {
		var v struct{ Events []map[string]any }
		if json.Unmarshal([]byte(e), &v) == nil && len(v.Events) > 0 {
			out = append(out, v.Events...)
		}
	}
	return out
}

func ossKeys(events []map[string]any) []string {
	var keys []string
	for _, e := range events {
		o, _ := e["oss"].(map[string]any)
		obj, _ := o["object"].(map[string]any)
		keys = append(keys, fmt.Sprint(e["eventName"], " ", obj["key"]))
	}
	return keys
}

// TestOSSTriggerWebhook: MinIO-style notifications posted to an oss
// trigger's webhook reach the function in FC's OSS format when they match
// the trigger's bucket, events, prefix and suffix, and only then; the
// webhook wants the trigger's token or an FC signature.
func TestOSSTriggerWebhook(t *testing.T) {
	s, _ := eventServer(t)
	const token = "hook-token-0123456789"
	createTrigger(t, s, fc.Trigger{TriggerName: "photos", TriggerType: "oss", SourceARN: ptr("acs:oss:local:123:photos"),
		InvocationRole: "acs:ram::123:role/x",
		TriggerConfig:  []byte(`{"events":["oss:ObjectCreated:*","oss:ObjectRemoved:DeleteObject"],"filter":{"key":{"prefix":"in/","suffix":".jpg"}},"webhookToken":"` + token + `"}`)})
	url := s.Endpoint + "/openfc/v1/events/oss/ev/rec/photos"
	post := func(auth string, body []byte) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, auth string
		body       []byte
		status     int
		matched    int
	}{
		{"no token", "", s3Event("s3:ObjectCreated:Put", "photos", "in/a.jpg", 10), 403, 0},
		{"wrong token", "Bearer wrong-token-0123456789", s3Event("s3:ObjectCreated:Put", "photos", "in/a.jpg", 10), 403, 0},
		{"put", "Bearer " + token, s3Event("s3:ObjectCreated:Put", "photos", "in/a.jpg", 10), 200, 1},
		{"token without Bearer", token, s3Event("s3:ObjectCreated:CompleteMultipartUpload", "photos", "in/big.jpg", 99), 200, 1},
		{"url-encoded key", "Bearer " + token, s3Event("s3:ObjectCreated:Copy", "photos", "in/my+photo.jpg", 5), 200, 1},
		{"delete", "Bearer " + token, s3Event("s3:ObjectRemoved:Delete", "photos", "in/a.jpg", 0), 200, 1},
		{"other prefix", "Bearer " + token, s3Event("s3:ObjectCreated:Put", "photos", "out/a.jpg", 10), 200, 0},
		{"other suffix", "Bearer " + token, s3Event("s3:ObjectCreated:Put", "photos", "in/a.png", 10), 200, 0},
		{"event not listed", "Bearer " + token, s3Event("s3:ObjectAccessed:Get", "photos", "in/a.jpg", 10), 200, 0},
		{"other bucket", "Bearer " + token, s3Event("s3:ObjectCreated:Put", "videos", "in/a.jpg", 10), 200, 0},
		{"not S3 JSON", "Bearer " + token, []byte(`not json`), 400, 0},
	} {
		status, body := post(c.auth, c.body)
		if status != c.status {
			t.Errorf("%s: status %d %s, want %d", c.name, status, body, c.status)
			continue
		}
		if status == 200 && !strings.Contains(body, fmt.Sprintf(`"matched":%d`, c.matched)) {
			t.Errorf("%s: answer %s, want matched %d", c.name, body, c.matched)
		}
	}
	// An FC-signed call works without the token.
	if _, err := s.Client.Do(t.Context(), client.Request{Method: "POST", Path: "/openfc/v1/events/oss/ev/rec/photos",
		Body: s3Event("s3:ObjectCreated:Post", "photos", "in/signed.jpg", 3)}, nil); err != nil {
		t.Errorf("FC-signed webhook call: %v", err)
	}
	want := []string{"ObjectCreated:PutObject in/a.jpg", "ObjectCreated:CompleteMultipartUpload in/big.jpg",
		"ObjectCreated:CopyObject in/my photo.jpg", "ObjectRemoved:DeleteObject in/a.jpg", "ObjectCreated:PostObject in/signed.jpg"}
	testenv.Eventually(t, 90*time.Second, func() error {
		got := ossKeys(recordedOSS(t, s))
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(got, w) {
			return fmt.Errorf("the function got %q, want %q", got, w)
		}
		return nil
	})
	for _, e := range recordedOSS(t, s) {
		o, _ := e["oss"].(map[string]any)
		b, _ := o["bucket"].(map[string]any)
		if e["eventSource"] != "acs:oss" || e["region"] != "local" || b["name"] != "photos" || b["arn"] != "acs:oss:local:123:photos" {
			t.Errorf("event %v is not in FC's OSS format", e)
		}
	}
	if status, body := post("", nil); status != 403 {
		t.Errorf("empty call: %d %s", status, body)
	}
	// A trigger that is not an oss trigger, and a missing one: signed
	// callers learn which; others get 403 either way.
	for path, want := range map[string]int{"ev/rec/web": 400, "ev/rec/nope": 404, "ev/nope/photos": 404} {
		_, err := s.Client.Do(t.Context(), client.Request{Method: "POST", Path: "/openfc/v1/events/oss/" + path,
			Body: s3Event("s3:ObjectCreated:Put", "photos", "in/a.jpg", 1)}, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != want {
			t.Errorf("signed webhook call to %s: %v, want HTTP %d", path, err, want)
		}
		req, _ := http.NewRequest("POST", s.Endpoint+"/openfc/v1/events/oss/"+path, bytes.NewReader(s3Event("s3:ObjectCreated:Put", "photos", "in/a.jpg", 1)))
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("unsigned webhook call to %s: %v %v, want 403", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	s.Stop(t)
}

// TestOSSTriggerNATS: an oss trigger with natsSubject takes notifications
// published there (MinIO's NATS target) through the same filters.
func TestOSSTriggerNATS(t *testing.T) {
	s, nc := eventServer(t)
	createTrigger(t, s, fc.Trigger{TriggerName: "bucket", TriggerType: "oss", SourceARN: ptr("acs:oss:local:123:docs"),
		InvocationRole: "acs:ram::123:role/x",
		TriggerConfig:  []byte(`{"events":["oss:ObjectCreated:PutObject"],"filter":{"key":{"prefix":"","suffix":".pdf"}},"natsSubject":"minio.events"}`)})
	poll(t, 60*time.Second, func() error {
		if !subscribed(nc, "minio.events") {
			return errors.New("the oss trigger has not subscribed to minio.events")
		}
		return nil
	})
	for _, b := range [][]byte{
		s3Event("s3:ObjectCreated:Put", "docs", "report.pdf", 100),
		s3Event("s3:ObjectCreated:Put", "docs", "notes.txt", 100),
		s3Event("s3:ObjectRemoved:Delete", "docs", "old.pdf", 0),
		s3Event("s3:ObjectCreated:Put", "other", "x.pdf", 1),
		s3Event("s3:ObjectCreated:Put", "docs", "z/last.pdf", 7),
	} {
		publish(t, nc, "minio.events", string(b))
	}
	want := []string{"ObjectCreated:PutObject report.pdf", "ObjectCreated:PutObject z/last.pdf"}
	testenv.Eventually(t, 90*time.Second, func() error {
		got := ossKeys(recordedOSS(t, s))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("the function got %q, want %q", got, want)
		}
		return nil
	})
	s.Stop(t)
}

// TestEventTriggerBadConfigs: NATS and OSS trigger configs that cannot
// work are refused with FC's InvalidArgument, and nothing is stored.
func TestEventTriggerBadConfigs(t *testing.T) {
	s, _ := eventServer(t)
	ctx := t.Context()
	arn := ptr("acs:oss:local:123:b")
	for _, c := range []struct {
		name string
		tr   fc.Trigger
		want string
	}{
		{"no source parameters", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS"}}`)}, "sourceNATSParameters is required"},
		{"no subject or stream", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{}`, 1, 0))}, "Subject or Stream is required"},
		{"bad subject", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a..b"}`, 1, 0))}, `Subject "a..b" is invalid`},
		{"wildcard not last", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a.>.b"}`, 1, 0))}, "is invalid"},
		{"bad stream", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Stream":"A.B"}`, 1, 0))}, `Stream "A.B" is invalid`},
		{"consumer without stream", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a","Consumer":"c"}`, 1, 0))}, "Consumer needs Stream"},
		{"bad url", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a","Url":"http://x:4222"}`, 1, 0))}, "scheme"},
		{"batch too big", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a"}`, 10001, 0))}, "CountBasedWindow 10001 is out of range"},
		{"window too long", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"a"}`, 1, 16))}, "TimeBasedWindow 16 is out of range"},
		{"bad deliver policy", fc.Trigger{TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Stream":"S","DeliverPolicy":"sometimes"}`, 1, 0))}, "DeliverPolicy"},
		{"oss bad arn", fc.Trigger{TriggerType: "oss", SourceARN: ptr("bucket"), TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"]}`)}, "acs:oss:<region>:<account>:<bucket>"},
		{"oss short token", fc.Trigger{TriggerType: "oss", SourceARN: arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"webhookToken":"short"}`)}, "webhookToken is too short"},
		{"oss bad subject", fc.Trigger{TriggerType: "oss", SourceARN: arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"natsSubject":"a b"}`)}, "natsSubject"},
		{"oss url without subject", fc.Trigger{TriggerType: "oss", SourceARN: arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"natsUrl":"nats://x:4222"}`)}, "natsUrl needs natsSubject"},
	} {
		c.tr.TriggerName = "bad"
		_, _, err := s.Client.CreateTrigger(ctx, "ev", "rec", &c.tr)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidArgument" || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: err = %v, want 400 InvalidArgument with %q", c.name, err, c.want)
		}
	}
	if _, _, err := s.Client.GetTrigger(ctx, "ev", "rec", "bad"); err == nil {
		t.Error("a refused trigger was stored")
	}
	// An update to a bad config is refused too and changes nothing.
	good := natsTrigger(true, `{"Subject":"ok.subject"}`, 10, 1)
	createTrigger(t, s, fc.Trigger{TriggerName: "good", TriggerType: "eventbridge", TriggerConfig: []byte(good)})
	if _, _, err := s.Client.UpdateTrigger(ctx, "ev", "rec", "good", map[string]any{"triggerConfig": json.RawMessage(natsTrigger(true, `{"Subject":""}`, 10, 1))}, ""); err == nil {
		t.Error("an update to a config without a subject was accepted")
	}
	got, _, err := s.Client.GetTrigger(ctx, "ev", "rec", "good")
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(got.TriggerConfig, &a)
	json.Unmarshal([]byte(good), &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("after a refused update the config is %s, want %s", got.TriggerConfig, good)
	}
	s.Stop(t)
}

func ptr[T any](v T) *T { return &v }

// TestNATSTriggerOncePerPlatform: two nodes on one NATS both run a plain
// subject trigger; each message is delivered once, by one node or the
// other (the trigger's queue group).
func TestNATSTriggerOncePerPlatform(t *testing.T) {
	testenv.RequireRoot(t)
	env := []string{"OPENFC_ACCOUNT_ID=4444555566667777", "OPENFC_ACCESS_KEY_ID=E2EEVENTSKEY",
		"OPENFC_ACCESS_KEY_SECRET=events-secret-0123456789", "OPENFC_MASTER_KEY=" + strings.Repeat("ef", 32)}
	n1 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n1"), Env: env, Args: []string{"--nats-listen", "127.0.0.1:0"}})
	m := natsAddrRE.FindStringSubmatch(n1.Stderr.String())
	if m == nil {
		t.Fatalf("node 1 logged no `nats listening addr=...` line:\n%s", n1.Stderr)
	}
	n2 := startServer(t, serverOptions{DataDir: filepath.Join(t.TempDir(), "n2"), Env: env, Args: []string{"--nats-url", "nats://" + m[1]}})
	nc, err := nats.Connect("nats://" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := t.Context()
	c := n1.Client
	deployCustom(t, c, "ev", "rec", testenv.RecorderZip(t), 100)
	createTrigger(t, n1, fc.Trigger{TriggerName: "web", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)})
	createTrigger(t, n1, fc.Trigger{TriggerName: "logs", TriggerType: "eventbridge", TriggerConfig: []byte(natsTrigger(true, `{"Subject":"logs.two"}`, 1, 0))})
	poll(t, 60*time.Second, func() error {
		_, _, err := n2.Client.GetTrigger(ctx, "ev", "rec", "logs")
		return err
	})
	poll(t, 60*time.Second, func() error {
		if !subscribed(nc, "logs.two") {
			return errors.New("no node subscribed to logs.two yet")
		}
		return nil
	})
	delivered := func() (all []string, dup string) {
		seen := map[string]bool{}
		for _, s := range []*server{n1, n2} {
			for _, d := range dataBySubject(batches(t, s), "logs.two") {
				if d == "probe" { // subscribed's
					continue
				}
				if seen[d] {
					dup = d
				}
				seen[d] = true
				all = append(all, d)
			}
		}
		slices.Sort(all)
		return all, dup
	}
	var want []string
	for round := range 3 {
		msgs := seq(fmt.Sprintf("r%d", round), 0, 20)
		want = slices.Sorted(slices.Values(append(want, msgs...)))
		publish(t, nc, "logs.two", msgs...)
		testenv.Eventually(t, 90*time.Second, func() error {
			all, dup := delivered()
			if dup != "" {
				t.Fatalf("message %s was delivered twice", dup)
			}
			if !slices.Equal(all, want) {
				return fmt.Errorf("delivered %d of %d messages", len(all), len(want))
			}
			return nil
		})
	}
	n2.Stop(t)
	n1.Stop(t)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
