package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
)

func newInvokeCmd(e *env) *cobra.Command {
	c := &common{e: e}
	var data, file string
	var async, logs bool
	cmd := &cobra.Command{
		Use:   "invoke SERVICE[.QUALIFIER]/FUNCTION [flags]",
		Short: "Invoke a function",
		Long: `invoke calls a function synchronously and prints its result on stdout. The
event comes from --data, --file (- for stdin) or is empty. --log prints the
last 4 KB of the invocation's log on stderr. A function error (handled or
unhandled) prints the error JSON on stdout and exits 1.`,
		Example: `  openfc invoke demo/hello --data '{"name":"bob"}'
  openfc invoke demo.prod/hello --file event.json --log
  echo hi | openfc invoke demo/hello --file -`,
		Args: exactArgs("SERVICE[.QUALIFIER]/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE[.QUALIFIER]", "FUNCTION")
			if err != nil {
				return err
			}
			if data != "" && file != "" {
				return usagef("give the event with --data or --file, not both")
			}
			payload := []byte(data)
			if file == "-" {
				payload, err = io.ReadAll(e.stdin)
			} else if file != "" {
				payload, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("read event: %w", err)
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			h := http.Header{}
			if logs {
				h.Set("X-Fc-Log-Type", "Tail")
			}
			if async {
				h.Set("X-Fc-Invocation-Type", "Async")
			}
			svc, q, _ := strings.Cut(names[0], ".")
			path := "/2016-08-15/services/" + pathSeg(svc)
			if q != "" {
				path += "." + pathSeg(q)
			}
			path += "/functions/" + pathSeg(names[1]) + "/invocations"
			var out []byte
			r, err := cl.Do(cmd.Context(), client.Request{Method: "POST", Path: path, Body: payload, Header: h}, &out)
			if err != nil {
				return apiError("invoke "+args[0], err)
			}
			if logs {
				tail, _ := base64.StdEncoding.DecodeString(r.Header.Get("X-Fc-Log-Result"))
				e.stderr.Write(tail)
			}
			if async {
				fmt.Fprintf(e.stdout, "accepted, request ID %s\n", r.RequestID)
				return nil
			}
			e.stdout.Write(out)
			if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) && !c.json() {
				fmt.Fprintln(e.stdout)
			}
			if t := r.Header.Get("X-Fc-Error-Type"); t != "" {
				return fmt.Errorf("the function failed (%s, request ID %s)", t, r.RequestID)
			}
			return nil
		},
	}
	addConnFlags(cmd, &c.conn)
	cmd.Flags().StringVarP(&c.output, "output", "o", "table", "output format: table (result as is) or json (result as is, no newline added)")
	cmd.Flags().StringVarP(&data, "data", "d", "", "event payload")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the event from a file (- for stdin)")
	cmd.Flags().BoolVar(&async, "async", false, "invoke asynchronously (X-Fc-Invocation-Type: Async)")
	cmd.Flags().BoolVar(&logs, "log", false, "print the invocation's log tail on stderr")
	return cmd
}
