package store

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// Per-function configs are keyed by service, qualifier and function.
func provKey(service, qualifier, function string) string {
	return pProv + service + "." + qualifier + "." + function
}

func onDemandKey(service, qualifier, function string) string {
	return pOnDemand + service + "." + qualifier + "." + function
}

func asyncKey(service, function, qualifier string) string {
	return pAsync + service + "." + function + "." + qualifier
}

// checkTarget verifies the service, function and qualifier a config is for.
func (s *Store) checkTarget(service, qualifier, function string) error {
	if _, err := s.Function(service, function); err != nil {
		return err
	}
	return s.checkQualifier(service, qualifier)
}

// ProvisionConfig returns the provision config of a function qualifier; one
// that was never set reads as target 0.
func (s *Store) ProvisionConfig(service, qualifier, function string) (Item[fc.ProvisionConfig], error) {
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.ProvisionConfig]{}, err
	}
	key := provKey(service, qualifier, function)
	v, rev, ok := lookup[fc.ProvisionConfig](s, key)
	if !ok {
		zero := int64(0)
		return Item[fc.ProvisionConfig]{Value: &fc.ProvisionConfig{
			Resource: s.accountID + "#" + service + "#" + qualifier + "#" + function, Target: &zero,
			ScheduledActions: []fc.ScheduledAction{}, TargetTrackingPolicies: []fc.TrackingPolicy{}}}, nil
	}
	return Item[fc.ProvisionConfig]{Value: v, ETag: ETag(key, rev)}, nil
}

// PutProvisionConfig sets the provision config of a function qualifier.
func (s *Store) PutProvisionConfig(ctx context.Context, service, qualifier, function string, in *fc.ProvisionConfig, ifMatch string) (Item[fc.ProvisionConfig], error) {
	if qualifier == "" {
		return Item[fc.ProvisionConfig]{}, fc.InvalidArgument("a provision config needs a qualifier: PUT /services/<service>.<alias>/functions/<function>/provision-config")
	}
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.ProvisionConfig]{}, err
	}
	if err := fc.ValidateProvisionConfig(in, s.cron); err != nil {
		return Item[fc.ProvisionConfig]{}, err
	}
	c := *in
	c.Resource = s.accountID + "#" + service + "#" + qualifier + "#" + function
	c.Current, c.CurrentError = 0, ""
	if c.ScheduledActions == nil {
		c.ScheduledActions = []fc.ScheduledAction{}
	}
	if c.TargetTrackingPolicies == nil {
		c.TargetTrackingPolicies = []fc.TrackingPolicy{}
	}
	return putValue(ctx, s, provKey(service, qualifier, function), &c, ifMatch)
}

// ListProvisionConfigs lists provision configs, optionally of one service
// (and qualifier).
func (s *Store) ListProvisionConfigs(service, qualifier string, p Page) ([]*fc.ProvisionConfig, string) {
	prefix := pProv
	if service != "" {
		prefix += service + "."
		if qualifier != "" {
			prefix += qualifier + "."
		}
	}
	return listAll[fc.ProvisionConfig](s, prefix, p, nil)
}

// OnDemandConfig returns the on-demand config of a function qualifier.
func (s *Store) OnDemandConfig(service, qualifier, function string) (Item[fc.OnDemandConfig], error) {
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.OnDemandConfig]{}, err
	}
	key := onDemandKey(service, qualifierOrLatest(qualifier), function)
	v, rev, ok := lookup[fc.OnDemandConfig](s, key)
	if !ok {
		return Item[fc.OnDemandConfig]{}, fc.Errorf(http.StatusNotFound, fc.CodeOnDemandConfigNotFound,
			"function '%s' of service '%s' has no on-demand config for qualifier %s", function, service, qualifierOrLatest(qualifier))
	}
	return Item[fc.OnDemandConfig]{Value: v, ETag: ETag(key, rev)}, nil
}

// MaxInstances returns the on-demand maximumInstanceCount of a function
// qualifier and whether one is set. It is the invocation path's read: one
// index lookup, no checks, no error to build.
func (s *Store) MaxInstances(service, qualifier, function string) (int, bool) {
	v, _, ok := lookup[fc.OnDemandConfig](s, onDemandKey(service, qualifierOrLatest(qualifier), function))
	if !ok || v.MaximumInstanceCount == nil {
		return 0, false
	}
	return int(*v.MaximumInstanceCount), true
}

// PutOnDemandConfig sets the on-demand config of a function qualifier.
func (s *Store) PutOnDemandConfig(ctx context.Context, service, qualifier, function string, in *fc.OnDemandConfig, ifMatch string) (Item[fc.OnDemandConfig], error) {
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.OnDemandConfig]{}, err
	}
	if in.MaximumInstanceCount == nil || *in.MaximumInstanceCount < 0 {
		return Item[fc.OnDemandConfig]{}, fc.InvalidArgument("maximumInstanceCount is required: a number of instances, 0 or more")
	}
	q := qualifierOrLatest(qualifier)
	c := fc.OnDemandConfig{Resource: "services/" + service + "." + q + "/functions/" + function, MaximumInstanceCount: in.MaximumInstanceCount}
	return putValue(ctx, s, onDemandKey(service, q, function), &c, ifMatch)
}

// DeleteOnDemandConfig removes the on-demand config of a function qualifier.
func (s *Store) DeleteOnDemandConfig(ctx context.Context, service, qualifier, function, ifMatch string) error {
	if _, err := s.OnDemandConfig(service, qualifier, function); err != nil {
		return err
	}
	return s.del(ctx, onDemandKey(service, qualifierOrLatest(qualifier), function), ifMatch)
}

// ListOnDemandConfigs lists on-demand configs whose resource starts with
// the page's prefix.
func (s *Store) ListOnDemandConfigs(p Page) ([]*fc.OnDemandConfig, string) {
	return listAll[fc.OnDemandConfig](s, pOnDemand, p, func(c *fc.OnDemandConfig) string { return c.Resource })
}

// AsyncConfig returns the async invoke config of a function qualifier.
func (s *Store) AsyncConfig(service, qualifier, function string) (Item[fc.AsyncConfig], error) {
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.AsyncConfig]{}, err
	}
	key := asyncKey(service, function, qualifierOrLatest(qualifier))
	v, rev, ok := lookup[fc.AsyncConfig](s, key)
	if !ok {
		return Item[fc.AsyncConfig]{}, fc.Errorf(http.StatusNotFound, fc.CodeAsyncConfigNotExists,
			"function '%s' of service '%s' has no async invoke config for qualifier %s", function, service, qualifierOrLatest(qualifier))
	}
	return Item[fc.AsyncConfig]{Value: v, ETag: ETag(key, rev)}, nil
}

// PutAsyncConfig sets the async invoke config of a function qualifier.
func (s *Store) PutAsyncConfig(ctx context.Context, service, qualifier, function string, in *fc.AsyncConfig) (Item[fc.AsyncConfig], error) {
	if err := s.checkTarget(service, qualifier, function); err != nil {
		return Item[fc.AsyncConfig]{}, err
	}
	var p []string
	if r := in.MaxAsyncRetryAttempts; r != nil && (*r < 0 || *r > 8) {
		p = append(p, "maxAsyncRetryAttempts must be from 0 to 8")
	}
	if a := in.MaxAsyncEventAgeInSeconds; a != nil && (*a < 1 || *a > 86400) {
		p = append(p, "maxAsyncEventAgeInSeconds must be from 1 to 86400")
	}
	if d := in.DestinationConfig; d != nil {
		for _, dst := range []struct {
			name string
			d    *fc.Destination
		}{{"onSuccess", d.OnSuccess}, {"onFailure", d.OnFailure}} {
			if dst.d != nil {
				if why := destinationProblem(dst.d.Destination); why != "" {
					p = append(p, "destinationConfig."+dst.name+".destination \""+dst.d.Destination+"\" "+why+
						"; openfc delivers to a function (acs:fc:<region>:<accountId>:services/<service>.<qualifier>/functions/<function>) or a NATS subject (nats:<subject>)")
				}
			}
		}
	}
	if err := fc.JoinErrors(p); err != nil {
		return Item[fc.AsyncConfig]{}, err
	}
	q := qualifierOrLatest(qualifier)
	key := asyncKey(service, function, q)
	c := *in
	c.Service, c.Function, c.Qualifier = service, function, q
	c.LastModifiedTime = s.timestamp()
	c.CreatedTime = c.LastModifiedTime
	if old, _, ok := lookup[fc.AsyncConfig](s, key); ok {
		c.CreatedTime = old.CreatedTime
	}
	return putValue(ctx, s, key, &c, "")
}

// destinationProblem says why the async queue could not deliver a record
// to d, or returns "". Only what the queue delivers to passes: FC also
// takes MNS queues and topics and EventBridge, which openfc does not run,
// and a config naming them was accepted only for every record to be
// dropped when the invocation ended.
func destinationProblem(d string) string {
	if subject, ok := strings.CutPrefix(d, "nats:"); ok {
		// A record is published to the subject: it must be one a message
		// can be sent to (no wildcards, no empty tokens, no spaces).
		for tok := range strings.SplitSeq(subject, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
				return "is not a NATS subject a record can be published to"
			}
		}
		return ""
	}
	for prefix, name := range map[string]string{"acs:mns:": "MNS", "acs:eventbridge:": "EventBridge"} {
		if strings.HasPrefix(d, prefix) {
			return "is not supported: openfc cannot deliver to " + name
		}
	}
	rest, ok := strings.CutPrefix(d, "acs:fc:")
	_, path, found := strings.Cut(rest, ":services/")
	svcq, fn, named := strings.Cut(path, "/functions/")
	if svc, _ := fc.SplitQualifier(svcq); !ok || !found || !named || svc == "" || fn == "" || strings.Contains(fn, "/") {
		return "is not a destination openfc can deliver to"
	}
	return ""
}

// DeleteAsyncConfig removes the async invoke config of a function qualifier.
func (s *Store) DeleteAsyncConfig(ctx context.Context, service, qualifier, function string) error {
	if _, err := s.AsyncConfig(service, qualifier, function); err != nil {
		return err
	}
	return s.del(ctx, asyncKey(service, function, qualifierOrLatest(qualifier)), "")
}

// ListAsyncConfigs pages through a function's async invoke configs.
func (s *Store) ListAsyncConfigs(service, function string, p Page) ([]*fc.AsyncConfig, string, error) {
	if _, err := s.Function(service, function); err != nil {
		return nil, "", err
	}
	items, next := list[fc.AsyncConfig](s, pAsync+service+"."+function+".", p, nil)
	return items, next, nil
}

func qualifierOrLatest(q string) string {
	if q == "" {
		return "LATEST"
	}
	return q
}

// putValue writes a whole value (create or replace), honouring If-Match.
func putValue[T any](ctx context.Context, s *Store, key string, v *T, ifMatch string) (Item[T], error) {
	for {
		_, rev, ok := lookup[T](s, key)
		if ok {
			if err := checkIfMatch(key, rev, ifMatch); err != nil {
				return Item[T]{}, err
			}
		}
		var newRev uint64
		var err error
		if ok {
			newRev, err = s.update(ctx, key, v, rev)
		} else {
			newRev, err = s.create(ctx, key, v)
		}
		if errors.Is(err, errConflict) || errors.Is(err, errExists) {
			// Another write landed first: with If-Match that is a 412;
			// without, write again over it, until ctx ends.
			if ifMatch != "" {
				return Item[T]{}, conflict(key)
			}
			if err := ctx.Err(); err != nil {
				return Item[T]{}, err
			}
			continue
		}
		if err != nil {
			return Item[T]{}, err
		}
		return Item[T]{Value: v, ETag: ETag(key, newRev)}, nil
	}
}

// del deletes a key, honouring If-Match.
func (s *Store) del(ctx context.Context, key, ifMatch string) error {
	e, ok := s.idx.get(key)
	if !ok {
		return nil
	}
	if err := checkIfMatch(key, e.rev, ifMatch); err != nil {
		return err
	}
	if err := s.removeKey(ctx, key, e.rev, ifMatch); err != nil {
		return err
	}
	return nil
}

// listAll pages through every value under prefix, nested keys included,
// ordered by key; name, if set, gives the name the page's prefix filters.
func listAll[T any](s *Store, prefix string, p Page, name func(*T) string) ([]*T, string) {
	from := p.StartKey
	if p.NextToken != "" {
		from = p.NextToken
	}
	limit := p.limit()
	var out []*T
	next := ""
	s.idx.scan(prefix, "", func(key string, e entry) bool {
		v, ok := e.val.(*T)
		if !ok {
			return true
		}
		n := key[len(prefix):]
		if name != nil {
			n = name(v)
		}
		if n < from || !strings.HasPrefix(n, p.Prefix) {
			return true
		}
		if len(out) == limit {
			next = n
			return false
		}
		out = append(out, v)
		return true
	})
	return out, next
}

// ListStatefulAsyncFunctions pages through the async configs that turn
// stateful invocations on, across every service
// (ListStatefulAsyncInvocationFunctions); the page token is the last
// config's key.
func (s *Store) ListStatefulAsyncFunctions(p Page) ([]*fc.AsyncConfig, string) {
	from := p.NextToken
	limit := p.limit()
	var out []*fc.AsyncConfig
	next := ""
	s.idx.scan(pAsync, from, func(key string, e entry) bool {
		v, ok := e.val.(*fc.AsyncConfig)
		if !ok || !v.StatefulInvocation || key[len(pAsync):] < from {
			return true
		}
		if len(out) == limit {
			next = key[len(pAsync):]
			return false
		}
		out = append(out, v)
		return true
	})
	return out, next
}
