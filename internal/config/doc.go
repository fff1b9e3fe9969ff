// Package config defines openfc's configuration: one Config struct nested
// per component, Default() for the single-binary setup (loopback listener,
// embedded NATS, data under ./openfc-data), and Load, a pure function of
// command-line arguments and environment that applies defaults < config
// file (YAML, --config) < OPENFC_* environment < flags. Validate reports
// every problem at once.
//
// config imports nothing of openfc's; only app, cli and testenv import it.
package config
