package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/audit"
	"github.com/openfc/openfc/internal/meter"
)

// startMeter starts metering when it is switched on (--metering); it needs
// the broker and the credentials, and reads the scheduler's provisioned
// instances once they exist.
func (a *App) startMeter(ctx context.Context) error {
	if !a.cfg.Observability.Metering {
		return nil
	}
	a.meter = meter.New(meter.Options{JS: a.broker.JS, KV: a.broker.Usage, AccountID: a.creds.AccountID,
		Granularity: a.cfg.Observability.BillingGranularity, Registerer: a.registry, Logger: a.logger,
		Provisioned: func() []meter.Provisioned {
			if a.sched == nil {
				return nil
			}
			var out []meter.Provisioned
			for _, p := range a.sched.ProvisionedUsage() {
				out = append(out, meter.Provisioned{Service: p.Service, Function: p.Function, Qualifier: p.Qualifier,
					VersionID: p.VersionID, MemoryBytes: p.MemoryBytes, Instances: p.Instances})
			}
			return out
		}})
	if err := a.meter.Start(ctx); err != nil {
		return fmt.Errorf("start meter: %w", err)
	}
	return nil
}

// stopMeter publishes the buffered usage records; called after the
// invocations ended and before the broker stops.
func (a *App) stopMeter(ctx context.Context) error {
	if a.meter == nil {
		return nil
	}
	return a.meter.Shutdown(ctx)
}

// invocationMetrics is where the invocation path counts: the registry, or
// nowhere with --metrics=false.
func (a *App) invocationMetrics() prometheus.Registerer {
	if !a.cfg.Observability.Metrics {
		return nil
	}
	return a.registry
}

// newAudit returns the audit trail the API appends to.
func (a *App) newAudit() *audit.Trail {
	return audit.New(audit.Options{JS: a.broker.JS, Registerer: a.registry, Logger: a.logger})
}
