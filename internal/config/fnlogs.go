package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// FunctionLogs configures the storage of what functions write to stdout
// and stderr (stream OPENFC_LOGS).
type FunctionLogs struct {
	// Enabled stores function log lines (default true); false turns
	// storage off, to measure its cost (X-Fc-Log-Result still works).
	Enabled bool `yaml:"enabled"`
	// Retention is how long lines are kept, e.g. "7d" or "36h" (default 7d).
	Retention string `yaml:"retention"`
	// MaxBytes bounds the stored lines, e.g. "1GiB" (default); the oldest
	// go first.
	MaxBytes string `yaml:"maxBytes"`
	// Buffer is how many lines may wait to be stored; when full, lines are
	// dropped and counted (default 16384).
	Buffer int `yaml:"buffer"`
}

func defaultFunctionLogs() FunctionLogs {
	return FunctionLogs{Enabled: true, Retention: "7d", MaxBytes: "1GiB", Buffer: 16384}
}

func functionLogFlags(fs *pflag.FlagSet, c *Config) {
	fs.BoolVar(&c.FunctionLogs.Enabled, "function-logs", c.FunctionLogs.Enabled, "store what functions write (false: off, to measure its cost) [OPENFC_FUNCTION_LOGS]")
	fs.StringVar(&c.FunctionLogs.Retention, "log-retention", c.FunctionLogs.Retention, "how long function log lines are kept, e.g. 7d or 36h [OPENFC_LOG_RETENTION]")
	fs.StringVar(&c.FunctionLogs.MaxBytes, "log-max-bytes", c.FunctionLogs.MaxBytes, "`size` bound of stored function logs, e.g. 1GiB [OPENFC_LOG_MAX_BYTES]")
	fs.IntVar(&c.FunctionLogs.Buffer, "log-buffer", c.FunctionLogs.Buffer, "function log `lines` waiting to be stored before new ones are dropped [OPENFC_LOG_BUFFER]")
}

// functionLogEnv applies the OPENFC_* variables of FunctionLogs.
func functionLogEnv(c *Config, vars map[string]string) error {
	if v, ok := vars["OPENFC_FUNCTION_LOGS"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("OPENFC_FUNCTION_LOGS=%q: use true or false", v)
		}
		c.FunctionLogs.Enabled = b
	}
	if v, ok := vars["OPENFC_LOG_RETENTION"]; ok {
		c.FunctionLogs.Retention = v
	}
	if v, ok := vars["OPENFC_LOG_MAX_BYTES"]; ok {
		c.FunctionLogs.MaxBytes = v
	}
	if v, ok := vars["OPENFC_LOG_BUFFER"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("OPENFC_LOG_BUFFER=%q: use a number", v)
		}
		c.FunctionLogs.Buffer = n
	}
	return nil
}

func (l FunctionLogs) validate() error {
	var errs []error
	if _, err := ParseAge(l.Retention); err != nil {
		errs = append(errs, fmt.Errorf("log-retention: %w", err))
	}
	if n, err := ParseBytes(l.MaxBytes); err != nil {
		errs = append(errs, fmt.Errorf("log-max-bytes: %w", err))
	} else if n < 1<<20 {
		errs = append(errs, fmt.Errorf("log-max-bytes %q: use at least 1MiB", l.MaxBytes))
	}
	if l.Buffer < 1 {
		errs = append(errs, errors.New("log-buffer must be at least 1"))
	}
	return errors.Join(errs...)
}

// RetentionDuration returns Retention parsed (Validate checked it).
func (l FunctionLogs) RetentionDuration() time.Duration {
	d, _ := ParseAge(l.Retention) // validated
	return d
}

// MaxBytesValue returns MaxBytes parsed (Validate checked it).
func (l FunctionLogs) MaxBytesValue() int64 {
	n, _ := ParseBytes(l.MaxBytes) // validated
	return n
}

// ParseAge parses a positive duration that may be given in days ("7d",
// "1d12h") besides Go's units ("36h", "90m").
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		n, err := strconv.Atoi(t[:i])
		if err != nil {
			return 0, fmt.Errorf("age %q: use a duration such as 7d, 36h or 90m", s)
		}
		days, t = time.Duration(n)*24*time.Hour, t[i+1:]
	}
	var rest time.Duration
	if t != "" {
		var err error
		if rest, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("age %q: use a duration such as 7d, 36h or 90m", s)
		}
	}
	if d := days + rest; d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("age %q: use a positive duration such as 7d, 36h or 90m", s)
}
