package e2e

// The tests build and run cmd/openfc, which this package does not import,
// so `go test` would not see a change to the server as a reason to run
// them again instead of reporting a cached pass. Importing the CLI (which
// reaches every package of the binary) puts the whole server into this
// test binary's build ID, and with it into the test cache key.
import _ "github.com/openfc/openfc/internal/cli"
