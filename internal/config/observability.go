package config

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Observability switches the node's own accounting: metrics and metering
// (function logs are configured by the logs section).
type Observability struct {
	// Metrics counts invocations for /metrics (default true); false
	// leaves only the runtime and instance gauges, to measure its cost.
	Metrics bool `yaml:"metrics"`
	// Metering writes a usage record per invocation and provisioned
	// instance interval (default true).
	Metering bool `yaml:"metering"`
	// BillingGranularity is the unit billed durations are rounded up to
	// (default 100ms, FC's; 1ms bills exactly).
	BillingGranularity time.Duration `yaml:"billingGranularity"`
}

// defaultObservability is part of Default.
func defaultObservability() Observability {
	return Observability{Metrics: true, Metering: true, BillingGranularity: 100 * time.Millisecond}
}

// loadObservabilityEnv applies OPENFC_METRICS, OPENFC_METERING and
// OPENFC_BILLING_GRANULARITY.
func loadObservabilityEnv(c *Config, vars map[string]string) error {
	for k, field := range map[string]*bool{"OPENFC_METRICS": &c.Observability.Metrics, "OPENFC_METERING": &c.Observability.Metering} {
		if v, ok := vars[k]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q: use true or false", k, v)
			}
			*field = b
		}
	}
	if v, ok := vars["OPENFC_BILLING_GRANULARITY"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("OPENFC_BILLING_GRANULARITY=%q: use a duration such as 100ms or 1ms", v)
		}
		c.Observability.BillingGranularity = d
	}
	return nil
}

// validateObservability is part of Validate.
func (c Config) validateObservability() error {
	g := c.Observability.BillingGranularity
	if g < time.Millisecond || g > time.Hour || g%time.Millisecond != 0 {
		return errors.New("billing-granularity must be a whole number of milliseconds from 1ms to 1h, e.g. 100ms")
	}
	return nil
}
