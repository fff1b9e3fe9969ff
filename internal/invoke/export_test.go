package invoke

import "context"

// ResolveAdmit runs the resolution and admission of a call, releasing its
// ticket at once: what the alias and flow control add to a warm call
// (BenchmarkResolveAdmit).
func ResolveAdmit(ctx context.Context, iv *Invoker, req *Request) error {
	if _, _, err := iv.resolve(req); err != nil {
		return err
	}
	t, err := iv.admit(ctx, req)
	if err != nil {
		return err
	}
	t.Release()
	return nil
}
