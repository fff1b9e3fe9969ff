package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/meter"
)

// getUsage answers GET /openfc/v1/usage: aggregated usage grouped by
// account, service, function and qualifier (groupBy, comma-separated),
// per hour or day (interval), filtered by serviceName, functionName,
// qualifier and a time range (from, to: the periods overlapping [from, to)).
func (s *Server) getUsage(w http.ResponseWriter, r *http.Request) error {
	if s.meter == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "MeteringDisabled", "metering is switched off on this node (--metering=false)")
	}
	q := r.URL.Query()
	mq := meter.Query{AccountID: s.accountID, Service: q.Get("serviceName"), Function: q.Get("functionName"),
		Qualifier: q.Get("qualifier"), Interval: q.Get("interval")}
	switch mq.Interval {
	case "":
		mq.Interval = "day"
	case "hour", "day":
	default:
		return fc.InvalidArgument("interval %q: use hour or day", mq.Interval)
	}
	if g := q.Get("groupBy"); g != "" {
		for _, f := range strings.Split(g, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(meter.GroupFields, f) {
				return fc.InvalidArgument("groupBy %q: use some of %s", f, strings.Join(meter.GroupFields, ", "))
			}
			if !slices.Contains(mq.GroupBy, f) {
				mq.GroupBy = append(mq.GroupBy, f)
			}
		}
	}
	var err error
	if mq.From, mq.To, err = timeRange(q.Get("from"), q.Get("to"), s.now()); err != nil {
		return err
	}
	rep, err := s.meter.Query(r.Context(), mq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// listUsageRecords answers GET /openfc/v1/usage/records: the raw records
// (one per invocation and provisioned interval) in stream order, filtered
// by serviceName, functionName and a time range, a page at a time.
func (s *Server) listUsageRecords(w http.ResponseWriter, r *http.Request) error {
	if s.meter == nil {
		return fc.Errorf(http.StatusServiceUnavailable, "MeteringDisabled", "metering is switched off on this node (--metering=false)")
	}
	q := r.URL.Query()
	rq := meter.RecordQuery{AccountID: s.accountID, Service: q.Get("serviceName"), Function: q.Get("functionName")}
	var err error
	if rq.From, rq.To, err = timeRange(q.Get("from"), q.Get("to"), s.now()); err != nil {
		return err
	}
	if rq.Limit, rq.AfterSeq, err = pageParams(q.Get("limit"), q.Get("nextToken")); err != nil {
		return err
	}
	recs, next, err := s.meter.Records(r.Context(), rq)
	if err != nil {
		return err
	}
	out := fc.UsageRecords{Records: recs}
	if next > 0 {
		out.NextToken = strconv.FormatUint(next, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}
