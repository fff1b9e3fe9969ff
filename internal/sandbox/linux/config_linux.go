package linux

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Record kinds of the init's configuration (fd 3) and report (fd 4), framed
// as [kind u8][length u32, native order][data]. String data ends with a NUL.
const (
	recRoot     = 'R' // host folder the new root is mounted on
	recHostname = 'H'
	recDir      = 'D' // working directory of the runtime
	recPath     = 'P' // program of the runtime
	recArg      = 'A' // one argument, in order
	recEnv      = 'E' // one KEY=value
	recFilter   = 'F' // seccomp filter, struct sock_filter[]
	recLoopback = 'L' // bring lo up
	recUID      = 'U' // u32
	recGID      = 'G' // u32
	recMount    = 'M' // one root file system operation, see op
	recTemplate = 'K' // build the shared root, report, wait to be killed
	recUseTmpl  = 'T' // copy the template mount namespace open on fd 5
	recUseNet   = 'W' // join the network namespace open on fd 6
	recUserns   = 'Y' // rootless: the init is in a user namespace of its own
	recControl  = 'C' // serve TCP sockets of the instance's network on fd 7
	recNproc    = 'N' // u32: RLIMIT_NPROC of the instance (rootless)
	recDeferred = 'Z' // set up, report repSetUp, read the program's records on fd 8

	repError   = 'E' // set-up failed: message
	repRunning = 'R' // the runtime has been exec'ed
	repSetUp   = 'S' // deferred: set up, waiting for the program on fd 8
	repExit    = 'X' // the runtime's wait status, int32
)

// op is one step of building the root file system, run by the init in
// order, with paths relative to the new root.
type op struct {
	kind   string // mkdir, symlink, file, tmpfs, proc, bind
	dst    string
	fields []string
}

func (o op) encode() string {
	return strings.Join(append([]string{o.kind, o.dst}, o.fields...), "\x00")
}

func mkdirOp(dst string, mode uint32) op {
	return op{"mkdir", dst, []string{strconv.FormatUint(uint64(mode), 8)}}
}
func symlinkOp(target, dst string) op { return op{"symlink", dst, []string{target}} }
func fileOp(dst string, mode uint32, content string) op {
	return op{"file", dst, []string{strconv.FormatUint(uint64(mode), 8), content}}
}
func tmpfsOp(dst string, flags uintptr, data string) op {
	return op{"tmpfs", dst, []string{strconv.FormatUint(uint64(flags), 10), data}}
}
func procOp(dst string) op { return op{"proc", dst, nil} }

// remountOp changes the flags of the mount on dst.
func remountOp(dst string, flags uintptr) op {
	return op{"remount", dst, []string{strconv.FormatUint(uint64(flags), 10)}}
}

// bindOp binds host path src on dst, then remounts it with flags (0 keeps
// the source's flags).
func bindOp(src, dst string, flags uintptr, file bool) op {
	kind := "d"
	if file {
		kind = "f"
	}
	return op{"bind", dst, []string{src, strconv.FormatUint(uint64(flags), 10), kind}}
}

// initConfig is what the init is told.
type initConfig struct {
	root     string
	hostname string
	dir      string
	path     string
	args     []string
	env      []string
	filter   []byte
	loopback bool
	uid, gid uint32
	ops      []op
	template bool   // this init builds a template
	useTmpl  bool   // this init copies a template
	useNet   bool   // this init joins a network namespace made ahead
	userns   bool   // rootless: this init is in a user namespace of its own
	control  bool   // this init serves sockets on fd 7 (rootless Dial)
	nproc    uint32 // RLIMIT_NPROC, 0 for none (rootless)
	deferred bool   // this init waits for its program (encodeProgram) on fd 8
}

// records writes the init's framed records.
type records struct {
	b   bytes.Buffer
	bad []string // strings holding a NUL byte
}

func (r *records) rec(kind byte, data []byte) {
	r.b.WriteByte(kind)
	_ = binary.Write(&r.b, binary.NativeEndian, uint32(len(data))) // a bytes.Buffer does not fail
	r.b.Write(data)
}

func (r *records) str(kind byte, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		r.bad = append(r.bad, strconv.Quote(s))
	}
	r.rec(kind, append([]byte(s), 0))
}

// encodeProgram encodes what a deferred init runs: only its path,
// arguments, environment and working directory.
func encodeProgram(path string, args, env []string, dir string) ([]byte, error) {
	var r records
	r.str(recPath, path)
	r.str(recDir, dir)
	for _, a := range args {
		r.str(recArg, a)
	}
	for _, e := range env {
		r.str(recEnv, e)
	}
	if len(r.bad) > 0 {
		return nil, fmt.Errorf("encode program: NUL byte in %s", strings.Join(r.bad, ", "))
	}
	if len(args) > 4000 || len(env) > 4000 {
		return nil, fmt.Errorf("encode program: more than 4000 arguments or variables")
	}
	return r.b.Bytes(), nil
}

func (c *initConfig) encode() ([]byte, error) {
	var b bytes.Buffer
	rec := func(kind byte, data []byte) {
		b.WriteByte(kind)
		_ = binary.Write(&b, binary.NativeEndian, uint32(len(data))) // a bytes.Buffer does not fail
		b.Write(data)
	}
	var bad []string
	str := func(kind byte, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			bad = append(bad, strconv.Quote(s))
		}
		rec(kind, append([]byte(s), 0))
	}
	u32 := func(kind byte, v uint32) {
		var d [4]byte
		binary.NativeEndian.PutUint32(d[:], v)
		rec(kind, d[:])
	}
	str(recRoot, c.root)
	if c.path != "" {
		str(recPath, c.path)
	}
	str(recDir, c.dir)
	if c.template {
		rec(recTemplate, nil)
	}
	if c.useTmpl {
		rec(recUseTmpl, nil)
	}
	if c.useNet {
		rec(recUseNet, nil)
	}
	if c.userns {
		rec(recUserns, nil)
	}
	if c.control {
		rec(recControl, nil)
	}
	if c.deferred {
		rec(recDeferred, nil)
	}
	if c.hostname != "" {
		str(recHostname, c.hostname)
	}
	for _, a := range c.args {
		str(recArg, a)
	}
	for _, e := range c.env {
		str(recEnv, e)
	}
	if len(c.filter) > 0 {
		rec(recFilter, c.filter)
	}
	if c.loopback {
		rec(recLoopback, nil)
	}
	if c.nproc > 0 {
		u32(recNproc, c.nproc)
	}
	u32(recUID, c.uid)
	u32(recGID, c.gid)
	for _, o := range c.ops {
		if strings.IndexByte(o.dst, 0) >= 0 {
			bad = append(bad, strconv.Quote(o.dst))
		}
		for _, f := range o.fields {
			if strings.IndexByte(f, 0) >= 0 {
				bad = append(bad, strconv.Quote(f))
			}
		}
		rec(recMount, append([]byte(o.encode()), 0))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("encode init config: NUL byte in %s", strings.Join(bad, ", "))
	}
	if len(c.args) > 4000 || len(c.env) > 4000 || len(c.ops) > 4000 {
		return nil, fmt.Errorf("encode init config: more than 4000 arguments, variables or mounts")
	}
	return b.Bytes(), nil
}
