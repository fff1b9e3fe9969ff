package app

import (
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/flow"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/store"
)

// newFlow builds the node's flow control from the configuration.
func newFlow(cfg config.Config) *flow.Controller {
	return flow.New(flow.Options{QueueLength: cfg.Flow.QueueLength, QueueTimeout: cfg.Flow.QueueTimeout,
		NodeConcurrency: cfg.Flow.NodeConcurrency})
}

// limitDefaults are the configured limits that stored ones override.
func limitDefaults(cfg config.Config) invoke.LimitDefaults {
	return invoke.LimitDefaults{
		Account:      flow.Limits{InvocationsPerSecond: cfg.Flow.AccountInvocationsPerSecond, Burst: cfg.Flow.AccountBurst},
		MaxInstances: cfg.Instances.MaxInstances,
	}
}

// limitsChanged applies stored flow-control limits again when one of
// them changed, on any node.
func (a *App) limitsChanged(key string) {
	if !store.IsLimitsKey(key) {
		return
	}
	if iv := a.invoker.Load(); iv != nil {
		iv.ApplyLimits()
	}
}
