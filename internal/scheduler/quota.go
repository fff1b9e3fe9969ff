package scheduler

// SetMaxInstances sets the account's instance quota on this node (the
// account's flow-control limits can change it at run time). Instances
// above a lowered quota are not stopped: new ones wait for them to idle
// out.
func (s *Scheduler) SetMaxInstances(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.maxInstances = n
	s.mu.Unlock()
}

// MaxInstances returns the account's instance quota on this node.
func (s *Scheduler) MaxInstances() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInstances
}

// ProvisionStatus is what target tracking and GetProvisionConfig need of
// a function version's pool.
type ProvisionStatus struct {
	InFlight    int   // requests in flight
	Concurrency int   // slots per instance
	FillError   error // why the last provisioned instance failed to start
}

// ProvisionStatus returns the status of spec's pool (zero without one).
func (s *Scheduler) ProvisionStatus(spec *Spec) ProvisionStatus {
	s.mu.Lock()
	pe := s.pools[spec.functionKey()]
	s.mu.Unlock()
	st := ProvisionStatus{Concurrency: max(1, spec.Concurrency)}
	if pe == nil || pe.revision != spec.Revision {
		return st
	}
	st.InFlight = pe.pool.Stats().InFlight
	st.FillError = pe.pool.FillError()
	return st
}
