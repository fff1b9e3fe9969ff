package runtimes

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// Kind is the family of a runtime: how its process is started.
type Kind string

// The kinds of runtime.
const (
	// KindPython runs the embedded Python bootstrap on the node's Python 3.
	KindPython Kind = "python"
	// KindNodejs runs the embedded Node.js bootstrap on the node's Node.js.
	KindNodejs Kind = "nodejs"
	// KindCustom runs the user's /code/bootstrap, an HTTP server.
	KindCustom Kind = "custom"
	// KindGo runs the user's executable, which pulls invocations from the
	// runtime API (spec §6.6) through a platform shim.
	KindGo Kind = "go"
)

// Protocol is how the platform hands invocations to a runtime process.
type Protocol string

// The protocols.
const (
	// ProtocolHTTP: the platform sends FC custom-runtime HTTP requests
	// (POST /invoke, POST /initialize, GET /pre-stop, ...; spec §6.4).
	ProtocolHTTP Protocol = "http"
	// ProtocolRuntimeAPI: the process pulls invocations from the FC runtime
	// API at FC_RUNTIME_API (spec §6.6), which the platform serves.
	ProtocolRuntimeAPI Protocol = "runtime-api"
)

// Listen is where a runtime process accepts the platform's requests.
type Listen string

// The listen modes.
const (
	// ListenUnix: on the Unix socket named by FC_SERVER_SOCKET, which
	// appears once the process accepts connections.
	ListenUnix Listen = "unix"
	// ListenTCP: on 0.0.0.0:Port inside the instance's network namespace;
	// ready when a TCP connect succeeds.
	ListenTCP Listen = "tcp"
	// ListenNone: the process does not listen (ProtocolRuntimeAPI).
	ListenNone Listen = "none"
)

// Default interpreter paths and folders.
const (
	DefaultPython = "/usr/bin/python3"
	DefaultNode   = "/usr/bin/node"
	// DefaultBootstrapDir is where instances see the folder written by
	// WriteBootstrap.
	DefaultBootstrapDir = "/var/runtime"
	// DefaultCodeDir is the function's code folder inside an instance.
	DefaultCodeDir = "/code"
	// CustomPort is the port custom runtimes listen on (FC's caPort).
	CustomPort = 9000
)

// Runtime describes one FC runtime identifier. It is plain data; the
// zero value is not a runtime.
type Runtime struct {
	// Name is FC's runtime identifier, e.g. "python3.10".
	Name string
	// Kind is the runtime family.
	Kind Kind
	// Protocol is how the platform hands it invocations.
	Protocol Protocol
	// Listen is where the process accepts requests; Port is the TCP port
	// for ListenTCP.
	Listen Listen
	Port   int
	// Handler describes the handler string convention, e.g.
	// "module.function" (for messages and docs).
	Handler string
}

// registry holds every runtime openfc can run, by name. It is never
// modified after package initialisation.
var registry = func() map[string]Runtime {
	m := map[string]Runtime{}
	add := func(rt Runtime) { m[rt.Name] = rt }
	for _, name := range []string{"python3", "python3.9", "python3.10"} {
		add(Runtime{Name: name, Kind: KindPython, Protocol: ProtocolHTTP, Listen: ListenUnix, Handler: "module.function"})
	}
	for _, name := range []string{"nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20"} {
		add(Runtime{Name: name, Kind: KindNodejs, Protocol: ProtocolHTTP, Listen: ListenUnix, Handler: "file.export"})
	}
	for _, name := range []string{"custom", "custom.debian10"} {
		add(Runtime{Name: name, Kind: KindCustom, Protocol: ProtocolHTTP, Listen: ListenTCP, Port: CustomPort, Handler: "any (ignored)"})
	}
	// go1: the platform speaks the push protocol to a shim (on the Python
	// bootstrap) that serves the runtime API to the user's executable.
	add(Runtime{Name: "go1", Kind: KindGo, Protocol: ProtocolRuntimeAPI, Listen: ListenUnix, Handler: "executable name in the code folder"})
	return m
}()

// Lookup returns the runtime named name (FC's identifier, case-sensitive)
// and reports whether it exists.
func Lookup(name string) (Runtime, bool) {
	rt, ok := registry[name]
	return rt, ok
}

// All returns every runtime, sorted by name.
func All() []Runtime {
	out := make([]Runtime, 0, len(registry))
	for _, rt := range registry {
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b Runtime) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Interpreters are the node's language interpreters, as paths valid both
// on the host and inside instances (sandboxes mount the host's /usr). The
// zero value means the defaults, DefaultPython and DefaultNode.
type Interpreters struct {
	Python string
	Node   string
}

// PythonPath returns the Python interpreter's path.
func (ip Interpreters) PythonPath() string {
	if ip.Python != "" {
		return ip.Python
	}
	return DefaultPython
}

// NodePath returns the Node.js interpreter's path.
func (ip Interpreters) NodePath() string {
	if ip.Node != "" {
		return ip.Node
	}
	return DefaultNode
}

// Interpreter returns the path of the interpreter rt runs on, or "" for
// runtimes that run the user's own executable.
func (rt Runtime) Interpreter(ip Interpreters) string {
	switch rt.Kind {
	case KindPython, KindGo: // go1's shim runs on Python
		return ip.PythonPath()
	case KindNodejs:
		return ip.NodePath()
	}
	return ""
}

// ErrUnavailable is wrapped by the errors of Runtime.Check.
var ErrUnavailable = errors.New("runtimes: runtime not available on this node")

// Check reports, as an error wrapping ErrUnavailable, why rt cannot run on
// this node: its interpreter is not an executable file. It returns nil for
// runtimes that run the user's own executable. It checks the file system on
// every call; callers that check often should cache the result.
func (rt Runtime) Check(ip Interpreters) error {
	path := rt.Interpreter(ip)
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s needs %s: %w", ErrUnavailable, rt.Name, path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s needs %s, which is not an executable file", ErrUnavailable, rt.Name, path)
	}
	return nil
}
