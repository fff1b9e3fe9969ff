package fc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Limits from spec §0 and §7.
const (
	MaxServiceNameLen       = 128
	MaxFunctionNameLen      = 64
	MaxOtherNameLen         = 128
	MaxEnvBytes             = 4 << 10
	MaxInstanceConcurrency  = 100
	MaxTimeoutSeconds       = 86400
	MaxInitTimeoutSeconds   = 300
	MaxLifecycleHookSeconds = 90
	MaxLayers               = 5
	MaxTags                 = 20
	MaxListLimit            = 100
	DefaultListLimit        = 20
	MaxCodeBase64Bytes      = 100 << 20
	MaxUnzippedCodeBytes    = 500 << 20
	MaxZipEntries           = 50000
	MaxSyncPayloadBytes     = 32 << 20
	MaxAsyncPayloadBytes    = 128 << 10
	MaxRequestBodyBytes     = 101 << 20
	MaxTriggersPerFunction  = 50
)

// Runtimes openfc accepts. FC's other identifiers (java, php, dotnet,
// custom-container, deprecated node and python) are refused at creation
// because no node could run them.
var runtimes = []string{
	"python3", "python3.9", "python3.10",
	"nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20",
	"custom", "custom.debian10", "go1",
}

// Runtimes returns the runtime identifiers openfc accepts.
func Runtimes() []string { return slices.Clone(runtimes) }

// KnownRuntime reports whether name is a runtime openfc accepts.
func KnownRuntime(name string) bool { return slices.Contains(runtimes, name) }

// IsCustomRuntime reports whether the runtime runs a user HTTP server.
func IsCustomRuntime(name string) bool { return strings.HasPrefix(name, "custom") }

// ValidName reports whether s is a valid FC resource name of at most max
// bytes: letters, digits, '_' and '-', not starting with a digit or '-'.
func ValidName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func nameProblem(kind, name string, max int) string {
	if name == "" {
		return problemf("%sName is required", kind)
	}
	return problemf("%sName %q is invalid: use 1 to %d letters, digits, '_' or '-', starting with a letter or '_'", kind, name, max)
}

// ValidateService checks a service about to be stored.
func ValidateService(s *Service) error {
	var p []string
	if !ValidName(s.ServiceName, MaxServiceNameLen) {
		p = append(p, nameProblem("service", s.ServiceName, MaxServiceNameLen))
	}
	if len(s.Description) > 256 {
		p = append(p, "description is longer than 256 characters")
	}
	if s.TracingConfig != nil && s.TracingConfig.Type != nil && *s.TracingConfig.Type != "Jaeger" {
		p = append(p, problemf("tracingConfig.type %q is invalid: use \"Jaeger\"", *s.TracingConfig.Type))
	}
	return JoinErrors(p)
}

// ValidateFunction checks a function about to be stored (after defaults
// and, on update, after the merge).
func ValidateFunction(f *Function) error {
	var p []string
	if !ValidName(f.FunctionName, MaxFunctionNameLen) {
		p = append(p, nameProblem("function", f.FunctionName, MaxFunctionNameLen))
	}
	switch {
	case f.Runtime == "":
		p = append(p, "runtime is required")
	case !KnownRuntime(f.Runtime):
		p = append(p, problemf("Runtime is set to an invalid value %q: openfc runs %s", f.Runtime, strings.Join(runtimes, ", ")))
	}
	if f.Handler == "" {
		p = append(p, "handler is required (for custom runtimes any string, e.g. \"index.handler\")")
	}
	if len(f.Description) > 256 {
		p = append(p, "description is longer than 256 characters")
	}
	p = append(p, memoryProblems(f.InstanceType, f.MemorySize)...)
	if f.Timeout < 1 || f.Timeout > MaxTimeoutSeconds {
		p = append(p, problemf("timeout %d is out of range: use 1 to %d seconds", f.Timeout, MaxTimeoutSeconds))
	}
	if f.InitializationTimeout < 1 || f.InitializationTimeout > MaxInitTimeoutSeconds {
		p = append(p, problemf("initializationTimeout %d is out of range: use 1 to %d seconds", f.InitializationTimeout, MaxInitTimeoutSeconds))
	}
	if f.InstanceConcurrency < 1 || f.InstanceConcurrency > MaxInstanceConcurrency {
		p = append(p, problemf("instanceConcurrency %d is out of range: use 1 to %d", f.InstanceConcurrency, MaxInstanceConcurrency))
	}
	if f.CAPort < 1 || f.CAPort > 65535 {
		p = append(p, problemf("caPort %d is out of range: use 1 to 65535", f.CAPort))
	}
	if len(f.Layers) > MaxLayers {
		p = append(p, problemf("a function has at most %d layers, got %d", MaxLayers, len(f.Layers)))
	}
	if lc := f.InstanceLifecycleConfig; lc != nil {
		for name, h := range map[string]*LifecycleHook{"preFreeze": lc.PreFreeze, "preStop": lc.PreStop} {
			if h != nil && h.Handler != "" && (h.Timeout < 1 || h.Timeout > MaxLifecycleHookSeconds) {
				p = append(p, problemf("instanceLifecycleConfig.%s.timeout %d is out of range: use 1 to %d seconds", name, h.Timeout, MaxLifecycleHookSeconds))
			}
		}
	}
	p = append(p, EnvProblems(f.EnvironmentVariables)...)
	return JoinErrors(p)
}

func memoryProblems(instanceType string, mb int) []string {
	switch instanceType {
	case "e1":
		if mb < 128 || mb > 3072 || mb%64 != 0 {
			return []string{problemf("memorySize %d is invalid for instanceType e1: use a multiple of 64 from 128 to 3072 MB", mb)}
		}
	case "c1":
		if !slices.Contains([]int{4096, 8192, 16384, 32768}, mb) {
			return []string{problemf("memorySize %d is invalid for instanceType c1: use 4096, 8192, 16384 or 32768 MB", mb)}
		}
	default:
		return []string{problemf("instanceType %q is not supported: use e1 or c1", instanceType)}
	}
	return nil
}

var reservedEnv = []string{"accessKeyID", "accessKeySecret", "securityToken", "topic"}

// EnvProblems lists what is wrong with a function's environment variables
// (spec §6.7): key syntax, reserved names, printable ASCII values and 4 KB
// in total.
func EnvProblems(env map[string]string) []string {
	var p []string
	total := 0
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := env[k]
		total += len(k) + len(v)
		if !validEnvKey(k) {
			p = append(p, problemf("environment variable name %q is invalid: use a letter then letters, digits or '_'", k))
			continue
		}
		if strings.HasPrefix(k, "FC_") || slices.Contains(reservedEnv, k) {
			p = append(p, problemf("environment variable name %q is reserved", k))
		}
		for _, c := range []byte(v) {
			if c < 0x20 || c > 0x7e {
				p = append(p, problemf("environment variable %q has a value with a character outside printable ASCII", k))
				break
			}
		}
	}
	if total > MaxEnvBytes {
		p = append(p, problemf("environment variables take %d bytes; the limit is %d", total, MaxEnvBytes))
	}
	return p
}

func validEnvKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9') || c == '_':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

var httpMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"}

// CronValidator checks a timer trigger's cronExpression. It is set by the
// caller because the cron parser lives outside this leaf package.
type CronValidator func(expr string) error

// ValidateTrigger checks a trigger about to be stored; cron validates timer
// expressions (nil skips that check).
func ValidateTrigger(t *Trigger, cron CronValidator) error {
	var p []string
	if !ValidName(t.TriggerName, MaxOtherNameLen) {
		p = append(p, nameProblem("trigger", t.TriggerName, MaxOtherNameLen))
	}
	if len(t.TriggerConfig) == 0 || !RawObject(t.TriggerConfig) {
		p = append(p, "triggerConfig is required and must be a JSON object")
		return JoinErrors(p)
	}
	if t.Qualifier != "" && !ValidQualifier(t.Qualifier) {
		p = append(p, problemf("qualifier %q is invalid: use LATEST, a version ID or an alias name", t.Qualifier))
	}
	switch t.TriggerType {
	case TriggerHTTP:
		var c HTTPTriggerConfig
		if err := json.Unmarshal(t.TriggerConfig, &c); err != nil {
			p = append(p, problemf("triggerConfig of an http trigger is invalid: %v", err))
			break
		}
		if c.AuthType != "anonymous" && c.AuthType != "function" {
			p = append(p, problemf("triggerConfig.authType %q is invalid: use \"anonymous\" or \"function\"", c.AuthType))
		}
		if len(c.Methods) == 0 {
			p = append(p, "triggerConfig.methods is required: list the HTTP methods the trigger accepts")
		}
		for _, m := range c.Methods {
			if !slices.Contains(httpMethods, strings.ToUpper(m)) {
				p = append(p, problemf("triggerConfig.methods has %q: use %s", m, strings.Join(httpMethods, ", ")))
			}
		}
	case TriggerTimer:
		var c TimerTriggerConfig
		if err := json.Unmarshal(t.TriggerConfig, &c); err != nil {
			p = append(p, problemf("triggerConfig of a timer trigger is invalid: %v", err))
			break
		}
		if c.CronExpression == "" {
			p = append(p, "triggerConfig.cronExpression is required, e.g. \"@every 5m\" or \"0 0 4 * * *\"")
		} else if cron != nil {
			if err := cron(c.CronExpression); err != nil {
				p = append(p, problemf("triggerConfig.cronExpression %q is invalid: %v", c.CronExpression, err))
			}
		}
	case TriggerOSS:
		var c OSSTriggerConfig
		if err := json.Unmarshal(t.TriggerConfig, &c); err != nil {
			p = append(p, problemf("triggerConfig of an oss trigger is invalid: %v", err))
			break
		}
		if len(c.Events) == 0 {
			p = append(p, "triggerConfig.events is required, e.g. [\"oss:ObjectCreated:*\"]")
		}
		for _, e := range c.Events {
			if !strings.HasPrefix(e, "oss:") {
				p = append(p, problemf("triggerConfig.events has %q: events start with \"oss:\"", e))
			}
		}
		if t.SourceARN == nil || *t.SourceARN == "" {
			p = append(p, "sourceArn is required for an oss trigger (acs:oss:<region>:<account>:<bucket>)")
		}
		p = append(p, ossProblems(t)...)
	case TriggerEventBridge:
		var c EventBridgeTriggerConfig
		if err := json.Unmarshal(t.TriggerConfig, &c); err != nil {
			p = append(p, problemf("triggerConfig of an eventbridge trigger is invalid: %v", err))
			break
		}
		if len(c.EventSourceConfig) == 0 || !RawObject(c.EventSourceConfig) {
			p = append(p, "triggerConfig.eventSourceConfig is required and must be an object")
		}
		_, _, natsProblems := ParseNATSTrigger(t.TriggerConfig)
		p = append(p, natsProblems...)
	case TriggerLog, TriggerMNSTopic, TriggerCDNEvents, TriggerTablestore:
		if t.SourceARN == nil || *t.SourceARN == "" {
			p = append(p, problemf("sourceArn is required for a %s trigger", t.TriggerType))
		}
	case "":
		p = append(p, "triggerType is required")
	default:
		p = append(p, problemf("triggerType %q is invalid: use http, timer, oss, log, mns_topic, cdn_events, tablestore or eventbridge", t.TriggerType))
	}
	return JoinErrors(p)
}

// ValidQualifier reports whether q can name LATEST, a version or an alias.
func ValidQualifier(q string) bool {
	if q == "LATEST" {
		return true
	}
	if _, err := strconv.ParseUint(q, 10, 64); err == nil {
		return true
	}
	return ValidName(q, MaxOtherNameLen)
}

// ValidateAlias checks an alias about to be stored.
func ValidateAlias(a *Alias) error {
	var p []string
	if !ValidName(a.AliasName, MaxOtherNameLen) || a.AliasName == "LATEST" {
		p = append(p, nameProblem("alias", a.AliasName, MaxOtherNameLen))
	}
	if _, err := strconv.ParseUint(a.VersionID, 10, 64); err != nil {
		p = append(p, problemf("versionId %q is invalid: use a published version ID", a.VersionID))
	}
	sum := 0.0
	for v, w := range a.AdditionalVersionWeight {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			p = append(p, problemf("additionalVersionWeight has version %q: use a published version ID", v))
		}
		if v == a.VersionID {
			p = append(p, problemf("additionalVersionWeight names version %s, which is already the alias's main version", v))
		}
		if w < 0 || w > 1 {
			p = append(p, problemf("additionalVersionWeight of version %s is %v: use 0 to 1", v, w))
		}
		sum += w
	}
	if sum > 1 {
		p = append(p, fmt.Sprintf("additionalVersionWeight adds up to %v: the total must be at most 1", sum))
	}
	return JoinErrors(p)
}

// SplitQualifier splits "service.qualifier" at the first '.', the form
// FC's SDKs put in paths; the qualifier is "" when there is none.
func SplitQualifier(s string) (service, qualifier string) {
	service, qualifier, _ = strings.Cut(s, ".")
	return service, qualifier
}
