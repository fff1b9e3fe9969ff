package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newTriggerCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "trigger", "Create, show, list, update and delete triggers",
		`A trigger calls a function on an event: an HTTP request, a timer, a message.
Triggers are named SERVICE/FUNCTION/TRIGGER.`,
		`  openfc trigger create demo/hello/web --type http --config '{"authType":"anonymous","methods":["GET"]}'
  openfc trigger list demo/hello`)
	cmd.AddCommand(c.triggerCreate(), c.triggerGet(), c.triggerList(), c.triggerUpdate(), c.triggerDelete())
	return cmd
}

type triggerFlags struct {
	triggerType, config, qualifier, description, role, sourceARN string
	fromFile                                                     string
}

func addTriggerFlags(cmd *cobra.Command, f *triggerFlags, create bool) {
	fl := cmd.Flags()
	if create {
		fl.StringVar(&f.triggerType, "type", "", "trigger type: http, timer, oss, log, mns_topic, cdn_events, tablestore, eventbridge")
		fl.StringVar(&f.sourceARN, "source-arn", "", "ARN of the event source (event-source types)")
	}
	fl.StringVar(&f.config, "config", "", "triggerConfig as JSON, or @FILE to read it from a file")
	fl.StringVar(&f.qualifier, "qualifier", "", "version or alias the trigger calls (default LATEST)")
	fl.StringVar(&f.description, "description", "", "description")
	fl.StringVar(&f.role, "invocation-role", "", "role ARN the trigger invokes the function as")
	fromFileFlag(cmd, &f.fromFile)
}

func (c *common) triggerBody(cmd *cobra.Command, f *triggerFlags) (body, error) {
	b, err := c.readBody(f.fromFile)
	if err != nil {
		return nil, err
	}
	fl := cmd.Flags()
	for _, s := range []struct{ flag, key, val string }{
		{"type", "triggerType", f.triggerType},
		{"source-arn", "sourceArn", f.sourceARN},
		{"qualifier", "qualifier", f.qualifier},
		{"description", "description", f.description},
		{"invocation-role", "invocationRole", f.role},
	} {
		if fl.Lookup(s.flag) != nil && fl.Changed(s.flag) {
			b[s.key] = s.val
		}
	}
	if fl.Changed("config") {
		raw := []byte(f.config)
		if name, ok := strings.CutPrefix(f.config, "@"); ok {
			if raw, err = os.ReadFile(name); err != nil {
				return nil, fmt.Errorf("--config: %w", err)
			}
		}
		if !fc.RawObject(raw) || !json.Valid(raw) {
			return nil, usagef("--config: not a JSON object: %.60s", raw)
		}
		b["triggerConfig"] = json.RawMessage(raw)
	}
	return b, nil
}

func (c *common) triggerCreate() *cobra.Command {
	var f triggerFlags
	cmd := &cobra.Command{
		Use:   "create SERVICE/FUNCTION/TRIGGER --type TYPE --config JSON|@FILE [flags]",
		Short: "Create a trigger",
		Example: `  openfc trigger create demo/hello/web --type http --config '{"authType":"anonymous","methods":["GET","POST"]}'
  openfc trigger create demo/hello/nightly --type timer --config @timer.json --qualifier prod
  openfc trigger create demo/hello/web --from-file trigger.json`,
		Args: exactArgs("SERVICE/FUNCTION/TRIGGER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION", "TRIGGER")
			if err != nil {
				return err
			}
			b, err := c.triggerBody(cmd, &f)
			if err != nil {
				return err
			}
			b["triggerName"] = names[2]
			var out fc.Trigger
			path := "/2016-08-15/services/" + pathSeg(names[0]) + "/functions/" + pathSeg(names[1]) + "/triggers"
			etag, err := c.create(cmd, "trigger "+args[0], path, b, &out,
				[2]string{"triggerType", "--type"}, [2]string{"triggerConfig", "--config"})
			if err != nil {
				return err
			}
			return c.printTrigger(&out, etag)
		},
	}
	addTriggerFlags(cmd, &f, true)
	return cmd
}

func (c *common) triggerGet() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get SERVICE/FUNCTION/TRIGGER [flags]",
		Short: "Show a trigger",
		Example: `  openfc trigger get demo/hello/web
  openfc trigger get demo/hello/web -o json`,
		Args: exactArgs("SERVICE/FUNCTION/TRIGGER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION", "TRIGGER")
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			t, r, err := cl.GetTrigger(cmd.Context(), names[0], names[1], names[2])
			if err != nil {
				return apiError("get trigger "+args[0], err)
			}
			return c.printTrigger(t, r.ETag)
		},
	}
	return cmd
}

func (c *common) triggerList() *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "list SERVICE/FUNCTION [flags]",
		Short: "List the triggers of a function",
		Example: `  openfc trigger list demo/hello
  openfc trigger list demo/hello --all -o json`,
		Args: exactArgs("SERVICE/FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION")
			if err != nil {
				return err
			}
			o, err := f.options()
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.TriggerList{Triggers: []fc.Trigger{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListTriggers(cmd.Context(), names[0], names[1], o)
				if err != nil {
					return "", apiError("list triggers of "+args[0], err)
				}
				all.Triggers = append(all.Triggers, l.Triggers...)
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.Triggers))
			for _, t := range all.Triggers {
				rows = append(rows, []string{t.TriggerName, t.TriggerType, dash(t.Qualifier), dash(t.Description), t.LastModifiedTime})
			}
			if err := printTable(c.e.stdout, []string{"NAME", "TYPE", "QUALIFIER", "DESCRIPTION", "LAST MODIFIED"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func (c *common) triggerUpdate() *cobra.Command {
	var f triggerFlags
	var etag string
	cmd := &cobra.Command{
		Use:   "update SERVICE/FUNCTION/TRIGGER [flags]",
		Short: "Change the config, qualifier, role or description of a trigger",
		Long:  "update changes only the fields given by flags or --from-file; the others keep their values.",
		Example: `  openfc trigger update demo/hello/web --config '{"authType":"function","methods":["GET"]}'
  openfc trigger update demo/hello/web --qualifier prod --if-match 4f0d...`,
		Args: exactArgs("SERVICE/FUNCTION/TRIGGER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], "SERVICE", "FUNCTION", "TRIGGER")
			if err != nil {
				return err
			}
			b, err := c.triggerBody(cmd, &f)
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return usagef("nothing to update: give --config, --qualifier, --invocation-role, --description or --from-file")
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			t, r, err := cl.UpdateTrigger(cmd.Context(), names[0], names[1], names[2], b, etag)
			if err != nil {
				return apiError("update trigger "+args[0], err)
			}
			return c.printTrigger(t, r.ETag)
		},
	}
	addTriggerFlags(cmd, &f, false)
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) triggerDelete() *cobra.Command {
	return c.deleteCmd("trigger", "Delete a trigger",
		`  openfc trigger delete demo/hello/web`, []string{"SERVICE", "FUNCTION", "TRIGGER"},
		func(ctx context.Context, cl *client.Client, n []string, etag string) (*client.Response, error) {
			return cl.DeleteTrigger(ctx, n[0], n[1], n[2], etag)
		})
}

func (c *common) printTrigger(t *fc.Trigger, etag string) error {
	if c.json() {
		return printJSON(c.e.stdout, t)
	}
	src := "-"
	if t.SourceARN != nil && *t.SourceARN != "" {
		src = *t.SourceARN
	}
	return printFields(c.e.stdout, []field{
		{"Name", t.TriggerName},
		{"ID", t.TriggerID},
		{"Type", t.TriggerType},
		{"Qualifier", dash(t.Qualifier)},
		{"Description", dash(t.Description)},
		{"Config", compactJSON(t.TriggerConfig)},
		{"Source ARN", src},
		{"Invocation role", dash(t.InvocationRole)},
		{"URL", dash(t.URLInternet)},
		{"Created", t.CreatedTime},
		{"Last modified", t.LastModifiedTime},
		{"ETag", dash(etag)},
	})
}
