//go:build linux

// Command testprog is the program the sandbox tests run inside instances. It
// is built static (CGO_ENABLED=0) by sandboxtest.BuildHelper. Its first
// argument selects what it does; attempts print one line, "ok ..." or
// "err ERRNO_NAME ...".
package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testprog MODE [ARGS]")
		os.Exit(2)
	}
	arg := func(i int) string {
		if len(os.Args) <= i {
			fmt.Fprintf(os.Stderr, "%s: missing argument %d\n", os.Args[1], i)
			os.Exit(2)
		}
		return os.Args[i]
	}
	switch os.Args[1] {
	case "hello":
		fmt.Println("hello")
		fmt.Fprintln(os.Stderr, "hello-err")
	case "exit":
		n, _ := strconv.Atoi(arg(2))
		os.Exit(n)
	case "kill-self":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		block()
	case "info":
		wd, _ := os.Getwd()
		host, _ := os.Hostname()
		fmt.Printf("args=%q\n", os.Args[2:])
		fmt.Printf("env=%q\n", os.Environ())
		fmt.Printf("dir=%s\n", wd)
		fmt.Printf("hostname=%s\n", host)
	case "hang":
		// Ignores SIGTERM: only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Println("ready")
		block()
	case "graceful":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		<-c
		fmt.Println("term")
	case "spawn", "spawn-exit", "daemon":
		// A child that carries a marker in its arguments, so that tests can
		// look for it among the host's processes.
		cmd := exec.Command("/proc/self/exe", "hang", arg(2))
		if os.Args[1] == "daemon" {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		if err := cmd.Start(); err != nil {
			fail("spawn", err)
		}
		fmt.Println("spawned")
		if os.Args[1] == "spawn" {
			block()
		}
	case "alloc":
		mb, _ := strconv.Atoi(arg(2))
		var keep [][]byte
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep))
	case "serve-unix", "serve-tcp":
		network := "tcp"
		if os.Args[1] == "serve-unix" {
			network = "unix"
		}
		l, err := net.Listen(network, arg(2))
		if err != nil {
			fail("listen", err)
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				fail("accept", err)
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "pong %s", line)
			}()
		}
	case "read":
		_, err := os.ReadFile(arg(2))
		result(err)
	case "write":
		result(os.WriteFile(arg(2), []byte("escaped\n"), 0o644))
	case "ls":
		ents, err := os.ReadDir(arg(2))
		if err != nil {
			result(err)
			return
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		fmt.Println("ok", strings.Join(names, " "))
	case "ps":
		ents, err := os.ReadDir("/proc")
		if err != nil {
			result(err)
			return
		}
		var pids []int
		for _, e := range ents {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, n)
			}
		}
		sort.Ints(pids)
		fmt.Println("ok", strings.Trim(fmt.Sprint(pids), "[]"))
	case "status":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			result(err)
			return
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			switch k {
			case "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
				out = append(out, k+"="+strings.Join(strings.Fields(v), ","))
			}
		}
		fmt.Println("ok", strings.Join(out, " "))
	case "mount":
		result(unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""))
	case "umount":
		result(unix.Unmount(arg(2), unix.MNT_DETACH))
	case "chroot":
		result(unix.Chroot("/tmp"))
	case "ptrace-child":
		// A child of the same user: without seccomp this is allowed.
		cmd := exec.Command("/proc/self/exe", "hang", "ptrace-target")
		if err := cmd.Start(); err != nil {
			fail("spawn", err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		result(ptraceAttach(cmd.Process.Pid))
	case "ptrace":
		n, _ := strconv.Atoi(arg(2))
		result(ptraceAttach(n))
	case "unshare":
		runtime.LockOSThread()
		flags := map[string]int{"user": unix.CLONE_NEWUSER, "net": unix.CLONE_NEWNET, "mount": unix.CLONE_NEWNS, "pid": unix.CLONE_NEWPID}[arg(2)]
		result(unix.Unshare(flags))
	case "clone-newuser":
		// clone(2) with a namespace flag, which unshare's rule does not cover.
		cmd := exec.Command("/proc/self/exe", "exit", "0")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		err := cmd.Run()
		result(err)
	case "setns":
		f, err := os.Open("/proc/1/ns/net")
		if err != nil {
			result(err)
			return
		}
		runtime.LockOSThread()
		result(unix.Setns(int(f.Fd()), unix.CLONE_NEWNET))
	case "clone3":
		// clone3 with an invalid size: EINVAL when the call is reached, ENOSYS
		// when seccomp answers (what glibc needs to fall back to clone).
		_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		result(errnoErr(e))
	case "raw-socket":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		result(err)
	case "packet-socket":
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err == nil {
			unix.Close(fd)
		}
		result(err)
	case "dial":
		c, err := net.Dial("tcp", arg(2))
		if err == nil {
			c.Close()
		}
		result(err)
	case "bpf":
		_, _, e := unix.Syscall(unix.SYS_BPF, 0, 0, 0)
		result(errnoErr(e))
	case "keyctl":
		_, _, e := unix.Syscall(unix.SYS_KEYCTL, 0, 0, 0)
		result(errnoErr(e))
	case "syscall":
		// A raw system call by number with up to 6 integer arguments; "pid"
		// stands for the program's own process ID. Prints "ok" when the call
		// returns, "err ERRNO" when it fails.
		nr, err := strconv.ParseInt(arg(2), 10, 64)
		if err != nil {
			fail("syscall number", err)
		}
		var a [6]uintptr
		if len(os.Args) > 3+len(a) {
			fail("syscall", errors.New("more than 6 arguments"))
		}
		for i, s := range os.Args[3:] {
			if s == "pid" {
				a[i] = uintptr(os.Getpid())
				continue
			}
			n, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				fail("syscall argument", err)
			}
			a[i] = uintptr(n)
		}
		runtime.LockOSThread()
		_, _, e := unix.RawSyscall6(uintptr(nr), a[0], a[1], a[2], a[3], a[4], a[5])
		result(errnoErr(e))
	case "cat":
		// The file's content, quoted, on one line.
		b, err := os.ReadFile(arg(2))
		if err != nil {
			result(err)
			return
		}
		fmt.Printf("ok %q\n", b)
	case "stat":
		// "ok char 1:3", "ok symlink /proc/self/fd", "ok dir", "ok file".
		var st unix.Stat_t
		if err := unix.Lstat(arg(2), &st); err != nil {
			result(err)
			return
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			fmt.Printf("ok char %d:%d\n", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFBLK:
			fmt.Printf("ok block %d:%d\n", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFLNK:
			target, err := os.Readlink(arg(2))
			if err != nil {
				result(err)
				return
			}
			fmt.Println("ok symlink", target)
		case unix.S_IFDIR:
			fmt.Println("ok dir")
		case unix.S_IFREG:
			fmt.Println("ok file")
		default:
			fmt.Printf("ok mode %o\n", st.Mode&unix.S_IFMT)
		}
	case "setuid":
		runtime.LockOSThread()
		_, _, e := unix.RawSyscall(unix.SYS_SETUID, 0, 0, 0)
		result(errnoErr(e))
	case "forkbomb":
		// Fork until the kernel refuses; the children stay.
		n := 0
		for {
			_, err := syscall.ForkExec("/usr/bin/sleep", []string{"sleep", "100000"}, &syscall.ProcAttr{})
			if err != nil {
				fmt.Printf("err %s after %d\n", name(err), n)
				block()
			}
			n++
		}
	case "filltmp":
		f, err := os.Create("/tmp/fill")
		if err != nil {
			fail("create", err)
		}
		buf := make([]byte, 1<<20)
		var total int64
		for {
			n, err := f.Write(buf)
			total += int64(n)
			if err != nil {
				fmt.Printf("err %s after %d\n", name(err), total)
				return
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func ptraceAttach(pid int) error {
	runtime.LockOSThread()
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_ATTACH, uintptr(pid), 0, 0, 0, 0)
	return errnoErr(e)
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func block() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	for {
		<-c
	}
}

func name(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return strconv.Itoa(int(e))
	}
	return strconv.Quote(err.Error())
}

func result(err error) {
	if err == nil {
		fmt.Println("ok")
		return
	}
	fmt.Println("err", name(err))
}

func fail(op string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", op, err)
	os.Exit(1)
}
