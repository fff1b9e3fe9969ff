package queue

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/invoke"
)

func TestQueueBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{-1, time.Second}, // never asked for, but must not panic (negative shift)
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 8 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute}, // 512 s, capped
		{11, 5 * time.Minute},
		{1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempt); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

// TestQueueDecide covers what becomes of a run. The 5 hours of throttling
// cannot be waited for in a test, so the rule is checked here, where the
// age is a value.
func TestQueueDecide(t *testing.T) {
	ok := &invoke.Result{StatusCode: 200}
	failed := &invoke.Result{StatusCode: 200, ErrorType: "UnhandledInvocationError"}
	throttled := fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceExhausted, "busy")
	notStarted := fc.Errorf(http.StatusBadGateway, "FunctionNotStarted", "bootstrap exited")
	gone := fc.Errorf(http.StatusNotFound, fc.CodeFunctionNotFound, "gone")
	internal := errors.New("acquire instance: disk on fire")
	tests := []struct {
		name         string
		err          error
		res          *invoke.Result
		attempt, max int
		age          time.Duration
		shutting     bool
		want         action
	}{
		{"success", nil, ok, 0, 3, time.Second, false, actFinish},
		{"success on the last attempt", nil, ok, 3, 3, time.Second, false, actFinish},
		{"function error, retries left", nil, failed, 2, 3, time.Second, false, actRetry},
		{"function error, retries exhausted", nil, failed, 3, 3, time.Second, false, actFinish},
		{"function error, no retries", nil, failed, 0, 0, time.Second, false, actFinish},
		{"throttled", throttled, nil, 0, 3, time.Second, false, actThrottle},
		{"throttled, retries used up", throttled, nil, 3, 3, time.Second, false, actThrottle},
		{"throttled just under 5 h", throttled, nil, 0, 3, 5*time.Hour - time.Millisecond, false, actThrottle},
		{"throttled for 5 h", throttled, nil, 0, 3, 5 * time.Hour, false, actFinish},
		{"throttled for 6 h", throttled, nil, 0, 3, 6 * time.Hour, false, actFinish},
		{"throttled for 5 h while shutting down", throttled, nil, 0, 3, 5 * time.Hour, true, actLeave},
		{"platform error, retries left", notStarted, nil, 0, 3, time.Second, false, actRetry},
		{"platform error, retries exhausted", notStarted, nil, 3, 3, time.Second, false, actFinish},
		{"platform error, no retries", notStarted, nil, 0, 0, time.Second, false, actFinish},
		{"internal error, retries exhausted", internal, nil, 3, 3, time.Second, false, actFinish},
		{"platform error while shutting down", notStarted, nil, 3, 3, time.Second, true, actLeave},
		{"function gone", gone, nil, 0, 3, time.Second, false, actDrop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.err, tt.res, tt.attempt, tt.max, tt.age, tt.shutting); got != tt.want {
				names := []string{actFinish: "finish", actRetry: "retry", actThrottle: "throttle", actDrop: "drop", actLeave: "leave"}
				t.Errorf("decide(%v, attempt %d of %d, age %v) = %s, want %s", tt.err, tt.attempt, tt.max, tt.age, names[got], names[tt.want])
			}
		})
	}
}

// A platform error ends an invocation as a failure whose record carries
// the FC error, never an internal cause.
func TestQueueEndedByPlatformError(t *testing.T) {
	out := ended(fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceExhausted, "busy"), nil)
	var body fc.Error
	if err := json.Unmarshal(out.res.Body, &body); err != nil || !out.failed || out.res.StatusCode != 429 ||
		body.Code != fc.CodeResourceExhausted || out.errMsg != "ResourceExhausted: busy" {
		t.Errorf("ended(429) = %+v, body %s", out, out.res.Body)
	}
	out = ended(errors.New("acquire instance: disk on fire"), nil)
	if !out.failed || out.res.StatusCode != 500 || strings.Contains(string(out.res.Body)+out.errMsg, "disk on fire") {
		t.Errorf("ended(internal error) = %+v, body %s; want a 500 without the cause", out, out.res.Body)
	}
	out = ended(nil, &invoke.Result{StatusCode: 200, ErrorType: "UnhandledInvocationError", Body: []byte(`{"errorMessage":"boom"}`)})
	if !out.failed || out.errMsg != "boom" {
		t.Errorf("ended(function error) = %+v", out)
	}
}
