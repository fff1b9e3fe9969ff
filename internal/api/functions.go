package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/store"
)

func functions(rs []*store.FunctionRecord) []*fc.Function {
	out := make([]*fc.Function, len(rs))
	for i, r := range rs {
		out[i] = &r.Function
	}
	return out
}

func (s *Server) createFunction(w http.ResponseWriter, r *http.Request) error {
	var in fc.FunctionInput
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.CreateFunction(r.Context(), r.PathValue("service"), &in, r.Header.Get("X-Fc-Code-Checksum"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, &it.Value.Function)
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	var rs []*store.FunctionRecord
	var next string
	if q == "" || q == "LATEST" {
		rs, next, err = s.store.ListFunctions(svc, p)
	} else {
		rs, next, err = s.store.VersionFunctions(svc, q, p)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Functions []*fc.Function `json:"functions"`
		NextToken string         `json:"nextToken,omitempty"`
	}{functions(rs), next})
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	fn := r.PathValue("function")
	if q == "" || q == "LATEST" {
		it, err := s.store.Function(svc, fn)
		if err != nil {
			return err
		}
		return writeItem(w, it.ETag, &it.Value.Function)
	}
	res, err := s.store.Resolve(svc, q, fn)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, &res.Function.Function)
}

func (s *Server) updateFunction(w http.ResponseWriter, r *http.Request) error {
	var in fc.FunctionInput
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	it, err := s.store.UpdateFunction(r.Context(), r.PathValue("service"), r.PathValue("function"), &in, present,
		ifMatch(r), r.Header.Get("X-Fc-Code-Checksum"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, &it.Value.Function)
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteFunction(r.Context(), r.PathValue("service"), r.PathValue("function"), ifMatch(r)); err != nil {
		return err
	}
	return noContent(w)
}

// codeURLLifetime is how long a GetFunctionCode link stays valid.
const codeURLLifetime = 30 * time.Minute

func (s *Server) getFunctionCode(w http.ResponseWriter, r *http.Request) error {
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	res, err := s.store.Resolve(svc, q, r.PathValue("function"))
	if err != nil {
		return err
	}
	sha := res.Function.CodeSHA256
	expires := s.now().Add(codeURLLifetime).Unix()
	base := s.endpoint
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	url := base + "/openfc/v1/code/" + sha + "?expires=" + strconv.FormatInt(expires, 10) +
		"&token=" + s.signCodeURL(sha, expires)
	return writeJSON(w, http.StatusOK, fc.GetFunctionCodeOutput{URL: url, Checksum: res.Function.CodeChecksum})
}

// downloadCode serves a code package through a link from GetFunctionCode;
// the link's token, not an FC signature, proves the caller may read it.
func (s *Server) downloadCode(w http.ResponseWriter, r *http.Request) error {
	sha := r.PathValue("sha")
	q := r.URL.Query()
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || !hmacEqual(q.Get("token"), s.signCodeURL(sha, expires)) {
		return fc.AccessDenied("the code download link is invalid: get a new one with GetFunctionCode")
	}
	if s.now().Unix() > expires {
		return fc.AccessDenied("the code download link expired: get a new one with GetFunctionCode")
	}
	data, err := s.store.CodePackage(r.Context(), sha)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	type instance struct {
		InstanceID string `json:"instanceId"`
		VersionID  string `json:"versionId"`
	}
	out := []instance{}
	if s.invoker == nil {
		if _, err := s.store.Resolve(svc, q, r.PathValue("function")); err != nil {
			return err
		}
	} else {
		ids, version, err := s.invoker.InstanceIDs(svc, q, r.PathValue("function"))
		if err != nil {
			return err
		}
		if version == "" {
			version = "LATEST"
		}
		for _, id := range ids {
			out = append(out, instance{InstanceID: id, VersionID: version})
		}
	}
	return writeJSON(w, http.StatusOK, struct {
		Instances []instance `json:"instances"`
	}{out})
}
