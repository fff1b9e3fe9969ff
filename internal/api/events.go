package api

import (
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// ossEvent receives an S3/OSS bucket notification for an oss trigger
// (trigger.OSS.ServeWebhook): the path names the trigger, the caller proves
// itself with the trigger's webhookToken or an FC signature.
func (s *Server) ossEvent(w http.ResponseWriter, r *http.Request) error {
	if s.oss == nil {
		return fc.Errorf(http.StatusServiceUnavailable, fc.CodeInternalServerError, "this node takes no async invocations")
	}
	res, err := s.oss.ServeWebhook(r, r.PathValue("service"), r.PathValue("function"), r.PathValue("trigger"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
