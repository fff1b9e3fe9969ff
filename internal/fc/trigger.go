package fc

import "encoding/json"

// Trigger is FC's trigger object (spec §2.4). TriggerConfig is kept as the
// raw JSON the client sent, because FC echoes it back exactly; its shape is
// checked per type by ValidateTrigger.
type Trigger struct {
	TriggerName      string          `json:"triggerName" fc:"immutable"`
	TriggerID        string          `json:"triggerId" fc:"readonly"`
	TriggerType      string          `json:"triggerType" fc:"immutable"`
	Description      string          `json:"description"`
	SourceARN        *string         `json:"sourceArn"`
	InvocationRole   string          `json:"invocationRole"`
	Qualifier        string          `json:"qualifier"`
	TriggerConfig    json.RawMessage `json:"triggerConfig"`
	URLInternet      string          `json:"urlInternet,omitempty" fc:"readonly"`
	URLIntranet      string          `json:"urlIntranet,omitempty" fc:"readonly"`
	CreatedTime      string          `json:"createdTime" fc:"readonly"`
	LastModifiedTime string          `json:"lastModifiedTime" fc:"readonly"`
}

// Trigger types FC knows; the Go SDK refuses to decode any other.
const (
	TriggerHTTP        = "http"
	TriggerTimer       = "timer"
	TriggerOSS         = "oss"
	TriggerLog         = "log"
	TriggerMNSTopic    = "mns_topic"
	TriggerCDNEvents   = "cdn_events"
	TriggerTablestore  = "tablestore"
	TriggerEventBridge = "eventbridge"
)

// HTTPTriggerConfig is the triggerConfig of an http trigger.
type HTTPTriggerConfig struct {
	AuthType           string          `json:"authType"`
	Methods            []string        `json:"methods"`
	DisableURLInternet bool            `json:"disableURLInternet,omitempty"`
	AuthConfig         json.RawMessage `json:"authConfig,omitempty"`
}

// TimerTriggerConfig is the triggerConfig of a timer trigger.
type TimerTriggerConfig struct {
	CronExpression string `json:"cronExpression"`
	Payload        string `json:"payload"`
	Enable         *bool  `json:"enable"`
}

// OSSTriggerConfig is the triggerConfig of an oss trigger.
type OSSTriggerConfig struct {
	Events []string `json:"events"`
	Filter struct {
		Key struct {
			Prefix string `json:"prefix"`
			Suffix string `json:"suffix"`
		} `json:"key"`
	} `json:"filter"`
}

// EventBridgeTriggerConfig is the triggerConfig of an eventbridge trigger,
// which openfc also uses for NATS event sources.
type EventBridgeTriggerConfig struct {
	TriggerEnable          *bool           `json:"triggerEnable"`
	AsyncInvocationType    *bool           `json:"asyncInvocationType"`
	EventSourceConfig      json.RawMessage `json:"eventSourceConfig"`
	EventRuleFilterPattern string          `json:"eventRuleFilterPattern"`
}
