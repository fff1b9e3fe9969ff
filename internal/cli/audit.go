package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newAuditCmd(e *env) *cobra.Command {
	c := &common{e: e}
	var o client.AuditOptions
	var since string
	var all bool
	cmd := &cobra.Command{
		Use:   "audit [flags]",
		Short: "Show the audit trail of changes and rejected requests",
		Long: `audit prints the audit trail, oldest first: every call that changed something
(create, update, delete, publish, tag, ...) and every request whose
authentication was refused (forged signature, unknown key, expired date),
with its time, access key, FC action, resource, source address, request ID
and result. Entries never hold secrets, request bodies or environment
values.

Filter with --action (e.g. CreateFunction), --resource (a path prefix such
as services/demo), --access-key-id, --result (success, failure, an HTTP
status or an FC error code) and --since/--from/--to (RFC 3339 times, Unix
seconds, or a duration before now such as 24h). One page of --limit entries
is printed; --all follows every page.`,
		Example: `  openfc audit --since 24h
  openfc audit --action DeleteFunction --resource services/demo
  openfc audit --result failure -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since != "" && o.From != "" {
				return usagef("give the start with --since or --from, not both")
			}
			if since != "" {
				o.From = since
			}
			if o.Limit < 0 {
				return usagef("--limit %d: use a positive number", o.Limit)
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			var entries []fc.AuditEntry
			next := ""
			for {
				page, _, err := cl.Audit(cmd.Context(), o)
				if err != nil {
					return apiError("audit", err)
				}
				entries = append(entries, page.Entries...)
				next = page.NextToken
				if !all || next == "" {
					break
				}
				o.NextToken = next
			}
			if c.json() {
				return printJSON(e.stdout, fc.AuditEntries{Entries: entries, NextToken: next})
			}
			rows := make([][]string, 0, len(entries))
			for _, a := range entries {
				rows = append(rows, []string{a.Time, a.Action, dash(a.Resource), dash(a.AccessKeyID), dash(a.SourceAddress),
					strconv.Itoa(a.Status), dash(a.ErrorCode), a.RequestID})
			}
			if err := printTable(e.stdout, []string{"TIME", "ACTION", "RESOURCE", "ACCESS KEY", "SOURCE", "STATUS", "ERROR", "REQUEST ID"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addConnFlags(cmd, &c.conn)
	cmd.Flags().StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&o.Action, "action", "", "only this FC action, e.g. CreateFunction")
	cmd.Flags().StringVar(&o.Resource, "resource", "", "only resources under this path, e.g. services/demo")
	cmd.Flags().StringVar(&o.AccessKeyID, "access-key-id", "", "only calls signed (or claimed) with this access key")
	cmd.Flags().StringVar(&o.Result, "result", "", "only success, failure, an HTTP status or an FC error code")
	cmd.Flags().StringVar(&since, "since", "", "only entries this long ago or later, e.g. 24h")
	cmd.Flags().StringVar(&o.From, "from", "", "only entries at or after this time")
	cmd.Flags().StringVar(&o.To, "to", "", "only entries before this time")
	cmd.Flags().IntVar(&o.Limit, "limit", 0, "at most this many per page (server default 100 when 0)")
	cmd.Flags().StringVar(&o.NextToken, "next-token", "", "continue where the previous page ended")
	cmd.Flags().BoolVar(&all, "all", false, "follow nextToken and print every page")
	return cmd
}
