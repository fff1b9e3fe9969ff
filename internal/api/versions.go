package api

import (
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request) error {
	var in fc.PublishVersionInput
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.store.PublishVersion(r.Context(), r.PathValue("service"), in.Description, ifMatch(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	dir := strings.ToUpper(r.URL.Query().Get("direction"))
	switch dir {
	case "":
		dir = "BACKWARD"
	case "BACKWARD", "FORWARD":
	default:
		return fc.InvalidArgument("direction %q is invalid: use BACKWARD or FORWARD", dir)
	}
	vs, next, err := s.store.Versions(r.PathValue("service"), p.Limit, p.StartKey, p.NextToken, dir == "FORWARD")
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []fc.Version{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Versions  []fc.Version `json:"versions"`
		NextToken string       `json:"nextToken,omitempty"`
		Direction string       `json:"direction"`
	}{vs, next, dir})
}

func (s *Server) deleteVersion(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteVersion(r.Context(), r.PathValue("service"), r.PathValue("version")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) createAlias(w http.ResponseWriter, r *http.Request) error {
	var in fc.Alias
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.CreateAlias(r.Context(), r.PathValue("service"), &in)
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) listAliases(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	as, next, err := s.store.ListAliases(r.PathValue("service"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Aliases   []*fc.Alias `json:"aliases"`
		NextToken string      `json:"nextToken,omitempty"`
	}{as, next})
}

func (s *Server) getAlias(w http.ResponseWriter, r *http.Request) error {
	it, err := s.store.Alias(r.PathValue("service"), r.PathValue("alias"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) updateAlias(w http.ResponseWriter, r *http.Request) error {
	var in fc.Alias
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	it, err := s.store.UpdateAlias(r.Context(), r.PathValue("service"), r.PathValue("alias"), &in, present, ifMatch(r))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteAlias(r.Context(), r.PathValue("service"), r.PathValue("alias"), ifMatch(r)); err != nil {
		return err
	}
	return noContent(w)
}
