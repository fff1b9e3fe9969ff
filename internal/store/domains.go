package store

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// domainRecord is a stored custom domain; the certificate's private key is
// sealed in KeySealed and never returned.
type domainRecord struct {
	fc.CustomDomain
	KeySealed []byte `json:"keySealed,omitempty"`
}

func domainKey(name string) string { return pDomain + name }

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (s *Store) checkDomain(d *domainRecord) error {
	var p []string
	if !validDomain(d.DomainName) {
		p = append(p, "domainName \""+d.DomainName+"\" is invalid: use a host name such as api.example.com")
	}
	if d.Protocol == "" {
		d.Protocol = "HTTP"
	}
	if d.Protocol != "HTTP" && d.Protocol != "HTTP,HTTPS" {
		p = append(p, "protocol \""+d.Protocol+"\" is invalid: use HTTP or HTTP,HTTPS")
	}
	if d.RouteConfig == nil {
		d.RouteConfig = &fc.RouteConfig{Routes: []fc.PathRoute{}}
	}
	for i, r := range d.RouteConfig.Routes {
		if !strings.HasPrefix(r.Path, "/") {
			p = append(p, "routeConfig.routes["+itoa(i)+"].path must start with /")
		}
		if !fc.ValidName(r.ServiceName, fc.MaxServiceNameLen) || !fc.ValidName(r.FunctionName, fc.MaxFunctionNameLen) {
			p = append(p, "routeConfig.routes["+itoa(i)+"] needs a valid serviceName and functionName")
		}
		if r.Qualifier != "" && !fc.ValidQualifier(r.Qualifier) {
			p = append(p, "routeConfig.routes["+itoa(i)+"].qualifier is invalid")
		}
	}
	if d.Protocol == "HTTP,HTTPS" && (d.CertConfig == nil || d.CertConfig.Certificate == "" || (d.CertConfig.PrivateKey == nil && d.KeySealed == nil)) {
		p = append(p, "protocol HTTP,HTTPS needs certConfig with certificate and privateKey")
	}
	if err := fc.JoinErrors(p); err != nil {
		return err
	}
	if c := d.CertConfig; c != nil && c.PrivateKey != nil {
		sealed, err := s.box.Seal([]byte(*c.PrivateKey), []byte(domainKey(d.DomainName)))
		if err != nil {
			return err
		}
		d.KeySealed = sealed
		cc := *c
		cc.PrivateKey = nil
		d.CertConfig = &cc
	}
	d.AccountID = s.accountID
	d.APIVersion = "2016-08-15"
	return nil
}

// CustomDomain returns a custom domain.
func (s *Store) CustomDomain(name string) (Item[fc.CustomDomain], error) {
	v, rev, ok := lookup[domainRecord](s, domainKey(name))
	if !ok {
		return Item[fc.CustomDomain]{}, fc.Errorf(http.StatusNotFound, fc.CodeDomainNameNotFound, "domain name '%s' does not exist", name)
	}
	return Item[fc.CustomDomain]{Value: &v.CustomDomain, ETag: ETag(domainKey(name), rev)}, nil
}

// ListCustomDomains pages through custom domains.
func (s *Store) ListCustomDomains(p Page) ([]*fc.CustomDomain, string) {
	recs, next := list[domainRecord](s, pDomain, p, nil)
	out := make([]*fc.CustomDomain, len(recs))
	for i, r := range recs {
		out[i] = &r.CustomDomain
	}
	return out, next
}

// CreateCustomDomain stores a new custom domain.
func (s *Store) CreateCustomDomain(ctx context.Context, in *fc.CustomDomain) (Item[fc.CustomDomain], error) {
	d := domainRecord{CustomDomain: *in}
	if err := s.checkDomain(&d); err != nil {
		return Item[fc.CustomDomain]{}, err
	}
	d.CreatedTime = s.timestamp()
	d.LastModifiedTime = d.CreatedTime
	rev, err := s.create(ctx, domainKey(d.DomainName), &d)
	if errors.Is(err, errExists) {
		return Item[fc.CustomDomain]{}, fc.Errorf(http.StatusConflict, fc.CodeDomainAlreadyExists, "domain name '%s' already exists", d.DomainName)
	}
	if err != nil {
		return Item[fc.CustomDomain]{}, err
	}
	return Item[fc.CustomDomain]{Value: &d.CustomDomain, ETag: ETag(domainKey(d.DomainName), rev)}, nil
}

// UpdateCustomDomain merges the present fields into a custom domain.
func (s *Store) UpdateCustomDomain(ctx context.Context, name string, in *fc.CustomDomain, present fc.Present, ifMatch string) (Item[fc.CustomDomain], error) {
	it, err := modify(ctx, s, domainKey(name), ifMatch, func() error {
		return fc.Errorf(http.StatusNotFound, fc.CodeDomainNameNotFound, "domain name '%s' does not exist", name)
	}, func(d *domainRecord) error {
		fc.Merge(&d.CustomDomain, in, present)
		if present.Has("certConfig") {
			d.KeySealed = nil
		}
		if err := s.checkDomain(d); err != nil {
			return err
		}
		d.LastModifiedTime = s.timestamp()
		return nil
	})
	if err != nil {
		return Item[fc.CustomDomain]{}, err
	}
	return Item[fc.CustomDomain]{Value: &it.Value.CustomDomain, ETag: it.ETag}, nil
}

// DeleteCustomDomain removes a custom domain.
func (s *Store) DeleteCustomDomain(ctx context.Context, name, ifMatch string) error {
	key := domainKey(name)
	_, rev, ok := lookup[domainRecord](s, key)
	if !ok {
		return fc.Errorf(http.StatusNotFound, fc.CodeDomainNameNotFound, "domain name '%s' does not exist", name)
	}
	if err := checkIfMatch(key, rev, ifMatch); err != nil {
		return err
	}
	if err := s.removeKey(ctx, key, rev, ifMatch); err != nil {
		return err
	}
	return nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
