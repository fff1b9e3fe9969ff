package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
)

func newServiceCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "service", "Create, show, list, update and delete services",
		`A service groups functions that share a role, network and log settings.`,
		`  openfc service create demo --description "my first service"
  openfc service list -o json`)
	cmd.AddCommand(c.serviceCreate(), c.serviceGet(), c.serviceList(), c.serviceUpdate(), c.serviceDelete())
	return cmd
}

// serviceFlags are the fields a service can be given by flags.
type serviceFlags struct {
	description    string
	role           string
	internetAccess bool
	fromFile       string
}

func addServiceFlags(cmd *cobra.Command, f *serviceFlags) {
	cmd.Flags().StringVar(&f.description, "description", "", "description")
	cmd.Flags().StringVar(&f.role, "role", "", "role ARN the functions run as, acs:ram::<account>:role/<name>")
	cmd.Flags().BoolVar(&f.internetAccess, "internet-access", true, "whether functions may reach the internet")
	fromFileFlag(cmd, &f.fromFile)
}

// body returns the request body: --from-file with the given flags on top.
func (c *common) serviceBody(cmd *cobra.Command, f *serviceFlags) (body, error) {
	b, err := c.readBody(f.fromFile)
	if err != nil {
		return nil, err
	}
	fl := cmd.Flags()
	if fl.Changed("description") {
		b["description"] = f.description
	}
	if fl.Changed("role") {
		b["role"] = f.role
	}
	if fl.Changed("internet-access") {
		b["internetAccess"] = f.internetAccess
	}
	return b, nil
}

func (c *common) serviceCreate() *cobra.Command {
	var f serviceFlags
	cmd := &cobra.Command{
		Use:   "create NAME [flags]",
		Short: "Create a service",
		Example: `  openfc service create demo
  openfc service create demo --description "web handlers" --internet-access=false
  openfc service create demo --from-file service.json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := c.serviceBody(cmd, &f)
			if err != nil {
				return err
			}
			b["serviceName"] = args[0]
			var out fc.Service
			etag, err := c.create(cmd, "service "+args[0], "/2016-08-15/services", b, &out)
			if err != nil {
				return err
			}
			return c.printService(&out, etag)
		},
	}
	addServiceFlags(cmd, &f)
	return cmd
}

func (c *common) serviceGet() *cobra.Command {
	var qualifier string
	cmd := &cobra.Command{
		Use:   "get NAME [flags]",
		Short: "Show a service",
		Example: `  openfc service get demo
  openfc service get demo --qualifier prod -o json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			s, r, err := cl.GetService(cmd.Context(), args[0], qualifier)
			if err != nil {
				return apiError("get service "+args[0], err)
			}
			return c.printService(s, r.ETag)
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "a version or alias (default LATEST)")
	return cmd
}

func (c *common) serviceList() *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List services",
		Example: `  openfc service list
  openfc service list --prefix web --limit 10
  openfc service list --all -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			all := client.ServiceList{Services: []fc.Service{}}
			next, err := f.pages(o, func(o client.ListOptions) (string, error) {
				l, _, err := cl.ListServices(cmd.Context(), o)
				if err != nil {
					return "", apiError("list services", err)
				}
				all.Services = append(all.Services, l.Services...)
				return l.NextToken, nil
			})
			if err != nil {
				return err
			}
			all.NextToken = next
			if c.json() {
				return printJSON(c.e.stdout, all)
			}
			rows := make([][]string, 0, len(all.Services))
			for _, s := range all.Services {
				rows = append(rows, []string{s.ServiceName, dash(s.Description), boolPtr(s.InternetAccess), dash(s.Role), s.LastModifiedTime})
			}
			if err := printTable(c.e.stdout, []string{"NAME", "DESCRIPTION", "INTERNET", "ROLE", "LAST MODIFIED"}, rows); err != nil {
				return err
			}
			c.moreHint(cmd, next)
			return nil
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func (c *common) serviceUpdate() *cobra.Command {
	var f serviceFlags
	var etag string
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change some fields of a service",
		Long:  "update changes only the fields given by flags or --from-file; the others keep their values.",
		Example: `  openfc service update demo --description "new text"
  openfc service update demo --internet-access=false --if-match 4f0d...
  openfc service update demo --from-file patch.json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := c.serviceBody(cmd, &f)
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return usagef("nothing to update: give --description, --role, --internet-access or --from-file")
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			s, r, err := cl.UpdateService(cmd.Context(), args[0], b, etag)
			if err != nil {
				return apiError("update service "+args[0], err)
			}
			return c.printService(s, r.ETag)
		},
	}
	addServiceFlags(cmd, &f)
	ifMatchFlag(cmd, &etag)
	return cmd
}

func (c *common) serviceDelete() *cobra.Command {
	return c.deleteCmd("service", "Delete a service (it must have no functions, versions or aliases)",
		`  openfc service delete demo`, []string{"NAME"},
		func(ctx context.Context, cl *client.Client, n []string, etag string) (*client.Response, error) {
			return cl.DeleteService(ctx, n[0], etag)
		})
}

func (c *common) printService(s *fc.Service, etag string) error {
	if c.json() {
		return printJSON(c.e.stdout, s)
	}
	return printFields(c.e.stdout, []field{
		{"Name", s.ServiceName},
		{"ID", s.ServiceID},
		{"Description", dash(s.Description)},
		{"Role", dash(s.Role)},
		{"Internet access", boolPtr(s.InternetAccess)},
		{"Tags", dash(pairs(s.Tags))},
		{"Created", s.CreatedTime},
		{"Last modified", s.LastModifiedTime},
		{"ETag", dash(etag)},
	})
}

func boolPtr(b *bool) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatBool(*b)
}
