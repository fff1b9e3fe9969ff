package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/openfc/openfc/internal/client"
)

// getenv returns the value of key in the command's environment.
func (e *env) getenv(key string) string {
	for i := len(e.vars) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.vars[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// settings are where and as whom the CLI calls the API. The YAML form is
// the CLI config file; the JSON form is <data-dir>/credentials.json.
type settings struct {
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint"`
	AccountID       string `yaml:"accountId,omitempty" json:"accountId"`
	AccessKeyID     string `yaml:"accessKeyId,omitempty" json:"accessKeyId"`
	AccessKeySecret string `yaml:"accessKeySecret,omitempty" json:"accessKeySecret"`
}

// fields lists the settings in order with their flag and variable names.
func (s *settings) fields() []setting {
	return []setting{
		{"endpoint", "OPENFC_ENDPOINT", &s.Endpoint},
		{"account-id", "OPENFC_ACCOUNT_ID", &s.AccountID},
		{"access-key-id", "OPENFC_ACCESS_KEY_ID", &s.AccessKeyID},
		{"access-key-secret", "OPENFC_ACCESS_KEY_SECRET", &s.AccessKeySecret},
	}
}

type setting struct {
	flag, envVar string
	value        *string
}

// connFlags are the flags every client command takes.
type connFlags struct {
	settings
	dataDir string
}

func addConnFlags(cmd *cobra.Command, f *connFlags) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.Endpoint, "endpoint", "", "API endpoint, e.g. http://127.0.0.1:9700 (or $OPENFC_ENDPOINT)")
	p.StringVar(&f.AccountID, "account-id", "", "account ID (or $OPENFC_ACCOUNT_ID)")
	p.StringVar(&f.AccessKeyID, "access-key-id", "", "access key ID (or $OPENFC_ACCESS_KEY_ID)")
	p.StringVar(&f.AccessKeySecret, "access-key-secret", "", "access key secret (or $OPENFC_ACCESS_KEY_SECRET)")
	p.StringVar(&f.dataDir, "data-dir", "", "data dir of a local 'openfc serve' whose credentials.json to use\n(or $OPENFC_DATA_DIR; default ./openfc-data)")
}

// configPath is the CLI config file: $OPENFC_CLI_CONFIG, else
// ~/.config/openfc/config.yaml.
func (e *env) configPath() (string, error) {
	if p := e.getenv("OPENFC_CLI_CONFIG"); p != "" {
		return p, nil
	}
	home := e.getenv("HOME")
	if home == "" {
		return "", errors.New("neither OPENFC_CLI_CONFIG nor HOME is set: set one to say where the CLI config file is")
	}
	return filepath.Join(home, ".config", "openfc", "config.yaml"), nil
}

// readConfigFile reads the CLI config file; a missing file is empty.
func readConfigFile(path string) (settings, error) {
	var s settings
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read CLI config: %w", err)
	}
	if err := yaml.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("CLI config %s: %w", path, err)
	}
	return s, nil
}

// writeConfigFile writes the CLI config file (mode 0600, its folder 0700).
func writeConfigFile(path string, s settings) error {
	data, err := yaml.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	return nil
}

// credentialsPath is <data-dir>/credentials.json, written by openfc serve.
func (e *env) credentialsPath(f *connFlags) string {
	dir := f.dataDir
	if dir == "" {
		dir = e.getenv("OPENFC_DATA_DIR")
	}
	if dir == "" {
		dir = "./openfc-data"
	}
	return filepath.Join(dir, "credentials.json")
}

// resolved is one setting's value and where it came from.
type resolved struct {
	name, value, source string
}

// resolve fills each setting from the first source that has it: flags,
// the environment, the CLI config file, then credentials.json.
func (e *env) resolve(cmd *cobra.Command, f *connFlags) (settings, []resolved, error) {
	var out settings
	var from []resolved
	fields := out.fields()
	flagged := f.settings.fields()
	source := make([]string, len(fields))
	missing := func() bool {
		for _, s := range fields {
			if *s.value == "" {
				return true
			}
		}
		return false
	}
	fill := func(src string, vals []setting) {
		for i, s := range fields {
			if *s.value == "" && *vals[i].value != "" {
				*s.value, source[i] = *vals[i].value, src
			}
		}
	}
	fill("flag", flagged)
	for i, s := range fields {
		if *s.value == "" {
			if v := e.getenv(s.envVar); v != "" {
				*s.value, source[i] = v, "$"+s.envVar
			}
		}
	}
	if missing() {
		path, err := e.configPath()
		if err == nil {
			file, err := readConfigFile(path)
			if err != nil {
				return out, nil, err
			}
			fill(path, file.fields())
		}
	}
	if missing() {
		path := e.credentialsPath(f)
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			var creds settings
			if err := json.Unmarshal(data, &creds); err != nil {
				return out, nil, fmt.Errorf("%s: %w", path, err)
			}
			fill(path, creds.fields())
		case errors.Is(err, fs.ErrNotExist) && f.dataDir != "":
			return out, nil, fmt.Errorf("no %s: is --data-dir the data dir of 'openfc serve'?", path)
		case !errors.Is(err, fs.ErrNotExist):
			return out, nil, fmt.Errorf("read credentials: %w", err)
		}
	}
	for i, s := range fields {
		from = append(from, resolved{name: s.flag, value: *s.value, source: source[i]})
	}
	return out, from, nil
}

// connect returns a client for the resolved settings, or an error saying
// how to give them.
func (e *env) connect(cmd *cobra.Command, f *connFlags) (*client.Client, error) {
	s, from, err := e.resolve(cmd, f)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, r := range from {
		if r.value == "" && r.name != "account-id" {
			missing = append(missing, strings.ReplaceAll(r.name, "-", " "))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s found: pass --endpoint, --access-key-id and --access-key-secret; or set OPENFC_ENDPOINT, "+
			"OPENFC_ACCESS_KEY_ID and OPENFC_ACCESS_KEY_SECRET; or save them with 'openfc config set'; "+
			"or run where 'openfc serve' keeps its data (./openfc-data, or give --data-dir DIR)",
			strings.Join(missing, ", "))
	}
	return client.New(client.Options{Endpoint: s.Endpoint, AccountID: s.AccountID, AccessKeyID: s.AccessKeyID, AccessKeySecret: s.AccessKeySecret})
}
