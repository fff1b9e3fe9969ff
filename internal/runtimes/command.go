package runtimes

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// CommandOptions say where things are inside the instance. Every path is
// as the runtime process sees it.
type CommandOptions struct {
	// Interpreters are the node's interpreters.
	Interpreters Interpreters
	// BootstrapDir is the folder WriteBootstrap wrote, as mounted in the
	// instance; default DefaultBootstrapDir.
	BootstrapDir string
	// CodeDir is the function's code folder; default DefaultCodeDir.
	CodeDir string
	// Socket is the Unix socket path the runtime listens on; required for
	// ListenUnix runtimes, ignored by others.
	Socket string
	// Handler is the function's handler; go1 runs it as the executable
	// name in CodeDir. The bootstraps take the handler from each request's
	// x-fc-function-handler header and use this only as a fallback.
	Handler string
	// InstanceConcurrency is the function's instanceConcurrency; 0 means 1.
	InstanceConcurrency int
	// RuntimeAPI is the host:port of the runtime-API shim, required by
	// ProtocolRuntimeAPI runtimes.
	RuntimeAPI string
}

// Command is how to start a runtime process.
type Command struct {
	// Args is the program (an absolute path) and its arguments.
	Args []string
	// Env holds the KEY=value variables the runtime itself needs: where it
	// listens, where the code is, search paths. The platform adds FC's
	// system variables (spec §6.7) and the function's own.
	Env []string
}

// ErrOptions is wrapped by the errors of Runtime.Command.
var ErrOptions = errors.New("runtimes: missing command option")

// Command returns the command that starts rt's process in an instance.
// It fails, with an error wrapping ErrOptions, when an option rt needs is
// missing.
func (rt Runtime) Command(o CommandOptions) (Command, error) {
	boot := o.BootstrapDir
	if boot == "" {
		boot = DefaultBootstrapDir
	}
	code := o.CodeDir
	if code == "" {
		code = DefaultCodeDir
	}
	if rt.Listen == ListenUnix && o.Socket == "" {
		return Command{}, fmt.Errorf("%w: %s listens on a Unix socket: Socket is empty", ErrOptions, rt.Name)
	}
	env := []string{
		"FC_FUNC_CODE_PATH=" + code,
		"PATH=" + strings.Join([]string{code, code + "/bin", "/opt/bin", "/usr/local/bin", "/usr/bin", "/bin"}, ":"),
		"LD_LIBRARY_PATH=" + strings.Join([]string{code, code + "/lib", "/usr/local/lib", "/opt/lib"}, ":"),
	}
	if o.Handler != "" {
		env = append(env, "FC_FUNCTION_HANDLER="+o.Handler)
	}
	if o.InstanceConcurrency > 1 {
		env = append(env, "FC_INSTANCE_CONCURRENCY="+strconv.Itoa(o.InstanceConcurrency))
	}
	switch rt.Listen {
	case ListenUnix:
		env = append(env, "FC_SERVER_SOCKET="+o.Socket)
	case ListenTCP:
		port := strconv.Itoa(rt.Port)
		env = append(env, "FC_SERVER_PORT="+port, "FC_CUSTOM_LISTEN_PORT="+port)
	}
	switch rt.Kind {
	case KindPython:
		// -B: never write .pyc files (code is read-only; the bootstrap's
		// .pyc is written by WriteBootstrap). The bootstrap is imported,
		// not run as a script, so that Python uses its precompiled .pyc.
		return Command{
			Args: []string{o.Interpreters.PythonPath(), "-B", "-c",
				"import sys;sys.path.insert(0,sys.argv[1]);import openfc_bootstrap;openfc_bootstrap.main()",
				boot},
			Env: env,
		}, nil
	case KindNodejs:
		env = append(env, "NODE_PATH=/opt/nodejs/node_modules")
		return Command{Args: []string{o.Interpreters.NodePath(), path.Join(boot, nodeBootstrap)}, Env: env}, nil
	case KindCustom:
		return Command{Args: []string{path.Join(code, "bootstrap")}, Env: env}, nil
	case KindGo:
		if o.Handler == "" || o.RuntimeAPI == "" {
			return Command{}, fmt.Errorf("%w: %s needs Handler and RuntimeAPI", ErrOptions, rt.Name)
		}
		env = append(env, "FC_RUNTIME_API="+o.RuntimeAPI)
		return Command{
			Args: []string{o.Interpreters.PythonPath(), "-B", "-c",
				"import sys;sys.path.insert(0,sys.argv[1]);import openfc_go1;openfc_go1.main()",
				boot},
			Env: env,
		}, nil
	}
	return Command{}, fmt.Errorf("runtimes: %q has unknown kind %q", rt.Name, rt.Kind)
}
