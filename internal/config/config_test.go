package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "openfc.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:1111\ndataDir: /from/file\nregion: file-region\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(
		[]string{"--config", file, "--listen", "127.0.0.1:3333"},
		[]string{"OPENFC_LISTEN=127.0.0.1:2222", "OPENFC_DATA_DIR=/from/env", "HOME=/root", "OPENFC_ACCESS_KEY_ID=abc"},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen = "127.0.0.1:3333" // flag beats env and file
	want.DataDir = "/from/env"     // env beats file
	want.Region = "file-region"    // file beats default
	want.Log.Level = "debug"       // file
	want.ConfigFile = file
	want.Credentials.AccessKeyID = "abc"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", d)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, "unknown flag"},
		{"positional", []string{"extra"}, nil, "unexpected argument"},
		{"missing file", nil, []string{"OPENFC_CONFIG=/does/not/exist"}, "read config file"},
		{"help", []string{"--help"}, nil, "help requested"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.args, c.env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load(%q) = %v, want error containing %q", c.args, err, c.want)
			}
		})
	}
}

func TestLoadUnknownFileKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "openfc.yaml")
	os.WriteFile(file, []byte("lissten: x\n"), 0o600)
	if _, err := Load([]string{"--config", file}, nil); err == nil {
		t.Error("Load accepted a config file with a misspelt key")
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	c := Default()
	c.Listen = "nope"
	c.Log.Level = "loud"
	c.Credentials.AccessKeyID = "id-without-secret"
	c.Credentials.AccountID = "12ab"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"listen", "log-level", "set together", "OPENFC_ACCOUNT_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %q", err, want)
		}
	}
}
