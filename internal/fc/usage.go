package fc

// Usage records and aggregates of the platform API (GET /openfc/v1/usage,
// /openfc/v1/usage/records). FC has no such call; the JSON names follow
// FC's lower camel case.

// UsageRecord is one metered item: an invocation, or a provisioned
// instance's time over one interval.
type UsageRecord struct {
	// Kind is "invocation" or "provisioned".
	Kind string `json:"kind"`
	// Time is when the invocation ended or the interval closed (RFC 3339).
	Time      string `json:"time"`
	AccountID string `json:"accountId"`
	Service   string `json:"serviceName"`
	Function  string `json:"functionName"`
	Qualifier string `json:"qualifier"`
	// VersionID is the version that ran ("" for LATEST).
	VersionID string `json:"versionId,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	// DurationUs is the measured duration in microseconds (for a
	// provisioned record: the interval times the instances kept).
	DurationUs int64 `json:"durationUs"`
	// BilledMs is the duration rounded up to the billing granularity.
	BilledMs  int64   `json:"billedMs"`
	MemoryMB  int64   `json:"memoryMB"`
	GBSeconds float64 `json:"gbSeconds"`
	// Instances is the number of provisioned instances in the interval.
	Instances int `json:"instances,omitempty"`
	// Seq is the record's sequence number in the usage stream (a cursor
	// for pagination).
	Seq uint64 `json:"seq,omitempty"`
}

// UsageRow is the usage of one group (the grouped-by fields set, the
// others empty) in one period.
type UsageRow struct {
	// Period is the start of the hour or day (RFC 3339, UTC).
	Period      string `json:"period"`
	AccountID   string `json:"accountId,omitempty"`
	Service     string `json:"serviceName,omitempty"`
	Function    string `json:"functionName,omitempty"`
	Qualifier   string `json:"qualifier,omitempty"`
	Invocations int64  `json:"invocations"`
	DurationUs  int64  `json:"durationUs"`
	BilledMs    int64  `json:"billedMs"`
	// GBSeconds is billed time times memory (invocations only).
	GBSeconds float64 `json:"gbSeconds"`
	// ProvisionedInstanceMs and ProvisionedGBSeconds are the time
	// provisioned instances were kept warm.
	ProvisionedInstanceMs int64   `json:"provisionedInstanceMs"`
	ProvisionedGBSeconds  float64 `json:"provisionedGBSeconds"`
}

// UsageReport answers GET /openfc/v1/usage.
type UsageReport struct {
	// Interval is hour or day.
	Interval string     `json:"interval"`
	GroupBy  []string   `json:"groupBy"`
	Rows     []UsageRow `json:"usage"`
}

// UsageRecords answers GET /openfc/v1/usage/records: a page of records
// in stream order; NextToken continues it.
type UsageRecords struct {
	Records   []UsageRecord `json:"records"`
	NextToken string        `json:"nextToken,omitempty"`
}

// AuditEntry is one entry of the audit trail: a mutating API call or a
// rejected authentication. It never holds a secret, a body or an
// environment value.
type AuditEntry struct {
	Time        string `json:"time"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// Action is FC's operation name (CreateFunction, ...) or
	// Authenticate for a rejected signature.
	Action string `json:"action"`
	// Resource is the path of what the call addressed, e.g.
	// services/demo/functions/hello.
	Resource      string `json:"resource"`
	SourceAddress string `json:"sourceAddress"`
	RequestID     string `json:"requestId"`
	// Status is the HTTP status answered; ErrorCode is FC's error code
	// when the call failed.
	Status    int    `json:"status"`
	ErrorCode string `json:"errorCode,omitempty"`
	Seq       uint64 `json:"seq,omitempty"`
}

// AuditEntries answers GET /openfc/v1/audit: a page of entries, oldest
// first; NextToken continues it.
type AuditEntries struct {
	Entries   []AuditEntry `json:"entries"`
	NextToken string       `json:"nextToken,omitempty"`
}
