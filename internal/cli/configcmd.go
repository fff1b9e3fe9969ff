package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(e *env) *cobra.Command {
	cmd, c := newNoun(e, "config", "Save and show the endpoint and access key the CLI uses",
		`The CLI takes the endpoint and access key, each on its own, from the first of:
flags (--endpoint, --account-id, --access-key-id, --access-key-secret); the
environment (OPENFC_ENDPOINT, OPENFC_ACCOUNT_ID, OPENFC_ACCESS_KEY_ID,
OPENFC_ACCESS_KEY_SECRET); the CLI config file that 'openfc config set' writes
($OPENFC_CLI_CONFIG, default ~/.config/openfc/config.yaml); and the
credentials.json that 'openfc serve' writes in its data dir (--data-dir or
$OPENFC_DATA_DIR, default ./openfc-data).`,
		`  openfc config set --endpoint http://10.0.0.5:9700 --access-key-id KEY --access-key-secret SECRET
  openfc config show`)
	cmd.AddCommand(c.configSet(), c.configShow())
	return cmd
}

func (c *common) configSet() *cobra.Command {
	return &cobra.Command{
		Use:   "set [--endpoint URL] [--account-id ID] [--access-key-id ID] [--access-key-secret SECRET]",
		Short: "Save the endpoint and access key in the CLI config file",
		Long: `set writes the given settings to the CLI config file (mode 0600), keeping
the ones not given.`,
		Example: `  openfc config set --endpoint http://10.0.0.5:9700 --account-id 1234 \
      --access-key-id KEY --access-key-secret SECRET
  OPENFC_CLI_CONFIG=./staging.yaml openfc config set --endpoint http://staging:9700`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			path, err := c.e.configPath()
			if err != nil {
				return err
			}
			s, err := readConfigFile(path)
			if err != nil {
				return err
			}
			given := c.conn.settings.fields()
			n := 0
			for i, f := range s.fields() {
				if cmd.Flags().Changed(given[i].flag) {
					*f.value = *given[i].value
					n++
				}
			}
			if n == 0 {
				return usagef("nothing to set: give --endpoint, --account-id, --access-key-id or --access-key-secret")
			}
			if err := writeConfigFile(path, s); err != nil {
				return err
			}
			if !c.json() {
				fmt.Fprintf(c.e.stdout, "saved in %s\n", path)
			}
			return nil
		},
	}
}

func (c *common) configShow() *cobra.Command {
	return &cobra.Command{
		Use:   "show [flags]",
		Short: "Show the endpoint and access key the CLI would use, and where each comes from",
		Example: `  openfc config show
  openfc config show -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			_, from, err := c.e.resolve(cmd, &c.conn)
			if err != nil {
				return err
			}
			for i := range from {
				if from[i].name == "access-key-secret" {
					from[i].value = mask(from[i].value)
				}
			}
			if c.json() {
				out := map[string]map[string]string{}
				for _, r := range from {
					out[r.name] = map[string]string{"value": r.value, "source": r.source}
				}
				return printJSON(c.e.stdout, out)
			}
			rows := make([][]string, 0, len(from))
			for _, r := range from {
				rows = append(rows, []string{r.name, dash(r.value), dash(r.source)})
			}
			return printTable(c.e.stdout, []string{"SETTING", "VALUE", "SOURCE"}, rows)
		},
	}
}

// mask hides all but the last four characters of a secret.
func mask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) <= 8:
		return "****"
	}
	return "****" + s[len(s)-4:]
}
