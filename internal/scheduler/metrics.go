package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	instancesByStateDesc = prometheus.NewDesc("openfc_instances_by_state",
		"Function instances by state: starting, idle, busy (at least one call running), and prestarted generic instances not yet given a function.",
		[]string{"state"}, nil)
	provisionedDesc = prometheus.NewDesc("openfc_instances_provisioned",
		"Live provisioned instances (kept warm by a provision config).", nil, nil)
	slotsDesc = prometheus.NewDesc("openfc_instance_slots",
		"Concurrency slots of the live instances (instanceConcurrency each).", nil, nil)
	slotUtilDesc = prometheus.NewDesc("openfc_instance_slot_utilization",
		"Taken slots over the slots of the live instances (0 when there are none).", nil, nil)
)

// stateCollector exports the instance gauges that need one consistent
// snapshot (a state breakdown, a ratio): Stats is taken once per scrape,
// never on the invocation path.
type stateCollector struct{ s *Scheduler }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- instancesByStateDesc
	ch <- provisionedDesc
	ch <- slotsDesc
	ch <- slotUtilDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(instancesByStateDesc, float64(st.Starting), "starting")
	gauge(instancesByStateDesc, float64(st.Instances-st.Busy), "idle")
	gauge(instancesByStateDesc, float64(st.Busy), "busy")
	gauge(instancesByStateDesc, float64(st.Generic), "prestarted")
	gauge(provisionedDesc, float64(st.Provisioned))
	gauge(slotsDesc, float64(st.Slots))
	util := 0.0
	if st.Slots > 0 {
		util = float64(st.InFlight) / float64(st.Slots)
	}
	gauge(slotUtilDesc, util)
}

// ProvisionedUsage is how many provisioned instances of one function
// version are up, for metering their time.
type ProvisionedUsage struct {
	Service, Function, Qualifier, VersionID string
	MemoryBytes                             int64
	Instances                               int
}

// ProvisionedUsage returns the pools that have provisioned instances up, with
// their counts. It takes each pool's lock briefly; call it from a ticker,
// not the invocation path.
func (s *Scheduler) ProvisionedUsage() []ProvisionedUsage {
	s.mu.Lock()
	entries := make([]*poolEntry, 0, len(s.pools))
	for _, pe := range s.pools {
		entries = append(entries, pe)
	}
	s.mu.Unlock()
	var out []ProvisionedUsage
	for _, pe := range entries {
		n := pe.pool.Stats().Provisioned
		if n == 0 {
			continue
		}
		sp := pe.spec
		out = append(out, ProvisionedUsage{Service: sp.Service, Function: sp.Function, Qualifier: sp.Qualifier,
			VersionID: sp.VersionID, MemoryBytes: sp.MemoryBytes, Instances: n})
	}
	return out
}
