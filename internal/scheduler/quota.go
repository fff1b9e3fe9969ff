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
