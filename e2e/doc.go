// Package e2e holds openfc's end-to-end tests. They build the openfc binary
// once, start `openfc serve` as a subprocess on a free port with its data in
// a temp dir, and drive it from outside: through the Go client, the CLI and
// the official @alicloud/fc2 Node SDK (node/). Durability tests stop the
// server with SIGTERM or SIGKILL and restart it on the same data dir.
//
// Run them with `go test ./e2e/`; scripts/test.sh runs them with the rest.
package e2e
