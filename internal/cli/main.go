package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// usageError marks an error in how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what a command sees of its process: streams and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	vars   []string // KEY=VALUE, as os.Environ
}

// Main runs the openfc command line args (without the program name) and
// returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, vars: os.Environ()})
}

// run is Main with the environment given, for tests.
func run(ctx context.Context, args []string, e *env) int {
	stderr := e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "openfc:", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFail
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "openfc",
		Short: "openfc: a self-hosted Function Compute",
		Long: `openfc runs functions on demand in isolated sandboxes, with an API that is
wire-compatible with Alibaba Cloud Function Compute (2016-08-15).

Start a node with 'openfc serve'; every other command is a client of its API.`,
		Example: `  openfc serve --data-dir ./openfc-data
  openfc service create demo
  openfc function list demo --output json`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(e), newServiceCmd(e), newFunctionCmd(e), newTriggerCmd(e), newConfigCmd(e), newInvokeCmd(e))
	root.AddCommand(newVersionCmd(e), newAliasCmd(e), newProvisionCmd(e), newLimitsCmd(e))
	root.AddCommand(newAsyncCmd(e), newLogsCmd(e), newUsageCmd(e), newAuditCmd(e))
	return root
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires exactly", "flag needs an argument", "invalid argument"} {
		if len(msg) >= len(p) && containsFold(msg, p) {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
