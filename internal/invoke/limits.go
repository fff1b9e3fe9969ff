package invoke

import (
	"context"
	"errors"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/flow"
)

// LimitDefaults are the node's configured flow-control limits: the
// account's, used while no account limits are stored, and the instance
// quota restored when stored limits stop setting one.
type LimitDefaults struct {
	Account      flow.Limits
	MaxInstances int
}

// admit runs the call through flow control. Refusals are FC's 429s: a
// rate limit is ResourceThrottled, a concurrency limit ResourceExhausted
// (the async queue retries both later without counting an attempt).
func (iv *Invoker) admit(ctx context.Context, req *Request) (flow.Ticket, error) {
	t, err := iv.flow.Admit(ctx, req.Service, req.Function)
	if err == nil {
		return t, nil
	}
	var e *fc.Error
	switch scope := flow.Scope(err); {
	case errors.Is(err, flow.ErrRate):
		e = fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceThrottled,
			"the %s's invocations per second limit is reached: retry later or raise it (openfc limits)", scopeName(scope, req))
	case errors.Is(err, flow.ErrConcurrency):
		e = fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceExhausted,
			"the %s's concurrent requests limit is reached and its wait queue is full or timed out: retry later or raise it (openfc limits)", scopeName(scope, req))
	case errors.Is(err, flow.ErrNodeBusy):
		e = fc.Errorf(http.StatusTooManyRequests, fc.CodeResourceExhausted,
			"the node is busy and function '%s' holds its fair share of it: retry later", req.Function)
	default:
		return t, fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "the call ended while it waited for admission")
	}
	iv.metrics.throttles.WithLabelValues(req.Service, req.Function, e.Code).Inc()
	return t, e
}

func scopeName(scope string, req *Request) string {
	switch scope {
	case "service":
		return "service '" + req.Service + "'"
	case "function":
		return "function '" + req.Function + "'"
	}
	return scope
}

// ApplyLimits sets the stored flow-control limits in force on this node;
// limits no longer stored are lifted. It is called at start and whenever
// a limits key changes.
func (iv *Invoker) ApplyLimits() {
	iv.limitsMu.Lock()
	defer iv.limitsMu.Unlock()
	account := iv.defaults.Account
	maxInst := iv.defaults.MaxInstances
	seen := map[[2]string]bool{}
	for _, l := range iv.store.ListLimits() {
		fl := flow.Limits{InvocationsPerSecond: l.InvocationsPerSecond, Burst: int(l.Burst), ConcurrentRequests: int(l.ConcurrentRequests)}
		switch l.Scope {
		case fc.LimitsAccount:
			account = fl
			if l.MaxInstances > 0 {
				maxInst = int(l.MaxInstances)
			}
		case fc.LimitsService:
			iv.flow.SetService(l.ServiceName, fl)
			seen[[2]string{l.ServiceName, ""}] = true
		case fc.LimitsFunction:
			iv.flow.SetFunction(l.ServiceName, l.FunctionName, fl)
			seen[[2]string{l.ServiceName, l.FunctionName}] = true
		}
	}
	for k := range iv.applied {
		if seen[k] {
			continue
		}
		if k[1] == "" {
			iv.flow.SetService(k[0], flow.Limits{})
		} else {
			iv.flow.SetFunction(k[0], k[1], flow.Limits{})
		}
	}
	iv.applied = seen
	iv.flow.SetAccount(account)
	if iv.sched != nil {
		iv.sched.SetMaxInstances(maxInst)
	}
}
