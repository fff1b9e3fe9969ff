package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// signedHeader returns the headers of a correctly signed request.
func signedHeader(t *testing.T, n *testenv.Node, method, path string) http.Header {
	t.Helper()
	req, err := http.NewRequest(method, n.URL+path, nil)
	must(t, "new request", err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Fc-Account-Id", n.Creds.AccountID)
	fc.SignRequest(req, n.Creds.AccessKeyID, n.Creds.AccessKeySecret, "")
	return req.Header
}

// rawRequest sends a request over a plain TCP connection: the request line
// and headers, then whatever writeBody writes (concurrently, so the server
// may answer before the body is complete), and returns the response.
func rawRequest(t *testing.T, n *testenv.Node, method, path string, header http.Header, writeBody func(io.Writer)) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(n.URL)
	must(t, "parse url", err)
	conn, err := net.Dial("tcp", u.Host)
	must(t, "dial", err)
	t.Cleanup(func() { conn.Close() })
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, u.Host)
	must(t, "write header", header.Write(&head))
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatalf("write request head: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeBody(conn) // fails once the server closes the connection
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	must(t, "read response", err)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	must(t, "read response body", err)
	conn.Close()
	<-done
	return resp, body
}

func TestOversizedBodies(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	const path = prefix + "/services/svc/functions"

	t.Run("content-length", func(t *testing.T) {
		h := signedHeader(t, n, "POST", path)
		h.Set("Content-Length", fmt.Sprint(fc.MaxRequestBodyBytes+1))
		resp, body := rawRequest(t, n, "POST", path, h, func(w io.Writer) {
			io.WriteString(w, `{"functionName":"big","code":{"zipFile":"`)
		})
		wantErrorBody(t, "CreateFunction(Content-Length 101 MB + 1)", resp.StatusCode, resp.Header, body, http.StatusBadRequest, fc.CodeEntityTooLarge)
	})
	t.Run("chunked", func(t *testing.T) {
		h := signedHeader(t, n, "POST", path)
		h.Set("Transfer-Encoding", "chunked")
		resp, body := rawRequest(t, n, "POST", path, h, func(w io.Writer) {
			// Stream a little more than the limit in 1 MiB chunks; the
			// server stops reading at the limit and answers.
			bw := bufio.NewWriterSize(w, 1<<16)
			chunk := bytes.Repeat([]byte("0"), 1<<20)
			for i := 0; i <= fc.MaxRequestBodyBytes>>20+1; i++ {
				fmt.Fprintf(bw, "%x\r\n", len(chunk))
				bw.Write(chunk)
				if _, err := bw.WriteString("\r\n"); err != nil {
					return
				}
			}
			bw.WriteString("0\r\n\r\n")
			bw.Flush()
		})
		wantErrorBody(t, "CreateFunction(chunked, over 101 MB)", resp.StatusCode, resp.Header, body, http.StatusBadRequest, fc.CodeEntityTooLarge)
	})
	t.Run("zipFile over 100 MB", func(t *testing.T) {
		// A JSON body under the 101 MB request limit whose base64 code is
		// just over FC's 100 MB, streamed so the test holds none of it.
		head := `{"functionName":"big","runtime":"python3.9","handler":"index.handler","code":{"zipFile":"`
		tail := `"}}`
		b64Len := int64(fc.MaxCodeBase64Bytes + 4)
		body := io.MultiReader(strings.NewReader(head), io.LimitReader(aReader{}, b64Len), strings.NewReader(tail))
		_, err := n.Client.Do(t.Context(), client.Request{Method: "POST", Path: path, Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}}, nil)
		apiError(t, "CreateFunction(zipFile 100 MB + 4)", err, http.StatusBadRequest, fc.CodeEntityTooLarge)
	})
	list, _, err := n.Client.ListFunctions(t.Context(), "svc", "", client.ListOptions{})
	must(t, "ListFunctions", err)
	if len(list.Functions) != 0 {
		t.Errorf("ListFunctions after oversized creates = %d, want 0", len(list.Functions))
	}
	// The node still serves after the big requests.
	mkFunction(t, n, "svc", "small", fc.Function{}, defaultZip(t))
}

// aReader is an endless reader of 'A' bytes (valid base64).
type aReader struct{}

func (aReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}
