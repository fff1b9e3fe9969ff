package invoke

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/scheduler"
	"github.com/openfc/openfc/internal/store"
)

// Provision keeps target instances of a function qualifier warm (an alias
// provisions its main version).
func (iv *Invoker) Provision(service, qualifier, function string, target int) error {
	_, err := iv.provision(service, qualifier, function, target)
	return err
}

// provision is Provision, returning the spec whose pool it provisioned.
func (iv *Invoker) provision(service, qualifier, function string, target int) (*scheduler.Spec, error) {
	spec, _, err := iv.resolveSpec(&Request{Service: service, Qualifier: qualifier, Function: function}, true)
	if err != nil {
		return nil, err
	}
	iv.sched.Provision(spec, target)
	return spec, nil
}

// routed reports whether calls can still reach the pool of spec: the pool
// of an alias holds instances of one version started for that alias
// (FC_QUALIFIER is the alias), which only calls through the alias use, so
// it is routed while the alias's main version or a canary version with a
// weight above 0 is that version. A version ID or LATEST always routes to
// itself.
func (iv *Invoker) routed(spec *scheduler.Spec) bool {
	q := spec.Qualifier
	if q == "" || q == "LATEST" {
		return true
	}
	if _, err := strconv.ParseUint(q, 10, 64); err == nil {
		return true
	}
	a, err := iv.store.Alias(spec.Service, q)
	if err != nil {
		return false // the alias (or its service) is gone
	}
	return a.Value.VersionID == spec.VersionID || a.Value.AdditionalVersionWeight[spec.VersionID] > 0
}

// ProvisionCurrent returns how many provisioned instances of a function
// qualifier are up (FC's current).
func (iv *Invoker) ProvisionCurrent(service, qualifier, function string) int {
	spec, _, err := iv.resolveSpec(&Request{Service: service, Qualifier: qualifier, Function: function}, true)
	if err != nil {
		return 0
	}
	return iv.sched.Provisioned(spec)
}

// ProvisionError returns why a function qualifier's provisioned instances
// fall short (FC's currentError): a part of its config that cannot be
// applied, or the last failed start of an instance; "" when none.
func (iv *Invoker) ProvisionError(service, qualifier, function string) string {
	var problems []string
	if v, ok := iv.provErrs.Load(service + "#" + qualifier + "#" + function); ok {
		problems = append(problems, v.(string))
	}
	spec, _, err := iv.resolveSpec(&Request{Service: service, Qualifier: qualifier, Function: function}, true)
	if err != nil {
		problems = append(problems, err.Error())
	} else if err := iv.sched.ProvisionStatus(spec).FillError; err != nil {
		problems = append(problems, "an instance failed to start: "+err.Error())
	}
	return strings.Join(problems, "; ")
}

// provisionLoad returns the requests in flight and slots per instance of
// the version a function qualifier provisions (for target tracking).
func (iv *Invoker) provisionLoad(service, qualifier, function string) (int, int) {
	spec, _, err := iv.resolveSpec(&Request{Service: service, Qualifier: qualifier, Function: function}, true)
	if err != nil {
		return 0, 1
	}
	st := iv.sched.ProvisionStatus(spec)
	return st.InFlight, st.Concurrency
}

// provisionRetry is how soon a provision config whose instances fall
// short of its target is applied again (instances that failed to start).
const provisionRetry = 10 * time.Second

// Provisioner applies every stored provision config on this node: again
// whenever configs, functions, services or aliases change (a new revision
// of a function gets new instances, which must be provisioned too), when
// a scheduled action fires, a policy starts or ends, and every 10 s while
// a target-tracking policy is in force or instances fall short of the
// target (those that failed to start are started again). Pools that no
// config provisions any more (their alias moved to another version) give
// their provisioned instances back.
//
// It also drains the instances of versions that the aliases they were
// started for no longer route: it is what follows alias changes on every
// node, and a rollback must not leave the old version's instances holding
// memory and quota until their keep-alive ends.
type Provisioner struct {
	iv     *Invoker
	store  *store.Store
	logger *slog.Logger
	reload chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// warned holds, per config, the error last logged for it, so that a
	// config that cannot be applied is logged when its error changes,
	// not at every pass (apply runs every 10 s while instances are
	// short). Only apply's goroutine uses it.
	warned map[string]string
}

// NewProvisioner returns a Provisioner; Start runs it.
func NewProvisioner(iv *Invoker, st *store.Store, logger *slog.Logger) *Provisioner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Provisioner{iv: iv, store: st, logger: logger.With("component", "invoke"), reload: make(chan struct{}, 1),
		warned: map[string]string{}}
}

// Changed asks for the configs to be applied again; it never blocks.
func (p *Provisioner) Changed() {
	select {
	case p.reload <- struct{}{}:
	default:
	}
}

// Start applies the configs and follows changes and schedules until
// Shutdown.
func (p *Provisioner) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Go(func() { runSchedule(wctx, p.reload, p.apply) })
	return nil
}

// Shutdown stops following changes.
func (p *Provisioner) Shutdown(ctx context.Context) error {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	return nil
}

// apply sets every config's target for now and returns when to look again.
func (p *Provisioner) apply(now time.Time) time.Time {
	// Alias moves first: the instances of versions no longer routed stop
	// before those of the new version are provisioned.
	p.iv.sched.DrainUnrouted(p.iv.routed)
	var wake time.Time
	page := store.Page{Limit: 100}
	seen := map[string]bool{}
	var keep []*scheduler.Spec
	for {
		cs, next := p.store.ListProvisionConfigs("", "", page)
		for _, c := range cs {
			// resource = <account>#<service>#<qualifier>#<function>
			parts := strings.Split(c.Resource, "#")
			if len(parts) != 4 || c.Target == nil {
				continue
			}
			svc, q, fn := parts[1], parts[2], parts[3]
			pl := planTarget(c, now, func() (int, int) { return p.iv.provisionLoad(svc, q, fn) })
			if !pl.wake.IsZero() && (wake.IsZero() || pl.wake.Before(wake)) {
				wake = pl.wake
			}
			key := svc + "#" + q + "#" + fn
			seen[key] = true
			if pl.problem != "" {
				p.iv.provErrs.Store(key, pl.problem)
			} else {
				p.iv.provErrs.Delete(key)
			}
			spec, err := p.iv.provision(svc, q, fn, pl.target)
			switch {
			case err != nil && pl.target == 0:
				// Nothing to keep for a function that is gone.
				delete(p.warned, key)
			case err != nil:
				if p.warned[key] != err.Error() {
					p.warned[key] = err.Error()
					p.logger.Warn("provision config not applied", "service", svc, "qualifier", q, "function", fn, "err", err)
				}
			default:
				delete(p.warned, key)
				if pl.target > 0 {
					keep = append(keep, spec)
				}
			}
			// Instances that failed to start are started again later.
			if p.iv.ProvisionCurrent(svc, q, fn) < pl.target {
				if retry := now.Add(provisionRetry); wake.IsZero() || retry.Before(wake) {
					wake = retry
				}
			}
		}
		if next == "" {
			break
		}
		page.NextToken = next
	}
	p.iv.sched.KeepProvisioned(keep)
	for k := range p.warned {
		if !seen[k] {
			delete(p.warned, k)
		}
	}
	p.iv.provErrs.Range(func(k, _ any) bool {
		if !seen[k.(string)] {
			p.iv.provErrs.Delete(k)
		}
		return true
	})
	return wake
}
