package linux

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// limits are what an instance's cgroup enforces.
type limits struct {
	memoryBytes int64 // 0: none
	cpuShares   uint64
	pids        int64
}

// hierarchy creates instance cgroups: cgroup v1 (one folder per controller)
// or v2 (one folder).
type hierarchy interface {
	// create makes the cgroup of instance id with lim.
	create(id string, lim limits) (group, error)
	// leftovers lists the instance cgroups present (of a previous run).
	leftovers() ([]group, error)
	// version is 1 or 2.
	version() int
	// removeParent removes the parent cgroup; it fails while instance
	// cgroups remain.
	removeParent() error
}

// group is one instance's cgroup.
type group interface {
	// place moves pid (the init, before it runs anything) into the cgroup.
	place(pid int) error
	// intoFD returns a directory fd for CLONE_INTO_CGROUP, or -1 when
	// placement is done by place.
	intoFD() int
	// oomKills returns how many processes the kernel killed for going over
	// the memory limit.
	oomKills() (uint64, error)
	// kill SIGKILLs every process in the cgroup.
	kill() error
	// setCPULimit caps CPU time at cpus CPUs; 0 removes the cap.
	setCPULimit(cpus float64) error
	// remove deletes the cgroup; it must be empty.
	remove() error
	name() string
}

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// newHierarchy picks cgroup v2 when the unified mount at cgroupRoot has the
// memory, cpu and pids controllers, else v1 (memory, cpu, pids mounted
// under cgroupRoot). parent is relative to the node's own cgroup, or
// absolute from the hierarchy's root. force, when 1 or 2, skips detection.
func newHierarchy(parent string, force int) (hierarchy, error) {
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	join := func(ownPath string) string {
		if filepath.IsAbs(parent) {
			return filepath.Clean(parent)
		}
		return filepath.Join("/", ownPath, parent)
	}
	v2ok := false
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		f := strings.Fields(string(b))
		v2ok = contains(f, "memory") && contains(f, "cpu") && contains(f, "pids")
	}
	if force == 2 || (force == 0 && v2ok) {
		if !v2ok {
			return nil, errors.New("cgroup v2: memory, cpu and pids controllers not available")
		}
		return &v2{root: cgroupRoot, parent: join(own[""])}, nil
	}
	h := &v1{parents: map[cgroup1.Name]string{}}
	for _, n := range []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Pids} {
		p, ok := own[string(n)]
		if !ok {
			return nil, fmt.Errorf("cgroup v1: controller %s not mounted", n)
		}
		if _, err := os.Stat(filepath.Join(cgroupRoot, string(n))); err != nil {
			return nil, fmt.Errorf("cgroup v1: controller %s: %w", n, err)
		}
		h.parents[n] = join(p)
	}
	return h, nil
}

// ownCgroups reads /proc/self/cgroup: controller name → path ("" for v2).
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			m[c] = parts[2]
		}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// v1 is the cgroup v1 hierarchy: memory, cpu and pids controllers.
type v1 struct {
	parents map[cgroup1.Name]string // controller → parent path from its root
	// parentShares, when set, is written to the parent's cpu.shares once,
	// when the first instance cgroup has created the parent.
	parentShares uint64
	parentOnce   sync.Once
	parentErr    error
}

func (h *v1) version() int { return 1 }

func (h *v1) removeParent() error {
	var errs []error
	for n, p := range h.parents {
		if err := unix.Rmdir(filepath.Join(cgroupRoot, string(n), p)); err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (h *v1) subsystems() ([]cgroup1.Subsystem, error) {
	return []cgroup1.Subsystem{cgroup1.NewMemory(cgroupRoot), cgroup1.NewCpu(cgroupRoot), cgroup1.NewPids(cgroupRoot)}, nil
}

func (h *v1) path(id string) cgroup1.Path {
	return func(n cgroup1.Name) (string, error) {
		p, ok := h.parents[n]
		if !ok {
			return "", cgroup1.ErrControllerNotActive
		}
		return filepath.Join(p, id), nil
	}
}

func (h *v1) create(id string, lim limits) (group, error) {
	res := &specs.LinuxResources{
		CPU:  &specs.LinuxCPU{Shares: &lim.cpuShares},
		Pids: &specs.LinuxPids{Limit: &lim.pids},
	}
	if lim.memoryBytes > 0 {
		// memsw = limit: no swap.
		res.Memory = &specs.LinuxMemory{Limit: &lim.memoryBytes, Swap: &lim.memoryBytes}
	}
	// Claim the name first: cgroup1.New accepts an existing group.
	mem := filepath.Join(cgroupRoot, string(cgroup1.Memory), h.parents[cgroup1.Memory])
	if err := os.MkdirAll(mem, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	if err := os.Mkdir(filepath.Join(mem, id), 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	cg, err := cgroup1.New(h.path(id), res, cgroup1.WithHierarchy(h.subsystems))
	if err != nil {
		g := &v1group{h: h, id: id}
		_ = g.remove() // undo what was made; the create error says more
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	if h.parentShares > 0 {
		h.parentOnce.Do(func() {
			f := filepath.Join(cgroupRoot, string(cgroup1.Cpu), h.parents[cgroup1.Cpu], "cpu.shares")
			h.parentErr = os.WriteFile(f, []byte(strconv.FormatUint(h.parentShares, 10)), 0o644)
		})
		if h.parentErr != nil {
			g := &v1group{h: h, id: id, cg: cg}
			_ = g.remove() // the write error says more
			return nil, fmt.Errorf("set the CPU weight of the instances' cgroup: %w", h.parentErr)
		}
	}
	return &v1group{h: h, id: id, cg: cg}, nil
}

func (h *v1) leftovers() ([]group, error) {
	seen := map[string]bool{}
	var out []group
	for n, p := range h.parents {
		ents, err := os.ReadDir(filepath.Join(cgroupRoot, string(n), p))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list cgroups: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, &v1group{h: h, id: e.Name()})
			}
		}
	}
	return out, nil
}

type v1group struct {
	h  *v1
	id string
	cg cgroup1.Cgroup // nil for a leftover
}

func (g *v1group) name() string { return g.id }
func (g *v1group) intoFD() int  { return -1 }

func (g *v1group) dir(n cgroup1.Name) string {
	return filepath.Join(cgroupRoot, string(n), g.h.parents[n], g.id)
}

func (g *v1group) place(pid int) error {
	if err := g.cg.Add(cgroup1.Process{Pid: pid}); err != nil {
		return fmt.Errorf("place in cgroup %s: %w", g.id, err)
	}
	return nil
}

func (g *v1group) oomKills() (uint64, error) {
	return readKey(filepath.Join(g.dir(cgroup1.Memory), "memory.oom_control"), "oom_kill")
}

func (g *v1group) setCPULimit(cpus float64) error {
	quota := "-1"
	if cpus > 0 {
		quota = strconv.FormatInt(max(int64(cpus*cpuPeriod), 1000), 10)
	}
	dir := g.dir(cgroup1.Cpu)
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(cpuPeriod)), 0); err != nil {
		return fmt.Errorf("cpu limit of %s: %w", g.id, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(quota), 0); err != nil {
		return fmt.Errorf("cpu limit of %s: %w", g.id, err)
	}
	return nil
}

// cpuPeriod is the CFS period of CPU limits, in microseconds.
const cpuPeriod = 100000

func (g *v1group) kill() error {
	return killProcs(filepath.Join(g.dir(cgroup1.Pids), "cgroup.procs"))
}

func (g *v1group) remove() error {
	var errs []error
	// Move the memory still charged to the parent before removing the group.
	if err := os.WriteFile(filepath.Join(g.dir(cgroup1.Memory), "memory.force_empty"), []byte("0"), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("force_empty: %w", err))
	}
	for n := range g.h.parents {
		if err := rmdir(g.dir(n)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", g.id, err)
	}
	return nil
}

// v2 is the unified hierarchy.
type v2 struct {
	root   string // mount point
	parent string // from root
	// parentShares (in v1 shares) is written to the parent's cpu.weight
	// once, when the first instance cgroup has created the parent.
	parentShares uint64
	parentOnce   sync.Once
	parentErr    error
	// noLimits creates groups without controllers (tests on a unified
	// mount that has none: placement, kill and removal only).
	noLimits bool
}

func (h *v2) version() int { return 2 }

func (h *v2) removeParent() error {
	if err := unix.Rmdir(filepath.Join(h.root, h.parent)); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove cgroup %s: %w", h.parent, err)
	}
	return nil
}

func (h *v2) create(id string, lim limits) (group, error) {
	group := filepath.Join(h.parent, id)
	if _, err := os.Stat(filepath.Join(h.root, group)); err == nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, fs.ErrExist)
	}
	res := &cgroup2.Resources{
		CPU:  &cgroup2.CPU{Weight: ptr(sharesToWeight(lim.cpuShares))},
		Pids: &cgroup2.Pids{Max: lim.pids},
	}
	oomGroup := true
	if lim.memoryBytes > 0 {
		res.Memory = &cgroup2.Memory{Max: &lim.memoryBytes, Swap: ptr(int64(0)), OOMGroup: &oomGroup}
	} else {
		res.Memory = &cgroup2.Memory{OOMGroup: &oomGroup}
	}
	if h.noLimits {
		res = &cgroup2.Resources{}
	}
	m, err := cgroup2.NewManager(h.root, group, res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	if h.parentShares > 0 && !h.noLimits {
		h.parentOnce.Do(func() {
			f := filepath.Join(h.root, h.parent, "cpu.weight")
			h.parentErr = os.WriteFile(f, []byte(strconv.FormatUint(sharesToWeight(h.parentShares), 10)), 0o644)
		})
		if h.parentErr != nil {
			_ = m.Delete() // the write error says more
			return nil, fmt.Errorf("set the CPU weight of the instances' cgroup: %w", h.parentErr)
		}
	}
	g := &v2group{id: id, dir: filepath.Join(h.root, group), m: m, fd: -1}
	fd, err := unix.Open(g.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = g.remove() // the open error says more
		return nil, fmt.Errorf("open cgroup %s: %w", id, err)
	}
	g.fd = fd
	return g, nil
}

func (h *v2) leftovers() ([]group, error) {
	ents, err := os.ReadDir(filepath.Join(h.root, h.parent))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cgroups: %w", err)
	}
	var out []group
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, &v2group{id: e.Name(), dir: filepath.Join(h.root, h.parent, e.Name()), fd: -1})
		}
	}
	return out, nil
}

// sharesToWeight maps cgroup v1 cpu.shares (2-262144) onto cgroup v2
// cpu.weight (1-10000), as runc does.
func sharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 100
	}
	return 1 + ((shares-2)*9999)/262142
}

func ptr[T any](v T) *T { return &v }

type v2group struct {
	id  string
	dir string
	m   *cgroup2.Manager // nil for a leftover
	fd  int
}

func (g *v2group) name() string        { return g.id }
func (g *v2group) intoFD() int         { return g.fd }
func (g *v2group) place(pid int) error { return nil } // CLONE_INTO_CGROUP did it

func (g *v2group) oomKills() (uint64, error) {
	return readKey(filepath.Join(g.dir, "memory.events"), "oom_kill")
}

func (g *v2group) setCPULimit(cpus float64) error {
	v := "max " + strconv.Itoa(cpuPeriod)
	if cpus > 0 {
		v = fmt.Sprintf("%d %d", max(int64(cpus*cpuPeriod), 1000), cpuPeriod)
	}
	if err := os.WriteFile(filepath.Join(g.dir, "cpu.max"), []byte(v), 0); err != nil {
		return fmt.Errorf("cpu limit of %s: %w", g.id, err)
	}
	return nil
}

func (g *v2group) kill() error {
	err := os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Kernels before 5.14 have no cgroup.kill.
	return killProcs(filepath.Join(g.dir, "cgroup.procs"))
}

func (g *v2group) remove() error {
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	if err := rmdir(g.dir); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", g.id, err)
	}
	return nil
}

// rmdir removes a cgroup folder. EBUSY is retried a few times: a process
// that has just been reaped may still be on its way out of the cgroup.
func rmdir(dir string) error {
	var err error
	for range 1000 {
		err = unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			break
		}
		_ = unix.Nanosleep(&unix.Timespec{Nsec: 100_000}, nil) // 0.1 ms; an interrupted nap is fine
	}
	return fmt.Errorf("rmdir %s: %w", dir, err)
}

// killProcs SIGKILLs the processes listed in a cgroup.procs file.
func killProcs(file string) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill cgroup: %w", err)
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL) // it may be gone already
		}
	}
	return nil
}

// readKey reads "key value" lines (memory.oom_control, memory.events) and
// returns key's value; a missing file reads as 0.
func readKey(file, key string) (uint64, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read %s: %w", file, err)
			}
			return n, nil
		}
	}
	return 0, nil
}
