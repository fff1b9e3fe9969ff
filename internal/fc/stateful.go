package fc

import (
	"net/http"
	"regexp"
)

// Stateful async invocation statuses (spec §2.9; FC's StatefulAsyncInvocation).
const (
	StatefulEnqueued  = "Enqueued"
	StatefulRunning   = "Running"
	StatefulSucceeded = "Succeeded"
	StatefulFailed    = "Failed"
	StatefulStopping  = "Stopping"
	StatefulStopped   = "Stopped"
	StatefulExpired   = "Expired"
	StatefulInvalid   = "Invalid"
	StatefulRetrying  = "Retrying"
)

// CodeStatefulAlreadyExists refuses a caller-chosen stateful invocation ID
// that is already used by the function (FC's code; status 409 as its other
// AlreadyExists errors).
const CodeStatefulAlreadyExists = "StatefulAsyncInvocationAlreadyExists"

// StatefulAsyncInvocation is the status of one async invocation in task
// mode (spec §2.9). Times are epoch milliseconds.
type StatefulAsyncInvocation struct {
	InvocationID           string          `json:"invocationId"`
	ServiceName            string          `json:"serviceName"`
	FunctionName           string          `json:"functionName"`
	Qualifier              string          `json:"qualifier"`
	Status                 string          `json:"status"`
	StartedTime            int64           `json:"startedTime"`
	EndTime                int64           `json:"endTime"`
	DurationMs             int64           `json:"durationMs"`
	DestinationStatus      string          `json:"destinationStatus"`
	InvocationErrorMessage string          `json:"invocationErrorMessage"`
	InvocationPayload      string          `json:"invocationPayload,omitempty"`
	ReturnPayload          string          `json:"returnPayload"`
	RequestID              string          `json:"requestId"`
	AlreadyRetriedTimes    int64           `json:"alreadyRetriedTimes"`
	InstanceID             string          `json:"instanceId"`
	Events                 []StatefulEvent `json:"events"`
}

// StatefulEvent is one status change of a stateful async invocation.
type StatefulEvent struct {
	EventID     int64  `json:"eventId"`
	Status      string `json:"status"`
	Timestamp   int64  `json:"timestamp"`
	EventDetail string `json:"eventDetail"`
}

// Finished reports whether the invocation reached a final status.
func (s *StatefulAsyncInvocation) Finished() bool {
	switch s.Status {
	case StatefulSucceeded, StatefulFailed, StatefulStopped, StatefulExpired, StatefulInvalid:
		return true
	}
	return false
}

var statefulIDRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)

// ValidateStatefulID checks a caller-chosen x-fc-stateful-async-invocation-id
// (at most 128 characters, ^[A-Za-z_][A-Za-z0-9_-]*$).
func ValidateStatefulID(id string) error {
	if !statefulIDRE.MatchString(id) {
		return InvalidArgument("stateful async invocation ID %q is invalid: up to 128 letters, digits, '_' and '-', starting with a letter or '_'", id)
	}
	return nil
}

// StatefulNotFound is the error for an unknown stateful invocation.
func StatefulNotFound(service, function, id string) *Error {
	return Errorf(http.StatusNotFound, CodeStatefulNotFound,
		"stateful async invocation '%s' of function '%s' in service '%s' does not exist", id, function, service)
}

// DeadLetter is one async invocation that failed after all its attempts or
// expired, as openfc's /openfc/v1/async/dead-letters shows it (not FC's).
type DeadLetter struct {
	// ID is the dead letter's sequence in the dead-letter stream.
	ID           uint64 `json:"id"`
	RequestID    string `json:"requestId"`
	ServiceName  string `json:"serviceName"`
	Qualifier    string `json:"qualifier"`
	FunctionName string `json:"functionName"`
	InvocationID string `json:"invocationId,omitempty"`
	// Reason is RetriesExhausted or Expired.
	Reason       string `json:"reason"`
	Attempts     int    `json:"attempts"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	EnqueuedTime int64  `json:"enqueuedTime"` // epoch ms
	DeadTime     int64  `json:"deadTime"`     // epoch ms
	Payload      string `json:"payload"`
}
