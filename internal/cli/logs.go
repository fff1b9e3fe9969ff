package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
)

func newLogsCmd(e *env) *cobra.Command {
	c := &common{e: e}
	var q client.LogQuery
	var since string
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs SERVICE[.QUALIFIER]/FUNCTION [flags]",
		Short: "Show what a function wrote to stdout and stderr",
		Long: `logs prints a function's stored log lines, oldest first: time, request ID and
the line. Lines are kept for the node's --log-retention and --log-max-bytes.
--since takes a duration (10m, 2h) or an RFC 3339 time; --grep keeps lines
containing the text (case sensitive); --limit bounds the lines printed (0: all).
-f follows new lines as they are written until interrupted (with --since,
stored lines from then first). -o json prints one JSON object per line.`,
		Example: `  openfc logs demo/hello
  openfc logs demo/hello --request-id 3f0c2a6e-1b7d-4c3e-9a1e-2a5d9b7c0e11
  openfc logs demo.prod/hello --since 10m --grep ERROR
  openfc logs demo/hello -f -o json`,
		Args: exactArgs("SERVICE[.QUALIFIER]/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE[.QUALIFIER]", "FUNCTION")
			if err != nil {
				return err
			}
			svc, qual, _ := strings.Cut(names[0], ".")
			if qual != "" && q.Qualifier != "" && qual != q.Qualifier {
				return usagef("qualifier %q in %q differs from --qualifier %q", qual, args[0], q.Qualifier)
			}
			if qual != "" {
				q.Qualifier = qual
			}
			q.Service, q.Function = svc, names[1]
			if q.Limit < 0 {
				return usagef("--limit %d: use 0 (all) or more", q.Limit)
			}
			if since != "" {
				if _, err := time.ParseDuration(since); err != nil {
					if _, err := time.Parse(time.RFC3339Nano, since); err != nil {
						return usagef("--since %q: use a duration such as 10m or an RFC 3339 time", since)
					}
				}
				q.Start = since
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			print := c.logPrinter()
			if follow {
				if !cmd.Flags().Changed("since") {
					q.Start = "" // new lines only
				}
				err := cl.TailLogs(cmd.Context(), q, print)
				if errors.Is(err, context.Canceled) {
					return nil // interrupted: the normal end of a tail
				}
				return apiError("follow logs of "+args[0], err)
			}
			return c.printLogs(cmd.Context(), cl, q, args[0], print)
		},
	}
	addConnFlags(cmd, &c.conn)
	fl := cmd.Flags()
	fl.StringVarP(&c.output, "output", "o", "table", "output format: table (time, request ID, line) or json (one object per line)")
	fl.StringVar(&q.Qualifier, "qualifier", "", "only lines of this qualifier (version or alias)")
	fl.StringVar(&q.RequestID, "request-id", "", "only lines of this request")
	fl.StringVar(&since, "since", "1h", "start this long ago (10m, 2h) or at an RFC 3339 time")
	fl.StringVar(&q.Contains, "grep", "", "only lines containing this text")
	fl.IntVar(&q.Limit, "limit", 100, "print at most this many lines (0: all)")
	fl.BoolVarP(&follow, "follow", "f", false, "follow new lines until interrupted")
	return cmd
}

// printLogs pages through a query until its limit (q.Limit, 0 for all).
func (c *common) printLogs(ctx context.Context, cl *client.Client, q client.LogQuery, what string, print func(client.LogLine) error) error {
	want := q.Limit
	printed := 0
	for {
		q.Limit = 1000
		if want > 0 {
			q.Limit = min(want-printed, 1000)
		}
		lines, next, err := cl.QueryLogs(ctx, q)
		if err != nil {
			return apiError("logs of "+what, err)
		}
		for _, l := range lines {
			if err := print(l); err != nil {
				return err
			}
		}
		printed += len(lines)
		if next == "" {
			return nil
		}
		if want > 0 && printed >= want {
			fmt.Fprintf(c.e.stderr, "more lines: raise --limit or narrow --since\n")
			return nil
		}
		q.NextToken = next
	}
}

// logPrinter returns how one line is printed for the output format.
func (c *common) logPrinter() func(client.LogLine) error {
	if c.json() {
		enc := json.NewEncoder(c.e.stdout)
		enc.SetEscapeHTML(false)
		return func(l client.LogLine) error { return enc.Encode(l) }
	}
	return func(l client.LogLine) error {
		_, err := fmt.Fprintf(c.e.stdout, "%s  %s  %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), dash(l.RequestID), l.Message)
		return err
	}
}
