package trigger_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkNATSStreamTrigger measures log lines per second from a
// JetStream stream through an eventbridge NATS trigger (batches of 100),
// the async queue and a Python function that counts them, to its onSuccess
// NATS destination. The baseline is a bare durable consumer reading and
// acknowledging the same number of messages from the same server.
func BenchmarkNATSStreamTrigger(b *testing.B) {
	testenv.RequireRoot(b)
	n := testenv.Platform(b, func(c *config.Config) { c.NATS.Listen = "127.0.0.1:0" })
	nc, err := nats.Connect(n.App.NATSURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}}); err != nil {
		b.Fatal(err)
	}
	line := []byte("2026-01-02T03:04:05Z INFO request 12345 handled by web-1 in 3 ms")
	publish := func(count int) {
		for range count {
			if _, err := js.PublishAsync("bench.in", line); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(2 * time.Minute):
			b.Fatal("publish acks did not come")
		}
	}

	b.Run("baseline=consumer", func(b *testing.B) {
		cons, err := js.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{Durable: "bare", FilterSubject: "bench.base",
			AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			js.PublishAsync("bench.base", line)
		}
		<-js.PublishAsyncComplete()
		b.ResetTimer()
		it, err := cons.Messages()
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			m, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			m.Ack()
		}
		it.Stop()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})

	c := n.Client
	if _, _, err := c.CreateService(ctx, &fc.Service{ServiceName: "bench"}); err != nil {
		b.Fatal(err)
	}
	code := testenv.Zip(b, map[string]string{"index.py": "import json\ndef handler(event, context):\n    return str(len(json.loads(event)))\n"})
	if _, _, err := c.CreateFunction(ctx, "bench", &fc.FunctionInput{
		Function: fc.Function{FunctionName: "count", Runtime: "python3", Handler: "index.handler"},
		Code:     &fc.Code{ZipFile: code}}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Do(ctx, client.Request{Method: "PUT", Path: "/2016-08-15/services/bench/functions/count/async-invoke-config",
		Body: json.RawMessage(`{"destinationConfig":{"onSuccess":{"destination":"nats:bench-done"}}}`)}, nil); err != nil {
		b.Fatal(err)
	}
	// The destination subject is kept by a stream: a JetStream publish to
	// a subject that only has core subscribers waits for an ack that never
	// comes.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCHDONE", Subjects: []string{"bench-done"}}); err != nil {
		b.Fatal(err)
	}
	var done, invocations atomic.Int64
	oc, err := js.OrderedConsumer(ctx, "BENCHDONE", jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := oc.Consume(func(m jetstream.Msg) {
		var rec struct{ ResponsePayload string }
		json.Unmarshal(m.Data(), &rec)
		k, _ := strconv.Atoi(rec.ResponsePayload)
		done.Add(int64(k))
		invocations.Add(1)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	if _, _, err := c.CreateTrigger(ctx, "bench", "count", &fc.Trigger{TriggerName: "in", TriggerType: "eventbridge",
		TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":` +
			`{"Stream":"BENCH","Subject":"bench.in"}}},"runOptions":{"batchWindow":{"CountBasedWindow":100,"TimeBasedWindow":1}}}`)}); err != nil {
		b.Fatal(err)
	}
	b.Run("trigger=batch100", func(b *testing.B) {
		// Warm: one batch through, so the instance exists.
		publish(1)
		wait(b, &done, 1)
		done.Store(0)
		invocations.Store(0)
		b.ResetTimer()
		publish(b.N)
		wait(b, &done, int64(b.N))
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(b.N)/float64(max(1, invocations.Load())), "msgs/invocation")
	})
}

func wait(b *testing.B, n *atomic.Int64, want int64) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatal(fmt.Sprintf("%d of %d messages processed", n.Load(), want))
		}
		time.Sleep(2 * time.Millisecond)
	}
}
