package trigger

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/queue"
	"github.com/openfc/openfc/internal/store"
)

// MaxNotificationBytes bounds a bucket notification's body (MinIO sends one
// record per notification, a few KB).
const MaxNotificationBytes = 1 << 20

// OSSOptions configures the OSS webhook.
type OSSOptions struct {
	Store *store.Store
	Queue *queue.Queue
	// Verify checks an FC signature, the other way to call the webhook.
	Verify func(r *http.Request) error
	Logger *slog.Logger
}

// OSS turns S3/OSS bucket notifications posted to a trigger's webhook into
// FC's OSS events on the async path.
type OSS struct {
	store  *store.Store
	queue  *queue.Queue
	verify func(*http.Request) error
	logger *slog.Logger
}

// NewOSS returns the OSS webhook handler.
func NewOSS(opts OSSOptions) *OSS {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &OSS{store: opts.Store, queue: opts.Queue, verify: opts.Verify, logger: l.With("component", "trigger")}
}

// OSSWebhookResult is the webhook's answer: how many notification records
// matched the trigger and were enqueued (as one invocation, RequestID).
type OSSWebhookResult struct {
	Records   int    `json:"records"`
	Matched   int    `json:"matched"`
	RequestID string `json:"requestId,omitempty"`
}

// ServeWebhook handles POST /openfc/v1/events/oss/{service}/{function}/{trigger}.
// The caller proves itself with the trigger's webhookToken
// (Authorization: Bearer <token>, as MinIO's auth_token sends it) or with
// an FC signature.
func (o *OSS) ServeWebhook(r *http.Request, service, function, trigger string) (OSSWebhookResult, error) {
	it, err := o.store.Trigger(service, function, trigger)
	if err == nil && it.Value.TriggerType != fc.TriggerOSS {
		err = fc.InvalidArgument("trigger '%s' of function '%s' is a %s trigger, not an oss trigger", trigger, function, it.Value.TriggerType)
	}
	if err != nil {
		// Only a signed caller learns what exists.
		if signed(r) && o.verify != nil && o.verify(r) == nil {
			return OSSWebhookResult{}, err
		}
		return OSSWebhookResult{}, fc.AccessDenied("no oss trigger '%s' of function '%s' in service '%s' takes this call", trigger, function, service)
	}
	tr := it.Value
	if err := o.authorize(r, tr); err != nil {
		return OSSWebhookResult{}, err
	}
	if r.ContentLength > MaxNotificationBytes {
		return OSSWebhookResult{}, fc.EntityTooLarge(MaxNotificationBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxNotificationBytes+1))
	if err != nil {
		return OSSWebhookResult{}, fc.InvalidArgument("cannot read the notification: %v", err)
	}
	if len(body) > MaxNotificationBytes {
		return OSSWebhookResult{}, fc.EntityTooLarge(MaxNotificationBytes)
	}
	return deliverOSS(r.Context(), o.queue, service, function, tr, body)
}

// authorize accepts the trigger's webhook token or an FC signature.
func (o *OSS) authorize(r *http.Request, tr *fc.Trigger) error {
	h := r.Header.Get("Authorization")
	if signed(r) {
		if o.verify == nil {
			return fc.AccessDenied("FC signatures are not accepted here")
		}
		return o.verify(r)
	}
	var src fc.OSSTriggerSource
	json.Unmarshal(tr.TriggerConfig, &src) // validated when stored
	token := strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	if src.WebhookToken == "" {
		return fc.AccessDenied("trigger '%s' has no webhookToken: sign the request with an access key, or set triggerConfig.webhookToken", tr.TriggerName)
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(src.WebhookToken)) != 1 {
		return fc.AccessDenied("the webhook token of trigger '%s' does not match: send Authorization: Bearer <triggerConfig.webhookToken>", tr.TriggerName)
	}
	return nil
}

// signed reports whether r carries an FC signature (header or signed URL).
func signed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "FC ") || r.URL.Query().Has("x-fc-signature")
}

// deliverOSS converts a notification, filters it by the trigger and
// enqueues the matching records as one FC OSS event. The request ID
// derives from the trigger and the notification, so a store that sends a
// notification again (MinIO retries) does not run it twice.
func deliverOSS(ctx context.Context, q *queue.Queue, service, function string, tr *fc.Trigger, body []byte) (OSSWebhookResult, error) {
	events, total, err := ossEvents(tr, body)
	if err != nil {
		return OSSWebhookResult{}, err
	}
	res := OSSWebhookResult{Records: total, Matched: len(events)}
	if len(events) == 0 {
		return res, nil
	}
	payload, err := json.Marshal(struct {
		Events []ossEvent `json:"events"`
	}{events})
	if err != nil {
		return res, fmt.Errorf("encode oss event: %w", err)
	}
	sum := sha256.Sum256(body)
	res.RequestID = uuid.NewSHA1(ossNamespace, append([]byte(service+"/"+function+"/"+tr.TriggerName+"/"+tr.TriggerID+"#"), sum[:]...)).String()
	if err := q.Enqueue(ctx, queue.Invocation{Service: service, Qualifier: tr.Qualifier, Function: function,
		RequestID: res.RequestID, Payload: payload}); err != nil {
		return res, err
	}
	return res, nil
}

var ossNamespace = uuid.MustParse("0b7c52a6-93a9-4c55-8d83-2f4bbd1f6a6e")

// s3Notification is the event JSON MinIO and S3 send (MinIO adds
// EventName and Key at the top).
type s3Notification struct {
	Records []s3Record `json:"Records"`
}

type s3Record struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                struct {
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			ETag string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

// ossEvent is one element of FC's OSS event (`{"events":[...]}`).
type ossEvent struct {
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	EventTime    string `json:"eventTime"`
	EventVersion string `json:"eventVersion"`
	OSS          struct {
		Bucket struct {
			ARN           string `json:"arn"`
			Name          string `json:"name"`
			OwnerIdentity string `json:"ownerIdentity"`
			VirtualBucket string `json:"virtualBucket"`
		} `json:"bucket"`
		Object struct {
			DeltaSize int64  `json:"deltaSize"`
			ETag      string `json:"eTag"`
			Key       string `json:"key"`
			Size      int64  `json:"size"`
		} `json:"object"`
		OSSSchemaVersion string `json:"ossSchemaVersion"`
		RuleID           string `json:"ruleId"`
	} `json:"oss"`
	Region            string `json:"region"`
	RequestParameters struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements struct {
		RequestID string `json:"requestId"`
	} `json:"responseElements"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
}

// ossEvents converts the records of a notification that match the
// trigger's bucket, events and key filter.
func ossEvents(tr *fc.Trigger, body []byte) (events []ossEvent, total int, err error) {
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, 0, fc.InvalidArgument("the notification is not S3 event JSON ({\"Records\":[...]}): %v", err)
	}
	var cfg fc.OSSTriggerConfig
	json.Unmarshal(tr.TriggerConfig, &cfg) // validated when stored
	arn := ""
	if tr.SourceARN != nil {
		arn = *tr.SourceARN
	}
	bucket := fc.OSSBucket(arn)
	parts := strings.Split(arn, ":")
	region, owner := "", ""
	if len(parts) == 5 {
		region, owner = parts[2], parts[3]
	}
	for _, r := range n.Records {
		if r.S3.Bucket.Name != bucket {
			continue
		}
		name := OSSEventName(r.EventName)
		if !matchOSSEvent(cfg.Events, name) {
			continue
		}
		key := r.S3.Object.Key
		if k, err := url.QueryUnescape(key); err == nil { // S3 sends keys URL-encoded
			key = k
		}
		if !strings.HasPrefix(key, cfg.Filter.Key.Prefix) || !strings.HasSuffix(key, cfg.Filter.Key.Suffix) {
			continue
		}
		var e ossEvent
		e.EventName, e.EventSource, e.EventTime, e.EventVersion = name, "acs:oss", r.EventTime, "1.0"
		e.OSS.Bucket.ARN, e.OSS.Bucket.Name, e.OSS.Bucket.OwnerIdentity = arn, bucket, owner
		e.OSS.Object.Key, e.OSS.Object.Size, e.OSS.Object.ETag = key, r.S3.Object.Size, strings.Trim(r.S3.Object.ETag, `"`)
		if strings.HasPrefix(name, "ObjectCreated:") {
			e.OSS.Object.DeltaSize = r.S3.Object.Size
		}
		e.OSS.OSSSchemaVersion, e.OSS.RuleID = "1.0", r.S3.ConfigurationID
		e.Region = region
		e.RequestParameters.SourceIPAddress = r.RequestParameters["sourceIPAddress"]
		e.ResponseElements.RequestID = r.ResponseElements["x-amz-request-id"]
		e.UserIdentity.PrincipalID = r.UserIdentity.PrincipalID
		events = append(events, e)
	}
	return events, len(n.Records), nil
}

// OSSEventName maps an S3 event name (s3:ObjectCreated:Put, or
// ObjectCreated:Put as AWS writes it in records) to OSS's
// (ObjectCreated:PutObject). FC's events carry the name without the "oss:"
// that trigger configs put in front.
func OSSEventName(s3 string) string {
	n := strings.TrimPrefix(s3, "s3:")
	kind, op, ok := strings.Cut(n, ":")
	if !ok {
		return n
	}
	switch op {
	case "Put", "Post", "Copy":
		op += "Object"
	case "Delete":
		op = "DeleteObject"
	}
	return kind + ":" + op
}

// matchOSSEvent reports whether an event name matches one of a trigger's
// events ("oss:ObjectCreated:*", "oss:ObjectRemoved:DeleteObject", ...).
func matchOSSEvent(patterns []string, name string) bool {
	for _, p := range patterns {
		p = strings.TrimPrefix(p, "oss:")
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}
