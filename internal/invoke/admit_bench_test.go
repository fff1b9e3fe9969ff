package invoke_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/flow"
	inv "github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/seal"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/testenv"
)

// BenchmarkResolveAdmit measures what the alias and flow control add to a
// warm call, without the HTTP and instance round trips that swamp it in
// fcbench: the qualifier's resolution to a cached spec plus admission and
// release. "latest" is a call at LATEST with no limits (the baseline);
// "alias+limits" goes through an alias with a canary weight and limits on
// the account, the service and the function.
func BenchmarkResolveAdmit(b *testing.B) {
	br := testenv.NATS(b)
	box, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		b.Fatal(err)
	}
	blobs := blob.New(blob.Options{Objects: br.Code, Box: box, CacheDir: b.TempDir()})
	st := store.New(store.Options{KV: br.Meta, Box: box, Blobs: blobs, AccountID: "42"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Shutdown(context.Background()) })
	if _, err := st.CreateService(ctx, &fc.Service{ServiceName: "s"}); err != nil {
		b.Fatal(err)
	}
	zip := testenv.Zip(b, map[string]string{"index.py": "def handler(e, c):\n    return 'ok'\n"})
	in := &fc.FunctionInput{Function: fc.Function{FunctionName: "f", Runtime: "python3", Handler: "index.handler"}, Code: &fc.Code{ZipFile: zip}}
	if _, err := st.CreateFunction(ctx, "s", in, ""); err != nil {
		b.Fatal(err)
	}
	for i := range 2 {
		if _, err := st.PublishVersion(ctx, "s", "", ""); err != nil {
			b.Fatal(err)
		}
		up := &fc.FunctionInput{Function: fc.Function{Description: string(rune('a' + i))}}
		if _, err := st.UpdateFunction(ctx, "s", "f", up, fc.Present{"description": true}, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.CreateAlias(ctx, "s", &fc.Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.1}}); err != nil {
		b.Fatal(err)
	}
	fl := flow.New(flow.Options{})
	iv := inv.New(inv.Options{Store: st, Flow: fl})
	run := func(b *testing.B, q string) {
		req := &inv.Request{Service: "s", Qualifier: q, Function: "f"}
		b.ReportAllocs()
		for b.Loop() {
			if err := inv.ResolveAdmit(ctx, iv, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("latest", func(b *testing.B) { run(b, "") })
	fl.SetAccount(flow.Limits{InvocationsPerSecond: 1e9})
	fl.SetService("s", flow.Limits{InvocationsPerSecond: 1e9, ConcurrentRequests: 1000})
	fl.SetFunction("s", "f", flow.Limits{InvocationsPerSecond: 1e9, ConcurrentRequests: 1000})
	b.Run("alias+limits", func(b *testing.B) { run(b, "prod") })
}
