package scheduler

import (
	"time"
)

// Spec is everything needed to run instances of one function version.
type Spec struct {
	Service   string
	Function  string
	Qualifier string // what the caller asked for, for FC_QUALIFIER
	VersionID string // "" for LATEST
	// Revision changes whenever the code or configuration changes; a new
	// revision gets a new pool and drains the old one.
	Revision string

	Runtime              string
	Handler              string
	Initializer          string
	InitTimeout          time.Duration
	Timeout              time.Duration
	PreStop              string
	PreStopTimeout       time.Duration
	MemoryBytes          int64
	Concurrency          int
	MaxInstances         int    // on-demand maximumInstanceCount; 0: none of its own
	CodeSHA256           string // code package
	LayerSHA256s         []string
	Env                  map[string]string // the user's environment variables
	CAPort               int
	CustomCommand        []string // customRuntimeConfig command+args
	InternetAccess       bool
	AccountID, Region    string
	LogProject, LogStore string
}

// functionKey names the pool of a function version as called through one
// qualifier (an instance's FC_QUALIFIER is fixed when it starts, so an
// alias and the version it points to have pools of their own; "" and
// LATEST are the same).
func (s *Spec) functionKey() string {
	v := s.VersionID
	if v == "" {
		v = "LATEST"
	}
	q := s.Qualifier
	if q == "" {
		q = "LATEST"
	}
	return s.Service + "/" + s.Function + "@" + v + "/" + q
}
