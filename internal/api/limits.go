package api

import (
	"net/http"
	"slices"
	"strings"

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

// limitsKeys are the keys a limits body may carry (lower case, as
// fc.Present holds them). Unlike FC's bodies, unknown keys are refused:
// a PUT replaces every limit, so a misspelt one would lift it silently.
var limitsKeys = map[string]bool{"invocationspersecond": true, "burst": true, "concurrentrequests": true, "maxinstances": true,
	"scope": true, "servicename": true, "functionname": true, "lastmodifiedtime": true}

func (s *Server) putLimits(w http.ResponseWriter, r *http.Request) error {
	var in fc.Limits
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	var unknown []string
	for k := range present {
		if !limitsKeys[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fc.InvalidArgument("unknown limits field(s) %s: use invocationsPerSecond, burst, concurrentRequests or maxInstances", strings.Join(unknown, ", "))
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
