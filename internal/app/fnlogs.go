package app

import (
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/scheduler"
)

// startFunctionLogs starts the store of function log lines, unless
// function-logs is off (then a.logs stays nil and lines only feed
// X-Fc-Log-Result).
func (a *App) startFunctionLogs() error {
	if !a.cfg.FunctionLogs.Enabled {
		return nil
	}
	s, err := fnlog.NewStore(fnlog.StoreOptions{Conn: a.broker.Conn, BufferLines: a.cfg.FunctionLogs.Buffer,
		Registerer: a.registry, Logger: a.logger})
	if err != nil {
		return err
	}
	s.Start()
	a.logs = s
	return nil
}

// logSink is the scheduler's LogSink: it hands every line of a function
// instance to the store (never blocking).
func (a *App) logSink() func(*scheduler.Spec, string, fnlog.Line) {
	if a.logs == nil {
		return nil
	}
	store := a.logs
	return func(spec *scheduler.Spec, instanceID string, l fnlog.Line) {
		if spec == nil || spec.Service == "" {
			return // a generic instance not yet specialised: runtime start-up only
		}
		version, qualifier := spec.VersionID, spec.Qualifier
		if version == "" {
			version = "LATEST"
		}
		if qualifier == "" {
			qualifier = "LATEST"
		}
		store.Add(fnlog.Record{Time: l.Time, Service: spec.Service, Function: spec.Function, Qualifier: qualifier,
			Version: version, InstanceID: instanceID, RequestID: l.RequestID, Stream: l.Stream, Message: l.Text})
	}
}
