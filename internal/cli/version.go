package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newVersionCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "version", "Publish, list and delete versions of a service",
		`A version is an immutable snapshot of a service and all its functions (config and
code). Invoke one with the qualifier SERVICE.VERSION, or through an alias.`,
		`  openfc version publish demo --description "release 3"
  openfc version list demo -o json`)
	cmd.AddCommand(c.versionPublish(), c.versionList(), c.versionDelete())
	return cmd
}

func (c *common) versionPublish() *cobra.Command {
	var description, etag string
	cmd := &cobra.Command{
		Use:   "publish SERVICE [flags]",
		Short: "Publish the service as it is now as a new version",
		Long:  "publish fails with no change since the last version, as FC's PublishServiceVersion does.",
		Example: `  openfc version publish demo
  openfc version publish demo --description "release 3" -o json`,
		Args: exactArgs("SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			v, _, err := cl.PublishVersion(cmd.Context(), args[0], description, etag)
			if err != nil {
				return apiError("publish a version of service "+args[0], err)
			}
			if c.json() {
				return printJSON(c.e.stdout, v)
			}
			return printFields(c.e.stdout, []field{{"Version", v.VersionID}, {"Description", dash(v.Description)}, {"Created", v.CreatedTime}})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the version holds")
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) versionList() *cobra.Command {
	var f listFlags
	var direction string
	cmd := &cobra.Command{
		Use:   "list SERVICE [flags]",
		Short: "List a service's versions, newest first",
		Example: `  openfc version list demo
  openfc version list demo --direction FORWARD --all -o json`,
		Args: exactArgs("SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.VersionList{Versions: []fc.Version{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListVersions(cmd.Context(), args[0], o, direction)
				if err != nil {
					return "", apiError("list versions of service "+args[0], err)
				}
				all.Versions = append(all.Versions, l.Versions...)
				all.Direction = l.Direction
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.Versions))
			for _, v := range all.Versions {
				rows = append(rows, []string{v.VersionID, dash(v.Description), v.CreatedTime})
			}
			if err := printTable(c.e.stdout, []string{"VERSION", "DESCRIPTION", "CREATED"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addListFlags(cmd, &f)
	cmd.Flags().StringVar(&direction, "direction", "", "BACKWARD (newest first, the default) or FORWARD")
	return cmd
}

func (c *common) versionDelete() *cobra.Command {
	return c.deleteCmd("version", "Delete a version (no alias or provision config may use it)",
		`  openfc version delete demo/3`, []string{"SERVICE", "VERSION"},
		func(ctx context.Context, cl *client.Client, n []string, _ string) (*client.Response, error) {
			return cl.DeleteVersion(ctx, n[0], n[1])
		})
}

func newAliasCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "alias", "Set, show, list and delete aliases (with canary weights)",
		`An alias names a version of a service (prod, staging) and may send a share of the
calls to other versions: a canary. Roll back by setting the alias again.`,
		`  openfc alias set demo/prod --version 3 --weight 4=0.1
  openfc alias set demo/prod --version 3
  openfc alias list demo -o json`)
	cmd.AddCommand(c.aliasSet(), c.aliasGet(), c.aliasList(), c.aliasDelete())
	return cmd
}

// parseWeights reads --weight VERSION=SHARE flags.
func parseWeights(ws []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, w := range ws {
		v, s, ok := strings.Cut(w, "=")
		share, err := strconv.ParseFloat(s, 64)
		if !ok || v == "" || err != nil {
			return nil, usagef("--weight %q: use VERSION=SHARE, e.g. 4=0.1", w)
		}
		out[v] = share
	}
	return out, nil
}

func (c *common) aliasSet() *cobra.Command {
	var version, description, etag string
	var weights []string
	cmd := &cobra.Command{
		Use:   "set SERVICE/ALIAS --version VERSION [flags]",
		Short: "Create an alias or point it at a version, with its canary weights",
		Long: `set creates the alias or replaces its version and additionalVersionWeight: the
weights are the --weight flags given, none means no canary (a rollback).`,
		Example: `  openfc alias set demo/prod --version 3
  openfc alias set demo/prod --version 3 --weight 4=0.1
  openfc alias set demo/prod --version 3 --if-match 4f0d... -o json`,
		Args: exactArgs("SERVICE/ALIAS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "ALIAS")
			if err != nil {
				return err
			}
			if version == "" {
				return usagef("--version is required")
			}
			w, err := parseWeights(weights)
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var a *fc.Alias
			var r *client.Response
			if _, _, gerr := cl.GetAlias(ctx, names[0], names[1]); isAPICode(gerr, fc.CodeAliasNotFound) {
				a, r, err = cl.CreateAlias(ctx, names[0], &fc.Alias{AliasName: names[1], VersionID: version, Description: description, AdditionalVersionWeight: w})
			} else {
				patch := map[string]any{"versionId": version, "additionalVersionWeight": w}
				if cmd.Flags().Changed("description") {
					patch["description"] = description
				}
				a, r, err = cl.UpdateAlias(ctx, names[0], names[1], patch, etag)
			}
			if err != nil {
				return apiError("set alias "+args[0], err)
			}
			return c.printAlias(a, r.ETag)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the version the alias points at")
	cmd.Flags().StringArrayVar(&weights, "weight", nil, "VERSION=SHARE: send this share (0 to 1) of the calls to another version (repeatable)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) aliasGet() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get SERVICE/ALIAS [flags]",
		Short: "Show an alias",
		Example: `  openfc alias get demo/prod
  openfc alias get demo/prod -o json`,
		Args: exactArgs("SERVICE/ALIAS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "ALIAS")
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			a, r, err := cl.GetAlias(cmd.Context(), names[0], names[1])
			if err != nil {
				return apiError("get alias "+args[0], err)
			}
			return c.printAlias(a, r.ETag)
		},
	}
	return cmd
}

func (c *common) aliasList() *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "list SERVICE [flags]",
		Short: "List a service's aliases",
		Example: `  openfc alias list demo
  openfc alias list demo --all -o json`,
		Args: exactArgs("SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.AliasList{Aliases: []fc.Alias{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListAliases(cmd.Context(), args[0], o)
				if err != nil {
					return "", apiError("list aliases of service "+args[0], err)
				}
				all.Aliases = append(all.Aliases, l.Aliases...)
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.Aliases))
			for _, a := range all.Aliases {
				rows = append(rows, []string{a.AliasName, a.VersionID, dash(weightsText(a.AdditionalVersionWeight)), dash(a.Description), a.LastModifiedTime})
			}
			if err := printTable(c.e.stdout, []string{"NAME", "VERSION", "CANARY", "DESCRIPTION", "LAST MODIFIED"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func (c *common) aliasDelete() *cobra.Command {
	return c.deleteCmd("alias", "Delete an alias (no provision config may use it)",
		`  openfc alias delete demo/staging`, []string{"SERVICE", "ALIAS"},
		func(ctx context.Context, cl *client.Client, n []string, etag string) (*client.Response, error) {
			return cl.DeleteAlias(ctx, n[0], n[1], etag)
		})
}

func weightsText(w map[string]float64) string {
	parts := make([]string, 0, len(w))
	for _, v := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, fmt.Sprintf("%s=%g", v, w[v]))
	}
	return strings.Join(parts, ", ")
}

func (c *common) printAlias(a *fc.Alias, etag string) error {
	if c.json() {
		return printJSON(c.e.stdout, a)
	}
	return printFields(c.e.stdout, []field{
		{"Name", a.AliasName},
		{"Version", a.VersionID},
		{"Canary", dash(weightsText(a.AdditionalVersionWeight))},
		{"Description", dash(a.Description)},
		{"Created", a.CreatedTime},
		{"Last modified", a.LastModifiedTime},
		{"ETag", dash(etag)},
	})
}
