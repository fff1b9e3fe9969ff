package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/openfc/openfc/internal/fc"
)

func (s *Server) publishLayerVersion(w http.ResponseWriter, r *http.Request) error {
	var in fc.LayerInput
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	l, err := s.store.PublishLayerVersion(r.Context(), r.PathValue("layer"), &in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) listLayers(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ls, next := s.store.ListLayers(p)
	if ls == nil {
		ls = []*fc.Layer{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Layers    []*fc.Layer `json:"layers"`
		NextToken string      `json:"nextToken,omitempty"`
	}{ls, next})
}

func (s *Server) listLayerVersions(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	start := int64(0)
	if v := r.URL.Query().Get("startVersion"); v != "" {
		if start, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fc.InvalidArgument("startVersion %q is not a number", v)
		}
	}
	ls, next, err := s.store.ListLayerVersions(r.PathValue("layer"), start, p.Limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Layers      []*fc.Layer `json:"layers"`
		NextVersion int64       `json:"nextVersion,omitempty"`
	}{ls, next})
}

func layerVersion(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, fc.InvalidArgument("layer version %q is invalid: use a number from 1", r.PathValue("version"))
	}
	return v, nil
}

func (s *Server) getLayerVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := layerVersion(r)
	if err != nil {
		return err
	}
	l, _, err := s.store.LayerVersion(r.PathValue("layer"), v)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) deleteLayerVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := layerVersion(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteLayerVersion(r.Context(), r.PathValue("layer"), v); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) getLayerByARN(w http.ResponseWriter, r *http.Request) error {
	arn, err := url.PathUnescape(r.PathValue("arn"))
	if err != nil {
		return fc.InvalidArgument("layer ARN %q is not URL-encoded correctly", r.PathValue("arn"))
	}
	l, err := s.store.LayerByARN(arn)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) putLayerACL(w http.ResponseWriter, r *http.Request) error {
	public, err := strconv.ParseBool(r.URL.Query().Get("public"))
	if err != nil {
		return fc.InvalidArgument("query parameter public must be true or false")
	}
	if err := s.store.SetLayerACL(r.Context(), r.PathValue("layer"), public); err != nil {
		return err
	}
	return noContent(w)
}
