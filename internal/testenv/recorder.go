package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Recorder is a custom runtime (its /code/bootstrap) for tests of what
// reaches a function: it remembers every event it is invoked with, as
// "<event>:<x-fc-retry-count>", fails the event "fail" (status 500), and
// lists what it saw, one a line, on GET (through an HTTP trigger).
const Recorder = `#!/usr/bin/python3
import http.server, threading
seen, lock = [], threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0)).decode()
        with lock: seen.append('%s:%s' % (body, self.headers.get('x-fc-retry-count')))
        if body == 'fail':
            self.send_response(500); self.end_headers(); self.wfile.write(b'{"errorMessage":"failed on purpose"}'); return
        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')
    def do_GET(self):
        with lock: out = '\n'.join(seen).encode()
        self.send_response(200); self.send_header('content-length', str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(('0.0.0.0', 9000), H).serve_forever()
`

// RecorderZip returns the base64 zip of a Recorder function.
func RecorderZip(t testing.TB) string {
	t.Helper()
	return Zip(t, map[string]string{"bootstrap!": Recorder})
}

// Recorded returns what a Recorder saw, asked through its anonymous HTTP
// trigger at proxyURL (…/2016-08-15/proxy/<service>/<function>/): the
// events, each without its ":<retry count>" suffix, and the full lines.
func Recorded(t testing.TB, proxyURL string) (events, lines []string) {
	t.Helper()
	resp, err := http.Get(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read the recorder at %s = %d %s", proxyURL, resp.StatusCode, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		lines = append(lines, line)
		events = append(events, line[:strings.LastIndex(line, ":")])
	}
	return events, lines
}
