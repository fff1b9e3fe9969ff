package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// Flow-control limits are keyed limits.account, limits.svc.<service> and
// limits.fn.<service>.<function>.
const pLimits = "limits."

func limitsKey(service, function string) string {
	switch {
	case service == "":
		return pLimits + "account"
	case function == "":
		return pLimits + "svc." + service
	}
	return pLimits + "fn." + service + "." + function
}

func limitsScope(service, function string) string {
	switch {
	case service == "":
		return fc.LimitsAccount
	case function == "":
		return fc.LimitsService
	}
	return fc.LimitsFunction
}

// checkLimitsTarget verifies the service or function limits are set on.
func (s *Store) checkLimitsTarget(service, function string) error {
	switch {
	case service == "":
		return nil
	case function == "":
		_, err := s.Service(service)
		return err
	}
	_, err := s.Function(service, function)
	return err
}

// Limits returns the flow-control limits of the account (service ""), a
// service (function "") or a function. Limits never set read as zero (no
// limit) with an empty ETag.
func (s *Store) Limits(service, function string) (Item[fc.Limits], error) {
	if err := s.checkLimitsTarget(service, function); err != nil {
		return Item[fc.Limits]{}, err
	}
	key := limitsKey(service, function)
	v, rev, ok := lookup[fc.Limits](s, key)
	if !ok {
		return Item[fc.Limits]{Value: &fc.Limits{Scope: limitsScope(service, function), ServiceName: service, FunctionName: function}}, nil
	}
	return Item[fc.Limits]{Value: v, ETag: ETag(key, rev)}, nil
}

// PutLimits sets the flow-control limits of the account, a service or a
// function (see Limits); bad values change nothing.
func (s *Store) PutLimits(ctx context.Context, service, function string, in *fc.Limits, ifMatch string) (Item[fc.Limits], error) {
	if err := s.checkLimitsTarget(service, function); err != nil {
		return Item[fc.Limits]{}, err
	}
	l := *in
	l.Scope, l.ServiceName, l.FunctionName = limitsScope(service, function), service, function
	if err := fc.CheckLimits(&l); err != nil {
		return Item[fc.Limits]{}, err
	}
	l.LastModifiedTime = s.timestamp()
	return putValue(ctx, s, limitsKey(service, function), &l, ifMatch)
}

// DeleteLimits removes the limits of the account, a service or a function.
func (s *Store) DeleteLimits(ctx context.Context, service, function, ifMatch string) error {
	key := limitsKey(service, function)
	if _, _, ok := lookup[fc.Limits](s, key); !ok {
		return fc.Errorf(http.StatusNotFound, "LimitsNotFound", "no %s limits are set", limitsScope(service, function))
	}
	return s.del(ctx, key, ifMatch)
}

// ListLimits lists every limits set: the account's first, then services'
// and functions' by name.
func (s *Store) ListLimits() []*fc.Limits {
	var out []*fc.Limits
	s.idx.scan(pLimits, "", func(key string, e entry) bool {
		if v, ok := e.val.(*fc.Limits); ok {
			out = append(out, v)
		}
		return true
	})
	return out
}

// IsLimitsKey reports whether a changed key holds flow-control limits
// (Options.OnChange), so the node applies them again.
func IsLimitsKey(key string) bool { return len(key) > len(pLimits) && key[:len(pLimits)] == pLimits }

// dropLimits removes the limits of a deleted service or function, so a
// new one of the same name starts without them.
func (s *Store) dropLimits(ctx context.Context, service, function string) error {
	key := limitsKey(service, function)
	e, ok := s.idx.get(key)
	if !ok {
		return nil
	}
	if err := s.remove(ctx, key, e.rev); err != nil && !errors.Is(err, errConflict) {
		return fmt.Errorf("delete limits of %s: %w", key, err)
	}
	return nil
}
