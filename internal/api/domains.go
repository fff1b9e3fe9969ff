package api

import (
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

func (s *Server) createCustomDomain(w http.ResponseWriter, r *http.Request) error {
	var in fc.CustomDomain
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.CreateCustomDomain(r.Context(), &in)
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) listCustomDomains(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ds, next := s.store.ListCustomDomains(p)
	return writeJSON(w, http.StatusOK, struct {
		CustomDomains []*fc.CustomDomain `json:"customDomains"`
		NextToken     string             `json:"nextToken,omitempty"`
	}{ds, next})
}

func (s *Server) getCustomDomain(w http.ResponseWriter, r *http.Request) error {
	it, err := s.store.CustomDomain(r.PathValue("domain"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) updateCustomDomain(w http.ResponseWriter, r *http.Request) error {
	var in fc.CustomDomain
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	it, err := s.store.UpdateCustomDomain(r.Context(), r.PathValue("domain"), &in, present, ifMatch(r))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) deleteCustomDomain(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteCustomDomain(r.Context(), r.PathValue("domain"), ifMatch(r)); err != nil {
		return err
	}
	return noContent(w)
}
