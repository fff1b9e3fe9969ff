package fc

// Flow-control scopes of Limits.
const (
	LimitsAccount  = "account"
	LimitsService  = "service"
	LimitsFunction = "function"
)

// Limits are openfc's flow-control limits of one scope: the account, a
// service or a function (openfc's own API, /openfc/v1/limits; FC has no
// call for it). A zero number means no limit.
type Limits struct {
	Scope        string `json:"scope" fc:"readonly"`
	ServiceName  string `json:"serviceName,omitempty" fc:"readonly"`
	FunctionName string `json:"functionName,omitempty" fc:"readonly"`
	// InvocationsPerSecond is the sustained rate of admitted invocations
	// (sync, HTTP and async); Burst how many may come at once above it
	// (0: the rate, at least 1).
	InvocationsPerSecond float64 `json:"invocationsPerSecond"`
	Burst                int64   `json:"burst"`
	// ConcurrentRequests caps the invocations in flight (service and
	// function scopes).
	ConcurrentRequests int64 `json:"concurrentRequests"`
	// MaxInstances caps the account's instances on each node (account
	// scope); 0 keeps the node's configured quota.
	MaxInstances     int64  `json:"maxInstances"`
	LastModifiedTime string `json:"lastModifiedTime" fc:"readonly"`
}

// CheckLimits reports every problem of l for its scope at once.
func CheckLimits(l *Limits) error {
	var p []string
	if l.InvocationsPerSecond < 0 || l.InvocationsPerSecond > 1e6 {
		p = append(p, "invocationsPerSecond must be from 0 (no limit) to 1000000")
	}
	if l.Burst < 0 || l.Burst > 1e6 {
		p = append(p, "burst must be from 0 to 1000000")
	}
	if l.ConcurrentRequests < 0 || l.ConcurrentRequests > 1e6 {
		p = append(p, "concurrentRequests must be from 0 (no limit) to 1000000")
	}
	if l.MaxInstances < 0 || l.MaxInstances > 1e5 {
		p = append(p, "maxInstances must be from 0 (the node's quota) to 100000")
	}
	switch l.Scope {
	case LimitsAccount:
		if l.ConcurrentRequests != 0 {
			p = append(p, "concurrentRequests applies to services and functions; the account has maxInstances")
		}
	default:
		if l.MaxInstances != 0 {
			p = append(p, "maxInstances applies to the account; use the on-demand config's maximumInstanceCount for a function")
		}
	}
	return JoinErrors(p)
}
