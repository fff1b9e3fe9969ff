package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/fc"
)

// Item is a value with the ETag of the revision it was read at.
type Item[T any] struct {
	Value *T
	ETag  string
}

func serviceKey(name string) string { return pService + name }

// Service returns a service, or 404 ServiceNotFound.
func (s *Store) Service(name string) (Item[fc.Service], error) {
	v, rev, ok := lookup[fc.Service](s, serviceKey(name))
	if !ok || !fc.ValidName(name, fc.MaxServiceNameLen) {
		return Item[fc.Service]{}, fc.ServiceNotFound(name)
	}
	return Item[fc.Service]{Value: v, ETag: ETag(serviceKey(name), rev)}, nil
}

// ListServices pages through services; tags, if set, keeps only services
// carrying every one of those tag values.
func (s *Store) ListServices(p Page, tags map[string]string) ([]*fc.Service, string) {
	var keep func(*fc.Service) bool
	if len(tags) > 0 {
		keep = func(svc *fc.Service) bool {
			for k, v := range tags {
				if got, ok := svc.Tags[k]; !ok || got != v {
					return false
				}
			}
			return true
		}
	}
	return list(s, pService, p, keep)
}

// CreateService stores a new service.
func (s *Store) CreateService(ctx context.Context, in *fc.Service) (Item[fc.Service], error) {
	svc := *in
	svc.ApplyDefaults()
	svc.Tags = nil
	if err := fc.ValidateService(&svc); err != nil {
		return Item[fc.Service]{}, err
	}
	svc.ServiceID = uuid.NewString()
	svc.CreatedTime = s.timestamp()
	svc.LastModifiedTime = svc.CreatedTime
	key := serviceKey(svc.ServiceName)
	rev, err := s.create(ctx, key, &svc)
	if errors.Is(err, errExists) {
		return Item[fc.Service]{}, fc.Errorf(http.StatusConflict, fc.CodeServiceAlreadyExists, "service '%s' already exists", svc.ServiceName)
	}
	if err != nil {
		return Item[fc.Service]{}, err
	}
	return Item[fc.Service]{Value: &svc, ETag: ETag(key, rev)}, nil
}

// UpdateService merges the present fields of patch into a service.
func (s *Store) UpdateService(ctx context.Context, name string, patch *fc.Service, present fc.Present, ifMatch string) (Item[fc.Service], error) {
	key := serviceKey(name)
	return modify(ctx, s, key, ifMatch, func() error { return fc.ServiceNotFound(name) }, func(svc *fc.Service) error {
		fc.Merge(svc, patch, present)
		svc.ApplyDefaults()
		if err := fc.ValidateService(svc); err != nil {
			return err
		}
		svc.LastModifiedTime = s.timestamp()
		return nil
	})
}

// DeleteService removes a service that has no functions, versions or
// aliases left (FC refuses to delete a non-empty service).
func (s *Store) DeleteService(ctx context.Context, name, ifMatch string) error {
	key := serviceKey(name)
	_, rev, ok := lookup[fc.Service](s, key)
	if !ok {
		return fc.ServiceNotFound(name)
	}
	if err := checkIfMatch(key, rev, ifMatch); err != nil {
		return err
	}
	for what, prefix := range map[string]string{"functions": pFunction, "versions": pVersion, "aliases": pAlias} {
		if s.idx.count(prefix+name+".") > 0 {
			return fc.Errorf(http.StatusBadRequest, fc.CodeServiceNotEmpty,
				"service '%s' still has %s: delete them first", name, what)
		}
	}
	if err := s.removeKey(ctx, key, rev, ifMatch); err != nil {
		return err
	}
	// The version counter goes with the service; a new service of the same
	// name starts again at version 1.
	if e, ok := s.idx.get(seqKey("ver", name)); ok {
		if err := s.remove(ctx, seqKey("ver", name), e.rev); err != nil && !errors.Is(err, errConflict) {
			return fmt.Errorf("delete version counter: %w", err)
		}
	}
	return s.dropLimits(ctx, name, "")
}

// modify is the read-modify-write loop of every update: it applies change to
// a copy of the current value and writes it back with compare-and-swap. With
// If-Match the caller's ETag must match; without it a lost race is retried
// until ctx ends. Every lost race means another write succeeded, so many
// concurrent writers all finish; a fixed retry budget made some of 20
// concurrent updates fail with 412 although none sent If-Match.
func modify[T any](ctx context.Context, s *Store, key, ifMatch string, notFound func() error, change func(*T) error) (Item[T], error) {
	for {
		cur, rev, ok := lookup[T](s, key)
		if !ok {
			return Item[T]{}, notFound()
		}
		if err := checkIfMatch(key, rev, ifMatch); err != nil {
			return Item[T]{}, err
		}
		next := *cur // shallow copy: change replaces nested values, never mutates them
		if err := change(&next); err != nil {
			return Item[T]{}, err
		}
		newRev, err := s.update(ctx, key, &next, rev)
		if errors.Is(err, errConflict) {
			if ifMatch != "" {
				return Item[T]{}, conflict(key)
			}
			if err := s.idx.waitFor(ctx, func() bool { e := s.idx.m[key]; return e.rev != rev }); err != nil {
				return Item[T]{}, err
			}
			continue
		}
		if err != nil {
			return Item[T]{}, err
		}
		return Item[T]{Value: &next, ETag: ETag(key, newRev)}, nil
	}
}
