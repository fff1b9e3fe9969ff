package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/fc"
)

func newLimitsCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "limits", "Set, show, list and delete flow-control limits",
		`Flow-control limits apply to the account (invocations per second, instances), a
service or a function (invocations per second, concurrent requests), on sync, HTTP
and async calls. Calls over a limit get HTTP 429 (ResourceThrottled for a rate,
ResourceExhausted for concurrency); async calls are retried later. The scope is
the account when no SERVICE[/FUNCTION] is given.`,
		`  openfc limits set --rate 1000 --max-instances 200
  openfc limits set demo/hello --concurrency 10 --rate 50
  openfc limits list -o json`)
	cmd.AddCommand(c.limitsSet(), c.limitsGet(), c.limitsList(), c.limitsDelete())
	return cmd
}

// limitsScope reads the optional SERVICE[/FUNCTION] argument.
func limitsScope(args []string) (service, function string, err error) {
	switch {
	case len(args) == 0:
		return "", "", nil
	case len(args) > 1:
		return "", "", usagef("takes at most one SERVICE[/FUNCTION] argument (none: the account)")
	}
	if n, err := splitPath(args[0], "SERVICE", "FUNCTION"); err == nil {
		return n[0], n[1], nil
	}
	n, err := splitPath(args[0], "SERVICE")
	if err != nil {
		return "", "", usagef("%q: want SERVICE or SERVICE/FUNCTION", args[0])
	}
	return n[0], "", nil
}

func scopeArgs(cmd *cobra.Command, args []string) error {
	_, _, err := limitsScope(args)
	return err
}

func scopeText(service, function string) string {
	switch {
	case service == "":
		return "the account"
	case function == "":
		return "service " + service
	}
	return "function " + service + "/" + function
}

func (c *common) limitsSet() *cobra.Command {
	var in fc.Limits
	cmd := &cobra.Command{
		Use:   "set [SERVICE[/FUNCTION]] [flags]",
		Short: "Set the limits of the account, a service or a function",
		Long:  "set replaces the scope's limits as a whole: a limit not given is lifted (0 means no limit).",
		Example: `  openfc limits set --rate 1000 --burst 2000 --max-instances 200
  openfc limits set demo --concurrency 100
  openfc limits set demo/hello --concurrency 10 --rate 50 -o json`,
		Args: scopeArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, fn, _ := limitsScope(args)
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			l, _, err := cl.PutLimits(cmd.Context(), svc, fn, &in)
			if err != nil {
				return apiError("set limits of "+scopeText(svc, fn), err)
			}
			return c.printLimits(l)
		},
	}
	cmd.Flags().Float64Var(&in.InvocationsPerSecond, "rate", 0, "invocations per second (0: no limit)")
	cmd.Flags().Int64Var(&in.Burst, "burst", 0, "invocations admitted at once above the rate (0: the rate)")
	cmd.Flags().Int64Var(&in.ConcurrentRequests, "concurrency", 0, "concurrent requests of a service or function (0: no limit)")
	cmd.Flags().Int64Var(&in.MaxInstances, "max-instances", 0, "the account's instances per node (0: the node's quota)")
	return cmd
}

func (c *common) limitsGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get [SERVICE[/FUNCTION]] [flags]",
		Short: "Show the limits of the account, a service or a function",
		Example: `  openfc limits get
  openfc limits get demo/hello -o json`,
		Args: scopeArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, fn, _ := limitsScope(args)
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			l, _, err := cl.GetLimits(cmd.Context(), svc, fn)
			if err != nil {
				return apiError("get limits of "+scopeText(svc, fn), err)
			}
			return c.printLimits(l)
		},
	}
}

func (c *common) limitsList() *cobra.Command {
	return &cobra.Command{
		Use:   "list [flags]",
		Short: "List every limits set",
		Example: `  openfc limits list
  openfc limits list -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			ls, _, err := cl.ListLimits(cmd.Context())
			if err != nil {
				return apiError("list limits", err)
			}
			if ls == nil {
				ls = []fc.Limits{}
			}
			if c.json() {
				return printJSON(c.e.stdout, struct {
					Limits []fc.Limits `json:"limits"`
				}{ls})
			}
			rows := make([][]string, 0, len(ls))
			for _, l := range ls {
				rows = append(rows, []string{limitsName(&l), l.Scope, num(l.InvocationsPerSecond), strconv.FormatInt(l.Burst, 10),
					strconv.FormatInt(l.ConcurrentRequests, 10), strconv.FormatInt(l.MaxInstances, 10)})
			}
			return printTable(c.e.stdout, []string{"NAME", "SCOPE", "RATE", "BURST", "CONCURRENCY", "MAX INSTANCES"}, rows)
		},
	}
}

func (c *common) limitsDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete [SERVICE[/FUNCTION]] [flags]",
		Short: "Lift the limits of the account, a service or a function",
		Example: `  openfc limits delete demo/hello
  openfc limits delete`,
		Args: scopeArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, fn, _ := limitsScope(args)
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			if _, err := cl.DeleteLimits(cmd.Context(), svc, fn); err != nil {
				return apiError("delete limits of "+scopeText(svc, fn), err)
			}
			c.deleted("limits of " + scopeText(svc, fn))
			return nil
		},
	}
}

func limitsName(l *fc.Limits) string {
	switch l.Scope {
	case fc.LimitsAccount:
		return "(account)"
	case fc.LimitsService:
		return l.ServiceName
	}
	return l.ServiceName + "/" + l.FunctionName
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (c *common) printLimits(l *fc.Limits) error {
	if c.json() {
		return printJSON(c.e.stdout, l)
	}
	return printFields(c.e.stdout, []field{
		{"Name", limitsName(l)},
		{"Scope", l.Scope},
		{"Invocations per second", num(l.InvocationsPerSecond)},
		{"Burst", strconv.FormatInt(l.Burst, 10)},
		{"Concurrent requests", strconv.FormatInt(l.ConcurrentRequests, 10)},
		{"Max instances", strconv.FormatInt(l.MaxInstances, 10)},
		{"Last modified", dash(l.LastModifiedTime)},
	})
}
