package api

import (
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// tagResource and untagResource answer 200 with a JSON body, not 204: the
// Python SDK parses the body of these two calls.
func (s *Server) tagResource(w http.ResponseWriter, r *http.Request) error {
	var in fc.TagInput
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	if err := s.store.TagResource(r.Context(), &in); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"requestId": RequestID(r.Context())})
}

func (s *Server) untagResource(w http.ResponseWriter, r *http.Request) error {
	var in fc.UntagInput
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	if err := s.store.UntagResource(r.Context(), &in); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"requestId": RequestID(r.Context())})
}

func (s *Server) getResourceTags(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.Tags(r.URL.Query().Get("resourceArn"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) listTaggedResources(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	rs, next := s.store.TaggedResources(p)
	return writeJSON(w, http.StatusOK, struct {
		Resources []fc.Tags `json:"resources"`
		NextToken string    `json:"nextToken,omitempty"`
	}{rs, next})
}

func (s *Server) getAccountSettings(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, fc.AccountSettings{AvailableAZs: []string{s.region + "-a"}, DefaultRole: ""})
}

// getAccountConfigs answers the Node SDK's code-size query; values are
// strings, as FC sends them.
func (s *Server) getAccountConfigs(w http.ResponseWriter, r *http.Request) error {
	out := map[string]string{}
	for _, c := range r.URL.Query()["config"] {
		if c == "CodeSizeLimit" {
			out[c] = "104857600"
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// listReservedCapacities is a legacy FC call; openfc has none.
func (s *Server) listReservedCapacities(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"reservedCapacities": []any{}})
}
