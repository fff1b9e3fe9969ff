package invoke

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the invocation path's Prometheus metrics. They are updated
// with pre-resolved label sets where possible: the warm path adds no map
// lookups beyond the client library's own.
type metrics struct {
	invocations  *prometheus.CounterVec   // service, function, qualifier, trigger, outcome
	duration     *prometheus.HistogramVec // service, function
	initDuration *prometheus.HistogramVec // service, function
	coldStarts   *prometheus.CounterVec   // service, function
	throttles    *prometheus.CounterVec   // service, function, code
}

// newMetrics returns the metrics registered on reg, or nil without a
// registry: nothing is counted then (--metrics=false).
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_invocations_total",
			Help: "Invocations that ran, by outcome: success, HandledInvocationError, UnhandledInvocationError.",
		}, []string{"service", "function", "qualifier", "trigger", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openfc_invocation_duration_seconds",
			Help:    "Time from the call to the instance to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"service", "function"}),
		initDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openfc_invocation_init_duration_seconds",
			Help:    "Cold starts: time to start the instance and run its initializer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
		}, []string{"service", "function"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_cold_starts_total",
			Help: "Invocations that started a new instance.",
		}, []string{"service", "function"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfc_throttles_total",
			Help: "Invocations refused for lack of capacity, by FC error code.",
		}, []string{"service", "function", "code"}),
	}
	reg.MustRegister(m.invocations, m.duration, m.initDuration, m.coldStarts, m.throttles)
	return m
}

// record counts one finished invocation.
func (m *metrics) record(req *Request, res *Result) {
	if m == nil {
		return
	}
	outcome := "success"
	if res.ErrorType != "" {
		outcome = res.ErrorType
	}
	trigger := "api"
	switch {
	case req.HTTP != nil:
		trigger = "http"
	case req.Async:
		trigger = "async"
	}
	q := req.Qualifier
	if q == "" {
		q = "LATEST"
	}
	m.invocations.WithLabelValues(req.Service, req.Function, q, trigger, outcome).Inc()
	m.duration.WithLabelValues(req.Service, req.Function).Observe(res.Duration.Seconds())
	if res.Cold {
		m.coldStarts.WithLabelValues(req.Service, req.Function).Inc()
		m.initDuration.WithLabelValues(req.Service, req.Function).Observe(res.InitDuration.Seconds())
	}
}
