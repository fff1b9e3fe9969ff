package fc

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// EventSourceNATS is the eventSourceType of an eventbridge trigger that
// reads a NATS subject or a JetStream stream. FC has no NATS source; openfc
// carries it as an eventbridge trigger so SDKs that only know FC's trigger
// types still list it.
const EventSourceNATS = "NATS"

// NATSSourceParameters is
// triggerConfig.eventSourceConfig.eventSourceParameters.sourceNATSParameters,
// with PascalCase keys like FC's other eventbridge sources
// (sourceRocketMQParameters...). Subject alone reads a plain subject through
// a queue group; Stream reads a durable JetStream consumer.
type NATSSourceParameters struct {
	// Url of the NATS server(s), comma-separated; empty means the platform's
	// own NATS (the embedded server or --nats-url).
	URL string `json:"Url"`
	// Subject to read; with Stream it filters the consumer (optional).
	Subject string `json:"Subject"`
	// QueueGroup shares a plain subject's messages among the nodes; empty
	// means one derived from the trigger, so each message runs once.
	QueueGroup string `json:"QueueGroup"`
	// Stream names the JetStream stream to read.
	Stream string `json:"Stream"`
	// Consumer is the durable consumer's name; empty means one derived from
	// the trigger. It is created when missing.
	Consumer string `json:"Consumer"`
	// DeliverPolicy of a consumer openfc creates: all (default), new or last.
	DeliverPolicy string `json:"DeliverPolicy"`
}

// BatchWindow is FC's runOptions.batchWindow: a batch is delivered once it
// has CountBasedWindow messages or TimeBasedWindow seconds have passed since
// its first message, whichever comes first.
type BatchWindow struct {
	CountBasedWindow int `json:"CountBasedWindow"`
	TimeBasedWindow  int `json:"TimeBasedWindow"`
}

// Batch window limits (FC's eventbridge triggers).
const (
	MaxBatchCount       = 10000
	MaxBatchWindowSecs  = 15
	DefaultBatchCount   = 1
	DefaultBatchWindowS = 0
)

// NATSTrigger is an eventbridge trigger's config when its source is NATS.
type NATSTrigger struct {
	Enabled bool
	Source  NATSSourceParameters
	// BatchSize is the most messages per delivery; BatchWindow the longest
	// wait after a batch's first message.
	BatchSize   int
	BatchWindow time.Duration
}

type eventBridgeNATSConfig struct {
	TriggerEnable     *bool `json:"triggerEnable"`
	EventSourceConfig *struct {
		EventSourceType       string `json:"eventSourceType"`
		EventSourceParameters *struct {
			SourceNATSParameters *NATSSourceParameters `json:"sourceNATSParameters"`
		} `json:"eventSourceParameters"`
	} `json:"eventSourceConfig"`
	RunOptions *struct {
		BatchWindow *BatchWindow `json:"batchWindow"`
	} `json:"runOptions"`
}

// ParseNATSTrigger reads an eventbridge triggerConfig. ok is false when its
// source is not NATS (the config is then stored as it is); problems lists
// what is wrong with a NATS one.
func ParseNATSTrigger(raw json.RawMessage) (t NATSTrigger, ok bool, problems []string) {
	var c eventBridgeNATSConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return t, false, nil // reported by ValidateTrigger's own decode
	}
	if c.EventSourceConfig == nil || !strings.EqualFold(c.EventSourceConfig.EventSourceType, EventSourceNATS) {
		return t, false, nil
	}
	t.Enabled = c.TriggerEnable == nil || *c.TriggerEnable
	t.BatchSize, t.BatchWindow = DefaultBatchCount, DefaultBatchWindowS*time.Second
	var p []string
	if c.RunOptions != nil && c.RunOptions.BatchWindow != nil {
		w := c.RunOptions.BatchWindow
		switch {
		case w.CountBasedWindow == 0:
		case w.CountBasedWindow < 1 || w.CountBasedWindow > MaxBatchCount:
			p = append(p, problemf("triggerConfig.runOptions.batchWindow.CountBasedWindow %d is out of range: use 1 to %d messages", w.CountBasedWindow, MaxBatchCount))
		default:
			t.BatchSize = w.CountBasedWindow
		}
		if w.TimeBasedWindow < 0 || w.TimeBasedWindow > MaxBatchWindowSecs {
			p = append(p, problemf("triggerConfig.runOptions.batchWindow.TimeBasedWindow %d is out of range: use 0 to %d seconds", w.TimeBasedWindow, MaxBatchWindowSecs))
		} else {
			t.BatchWindow = time.Duration(w.TimeBasedWindow) * time.Second
		}
	}
	ps := c.EventSourceConfig.EventSourceParameters
	if ps == nil || ps.SourceNATSParameters == nil {
		p = append(p, "triggerConfig.eventSourceConfig.eventSourceParameters.sourceNATSParameters is required for a NATS source, e.g. {\"Subject\":\"logs.>\"} or {\"Stream\":\"LOGS\"}")
		return t, true, p
	}
	s := *ps.SourceNATSParameters
	t.Source = s
	const where = "triggerConfig.eventSourceConfig.eventSourceParameters.sourceNATSParameters."
	if s.Subject == "" && s.Stream == "" {
		p = append(p, where+"Subject or Stream is required: a subject to subscribe to, or a JetStream stream to consume")
	}
	if s.Subject != "" && !ValidSubject(s.Subject, true) {
		p = append(p, problemf(where+"Subject %q is invalid: use dot-separated tokens without spaces, * for one token, > as the last", s.Subject))
	}
	if s.Stream != "" {
		if !validNATSName(s.Stream) {
			p = append(p, problemf(where+"Stream %q is invalid: a stream name has no spaces, '.', '*', '>', '/' or '\\'", s.Stream))
		}
		if s.QueueGroup != "" {
			p = append(p, where+"QueueGroup only applies to a plain subject: a JetStream consumer is already shared by the nodes")
		}
		switch strings.ToLower(s.DeliverPolicy) {
		case "", "all", "new", "last":
		default:
			p = append(p, problemf(where+"DeliverPolicy %q is invalid: use all, new or last", s.DeliverPolicy))
		}
	} else {
		if s.Consumer != "" {
			p = append(p, where+"Consumer needs Stream: name the JetStream stream it reads")
		}
		if s.DeliverPolicy != "" {
			p = append(p, where+"DeliverPolicy needs Stream: a plain subject only sees new messages")
		}
		if s.QueueGroup != "" && !ValidSubject(s.QueueGroup, false) {
			p = append(p, problemf(where+"QueueGroup %q is invalid: use letters, digits, '.', '-' and '_'", s.QueueGroup))
		}
	}
	if s.Consumer != "" && !validNATSName(s.Consumer) {
		p = append(p, problemf(where+"Consumer %q is invalid: a consumer name has no spaces, '.', '*', '>', '/' or '\\'", s.Consumer))
	}
	if s.URL != "" {
		if problem := checkNATSURL(s.URL); problem != "" {
			p = append(p, where+"Url "+problem)
		}
	}
	return t, true, p
}

// checkNATSURL checks a comma-separated list of NATS server URLs.
func checkNATSURL(list string) string {
	for _, u := range strings.Split(list, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Host == "" {
			return problemf("%q is invalid: use nats://host:port (several separated by commas)", list)
		}
		switch pu.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return problemf("%q has scheme %q: use nats, tls, ws or wss", list, pu.Scheme)
		}
	}
	return ""
}

// ValidSubject reports whether s is a NATS subject (wildcards allowed when
// wild is set).
func ValidSubject(s string, wild bool) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	tokens := strings.Split(s, ".")
	for i, tok := range tokens {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
		if strings.ContainsAny(tok, "*>") {
			if !wild || (tok != "*" && tok != ">") || (tok == ">" && i != len(tokens)-1) {
				return false
			}
		}
	}
	return true
}

func validNATSName(s string) bool {
	return s != "" && len(s) <= 255 && !strings.ContainsAny(s, " \t\r\n.*>/\\")
}

// OSSTriggerSource is openfc's part of an oss triggerConfig (keys FC does
// not have; FC echoes the config, so SDKs keep them): how bucket
// notifications reach the trigger besides FC-signed webhook calls.
type OSSTriggerSource struct {
	// WebhookToken, when set, lets a store such as MinIO post
	// notifications to the trigger's webhook with
	// "Authorization: Bearer <token>" instead of an FC signature.
	WebhookToken string `json:"webhookToken"`
	// NATSSubject, when set, is read for notifications (MinIO's NATS
	// target), through a queue group so each runs once per platform.
	NATSSubject string `json:"natsSubject"`
	// NATSURL is the server of NATSSubject; empty means the platform's.
	NATSURL string `json:"natsUrl"`
}

// MinWebhookTokenLen is the shortest webhookToken accepted.
const MinWebhookTokenLen = 16

// OSSBucket returns the bucket of an oss trigger's sourceArn
// (acs:oss:<region>:<account>:<bucket>), or "".
func OSSBucket(sourceARN string) string {
	parts := strings.Split(sourceARN, ":")
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "oss" {
		return ""
	}
	return parts[4]
}

// ossProblems checks the parts of an oss trigger that ValidateTrigger's
// own checks leave out: the bucket in sourceArn and openfc's source keys.
func ossProblems(t *Trigger) []string {
	var p []string
	if t.SourceARN != nil && *t.SourceARN != "" && OSSBucket(*t.SourceARN) == "" {
		p = append(p, problemf("sourceArn %q is invalid: use acs:oss:<region>:<account>:<bucket>", *t.SourceARN))
	}
	var s OSSTriggerSource
	if json.Unmarshal(t.TriggerConfig, &s) != nil {
		return p
	}
	if s.WebhookToken != "" && len(s.WebhookToken) < MinWebhookTokenLen {
		p = append(p, problemf("triggerConfig.webhookToken is too short: use at least %d characters", MinWebhookTokenLen))
	}
	if strings.ContainsAny(s.WebhookToken, " \t\r\n") {
		p = append(p, "triggerConfig.webhookToken must not contain spaces")
	}
	if s.NATSSubject != "" && !ValidSubject(s.NATSSubject, true) {
		p = append(p, problemf("triggerConfig.natsSubject %q is invalid: use dot-separated tokens without spaces, * for one token, > as the last", s.NATSSubject))
	}
	if s.NATSURL != "" {
		if s.NATSSubject == "" {
			p = append(p, "triggerConfig.natsUrl needs natsSubject: the subject MinIO publishes notifications to")
		} else if problem := checkNATSURL(s.NATSURL); problem != "" {
			p = append(p, "triggerConfig.natsUrl "+problem)
		}
	}
	return p
}
