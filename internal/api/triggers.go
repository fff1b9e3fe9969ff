package api

import (
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

func (s *Server) createTrigger(w http.ResponseWriter, r *http.Request) error {
	var in fc.Trigger
	if _, err := s.decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.store.CreateTrigger(r.Context(), r.PathValue("service"), r.PathValue("function"), &in)
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := s.store.ListTriggers(r.PathValue("service"), r.PathValue("function"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Triggers  []*fc.Trigger `json:"triggers"`
		NextToken string        `json:"nextToken,omitempty"`
	}{ts, next})
}

func (s *Server) getTrigger(w http.ResponseWriter, r *http.Request) error {
	it, err := s.store.Trigger(r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger"))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) updateTrigger(w http.ResponseWriter, r *http.Request) error {
	var in fc.Trigger
	present, err := s.decode(w, r, &in)
	if err != nil {
		return err
	}
	it, err := s.store.UpdateTrigger(r.Context(), r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger"),
		&in, present, ifMatch(r))
	if err != nil {
		return err
	}
	return writeItem(w, it.ETag, it.Value)
}

func (s *Server) deleteTrigger(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteTrigger(r.Context(), r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger"), ifMatch(r))
	if err != nil {
		return err
	}
	return noContent(w)
}
