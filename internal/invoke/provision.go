package invoke

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/openfc/openfc/internal/store"
)

// Provision keeps target instances of a function qualifier warm (an alias
// provisions its main version).
func (iv *Invoker) Provision(service, qualifier, function string, target int) error {
	spec, _, err := iv.resolveSpec(&Request{Service: service, Qualifier: qualifier, Function: function}, true)
	if err != nil {
		return err
	}
	iv.sched.Provision(spec, target)
	return nil
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

// Provisioner applies every stored provision config on this node, again
// whenever configs, functions, services or aliases change (a new revision
// of a function gets new instances, which must be provisioned too).
type Provisioner struct {
	iv     *Invoker
	store  *store.Store
	logger *slog.Logger
	reload chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewProvisioner returns a Provisioner; Start runs it.
func NewProvisioner(iv *Invoker, st *store.Store, logger *slog.Logger) *Provisioner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Provisioner{iv: iv, store: st, logger: logger.With("component", "invoke"), reload: make(chan struct{}, 1)}
}

// Changed asks for the configs to be applied again; it never blocks.
func (p *Provisioner) Changed() {
	select {
	case p.reload <- struct{}{}:
	default:
	}
}

// Start applies the configs and follows changes until Shutdown.
func (p *Provisioner) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.apply()
	p.wg.Go(func() {
		for {
			select {
			case <-p.reload:
				p.apply()
			case <-wctx.Done():
				return
			}
		}
	})
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

func (p *Provisioner) apply() {
	page := store.Page{Limit: 100}
	for {
		cs, next := p.store.ListProvisionConfigs("", "", page)
		for _, c := range cs {
			// resource = <account>#<service>#<qualifier>#<function>
			parts := strings.Split(c.Resource, "#")
			if len(parts) != 4 || c.Target == nil {
				continue
			}
			if err := p.iv.Provision(parts[1], parts[2], parts[3], int(*c.Target)); err != nil {
				p.logger.Warn("provision config not applied", "service", parts[1], "qualifier", parts[2], "function", parts[3], "err", err)
			}
		}
		if next == "" {
			return
		}
		page.NextToken = next
	}
}
