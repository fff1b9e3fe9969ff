package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
)

func newUsageCmd(e *env) *cobra.Command {
	c := &common{e: e}
	var o client.UsageOptions
	var groupBy, since string
	cmd := &cobra.Command{
		Use:   "usage [flags]",
		Short: "Show metered usage: invocations, billed time, GB-seconds",
		Long: `usage prints what functions used, per day (or hour), grouped by account,
service, function and qualifier (--group-by, comma-separated; default
service,function). Billed time is each invocation's duration rounded up to
the node's billing granularity (100 ms unless the node runs with
--billing-granularity); GB-seconds are billed seconds times memory in GB.
Provisioned instances are billed for the time they are kept warm.

--since, --from and --to select the periods that overlap that time range
(RFC 3339 times, Unix seconds, or a duration before now such as 24h); -o json
prints the API's answer.`,
		Example: `  openfc usage
  openfc usage --since 24h --interval hour --group-by function
  openfc usage --service demo --function hello -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since != "" && o.From != "" {
				return usagef("give the start with --since or --from, not both")
			}
			if since != "" {
				o.From = since
			}
			o.GroupBy = nil
			for _, g := range strings.Split(groupBy, ",") {
				if g = strings.TrimSpace(g); g != "" {
					o.GroupBy = append(o.GroupBy, g)
				}
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			rep, _, err := cl.Usage(cmd.Context(), o)
			if err != nil {
				return apiError("usage", err)
			}
			if c.json() {
				return printJSON(e.stdout, rep)
			}
			header := []string{"PERIOD"}
			for _, g := range rep.GroupBy {
				header = append(header, strings.ToUpper(g))
			}
			header = append(header, "INVOCATIONS", "BILLED (s)", "GB-s", "PROVISIONED (s)", "PROVISIONED GB-s")
			rows := make([][]string, 0, len(rep.Rows))
			for _, r := range rep.Rows {
				row := []string{r.Period}
				for _, g := range rep.GroupBy {
					row = append(row, dash(map[string]string{"account": r.AccountID, "service": r.Service, "function": r.Function, "qualifier": r.Qualifier}[g]))
				}
				row = append(row, strconv.FormatInt(r.Invocations, 10), seconds(r.BilledMs), fmt.Sprintf("%.3f", r.GBSeconds),
					seconds(r.ProvisionedInstanceMs), fmt.Sprintf("%.3f", r.ProvisionedGBSeconds))
				rows = append(rows, row)
			}
			return printTable(e.stdout, header, rows)
		},
	}
	addConnFlags(cmd, &c.conn)
	cmd.Flags().StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().StringVar(&groupBy, "group-by", "service,function", "group by some of account, service, function, qualifier (comma-separated; empty: all together)")
	cmd.Flags().StringVar(&o.Interval, "interval", "day", "period of a row: hour or day")
	cmd.Flags().StringVar(&o.Service, "service", "", "only this service")
	cmd.Flags().StringVar(&o.Function, "function", "", "only this function")
	cmd.Flags().StringVar(&o.Qualifier, "qualifier", "", "only this qualifier (LATEST, a version or an alias)")
	cmd.Flags().StringVar(&since, "since", "", "only periods overlapping the time since this long ago, e.g. 24h")
	cmd.Flags().StringVar(&o.From, "from", "", "only periods ending after this time")
	cmd.Flags().StringVar(&o.To, "to", "", "only periods starting before this time")
	return cmd
}

// seconds formats milliseconds as seconds.
func seconds(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }
