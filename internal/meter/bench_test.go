package meter_test

import (
	"testing"
	"time"

	"github.com/openfc/openfc/internal/meter"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkMeterRecord measures what the warm path pays to meter one call
// (the hand-over to the buffer), with the writer and aggregator running
// against real JetStream.
func BenchmarkMeterRecord(b *testing.B) {
	br := testenv.NATS(b)
	m := meter.New(meter.Options{JS: br.JS, KV: br.Usage, AccountID: "1"})
	if err := m.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(b.Context())
	inv := meter.Invocation{End: time.Now(), Service: "s", Function: "f", Qualifier: "LATEST", RequestID: "2f1c3b4e-8a6d-4f55-9c1e-0d7a2b3c4d5e",
		Duration: 3 * time.Millisecond, MemoryBytes: 128 << 20}
	b.ReportAllocs()
	for b.Loop() {
		m.Record(inv)
	}
}
