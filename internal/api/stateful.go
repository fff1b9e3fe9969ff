package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/queue"
)

// Stateful async invocations (spec §2.9) and openfc's dead-letter view.

func (s *Server) needQueue() error {
	if s.queue == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "this node does not take async invocations")
	}
	return nil
}

func (s *Server) getStatefulInvocation(w http.ResponseWriter, r *http.Request) error {
	if err := s.needQueue(); err != nil {
		return err
	}
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	inv, err := s.queue.GetStateful(r.Context(), svc, q, r.PathValue("function"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inv)
}

func (s *Server) stopStatefulInvocation(w http.ResponseWriter, r *http.Request) error {
	if err := s.needQueue(); err != nil {
		return err
	}
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	if _, err := s.queue.StopStateful(r.Context(), svc, q, r.PathValue("function"), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

// epochMs reads an optional epoch-milliseconds query value.
func epochMs(q map[string][]string, name string) (int64, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fc.InvalidArgument("%s %q is invalid: use epoch milliseconds", name, v)
	}
	return n, nil
}

var statefulStatuses = map[string]bool{
	fc.StatefulEnqueued: true, fc.StatefulRunning: true, fc.StatefulSucceeded: true, fc.StatefulFailed: true,
	fc.StatefulStopping: true, fc.StatefulStopped: true, fc.StatefulExpired: true, fc.StatefulInvalid: true,
	fc.StatefulRetrying: true,
}

func (s *Server) listStatefulInvocations(w http.ResponseWriter, r *http.Request) error {
	if err := s.needQueue(); err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	if p.Limit > fc.MaxListLimit {
		return fc.InvalidArgument("limit %d is invalid: use a number from 1 to %d", p.Limit, fc.MaxListLimit)
	}
	q := r.URL.Query()
	svc, qual := fc.SplitQualifier(r.PathValue("service"))
	f := queue.StatefulFilter{Service: svc, Qualifier: qual, Function: r.PathValue("function"),
		Status: q.Get("status"), IDPrefix: q.Get("invocationIdPrefix"), Limit: p.Limit, NextToken: p.NextToken}
	if f.Status != "" && !statefulStatuses[f.Status] {
		return fc.InvalidArgument("status %q is invalid: use one of Enqueued, Running, Succeeded, Failed, Stopping, Stopped, Expired, Invalid, Retrying", f.Status)
	}
	if f.StartedBegin, err = epochMs(q, "startedTimeBegin"); err != nil {
		return err
	}
	if f.StartedEnd, err = epochMs(q, "startedTimeEnd"); err != nil {
		return err
	}
	switch o := strings.ToLower(q.Get("sortOrderByTime")); o {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return fc.InvalidArgument("sortOrderByTime %q is invalid: use asc or desc", o)
	}
	if v := q.Get("includePayload"); v != "" {
		if f.IncludePayload, err = strconv.ParseBool(v); err != nil {
			return fc.InvalidArgument("includePayload %q is invalid: use true or false", v)
		}
	}
	invs, next, err := s.queue.ListStateful(r.Context(), f)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []*fc.StatefulAsyncInvocation{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Invocations []*fc.StatefulAsyncInvocation `json:"invocations"`
		NextToken   string                        `json:"nextToken,omitempty"`
	}{invs, next})
}

// deadFilter reads the dead-letter selection: serviceName, functionName and
// ids (comma-separated) from the query.
func deadFilter(r *http.Request) (queue.DeadFilter, error) {
	q := r.URL.Query()
	f := queue.DeadFilter{Service: q.Get("serviceName"), Function: q.Get("functionName"), NextToken: q.Get("nextToken")}
	if f.Function != "" && f.Service == "" {
		return f, fc.InvalidArgument("functionName needs serviceName")
	}
	if ids := q.Get("ids"); ids != "" {
		for _, v := range strings.Split(ids, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil || n == 0 {
				return f, fc.InvalidArgument("dead letter ID %q is invalid", v)
			}
			f.IDs = append(f.IDs, n)
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > fc.MaxListLimit {
			return f, fc.InvalidArgument("limit %q is invalid: use a number from 1 to %d", l, fc.MaxListLimit)
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	if err := s.needQueue(); err != nil {
		return err
	}
	f, err := deadFilter(r)
	if err != nil {
		return err
	}
	dls, next, err := s.queue.ListDeadLetters(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		DeadLetters []fc.DeadLetter `json:"deadLetters"`
		NextToken   string          `json:"nextToken,omitempty"`
	}{dls, next})
}

// redriveDeadLetters enqueues the selected dead letters again. Without a
// selection it refuses, so that a bare POST cannot redrive everything by
// accident: all=true asks for that.
func (s *Server) redriveDeadLetters(w http.ResponseWriter, r *http.Request) error {
	f, err := s.deadSelection(r)
	if err != nil {
		return err
	}
	done, err := s.queue.RedriveDeadLetters(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Redriven []fc.DeadLetter `json:"redriven"`
	}{done})
}

// deadSelection reads the dead letters a redrive or purge acts on. Without
// a selection it refuses, so that a bare POST or DELETE cannot act on
// every dead letter by accident: all=true asks for that.
func (s *Server) deadSelection(r *http.Request) (queue.DeadFilter, error) {
	if err := s.needQueue(); err != nil {
		return queue.DeadFilter{}, err
	}
	f, err := deadFilter(r)
	if err != nil {
		return f, err
	}
	if f.Service == "" && len(f.IDs) == 0 && r.URL.Query().Get("all") != "true" {
		return f, fc.InvalidArgument("name dead letters with ids or serviceName, or pass all=true")
	}
	return f, nil
}

func (s *Server) purgeDeadLetters(w http.ResponseWriter, r *http.Request) error {
	f, err := s.deadSelection(r)
	if err != nil {
		return err
	}
	n, err := s.queue.PurgeDeadLetters(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Purged int `json:"purged"`
	}{n})
}

// listStatefulFunctions answers ListStatefulAsyncInvocationFunctions: the
// function qualifiers whose async config turns stateful invocations on.
func (s *Server) listStatefulFunctions(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	if p.Limit > fc.MaxListLimit {
		return fc.InvalidArgument("limit %d is invalid: use a number from 1 to %d", p.Limit, fc.MaxListLimit)
	}
	cs, next := s.store.ListStatefulAsyncFunctions(p)
	type fn struct {
		ServiceName  string `json:"serviceName"`
		Qualifier    string `json:"qualifier"`
		FunctionName string `json:"functionName"`
	}
	out := make([]fn, 0, len(cs))
	for _, c := range cs {
		out = append(out, fn{c.Service, c.Qualifier, c.Function})
	}
	return writeJSON(w, http.StatusOK, struct {
		Data      []fn   `json:"data"`
		NextToken string `json:"nextToken,omitempty"`
	}{out, next})
}
