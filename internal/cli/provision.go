package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newProvisionCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "provision", "Set, show and list provisioned instances",
		`Provisioned instances of a function at an alias (or LATEST) are started ahead of
calls, kept warm and used before on-demand ones. scheduledActions (cron or at, in a
time zone) and targetTrackingPolicies (ProvisionedConcurrencyUtilization) come from
--from-file as FC JSON.`,
		`  openfc provision set demo/hello --qualifier prod --target 5
  openfc provision set demo/hello --qualifier prod --from-file provision.json
  openfc provision list -o json`)
	cmd.AddCommand(c.provisionSet(), c.provisionGet(), c.provisionList())
	return cmd
}

func (c *common) provisionSet() *cobra.Command {
	var qualifier, fromFile, etag string
	var target int64
	cmd := &cobra.Command{
		Use:   "set SERVICE/FUNCTION --qualifier ALIAS [flags]",
		Short: "Set the provisioned instances of a function at an alias or LATEST",
		Long: `set replaces the provision config: --target (0 releases the instances) and the
scheduledActions and targetTrackingPolicies of --from-file.`,
		Example: `  openfc provision set demo/hello --qualifier prod --target 5
  openfc provision set demo/hello --qualifier LATEST --target 0
  openfc provision set demo/hello --qualifier prod --from-file provision.json -o json`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			if qualifier == "" {
				return usagef("--qualifier is required: an alias or LATEST")
			}
			b, err := c.readBody(fromFile)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("target") {
				b["target"] = target
			}
			if _, ok := b["target"]; !ok {
				return usagef("--target is required (or a target in --from-file)")
			}
			raw, err := json.Marshal(b)
			if err != nil {
				return err
			}
			var in fc.ProvisionConfig
			if err := json.Unmarshal(raw, &in); err != nil {
				return usagef("--from-file: not a provision config: %v", err)
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			pc, _, err := cl.PutProvisionConfig(cmd.Context(), names[0], qualifier, names[1], &in, etag)
			if err != nil {
				return apiError("set provision config of "+args[0], err)
			}
			return c.printProvision(pc)
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "an alias or LATEST (required)")
	cmd.Flags().Int64Var(&target, "target", 0, "instances to keep warm (0 releases them)")
	fromFileFlag(cmd, &fromFile)
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) provisionGet() *cobra.Command {
	var qualifier string
	cmd := &cobra.Command{
		Use:   "get SERVICE/FUNCTION --qualifier ALIAS [flags]",
		Short: "Show a provision config with its current instances",
		Example: `  openfc provision get demo/hello --qualifier prod
  openfc provision get demo/hello --qualifier prod -o json`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			if qualifier == "" {
				return usagef("--qualifier is required: an alias or LATEST")
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			pc, _, err := cl.GetProvisionConfig(cmd.Context(), names[0], qualifier, names[1])
			if err != nil {
				return apiError("get provision config of "+args[0], err)
			}
			return c.printProvision(pc)
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "an alias or LATEST (required)")
	return cmd
}

func (c *common) provisionList() *cobra.Command {
	var f listFlags
	var service, qualifier string
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List provision configs with their current instances",
		Example: `  openfc provision list
  openfc provision list --service demo --qualifier prod -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if qualifier != "" && service == "" {
				return usagef("--qualifier needs --service")
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.ProvisionConfigList{ProvisionConfigs: []fc.ProvisionConfig{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListProvisionConfigs(cmd.Context(), service, qualifier, o)
				if err != nil {
					return "", apiError("list provision configs", err)
				}
				all.ProvisionConfigs = append(all.ProvisionConfigs, l.ProvisionConfigs...)
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.ProvisionConfigs))
			for _, pc := range all.ProvisionConfigs {
				rows = append(rows, []string{provisionName(pc.Resource), target(pc.Target), strconv.FormatInt(pc.Current, 10),
					strconv.Itoa(len(pc.ScheduledActions)), strconv.Itoa(len(pc.TargetTrackingPolicies)), dash(pc.CurrentError)})
			}
			if err := printTable(c.e.stdout, []string{"NAME", "TARGET", "CURRENT", "SCHEDULED", "TRACKING", "ERROR"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addListFlags(cmd, &f)
	cmd.Flags().StringVar(&service, "service", "", "only this service's configs")
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "only this alias's configs (needs --service)")
	return cmd
}

// provisionName shows a resource <account>#<service>#<qualifier>#<function>
// as SERVICE.QUALIFIER/FUNCTION.
func provisionName(resource string) string {
	p := strings.Split(resource, "#")
	if len(p) != 4 {
		return resource
	}
	return p[1] + "." + p[2] + "/" + p[3]
}

func target(t *int64) string {
	if t == nil {
		return "-"
	}
	return strconv.FormatInt(*t, 10)
}

func (c *common) printProvision(pc *fc.ProvisionConfig) error {
	if c.json() {
		return printJSON(c.e.stdout, pc)
	}
	var actions, policies []string
	for _, a := range pc.ScheduledActions {
		tz := a.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		actions = append(actions, fmt.Sprintf("%s: %s %s -> %d", a.Name, a.ScheduleExpression, tz, a.Target))
	}
	for _, p := range pc.TargetTrackingPolicies {
		policies = append(policies, fmt.Sprintf("%s: %s %g in %d..%d", p.Name, p.MetricType, p.MetricTarget, p.MinCapacity, p.MaxCapacity))
	}
	return printFields(c.e.stdout, []field{
		{"Name", provisionName(pc.Resource)},
		{"Target", target(pc.Target)},
		{"Current", strconv.FormatInt(pc.Current, 10)},
		{"Current error", dash(pc.CurrentError)},
		{"Scheduled actions", dash(strings.Join(actions, "; "))},
		{"Target tracking", dash(strings.Join(policies, "; "))},
	})
}
