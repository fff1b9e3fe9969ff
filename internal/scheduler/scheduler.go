package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/fnlog"
	"github.com/openfc/openfc/internal/pool"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
)

// Options configures a Scheduler.
type Options struct {
	Driver       sandbox.Driver
	Blobs        *blob.Store
	Interpreters runtimes.Interpreters
	// WorkDir holds per-instance folders and the runtimes' bootstraps.
	WorkDir string
	// MemoryBudget is the most memory (bytes) live instances may be given
	// in total; 0 means no budget.
	MemoryBudget int64
	// MaxInstances is the account's instance quota on this node; 0 means
	// 100 (FC's default regional quota).
	MaxInstances int
	// KeepAlive and MaxLifetime of instances; 0 means pool's defaults.
	KeepAlive   time.Duration
	MaxLifetime time.Duration
	// QueueTimeout is how long a call waits for a busy function's slot.
	QueueTimeout time.Duration
	// Prewarm is how many generic (python, nodejs) or deferred (custom,
	// go1) instances to keep ready per runtime kind, memory size and
	// network mode in use; 0 means 2, negative disables them.
	Prewarm int
	// CPULimit, when true, caps every instance at one CPU per 2 GB of
	// memory (CFS quota) once it is ready; drivers without caps ignore it.
	CPULimit bool
	// CodeWorkDir holds generic instances' own /code folders; it should be
	// on the file system of the code cache, so code is placed with hard
	// links. Default: WorkDir.
	CodeWorkDir string
	// Registerer receives the scheduler's metrics; nil keeps them
	// unexported.
	Registerer prometheus.Registerer
	// LogSink receives every line functions write; nil drops them.
	LogSink func(spec *Spec, instanceID string, line fnlog.Line)
	Logger  *slog.Logger
	// Network is the node's sandbox network mode (--sandbox-network):
	// NetworkBridge gives the instances of functions whose service has
	// internetAccess a network of their own (sandbox.NetworkBridge), and
	// keeps their pre-started instances apart; "" or NetworkNone gives every
	// instance loopback only.
	Network string
}

// Network modes of Options.Network.
const (
	NetworkNone   = string(sandbox.NetworkNone)
	NetworkBridge = string(sandbox.NetworkBridge)
)

// Scheduler runs the node's instances.
type Scheduler struct {
	driver       sandbox.Driver
	blobs        *blob.Store
	interpreters runtimes.Interpreters
	workDir      string
	budget       int64
	maxInstances int
	keepAlive    time.Duration
	maxLifetime  time.Duration
	queueTimeout time.Duration
	sink         func(*Spec, string, fnlog.Line)
	logger       *slog.Logger

	prewarm     int
	codeWorkDir string
	network     string
	bg          sync.WaitGroup // refills
	noDefer     atomic.Bool    // the driver cannot start deferred instances
	startFails  prometheus.Counter
	cpuLimit    bool

	// mu guards pools, draining, used, live, stocks and closed.
	mu    sync.Mutex
	pools map[string]*poolEntry // by function key
	// draining holds the pools taken out of pools while their busy
	// instances finish their calls (by function key), so Shutdown can cut
	// them short and InstanceIDs still lists their instances.
	draining map[*pool.Pool]string
	used     int64             // memory reserved by live, starting and generic instances
	live     int               // live and starting function instances (the quota)
	stocks   map[string]*stock // generic instances by genericKey
	closed   bool

	// bootMu guards boots and layers.
	bootMu sync.Mutex
	boots  map[string]string // runtime kind → bootstrap folder
	layers map[string]string // layer set → merged folder
}

type poolEntry struct {
	revision string
	pool     *pool.Pool
	spec     *Spec
}

// Errors returned by Acquire besides the pool's.
var (
	// ErrNoCapacity: the node's memory budget or instance quota is used up
	// by busy instances.
	ErrNoCapacity = errors.New("scheduler: node at capacity")
	// ErrBusy: the function is at its own instance limit and no slot
	// freed up in time.
	ErrBusy = pool.ErrBusy
)

// New returns a Scheduler.
func New(opts Options) (*Scheduler, error) {
	if opts.Driver == nil || opts.Blobs == nil || opts.WorkDir == "" {
		return nil, errors.New("scheduler: Driver, Blobs and WorkDir are required")
	}
	for _, d := range []string{"instances", "runtimes", "layers"} {
		p := filepath.Join(opts.WorkDir, d)
		// Folders of instances of a previous run are leftovers.
		if d == "instances" {
			os.RemoveAll(p)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("scheduler work dir: %w", err)
		}
	}
	switch opts.Network {
	case "", NetworkNone, NetworkBridge:
	default:
		return nil, fmt.Errorf("scheduler: network %q is neither none nor bridge", opts.Network)
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if opts.MaxInstances == 0 {
		opts.MaxInstances = 100
	}
	if opts.Prewarm == 0 {
		opts.Prewarm = 2
	}
	if opts.CodeWorkDir == "" {
		opts.CodeWorkDir = filepath.Join(opts.WorkDir, "code")
	}
	os.RemoveAll(opts.CodeWorkDir) // leftovers of a previous run
	if err := os.MkdirAll(opts.CodeWorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("scheduler code dir: %w", err)
	}
	sc := &Scheduler{driver: opts.Driver, blobs: opts.Blobs, interpreters: opts.Interpreters, workDir: opts.WorkDir,
		budget: opts.MemoryBudget, maxInstances: opts.MaxInstances, keepAlive: opts.KeepAlive,
		maxLifetime: opts.MaxLifetime, queueTimeout: opts.QueueTimeout, sink: opts.LogSink,
		logger: l.With("component", "scheduler"), pools: map[string]*poolEntry{}, draining: map[*pool.Pool]string{},
		prewarm: opts.Prewarm, codeWorkDir: opts.CodeWorkDir, cpuLimit: opts.CPULimit, network: opts.Network, stocks: map[string]*stock{},
		boots: map[string]string{}, layers: map[string]string{}}
	sc.startFails = prometheus.NewCounter(prometheus.CounterOpts{Name: "openfc_instance_start_failures_total",
		Help: "Instances that failed to start (sandbox or runtime)."})
	if reg := opts.Registerer; reg != nil {
		stat := func(f func(Stats) float64) func() float64 { return func() float64 { return f(sc.Stats()) } }
		reg.MustRegister(sc.startFails,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfc_instances", Help: "Live and starting function instances."},
				stat(func(s Stats) float64 { return float64(s.Instances) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfc_instances_busy", Help: "Instances with at least one call running."},
				stat(func(s Stats) float64 { return float64(s.Busy) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfc_instance_slots_used", Help: "Concurrency slots taken."},
				stat(func(s Stats) float64 { return float64(s.InFlight) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfc_instances_prestarted", Help: "Pre-started generic and deferred instances ready."},
				stat(func(s Stats) float64 { return float64(s.Generic) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openfc_instance_memory_bytes", Help: "Memory reserved by instances, against the node's budget."},
				stat(func(s Stats) float64 { return float64(s.MemoryBytes) })),
			stateCollector{sc},
		)
	}
	return sc, nil
}

// Lease is a slot of an instance, held for one invocation.
type Lease struct {
	slot *pool.Slot
	// Instance is the instance the call runs on.
	Instance *Instance
	// Cold reports whether the instance was started for this call, and
	// StartDuration how long that took.
	Cold          bool
	StartDuration time.Duration

	refill func()
}

// Release gives the slot back; healthy false stops the instance (timeout,
// crash, protocol error).
func (l *Lease) Release(healthy bool) {
	l.slot.Release(healthy)
	if l.refill != nil {
		// After a cold start's first call, not during it: refilling the
		// stock of generic instances competes for the CPU.
		l.refill()
	}
}

// Acquire returns a slot of an instance of spec, starting one if needed.
func (s *Scheduler) Acquire(ctx context.Context, spec *Spec) (*Lease, error) {
	p := s.poolFor(spec)
	slot, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	inst := slot.Instance().(*Instance)
	l := &Lease{slot: slot, Instance: inst, Cold: slot.Cold, StartDuration: slot.StartDuration}
	if slot.Cold {
		if rt, ok := runtimes.Lookup(spec.Runtime); ok {
			l.refill = func() { s.refillFor(spec, rt) }
		}
	}
	return l, nil
}

// poolFor returns the pool of spec's revision, draining pools of older
// revisions of the same function version.
func (s *Scheduler) poolFor(spec *Spec) *pool.Pool {
	key := spec.functionKey()
	s.mu.Lock()
	pe := s.pools[key]
	if pe != nil && pe.revision == spec.Revision {
		s.mu.Unlock()
		return pe.pool
	}
	old := pe
	pe = &poolEntry{revision: spec.Revision, spec: spec}
	pe.pool = pool.New(pool.Options{
		Concurrency:  spec.Concurrency,
		MaxInstances: spec.MaxInstances,
		Start: func(ctx context.Context) (pool.Instance, error) {
			return s.start(ctx, spec)
		},
		Stopped:      func(i pool.Instance) { s.release(i.(*Instance)) },
		KeepAlive:    s.keepAlive,
		MaxLifetime:  s.maxLifetime,
		QueueTimeout: s.queueTimeout,
		Logger:       s.logger,
	})
	s.pools[key] = pe
	if old != nil {
		// In-flight calls on the old revision finish; new calls get new
		// instances (ARCHITECTURE.md §3, updates).
		s.drainLocked(key, old.pool)
	}
	s.mu.Unlock()
	if old != nil {
		s.logger.Info("function changed, draining old instances", "function", key)
	}
	return pe.pool
}

// drainLocked drains a pool just taken out of s.pools in the background:
// idle instances stop now, busy ones when their calls end. s.mu must be
// held. Until the drain ends the pool is in s.draining, so that Shutdown
// stops what is left of it by its deadline rather than leaving instances
// running after the node stopped.
func (s *Scheduler) drainLocked(key string, p *pool.Pool) {
	s.draining[p] = key
	go func() {
		p.Drain(context.Background())
		s.mu.Lock()
		delete(s.draining, p)
		s.mu.Unlock()
	}()
}

// DrainUnrouted drains the pools whose spec routed reports false, and
// forgets them: when an alias stops routing a version (a rollback, a
// finished canary, a deleted alias), the instances started for it would
// otherwise hold memory and quota until their keep-alive ends, though no
// call reaches them any more. Calls in flight on them finish; a later
// call for such a spec (the alias routes the version again) gets a new
// pool. routed is called without the scheduler's lock held.
func (s *Scheduler) DrainUnrouted(routed func(*Spec) bool) {
	s.mu.Lock()
	entries := make(map[string]*poolEntry, len(s.pools))
	maps.Copy(entries, s.pools)
	s.mu.Unlock()
	for k, pe := range entries {
		if routed(pe.spec) {
			delete(entries, k)
		}
	}
	if len(entries) == 0 {
		return
	}
	s.mu.Lock()
	var gone []string
	for k, pe := range entries {
		// A pool replaced meanwhile (a new revision) is not this one.
		if s.pools[k] == pe && !s.closed {
			delete(s.pools, k)
			s.drainLocked(k, pe.pool)
			gone = append(gone, k)
		}
	}
	s.mu.Unlock()
	for _, k := range gone {
		s.logger.Info("version no longer routed by its alias, draining its instances", "function", k)
	}
}

// start reserves budget and quota, evicting idle instances of other
// functions when needed, then starts an instance.
func (s *Scheduler) start(ctx context.Context, spec *Spec) (*Instance, error) {
	rt, ok := runtimes.Lookup(spec.Runtime)
	if !ok {
		return nil, fmt.Errorf("runtime %q is not available on this node", spec.Runtime)
	}
	if inst := s.takeGeneric(spec, rt); inst != nil {
		// Its memory is reserved already; only the quota is charged.
		if err := s.reserve(spec, 0); err != nil {
			s.unreserveMemory(spec.MemoryBytes)
			stopQuietly(inst)
			return nil, err
		}
		if err := s.specialise(ctx, inst, spec, rt); err != nil {
			s.startFails.Inc()
			s.unreserve(spec.MemoryBytes)
			stopQuietly(inst)
			return nil, err
		}
		s.limitCPU(inst)
		return inst, nil
	}
	if err := s.reserve(spec, spec.MemoryBytes); err != nil {
		return nil, err
	}
	inst, err := s.startInstance(ctx, spec, modeFunction)
	if err != nil {
		s.startFails.Inc()
		s.unreserve(spec.MemoryBytes)
		return nil, err
	}
	s.limitCPU(inst)
	return inst, nil
}

// reserve charges mem bytes of the memory budget (0 for a generic
// instance, whose memory was charged when it was started) and one
// instance of the quota, evicting the least recently used idle instances
// while either is short. Both the memory budget and the quota evict: a
// node full of idle instances must still start provisioned or busy
// functions' instances.
func (s *Scheduler) reserve(spec *Spec, mem int64) error {
	for {
		s.mu.Lock()
		fitsMem := mem == 0 || s.budget == 0 || s.used+mem <= s.budget
		fitsQuota := s.live < s.maxInstances
		if fitsMem && fitsQuota {
			s.used += mem
			s.live++
			s.mu.Unlock()
			return nil
		}
		victim := s.lruIdleLocked(spec.functionKey())
		var spare *Instance
		if victim == nil && !fitsMem {
			spare = s.takeStockedLocked()
		}
		s.mu.Unlock()
		if spare != nil {
			// Pre-started instances only speed up cold starts: their
			// memory goes to a function that needs it now.
			s.logger.Warn("stopped a pre-started instance to make room", "function", spec.functionKey())
			discard(spare)
			continue
		}
		if victim == nil || !victim.EvictIdle() {
			if !fitsMem {
				return fmt.Errorf("%w: the memory budget is used by busy instances", ErrNoCapacity)
			}
			return fmt.Errorf("%w: the instance quota (%d) is used by busy instances", ErrNoCapacity, s.maxInstances)
		}
		s.logger.Warn("evicted an idle instance to make room", "function", spec.functionKey())
		// The evicted instance gives its memory back when it has stopped;
		// wait for that rather than overcommitting.
		if err := s.waitReleased(mem); err != nil {
			return err
		}
	}
}

// waitReleased waits briefly for an evicted instance's budget to return.
func (s *Scheduler) waitReleased(mem int64) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ok := (mem == 0 || s.budget == 0 || s.used+mem <= s.budget) && s.live < s.maxInstances
		s.mu.Unlock()
		if ok {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%w: evicted instance did not stop in time", ErrNoCapacity)
}

// lruIdleLocked returns the pool, other than except's, holding the least
// recently used idle instance; if there is none, except's own.
func (s *Scheduler) lruIdleLocked(except string) *pool.Pool {
	var best *pool.Pool
	var bestAt time.Time
	var own *pool.Pool
	for k, pe := range s.pools {
		at := pe.pool.OldestIdle()
		if at.IsZero() {
			continue
		}
		if k == except {
			own = pe.pool
			continue
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = pe.pool, at
		}
	}
	if best == nil {
		return own
	}
	return best
}

func (s *Scheduler) unreserveMemory(mem int64) {
	s.mu.Lock()
	s.used -= mem
	s.mu.Unlock()
}

func (s *Scheduler) unreserve(mem int64) {
	s.mu.Lock()
	s.used -= mem
	s.live--
	s.mu.Unlock()
}

func (s *Scheduler) release(inst *Instance) {
	if inst.released.CompareAndSwap(false, true) {
		s.unreserve(inst.spec.MemoryBytes)
	}
}

// Stats is a snapshot of the node's instances.
type Stats struct {
	Instances   int
	Busy        int
	InFlight    int
	Generic     int
	MemoryBytes int64
	Pools       int
	// Starting counts instances being started for a pool, Slots the slot
	// capacity of the live ones, Provisioned the live provisioned ones.
	Starting    int
	Slots       int
	Provisioned int
}

// Stats returns a snapshot.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	st := Stats{Instances: s.live, MemoryBytes: s.used, Pools: len(s.pools)}
	pools := make([]*pool.Pool, 0, len(s.pools))
	for _, pe := range s.pools {
		pools = append(pools, pe.pool)
	}
	for _, g := range s.stocks {
		st.Generic += len(g.ready)
	}
	s.mu.Unlock()
	for _, p := range pools {
		ps := p.Stats()
		st.Busy += ps.Busy
		st.InFlight += ps.InFlight
		st.Starting += ps.Starting
		st.Slots += ps.Slots
		st.Provisioned += ps.Provisioned
	}
	return st
}

// InstanceIDs returns the live instances of a function version, whatever
// qualifier started them.
func (s *Scheduler) InstanceIDs(service, function, versionID string) []string {
	if versionID == "" {
		versionID = "LATEST"
	}
	prefix := service + "/" + function + "@" + versionID + "/"
	s.mu.Lock()
	var pools []*pool.Pool
	for k, pe := range s.pools {
		if strings.HasPrefix(k, prefix) {
			pools = append(pools, pe.pool)
		}
	}
	// Instances still finishing calls after their pool was drained are
	// live too.
	for p, k := range s.draining {
		if strings.HasPrefix(k, prefix) {
			pools = append(pools, p)
		}
	}
	s.mu.Unlock()
	var ids []string
	for _, p := range pools {
		ids = append(ids, p.Instances()...)
	}
	return ids
}

// Shutdown stops every instance.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	pools := make([]*pool.Pool, 0, len(s.pools))
	for _, pe := range s.pools {
		pools = append(pools, pe.pool)
	}
	for p := range s.draining {
		pools = append(pools, p)
	}
	s.pools = map[string]*poolEntry{}
	s.closed = true
	var generics []*Instance
	for _, st := range s.stocks {
		generics = append(generics, st.ready...)
		st.ready = nil
	}
	s.mu.Unlock()
	s.bg.Wait()
	var wg sync.WaitGroup
	for _, g := range generics {
		wg.Go(func() { g.sb.Stop(ctx); removeDirs(g) })
	}
	for _, p := range pools {
		wg.Go(func() { p.Drain(ctx) })
	}
	wg.Wait()
	return nil
}

// bootstrapDir writes a runtime kind's bootstrap once per node.
func (s *Scheduler) bootstrapDir(ctx context.Context, rt runtimes.Runtime) (string, error) {
	s.bootMu.Lock()
	defer s.bootMu.Unlock()
	if d, ok := s.boots[string(rt.Kind)]; ok {
		return d, nil
	}
	d := filepath.Join(s.workDir, "runtimes", string(rt.Kind))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("bootstrap folder: %w", err)
	}
	if _, err := runtimes.WriteBootstrap(ctx, d, rt, s.interpreters); err != nil {
		return "", fmt.Errorf("write bootstrap: %w", err)
	}
	s.boots[string(rt.Kind)] = d
	return d, nil
}

// layersDir returns a folder holding the merged layers (earlier layers win
// on conflicts, as FC's /opt), built once per node and layer set with hard
// links into the unpacked layers.
func (s *Scheduler) layersDir(ctx context.Context, shas []string) (string, error) {
	h := sha256.Sum256([]byte(strings.Join(shas, ",")))
	name := hex.EncodeToString(h[:16])
	s.bootMu.Lock()
	defer s.bootMu.Unlock()
	if d, ok := s.layers[name]; ok {
		return d, nil
	}
	d := filepath.Join(s.workDir, "layers", name)
	tmp := d + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	for _, sha := range shas {
		src, err := s.blobs.Unpack(ctx, sha)
		if err != nil {
			return "", fmt.Errorf("unpack layer: %w", err)
		}
		if err := linkTree(src, tmp); err != nil {
			return "", fmt.Errorf("merge layer: %w", err)
		}
	}
	os.RemoveAll(d)
	if err := os.Rename(tmp, d); err != nil {
		return "", err
	}
	s.layers[name] = d
	return d, nil
}

// linkTree hard-links src's files into dst, keeping files already there.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if _, err := os.Lstat(target); err == nil {
			return nil // an earlier layer has it
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		default:
			if err := os.Link(p, target); err == nil {
				return nil
			}
			// Across file systems: copy.
			return copyFile(p, target, d)
		}
	})
}

func (s *Scheduler) logSink(inst *Instance) fnlog.Sink {
	if s.sink == nil {
		return nil
	}
	return func(l fnlog.Line) { s.sink(inst.logSpec.Load(), inst.id, l) }
}

func copyFile(src, dst string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Provision keeps n instances of spec warm (provisioned instances); 0
// releases them to the keep-alive.
func (s *Scheduler) Provision(spec *Spec, n int) {
	s.poolFor(spec).SetMin(n)
}

// KeepProvisioned releases to the keep-alive the provisioned instances of
// every pool but keep's (the specs whose provision configs ask for
// instances now). A provision config on an alias provisions the pool of
// the alias's main version; when the alias moves to another version, the
// config provisions the new version's pool and nothing else would ever
// lower the old pool's minimum, whose instances would stay warm (and be
// metered) for good. The same holds for pools of an old revision's spec
// or of a qualifier that no longer resolves. Pools are per qualifier, so
// two aliases on one version never share one: each keeps its own.
func (s *Scheduler) KeepProvisioned(keep []*Spec) {
	want := make(map[string]bool, len(keep))
	for _, sp := range keep {
		want[sp.functionKey()] = true
	}
	s.mu.Lock()
	var release []*pool.Pool
	for k, pe := range s.pools {
		if !want[k] {
			release = append(release, pe.pool)
		}
	}
	s.mu.Unlock()
	for _, p := range release {
		if p.Min() > 0 {
			p.SetMin(0)
		}
	}
}

// Provisioned returns how many of spec's provisioned instances are up.
func (s *Scheduler) Provisioned(spec *Spec) int {
	s.mu.Lock()
	pe := s.pools[spec.functionKey()]
	s.mu.Unlock()
	if pe == nil || pe.revision != spec.Revision {
		return 0
	}
	return min(pe.pool.Stats().Instances, pe.pool.Min())
}

// cpuLimiter is what the scheduler needs of a driver's instances to cap
// their CPU (the linux driver's have it).
type cpuLimiter interface{ SetCPULimit(cpus float64) error }

// limitCPU applies the strict CPU cap to a ready instance: one CPU per
// 2 GB of memory, as FC sizes instances. It is applied only now, never
// while the instance starts, which a cap would slow down.
func (s *Scheduler) limitCPU(inst *Instance) {
	if !s.cpuLimit {
		return
	}
	l, ok := inst.sb.(cpuLimiter)
	if !ok {
		return
	}
	cpus := float64(inst.spec.MemoryBytes) / float64(2<<30)
	if err := l.SetCPULimit(cpus); err != nil {
		s.logger.Warn("cpu limit not applied", "instance", inst.id, "err", err)
	}
}
