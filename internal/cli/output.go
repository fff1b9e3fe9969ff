package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/internal/client"
)

// common are the flags and helpers shared by a noun's verbs.
type common struct {
	e      *env
	conn   connFlags
	output string
}

// newNoun returns a noun command (service, function, ...) with the
// connection and output flags its verbs inherit.
func newNoun(e *env, use, short, long, example string) (*cobra.Command, *common) {
	c := &common{e: e}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    nounArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	addConnFlags(cmd, &c.conn)
	cmd.PersistentFlags().StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	return cmd, c
}

// nounArgs refuses a verb the noun does not have.
func nounArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// client checks the output flag and connects.
func (c *common) client(cmd *cobra.Command) (*client.Client, error) {
	if err := c.checkOutput(); err != nil {
		return nil, err
	}
	return c.e.connect(cmd, &c.conn)
}

func (c *common) checkOutput() error {
	switch c.output {
	case "table", "json":
		return nil
	}
	return usagef("--output %q: use table or json", c.output)
}

func (c *common) json() bool { return c.output == "json" }

// exactArgs requires exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s takes %s (got %d arguments); see '%s --help'", cmd.CommandPath(), strings.Join(names, " "), len(args), cmd.CommandPath())
		}
		return nil
	}
}

// splitPath splits a SERVICE/FUNCTION[/TRIGGER] argument into n names.
func splitPath(arg string, names ...string) ([]string, error) {
	parts := strings.Split(arg, "/")
	if len(parts) != len(names) || strings.Contains(arg, "//") {
		return nil, usagef("%q: want %s", arg, strings.Join(names, "/"))
	}
	for i, p := range parts {
		if p == "" {
			return nil, usagef("%q: %s is empty; want %s", arg, names[i], strings.Join(names, "/"))
		}
	}
	return parts, nil
}

// apiError adds what was being done to an API error.
func apiError(what string, err error) error {
	var ae *client.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s: %s (HTTP %d, request ID %s)", what, ae.Code, ae.Message, ae.Status, ae.RequestID)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printTable writes a header and rows, aligned.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// field is one line of a single object's table.
type field struct{ name, value string }

// printFields writes an object's fields, one per line, aligned.
func printFields(w io.Writer, fields []field) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f.name, f.value)
	}
	return tw.Flush()
}

// dash shows an empty value as "-" in tables.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// compactJSON is raw JSON on one line.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// listFlags are the pagination flags of a list verb.
type listFlags struct {
	limit     int
	prefix    string
	startKey  string
	nextToken string
	all       bool
}

func addListFlags(cmd *cobra.Command, f *listFlags) {
	cmd.Flags().IntVar(&f.limit, "limit", 0, "at most this many per page (server default when 0)")
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "only names starting with this")
	cmd.Flags().StringVar(&f.startKey, "start-key", "", "start at this name")
	cmd.Flags().StringVar(&f.nextToken, "next-token", "", "continue a listing where the previous page ended")
	cmd.Flags().BoolVar(&f.all, "all", false, "follow nextToken and list every page")
}

func (f *listFlags) options() (client.ListOptions, error) {
	if f.limit < 0 {
		return client.ListOptions{}, usagef("--limit %d: use a positive number", f.limit)
	}
	return client.ListOptions{Limit: f.limit, Prefix: f.prefix, StartKey: f.startKey, NextToken: f.nextToken}, nil
}

// pages calls page from o until the listing ends (all) or once, and
// returns the last nextToken.
func (f *listFlags) pages(o client.ListOptions, page func(client.ListOptions) (string, error)) (string, error) {
	for {
		next, err := page(o)
		if err != nil || !f.all || next == "" {
			return next, err
		}
		o.NextToken = next
	}
}

// moreHint tells on stderr how to get the next page.
func (c *common) moreHint(cmd *cobra.Command, next string) {
	if next != "" && !c.json() {
		fmt.Fprintf(c.e.stderr, "more: %s --next-token %s (or --all)\n", cmd.CommandPath(), next)
	}
}

// ifMatchFlag adds --if-match.
func ifMatchFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "if-match", "", "only if the resource's ETag is still this (else HTTP 412)")
}

// body is a create or update request body: the JSON of --from-file, with
// the flags that were given on top.
type body map[string]any

// readBody reads --from-file (a path, or - for standard input).
func (c *common) readBody(path string) (body, error) {
	b := body{}
	if path == "" {
		return b, nil
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(c.e.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, usagef("--from-file %s: not a JSON object: %v", path, err)
	}
	return b, nil
}

// fromFileFlag adds --from-file.
func fromFileFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "from-file", "", "request body as FC JSON from this file (- for stdin); flags override its fields")
}

// deleted reports a deletion in table mode.
func (c *common) deleted(what string) {
	if !c.json() {
		fmt.Fprintf(c.e.stdout, "deleted %s\n", what)
	}
}

// pairs shows a map as sorted K=V pairs.
func pairs(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}

// pathSeg escapes one path segment of an API path.
func pathSeg(s string) string { return url.PathEscape(s) }

// deleteCmd builds the delete verb of a noun: the argument is the
// resource's path (parts joined by '/'), del calls the API with its parts,
// and --if-match passes an ETag.
func (c *common) deleteCmd(noun, short, example string, parts []string, del func(ctx context.Context, cl *client.Client, names []string, etag string) (*client.Response, error)) *cobra.Command {
	var etag string
	arg := strings.Join(parts, "/")
	cmd := &cobra.Command{
		Use:     "delete " + arg + " [flags]",
		Short:   short,
		Example: example,
		Args:    exactArgs(arg),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := splitPath(args[0], parts...)
			if err != nil {
				return err
			}
			cl, err := c.client(cmd)
			if err != nil {
				return err
			}
			if _, err := del(cmd.Context(), cl, names, etag); err != nil {
				return apiError("delete "+noun+" "+args[0], err)
			}
			c.deleted(noun + " " + args[0])
			return nil
		},
	}
	ifMatchFlag(cmd, &etag)
	return cmd
}

// create checks that the body holds every field a create needs (keyFlags
// pairs a body key with the flag that sets it, in the order the error
// names them), then POSTs it to the collection path and decodes the made
// resource into out. The create verbs of service, function and trigger
// differ only in these arguments and in their printer.
func (c *common) create(cmd *cobra.Command, what, path string, b body, out any, keyFlags ...[2]string) (etag string, err error) {
	for _, kf := range keyFlags {
		if _, ok := b[kf[0]]; !ok {
			return "", usagef("%s is required", kf[1])
		}
	}
	cl, err := c.client(cmd)
	if err != nil {
		return "", err
	}
	r, err := cl.Do(cmd.Context(), client.Request{Method: "POST", Path: path, Body: b}, out)
	if err != nil {
		return "", apiError("create "+what, err)
	}
	return r.ETag, nil
}
