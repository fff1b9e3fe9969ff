package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newAsyncCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "async", "Inspect async invocations: the dead-letter view",
		`Async invocations that failed after all their attempts (maxAsyncRetryAttempts),
or expired before they could run (maxAsyncEventAgeInSeconds), are kept as dead
letters: list them, run them again (redrive) or delete them (purge).`,
		`  openfc async dead-letters list
  openfc async dead-letters redrive --service demo`)
	dl := &cobra.Command{
		Use:   "dead-letters",
		Short: "List, redrive and purge async invocations that failed or expired",
		Long: `A dead letter keeps the invocation's payload, function, reason (RetriesExhausted
or Expired), attempts and last error. Redrive enqueues it again with a new
request ID (a stateful invocation goes back to Enqueued) and removes it from the
view; purge deletes it.`,
		Example: `  openfc async dead-letters list --service demo
  openfc async dead-letters redrive 12 13
  openfc async dead-letters purge --service demo --function resize`,
		Args: nounArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	dl.AddCommand(c.deadList(), c.deadRedrive(), c.deadPurge())
	cmd.AddCommand(dl)
	return cmd
}

// deadFlags select dead letters.
type deadFlags struct {
	service, function string
	all               bool
}

func addDeadFlags(cmd *cobra.Command, f *deadFlags, allHelp string) {
	cmd.Flags().StringVar(&f.service, "service", "", "only dead letters of this service")
	cmd.Flags().StringVar(&f.function, "function", "", "only dead letters of this function (with --service)")
	cmd.Flags().BoolVar(&f.all, "all", false, allHelp)
}

// query builds the selection from the flags and ID arguments.
func (f *deadFlags) query(args []string, needSelection bool) (client.DeadLetterQuery, error) {
	q := client.DeadLetterQuery{Service: f.service, Function: f.function}
	if f.function != "" && f.service == "" {
		return q, usagef("--function needs --service")
	}
	for _, a := range args {
		id, err := strconv.ParseUint(a, 10, 64)
		if err != nil || id == 0 {
			return q, usagef("%q is not a dead-letter ID (a positive number, see 'openfc async dead-letters list')", a)
		}
		q.IDs = append(q.IDs, id)
	}
	if needSelection {
		if len(q.IDs) == 0 && q.Service == "" && !f.all {
			return q, usagef("name dead letters by ID or --service, or pass --all for every one")
		}
		q.All = f.all
	}
	return q, nil
}

func msTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

func (c *common) printDeadLetters(ls []fc.DeadLetter) error {
	rows := make([][]string, 0, len(ls))
	for _, d := range ls {
		payload := d.Payload
		if len(payload) > 40 {
			payload = payload[:37] + "..."
		}
		rows = append(rows, []string{strconv.FormatUint(d.ID, 10), d.ServiceName + "/" + d.FunctionName, d.Reason,
			strconv.Itoa(d.Attempts), msTime(d.DeadTime), d.RequestID, dash(d.ErrorMessage), strconv.Quote(payload)})
	}
	return printTable(c.e.stdout, []string{"ID", "FUNCTION", "REASON", "ATTEMPTS", "DEAD SINCE", "REQUEST ID", "ERROR", "PAYLOAD"}, rows)
}

func (c *common) deadList() *cobra.Command {
	var f deadFlags
	var limit int
	var nextToken string
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List dead letters, oldest first",
		Example: `  openfc async dead-letters list
  openfc async dead-letters list --service demo --function resize -o json
  openfc async dead-letters list --limit 10 --next-token 42`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(nil, false)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit %d: use a positive number", limit)
			}
			q.Limit, q.NextToken = limit, nextToken
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.DeadLetterList{DeadLetters: []fc.DeadLetter{}}
			for {
				l, err := cl.ListDeadLetters(cmd.Context(), q)
				if err != nil {
					return apiError("list dead letters", err)
				}
				all.DeadLetters = append(all.DeadLetters, l.DeadLetters...)
				all.NextToken = l.NextToken
				if !f.all || l.NextToken == "" {
					break
				}
				q.NextToken = l.NextToken
			}
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			if err := c.printDeadLetters(all.DeadLetters); err != nil {
				return err
			}
			c.moreHint(cmd, all.NextToken)
			return nil
		},
	}
	addDeadFlags(cmd, &f, "follow nextToken and list every page")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many per page (server default when 0)")
	cmd.Flags().StringVar(&nextToken, "next-token", "", "continue a listing where the previous page ended")
	return cmd
}

func (c *common) deadRedrive() *cobra.Command {
	var f deadFlags
	cmd := &cobra.Command{
		Use:   "redrive [ID...] [flags]",
		Short: "Enqueue dead letters again (with new request IDs)",
		Example: `  openfc async dead-letters redrive 12 13
  openfc async dead-letters redrive --service demo --function resize
  openfc async dead-letters redrive --all -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(args, true)
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			done, err := cl.RedriveDeadLetters(cmd.Context(), q)
			if err != nil {
				return apiError("redrive dead letters", err)
			}
			if done == nil {
				done = []fc.DeadLetter{}
			}
			if c.json() {
				return printJSON(c.e.stdout, map[string]any{"redriven": done})
			}
			for _, d := range done {
				fmt.Fprintf(c.e.stdout, "redrove %d (%s/%s) as request %s\n", d.ID, d.ServiceName, d.FunctionName, d.RequestID)
			}
			if len(done) == 0 {
				fmt.Fprintln(c.e.stdout, "no dead letters matched")
			}
			return nil
		},
	}
	addDeadFlags(cmd, &f, "redrive every dead letter")
	return cmd
}

func (c *common) deadPurge() *cobra.Command {
	var f deadFlags
	cmd := &cobra.Command{
		Use:   "purge [ID...] [flags]",
		Short: "Delete dead letters",
		Example: `  openfc async dead-letters purge 12
  openfc async dead-letters purge --service demo
  openfc async dead-letters purge --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(args, true)
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			n, err := cl.PurgeDeadLetters(cmd.Context(), q)
			if err != nil {
				return apiError("purge dead letters", err)
			}
			if c.json() {
				return printJSON(c.e.stdout, map[string]int{"purged": n})
			}
			fmt.Fprintf(c.e.stdout, "purged %d dead letters\n", n)
			return nil
		},
	}
	addDeadFlags(cmd, &f, "purge every dead letter")
	return cmd
}
