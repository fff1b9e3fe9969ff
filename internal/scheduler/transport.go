package scheduler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// transport is the HTTP/1.1 client of one instance. Unlike http.Transport
// it runs each call on the caller's goroutine (write the request, read the
// answer, on a pooled keep-alive connection), which saves the hand-offs to
// and from a connection's read and write goroutines on every invocation:
// the warm path's largest cost after the system calls themselves. Context
// cancellation and deadlines are applied as connection deadlines.
type transport struct {
	dial func(ctx context.Context) (net.Conn, error)

	// mu guards idle and closed.
	mu     sync.Mutex
	idle   []*tconn
	closed bool
}

type tconn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

var errTransportClosed = errors.New("scheduler: instance transport closed")

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil {
		err = ctxError(req.Context(), err)
	}
	return resp, err
}

// ctxError reports a connection deadline that the call's context set as
// the context's own error: the connection's deadline may pass a moment
// before the context's timer fires, and callers tell a timeout from a
// crash by the context.
func ctxError(ctx context.Context, err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < 50*time.Millisecond {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tc, err := t.get(ctx)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	tc.c.SetDeadline(deadline) // zero: none
	// Cancelling the call unblocks its read or write at once.
	stop := context.AfterFunc(ctx, func() { tc.c.SetDeadline(time.Unix(1, 0)) })
	if err := req.Write(tc.bw); err != nil {
		stop()
		tc.c.Close()
		return nil, err
	}
	if err := tc.bw.Flush(); err != nil {
		stop()
		tc.c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(tc.br, req)
	if err != nil {
		stop()
		tc.c.Close()
		return nil, err
	}
	resp.Body = &body{rc: resp.Body, ctx: ctx, t: t, tc: tc, stop: stop, reuse: !resp.Close}
	return resp, nil
}

func (t *transport) get(ctx context.Context) (*tconn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errTransportClosed
	}
	if n := len(t.idle); n > 0 {
		tc := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		return tc, nil
	}
	t.mu.Unlock()
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &tconn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, nil
}

func (t *transport) put(tc *tconn) {
	t.mu.Lock()
	if !t.closed {
		t.idle = append(t.idle, tc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	tc.c.Close()
}

// close closes idle connections and refuses new calls.
func (t *transport) close() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.mu.Unlock()
	for _, tc := range idle {
		tc.c.Close()
	}
}

// body returns its connection to the pool once read to the end and
// closed, or closes it when the caller stops early.
type body struct {
	rc    io.ReadCloser
	ctx   context.Context
	t     *transport
	tc    *tconn
	stop  func() bool
	reuse bool
	eof   bool
	done  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = ctxError(b.ctx, err)
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	// A deadline the context set must not reach the next call.
	if b.stop() && b.eof && b.reuse && err == nil {
		b.tc.c.SetDeadline(time.Time{})
		b.t.put(b.tc)
		return nil
	}
	b.tc.c.Close()
	return err
}
