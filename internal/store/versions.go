package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// versionRecord is a published version: an immutable snapshot of the
// service and of every function's configuration and code reference.
type versionRecord struct {
	fc.Version
	Service   fc.Service       `json:"service"`
	Functions []FunctionRecord `json:"functions"`
	// Digest identifies the content, so that publishing an unchanged
	// service can be refused as FC does.
	Digest string `json:"digest"`
}

func versionKey(service, id string) string {
	n, _ := strconv.ParseUint(id, 10, 64)
	// Zero-padded so that key order is numeric order.
	return fmt.Sprintf("%s%s.%020d", pVersion, service, n)
}

func seqKey(kind, name string) string { return pSeq + kind + "." + name }

func isVersionID(q string) bool {
	if q == "" {
		return false
	}
	_, err := strconv.ParseUint(q, 10, 64)
	return err == nil
}

// PublishVersion snapshots a service and its functions as a new version.
func (s *Store) PublishVersion(ctx context.Context, service, description, ifMatch string) (*fc.Version, error) {
	svc, err := s.Service(service)
	if err != nil {
		return nil, err
	}
	if err := checkIfMatch(serviceKey(service), s.rev(serviceKey(service)), ifMatch); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var fns []FunctionRecord
	s.idx.scan(pFunction+service+".", "", func(_ string, e entry) bool {
		if r, ok := e.val.(*FunctionRecord); ok {
			fns = append(fns, *r)
		}
		return true
	})
	digest := snapshotDigest(svc.Value, fns)
	if last := s.latestVersion(service); last != nil && last.Digest == digest {
		return nil, fc.InvalidArgument("no changes since version %s of service '%s': change the service or a function before publishing", last.VersionID, service)
	}
	id, err := s.nextSeq(ctx, seqKey("ver", service))
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	rec := versionRecord{
		Version: fc.Version{VersionID: strconv.FormatUint(id, 10), Description: description, CreatedTime: now, LastModifiedTime: now},
		Service: *svc.Value, Functions: fns, Digest: digest,
	}
	if _, err := s.create(ctx, versionKey(service, rec.VersionID), &rec); err != nil {
		return nil, fmt.Errorf("publish version %s: %w", rec.VersionID, err)
	}
	return &rec.Version, nil
}

func snapshotDigest(svc *fc.Service, fns []FunctionRecord) string {
	h := sha256.New()
	sv := *svc
	sv.CreatedTime, sv.LastModifiedTime, sv.Tags = "", "", nil
	b, _ := json.Marshal(sv) // a struct of plain fields cannot fail to encode
	h.Write(b)
	for _, f := range fns {
		fn := f.Function
		fn.CreatedTime, fn.LastModifiedTime = "", ""
		b, _ := json.Marshal(struct {
			fc.Function
			Env  map[string]string
			Code string
		}{fn, f.EnvironmentVariables, f.CodeSHA256})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Store) latestVersion(service string) *versionRecord {
	var last *versionRecord
	s.idx.scan(pVersion+service+".", "", func(_ string, e entry) bool {
		if v, ok := e.val.(*versionRecord); ok {
			last = v
		}
		return true
	})
	return last
}

func (s *Store) rev(key string) uint64 {
	e, _ := s.idx.get(key)
	return e.rev
}

// nextSeq increments the counter at key with compare-and-swap, so that
// nodes publishing at once never get the same number.
func (s *Store) nextSeq(ctx context.Context, key string) (uint64, error) {
	for range 20 {
		cur, rev, ok := lookup[uint64](s, key)
		next := uint64(1)
		var err error
		if ok {
			next = *cur + 1
			_, err = s.update(ctx, key, next, rev)
		} else {
			_, err = s.create(ctx, key, next)
		}
		if errors.Is(err, errConflict) || errors.Is(err, errExists) {
			if err := s.idx.waitFor(ctx, func() bool { return s.idx.m[key].rev != rev }); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		return next, nil
	}
	return 0, fmt.Errorf("counter %s: too much contention", key)
}

// Versions lists a service's versions, newest first unless forward.
func (s *Store) Versions(service string, limit int, startKey, nextToken string, forward bool) ([]fc.Version, string, error) {
	if _, err := s.Service(service); err != nil {
		return nil, "", err
	}
	var all []fc.Version
	s.idx.scan(pVersion+service+".", "", func(_ string, e entry) bool {
		if v, ok := e.val.(*versionRecord); ok {
			all = append(all, v.Version)
		}
		return true
	})
	if !forward {
		slices.Reverse(all)
	}
	from := startKey
	if nextToken != "" {
		from = nextToken
	}
	start := 0
	if from != "" {
		f, err := strconv.ParseUint(from, 10, 64)
		if err != nil {
			return nil, "", fc.InvalidArgument("startKey/nextToken %q is not a version ID", from)
		}
		for start < len(all) {
			id, _ := strconv.ParseUint(all[start].VersionID, 10, 64)
			if (forward && id >= f) || (!forward && id <= f) {
				break
			}
			start++
		}
	}
	all = all[start:]
	l := Page{Limit: limit}.limit()
	if len(all) > l {
		return all[:l], all[l].VersionID, nil
	}
	return all, "", nil
}

// DeleteVersion removes a version that no alias or provision config uses.
func (s *Store) DeleteVersion(ctx context.Context, service, id string) error {
	if _, err := s.Service(service); err != nil {
		return err
	}
	if !isVersionID(id) {
		return fc.VersionNotFound(service, id)
	}
	key := versionKey(service, id)
	_, rev, ok := lookup[versionRecord](s, key)
	if !ok {
		return fc.VersionNotFound(service, id)
	}
	var users []string
	s.idx.scan(pAlias+service+".", "", func(_ string, e entry) bool {
		if a, ok := e.val.(*fc.Alias); ok {
			if _, weighted := a.AdditionalVersionWeight[id]; a.VersionID == id || weighted {
				users = append(users, "alias "+a.AliasName)
			}
		}
		return true
	})
	s.idx.scan(pProv+service+"."+id+".", "", func(key string, _ entry) bool {
		users = append(users, "provision config "+key[len(pProv):])
		return true
	})
	if len(users) > 0 {
		return fc.Errorf(http.StatusBadRequest, fc.CodeVersionInUse, "version %s of service '%s' is used by %s: change those first",
			id, service, strings.Join(users, ", "))
	}
	if err := s.removeKey(ctx, key, rev, ""); err != nil {
		return err
	}
	return nil
}

func aliasKey(service, alias string) string { return pAlias + service + "." + alias }

// Alias returns an alias.
func (s *Store) Alias(service, alias string) (Item[fc.Alias], error) {
	if _, err := s.Service(service); err != nil {
		return Item[fc.Alias]{}, err
	}
	key := aliasKey(service, alias)
	v, rev, ok := lookup[fc.Alias](s, key)
	if !ok || !fc.ValidName(alias, fc.MaxOtherNameLen) {
		return Item[fc.Alias]{}, fc.AliasNotFound(service, alias)
	}
	return Item[fc.Alias]{Value: v, ETag: ETag(key, rev)}, nil
}

// ListAliases pages through a service's aliases.
func (s *Store) ListAliases(service string, p Page) ([]*fc.Alias, string, error) {
	if _, err := s.Service(service); err != nil {
		return nil, "", err
	}
	items, next := list[fc.Alias](s, pAlias+service+".", p, nil)
	return items, next, nil
}

func (s *Store) checkAlias(service string, a *fc.Alias) error {
	if a.AdditionalVersionWeight == nil {
		a.AdditionalVersionWeight = map[string]float64{}
	}
	if err := fc.ValidateAlias(a); err != nil {
		return err
	}
	for _, v := range append([]string{a.VersionID}, mapKeys(a.AdditionalVersionWeight)...) {
		if _, _, ok := lookup[versionRecord](s, versionKey(service, v)); !ok {
			return fc.VersionNotFound(service, v)
		}
	}
	return nil
}

// CreateAlias stores a new alias.
func (s *Store) CreateAlias(ctx context.Context, service string, in *fc.Alias) (Item[fc.Alias], error) {
	if _, err := s.Service(service); err != nil {
		return Item[fc.Alias]{}, err
	}
	a := *in
	if err := s.checkAlias(service, &a); err != nil {
		return Item[fc.Alias]{}, err
	}
	a.CreatedTime = s.timestamp()
	a.LastModifiedTime = a.CreatedTime
	key := aliasKey(service, a.AliasName)
	rev, err := s.create(ctx, key, &a)
	if errors.Is(err, errExists) {
		return Item[fc.Alias]{}, fc.Errorf(http.StatusConflict, fc.CodeAliasAlreadyExists, "alias '%s' already exists in service '%s'", a.AliasName, service)
	}
	if err != nil {
		return Item[fc.Alias]{}, err
	}
	return Item[fc.Alias]{Value: &a, ETag: ETag(key, rev)}, nil
}

// UpdateAlias merges the present fields into an alias.
func (s *Store) UpdateAlias(ctx context.Context, service, alias string, in *fc.Alias, present fc.Present, ifMatch string) (Item[fc.Alias], error) {
	if _, err := s.Service(service); err != nil {
		return Item[fc.Alias]{}, err
	}
	return modify(ctx, s, aliasKey(service, alias), ifMatch, func() error { return fc.AliasNotFound(service, alias) }, func(a *fc.Alias) error {
		fc.Merge(a, in, present)
		if err := s.checkAlias(service, a); err != nil {
			return err
		}
		a.LastModifiedTime = s.timestamp()
		return nil
	})
}

// DeleteAlias removes an alias that no trigger or provision config uses.
func (s *Store) DeleteAlias(ctx context.Context, service, alias, ifMatch string) error {
	if _, err := s.Service(service); err != nil {
		return err
	}
	key := aliasKey(service, alias)
	_, rev, ok := lookup[fc.Alias](s, key)
	if !ok {
		return fc.AliasNotFound(service, alias)
	}
	if err := checkIfMatch(key, rev, ifMatch); err != nil {
		return err
	}
	var users []string
	s.idx.scan(pProv+service+"."+alias+".", "", func(key string, _ entry) bool {
		users = append(users, "provision config "+key[len(pProv):])
		return true
	})
	if len(users) > 0 {
		return fc.InvalidArgument("alias '%s' is used by %s: delete those first", alias, strings.Join(users, ", "))
	}
	if err := s.removeKey(ctx, key, rev, ifMatch); err != nil {
		return err
	}
	return nil
}

// Resolved is a service and function configuration for a qualifier.
type Resolved struct {
	Service   *fc.Service
	Function  *FunctionRecord // nil when only the service was resolved
	VersionID string          // "" for LATEST
}

// Resolve returns the configuration a qualifier names: LATEST, a version
// ID, or an alias (its main version; weights apply to invocations, not to
// reads). function may be "" to resolve the service only.
func (s *Store) Resolve(service, qualifier, function string) (Resolved, error) {
	svc, err := s.Service(service)
	if err != nil {
		return Resolved{}, err
	}
	if qualifier == "" || qualifier == "LATEST" {
		r := Resolved{Service: svc.Value}
		if function != "" {
			f, err := s.Function(service, function)
			if err != nil {
				return Resolved{}, err
			}
			r.Function = f.Value
		}
		return r, nil
	}
	version := qualifier
	if !isVersionID(qualifier) {
		a, err := s.Alias(service, qualifier)
		if err != nil {
			return Resolved{}, err
		}
		version = a.Value.VersionID
	}
	v, _, ok := lookup[versionRecord](s, versionKey(service, version))
	if !ok {
		return Resolved{}, fc.VersionNotFound(service, version)
	}
	r := Resolved{Service: &v.Service, VersionID: version}
	if function != "" {
		for i := range v.Functions {
			if v.Functions[i].FunctionName == function {
				r.Function = &v.Functions[i]
				return r, nil
			}
		}
		return Resolved{}, fc.FunctionNotFound(service, function)
	}
	return r, nil
}

// VersionFunctions pages through the functions of a published version.
func (s *Store) VersionFunctions(service, qualifier string, p Page) ([]*FunctionRecord, string, error) {
	r, err := s.Resolve(service, qualifier, "")
	if err != nil {
		return nil, "", err
	}
	if r.VersionID == "" {
		return s.ListFunctions(service, p)
	}
	v, _, _ := lookup[versionRecord](s, versionKey(service, r.VersionID))
	from := max(p.StartKey, p.Prefix)
	if p.NextToken != "" {
		from = max(p.NextToken, p.Prefix)
	}
	var out []*FunctionRecord
	for i := range v.Functions {
		f := &v.Functions[i]
		if f.FunctionName < from || !strings.HasPrefix(f.FunctionName, p.Prefix) {
			continue
		}
		if len(out) == p.limit() {
			return out, f.FunctionName, nil
		}
		out = append(out, f)
	}
	return out, "", nil
}

func mapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
