package api

import (
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	var in fc.Service
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.CreateService(r.Context(), &in)
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	var tags map[string]string
	for k, v := range r.URL.Query() {
		if t, ok := strings.CutPrefix(k, "tag_"); ok && len(v) > 0 {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[t] = v[0]
		}
	}
	svcs, next := s.store.ListServices(p, tags)
	return writeJSON(w, http.StatusOK, struct {
		Services  []*fc.Service `json:"services"`
		NextToken string        `json:"nextToken,omitempty"`
	}{svcs, next})
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	name, q := fc.SplitQualifier(r.PathValue("service"))
	if q == "" || q == "LATEST" {
		it, err := s.store.Service(name)
		if err != nil {
			return err
		}
		return writeItem(w, it.ETag, it.Value)
	}
	res, err := s.store.Resolve(name, q, "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res.Service)
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	var in fc.Service
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	it, err := s.store.UpdateService(r.Context(), r.PathValue("service"), &in, present, ifMatch(r))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteService(r.Context(), r.PathValue("service"), ifMatch(r)); err != nil {
		return err
	}
	return noContent(w)
}
