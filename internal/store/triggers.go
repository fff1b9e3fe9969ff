package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/fc"
)

func triggerPrefix(service, function string) string { return pTrigger + service + "." + function + "." }

func triggerKey(service, function, trigger string) string {
	return triggerPrefix(service, function) + trigger
}

// Trigger returns a trigger.
func (s *Store) Trigger(service, function, trigger string) (Item[fc.Trigger], error) {
	if _, err := s.Function(service, function); err != nil {
		return Item[fc.Trigger]{}, err
	}
	key := triggerKey(service, function, trigger)
	v, rev, ok := lookup[fc.Trigger](s, key)
	if !ok || !fc.ValidName(trigger, fc.MaxOtherNameLen) {
		return Item[fc.Trigger]{}, fc.TriggerNotFound(function, trigger)
	}
	return Item[fc.Trigger]{Value: v, ETag: ETag(key, rev)}, nil
}

// ListTriggers pages through a function's triggers.
func (s *Store) ListTriggers(service, function string, p Page) ([]*fc.Trigger, string, error) {
	if _, err := s.Function(service, function); err != nil {
		return nil, "", err
	}
	items, next := list[fc.Trigger](s, triggerPrefix(service, function), p, nil)
	return items, next, nil
}

// AllTriggers calls fn for every trigger of every function, for the
// components that run triggers.
func (s *Store) AllTriggers(fn func(service, function string, t *fc.Trigger)) {
	s.idx.scan(pTrigger, "", func(key string, e entry) bool {
		t, ok := e.val.(*fc.Trigger)
		if ok {
			svc, rest, _ := cut(key[len(pTrigger):])
			f, _, _ := cut(rest)
			fn(svc, f, t)
		}
		return true
	})
}

// CreateTrigger stores a new trigger of a function.
func (s *Store) CreateTrigger(ctx context.Context, service, function string, in *fc.Trigger) (Item[fc.Trigger], error) {
	if _, err := s.Function(service, function); err != nil {
		return Item[fc.Trigger]{}, err
	}
	t := *in
	if err := s.checkTrigger(service, function, &t, true); err != nil {
		return Item[fc.Trigger]{}, err
	}
	t.TriggerID = uuid.NewString()
	t.CreatedTime = s.timestamp()
	t.LastModifiedTime = t.CreatedTime
	key := triggerKey(service, function, t.TriggerName)
	rev, err := s.create(ctx, key, &t)
	if errors.Is(err, errExists) {
		return Item[fc.Trigger]{}, fc.Errorf(http.StatusConflict, fc.CodeTriggerAlreadyExists,
			"trigger '%s' already exists in function '%s'", t.TriggerName, function)
	}
	if err != nil {
		return Item[fc.Trigger]{}, err
	}
	return Item[fc.Trigger]{Value: &t, ETag: ETag(key, rev)}, nil
}

// UpdateTrigger merges triggerConfig, invocationRole, description and
// qualifier into a trigger; its name and type cannot change.
func (s *Store) UpdateTrigger(ctx context.Context, service, function, trigger string, in *fc.Trigger, present fc.Present, ifMatch string) (Item[fc.Trigger], error) {
	if _, err := s.Function(service, function); err != nil {
		return Item[fc.Trigger]{}, err
	}
	key := triggerKey(service, function, trigger)
	return modify(ctx, s, key, ifMatch, func() error { return fc.TriggerNotFound(function, trigger) }, func(t *fc.Trigger) error {
		sourceARN := t.SourceARN
		fc.Merge(t, in, present)
		t.SourceARN = sourceARN // FC does not let an update move a trigger to another source
		if err := s.checkTrigger(service, function, t, false); err != nil {
			return err
		}
		t.LastModifiedTime = s.timestamp()
		return nil
	})
}

// DeleteTrigger removes a trigger.
func (s *Store) DeleteTrigger(ctx context.Context, service, function, trigger, ifMatch string) error {
	if _, err := s.Function(service, function); err != nil {
		return err
	}
	key := triggerKey(service, function, trigger)
	_, rev, ok := lookup[fc.Trigger](s, key)
	if !ok {
		return fc.TriggerNotFound(function, trigger)
	}
	if err := checkIfMatch(key, rev, ifMatch); err != nil {
		return err
	}
	if err := s.removeKey(ctx, key, rev, ifMatch); err != nil {
		return err
	}
	return nil
}

func (s *Store) checkTrigger(service, function string, t *fc.Trigger, creating bool) error {
	if err := fc.ValidateTrigger(t, s.cron); err != nil {
		return err
	}
	if t.TriggerType == fc.TriggerHTTP {
		t.SourceARN = nil // FC returns null for http triggers whatever was sent
	}
	if t.Qualifier == "" {
		t.Qualifier = "LATEST"
	}
	if err := s.checkQualifier(service, t.Qualifier); err != nil {
		return err
	}
	if !creating {
		return nil
	}
	n := 0
	var clash string
	s.idx.scan(triggerPrefix(service, function), "", func(_ string, e entry) bool {
		n++
		if o, ok := e.val.(*fc.Trigger); ok && o.TriggerType == fc.TriggerHTTP && t.TriggerType == fc.TriggerHTTP && o.Qualifier == t.Qualifier && o.TriggerName != t.TriggerName {
			clash = o.TriggerName
		}
		return true
	})
	if clash != "" {
		return fc.InvalidArgument("function '%s' already has http trigger '%s' for qualifier %s: a function has one http trigger per qualifier", function, clash, t.Qualifier)
	}
	if n >= fc.MaxTriggersPerFunction {
		return fc.Errorf(http.StatusBadRequest, fc.CodeLimitExceeded, "function '%s' already has %d triggers, the limit", function, n)
	}
	return nil
}

// checkQualifier returns 404 unless q is LATEST, a published version or an
// alias of the service.
func (s *Store) checkQualifier(service, q string) error {
	if q == "" || q == "LATEST" {
		return nil
	}
	if isVersionID(q) {
		if _, _, ok := lookup[versionRecord](s, versionKey(service, q)); !ok {
			return fc.VersionNotFound(service, q)
		}
		return nil
	}
	if !fc.ValidName(q, fc.MaxOtherNameLen) {
		return fc.InvalidArgument("qualifier %q is invalid: use LATEST, a version ID or an alias name", q)
	}
	if _, _, ok := lookup[fc.Alias](s, aliasKey(service, q)); !ok {
		return fc.AliasNotFound(service, q)
	}
	return nil
}

// cut splits a key part at the first dot.
func cut(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

var _ = fmt.Sprintf
