package store

import (
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// Page selects a slice of a list the way FC's List calls do (spec §0):
// items sorted by name, at most Limit of them, names starting with Prefix,
// from StartKey (inclusive) or from NextToken (the name of the next item,
// which wins over StartKey).
type Page struct {
	Limit     int
	Prefix    string
	StartKey  string
	NextToken string
}

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return fc.DefaultListLimit
	case p.Limit > fc.MaxListLimit:
		return fc.MaxListLimit
	}
	return p.Limit
}

// list pages through the values under keyPrefix, whose names are the rest
// of their keys. keep, if set, filters values. It returns the page and the
// next token ("" when exhausted).
func list[T any](s *Store, keyPrefix string, p Page, keep func(*T) bool) ([]*T, string) {
	from := p.StartKey
	if p.NextToken != "" {
		from = p.NextToken
	}
	if from < p.Prefix {
		from = p.Prefix
	}
	limit := p.limit()
	out := make([]*T, 0, min(limit, 64))
	next := ""
	s.idx.scan(keyPrefix, from, func(key string, e entry) bool {
		name := key[len(keyPrefix):]
		if !strings.HasPrefix(name, p.Prefix) {
			return false
		}
		// Keys below keyPrefix may have more parts (a service's function
		// keys share the prefix of the service's trigger keys' parent);
		// only direct children are listed.
		if strings.Contains(name, ".") && !strings.HasPrefix(keyPrefix, pDomain) && !strings.HasPrefix(keyPrefix, pKey) {
			return true
		}
		v, ok := e.val.(*T)
		if !ok || (keep != nil && !keep(v)) {
			return true
		}
		if len(out) == limit {
			next = name
			return false
		}
		out = append(out, v)
		return true
	})
	return out, next
}
