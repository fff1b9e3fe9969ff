package api

import (
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// limitsRoutes registers openfc's flow-control limits API (FC has no
// call for it): GET /openfc/v1/limits lists every limits set; PUT, GET
// and DELETE on .../limits/account, .../limits/services/{service} and
// .../limits/services/{service}/functions/{function} set, read and remove
// one scope's. A PUT replaces the scope's limits as a whole.
func (s *Server) limitsRoutes(h func(string, handlerFunc)) {
	const p = "/openfc/v1/limits"
	h("GET "+p, s.listLimits)
	for _, path := range []string{p + "/account", p + "/services/{service}", p + "/services/{service}/functions/{function}"} {
		h("PUT "+path, s.putLimits)
		h("GET "+path, s.getLimits)
		h("DELETE "+path, s.deleteLimits)
	}
}

func (s *Server) putLimits(w http.ResponseWriter, r *http.Request) error {
	var in fc.Limits
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.PutLimits(r.Context(), r.PathValue("service"), r.PathValue("function"), &in, ifMatch(r))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) getLimits(w http.ResponseWriter, r *http.Request) error {
	it, err := s.store.Limits(r.PathValue("service"), r.PathValue("function"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) deleteLimits(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteLimits(r.Context(), r.PathValue("service"), r.PathValue("function"), ifMatch(r)); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listLimits(w http.ResponseWriter, r *http.Request) error {
	ls := s.store.ListLimits()
	if ls == nil {
		ls = []*fc.Limits{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Limits []*fc.Limits `json:"limits"`
	}{ls})
}
