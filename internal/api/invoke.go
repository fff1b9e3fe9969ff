package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/invoke"
	"github.com/openfc/openfc/internal/queue"
)

// invokeFunction serves InvokeFunction (spec §3).
func (s *Server) invokeFunction(w http.ResponseWriter, r *http.Request) error {
	if s.invoker == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "this node does not run functions")
	}
	svc, q := fc.SplitQualifier(r.PathValue("service"))
	// A stateful invocation ID implies Async (as the Go SDK sets both).
	if strings.EqualFold(r.Header.Get("X-Fc-Invocation-Type"), "Async") || r.Header.Get("X-Fc-Stateful-Async-Invocation-Id") != "" {
		return s.invokeAsync(w, r, svc, q, r.PathValue("function"))
	}
	body, err := s.readBodyLimit(w, r, fc.MaxSyncPayloadBytes)
	if err != nil {
		return err
	}
	req := &invoke.Request{
		Service: svc, Qualifier: q, Function: r.PathValue("function"), RequestID: RequestID(r.Context()),
		Body: body, LogTail: strings.EqualFold(r.Header.Get("X-Fc-Log-Type"), "Tail"),
	}
	for k, v := range r.Header {
		if strings.HasPrefix(k, "X-Fc-Tracing-") || k == "X-Fc-Trace-Id" {
			if req.Tracing == nil {
				req.Tracing = http.Header{}
			}
			req.Tracing[k] = v
		}
	}
	res, err := s.invoker.Invoke(r.Context(), req)
	if err != nil {
		return err
	}
	h := w.Header()
	if res.ErrorType != "" {
		h.Set("X-Fc-Error-Type", res.ErrorType)
		h.Set("Content-Type", "application/json")
	} else {
		// Never application/json: the Node SDK would parse a result that
		// may not be JSON.
		h.Set("Content-Type", "application/octet-stream")
	}
	if req.LogTail {
		h.Set("X-Fc-Log-Result", base64.StdEncoding.EncodeToString(res.LogResult))
	}
	if res.VersionID != "" {
		h.Set("X-Fc-Invocation-Service-Version", res.VersionID)
	}
	h.Set("X-Fc-Code-Checksum", res.CodeChecksum)
	h.Set("X-Fc-Invocation-Duration", strconv.FormatInt(res.Duration.Milliseconds(), 10))
	h.Set("X-Openfc-Instance-Id", res.InstanceID)
	h.Set("X-Openfc-Cold-Start", strconv.FormatBool(res.Cold))
	if res.Cold {
		h.Set("X-Openfc-Init-Duration", strconv.FormatFloat(float64(res.InitDuration.Microseconds())/1000, 'f', 3, 64))
	}
	h.Set("Content-Length", strconv.Itoa(len(res.Body)))
	w.WriteHeader(http.StatusOK)
	w.Write(res.Body)
	return nil
}

// proxy serves HTTP-trigger calls.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) error {
	if s.http == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "this node does not run functions")
	}
	return s.http.ServeProxy(w, r)
}

// invokeAsync accepts an async invocation: 202 once JetStream stored it.
func (s *Server) invokeAsync(w http.ResponseWriter, r *http.Request, service, qualifier, function string) error {
	if s.queue == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "FunctionNotStarted", "this node does not take async invocations")
	}
	delay, err := AsyncDelay(r.Header)
	if err != nil {
		return err
	}
	body, err := s.readBodyLimit(w, r, fc.MaxAsyncPayloadBytes)
	if err != nil {
		return err
	}
	inv := queue.Invocation{Service: service, Qualifier: qualifier, Function: function,
		RequestID: RequestID(r.Context()), Fresh: true, Payload: body, Delay: delay,
		InvocationID: r.Header.Get("X-Fc-Stateful-Async-Invocation-Id")}
	if v := r.Header.Get("X-Fc-Stateful-Async-Invocation-Enable"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fc.InvalidArgument("X-Fc-Stateful-Async-Invocation-Enable %q is invalid: use true or false", v)
		}
		inv.Stateful = &on
	}
	id, err := s.queue.Submit(r.Context(), inv)
	if err != nil {
		return err
	}
	if id != "" {
		w.Header().Set("X-Fc-Stateful-Async-Invocation-Id", id)
	}
	// 202 and an empty body without a JSON content type (the Node SDK
	// expects '').
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// AsyncDelay reads x-fc-async-delay: whole seconds, 0 < d < 3600.
func AsyncDelay(h http.Header) (time.Duration, error) {
	v := h.Get("X-Fc-Async-Delay")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n >= 3600 {
		return 0, fc.InvalidArgument("x-fc-async-delay %q is invalid: use whole seconds from 1 to 3599", v)
	}
	return time.Duration(n) * time.Second, nil
}
