package fc

import "encoding/json"

// ProvisionConfig asks for target warm instances of a function qualifier
// (spec §2.7). Current and CurrentError are filled by the platform.
type ProvisionConfig struct {
	Resource               string            `json:"resource" fc:"readonly"`
	Target                 *int64            `json:"target"`
	Current                int64             `json:"current" fc:"readonly"`
	CurrentError           string            `json:"currentError,omitempty" fc:"readonly"`
	ScheduledActions       []ScheduledAction `json:"scheduledActions"`
	TargetTrackingPolicies []TrackingPolicy  `json:"targetTrackingPolicies"`
	AlwaysAllocateCPU      *bool             `json:"alwaysAllocateCPU,omitempty"`
}

// ScheduledAction sets a provision target on a schedule.
type ScheduledAction struct {
	Name               string `json:"name"`
	StartTime          string `json:"startTime"`
	EndTime            string `json:"endTime"`
	Target             int64  `json:"target"`
	ScheduleExpression string `json:"scheduleExpression"`
	TimeZone           string `json:"timeZone,omitempty"`
}

// TrackingPolicy scales provisioned instances on a metric.
type TrackingPolicy struct {
	Name         string  `json:"name"`
	StartTime    string  `json:"startTime"`
	EndTime      string  `json:"endTime"`
	MetricType   string  `json:"metricType"`
	MetricTarget float64 `json:"metricTarget"`
	MinCapacity  int64   `json:"minCapacity"`
	MaxCapacity  int64   `json:"maxCapacity"`
	TimeZone     string  `json:"timeZone,omitempty"`
}

// OnDemandConfig caps the on-demand instances of a function qualifier.
type OnDemandConfig struct {
	Resource             string `json:"resource" fc:"readonly"`
	MaximumInstanceCount *int64 `json:"maximumInstanceCount"`
}

// AsyncConfig is a function qualifier's async invocation policy (§2.8).
type AsyncConfig struct {
	Service                   string             `json:"service" fc:"readonly"`
	Function                  string             `json:"function" fc:"readonly"`
	Qualifier                 string             `json:"qualifier" fc:"readonly"`
	MaxAsyncEventAgeInSeconds *int64             `json:"maxAsyncEventAgeInSeconds"`
	MaxAsyncRetryAttempts     *int64             `json:"maxAsyncRetryAttempts"`
	DestinationConfig         *DestinationConfig `json:"destinationConfig"`
	StatefulInvocation        bool               `json:"statefulInvocation"`
	CreatedTime               string             `json:"createdTime" fc:"readonly"`
	LastModifiedTime          string             `json:"lastModifiedTime" fc:"readonly"`
}

// DestinationConfig names where async results go.
type DestinationConfig struct {
	OnSuccess *Destination `json:"onSuccess"`
	OnFailure *Destination `json:"onFailure"`
}

// Destination is one async result destination (an FC ARN or NATS subject).
type Destination struct {
	Destination string `json:"destination"`
}

// Layer is one published layer version (spec §2.10). Note FC's field name
// createTime, not createdTime.
type Layer struct {
	LayerName         string    `json:"layerName"`
	Version           int64     `json:"version"`
	Description       string    `json:"description"`
	Code              LayerCode `json:"code"`
	CodeSize          int64     `json:"codeSize"`
	CodeChecksum      string    `json:"codeChecksum"`
	CreateTime        string    `json:"createTime"`
	ACL               int       `json:"acl"`
	CompatibleRuntime []string  `json:"compatibleRuntime"`
	ARN               string    `json:"arn"`
	ARNV2             string    `json:"arnV2"`
	License           string    `json:"license,omitempty"`
}

// LayerCode tells where a layer's zip can be downloaded.
type LayerCode struct {
	RepositoryType string `json:"repositoryType"`
	Location       string `json:"location"`
}

// LayerInput is the body of PublishLayerVersion.
type LayerInput struct {
	Description       string   `json:"description"`
	Code              *Code    `json:"code"`
	CompatibleRuntime []string `json:"compatibleRuntime"`
	License           string   `json:"license"`
}

// TagInput is the body of TagResource.
type TagInput struct {
	ResourceARN string            `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

// UntagInput is the body of UntagResource (a JSON body on DELETE).
type UntagInput struct {
	ResourceARN string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
	All         bool     `json:"all"`
}

// Tags is the body of GetResourceTags.
type Tags struct {
	ResourceARN string            `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

// AccountSettings is the body of GetAccountSettings.
type AccountSettings struct {
	AvailableAZs []string `json:"availableAZs"`
	DefaultRole  string   `json:"defaultRole"`
}

// PublishVersionInput is the body of PublishServiceVersion.
type PublishVersionInput struct {
	Description string `json:"description"`
}

// RawObject reports whether raw is a JSON object.
func RawObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
