// Package cli implements every openfc command (`openfc serve` and the
// client commands `openfc <noun> <verb>`) on cobra. Main runs a command
// line in process with explicit standard streams, so every command is
// testable without a subprocess. Results go to stdout (a table, or JSON
// with --output json), progress and errors to stderr; exit codes are 0
// (success), 1 (failure) and 2 (usage error).
//
// cli is the only package besides cmd that reads the process environment
// and the only one besides testenv that imports app.
package cli
