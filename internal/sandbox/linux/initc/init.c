// init.c is PID 1 of an openfc sandbox (package internal/sandbox/linux).
//
// The Go driver starts it with clone(2) in new PID, mount, network, IPC and
// UTS namespaces, already limited by PR_SET_PDEATHSIG. The init then:
//
//  1. reads its whole configuration from fd 3 until EOF. The driver writes it
//     only after it has placed this process in the instance's cgroups, so
//     nothing of the instance runs outside them;
//  2. enters a new cgroup namespace and builds its root file system: either
//     it copies the mount namespace of a template (fd 5, record 'T'), whose
//     read-only root a template init built once, and adds the instance's own
//     mounts (/proc, /tmp, /code, ...); or it makes every mount private,
//     builds the whole root on a tmpfs from the mount operations it was
//     given, pivot_roots and remounts the root read-only. A template init
//     (record 'K') does the latter, reports and waits to be killed. Then it
//     joins the network namespace the driver made ahead (fd 6, record 'W')
//     or brings up the loopback of its own, and sets the hostname;
//  3. with record 'Z' (a deferred instance, prepared ahead of demand)
//     reports 'S' and waits for the runtime's own configuration on fd 8,
//     read until EOF: records 'P', 'A', 'E' and 'D' only, which replace
//     anything the first configuration said of the runtime;
//  4. forks the runtime, which drops every capability, sets no_new_privs,
//     becomes the unprivileged uid/gid, installs the seccomp filter (raw BPF
//     assembled by the driver) and execs;
//  5. stays as PID 1: reaps zombies, forwards termination signals to the
//     runtime and, when the runtime ends, reports its wait status and exits,
//     which makes the kernel kill everything left in the PID namespace.
//
// In the driver's rootless mode (record 'Y') the init was cloned in a new
// user namespace too, mapping the node's unprivileged user to root: it
// builds the whole root itself (a template's mount namespace belongs to
// another user namespace), keeps the flags the kernel locks on a bind of a
// host mount when it remounts it read-only, and leaves the supplementary
// groups alone (setgroups is denied). With record 'C' it also serves the
// driver on fd 7 (a SOCK_SEQPACKET socket): for each request byte, 4 or 6,
// it creates a TCP socket of that family in the instance's network
// namespace and sends it back (SCM_RIGHTS), since an unprivileged driver
// cannot enter that namespace to create it (Instance.Dial). Record 'N'
// sets RLIMIT_NPROC before the runtime is forked: without a pids cgroup it
// caps the instance's processes, counted per user per user namespace.
//
// Everything it has to say goes to fd 4 as records [kind u8][len u32][data]:
// 'E' a set-up error message (then it exits 1), 'S' set up and waiting
// for the runtime's configuration (deferred), 'R' the runtime has been
// exec'ed, 'X' the runtime's raw wait status (int32).
//
// Configuration records on fd 3 have the same framing; kinds are listed in
// config_linux.go. Build: go generate (see init_linux.go).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/statvfs.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONFIG_FD 3
#define REPORT_FD 4
#define TEMPLATE_FD 5
#define NETNS_FD 6
#define CONTROL_FD 7
#define DEFER_FD 8
#define MAX_ITEMS 4096

extern char **environ;

static char *root;
static char *hostname;
static char *dir = "/";
static char *path;
static char *argv_[MAX_ITEMS];
static int argc_;
static char *envp_[MAX_ITEMS];
static int envc_;
static unsigned char *filter;
static uint32_t filter_len;
static int loopback;
static int template_mode; // build the shared root, report, then wait to be killed
static int use_template;  // copy the mount namespace open on TEMPLATE_FD
static int use_netns;     // join the network namespace open on NETNS_FD
static int userns_mode;   // rootless: in a user namespace of our own
static int control = -1;  // CONTROL_FD when the driver asks for sockets
static int deferred;      // wait for the runtime's configuration on DEFER_FD
static uint32_t nproc;    // RLIMIT_NPROC of the instance, 0 for none
static uint32_t uid = 65534, gid = 65534;
static char *ops[MAX_ITEMS];
static uint32_t op_lens[MAX_ITEMS];
static int op_fds[MAX_ITEMS]; // detached copies of bind sources (template path), or -1
static int nops;

static void report(char kind, const void *data, uint32_t len) {
	unsigned char hdr[5];
	hdr[0] = (unsigned char)kind;
	memcpy(hdr + 1, &len, 4);
	// One write per record: the parent reads records atomically (< PIPE_BUF).
	unsigned char buf[5 + 1024];
	if (len > 1024) len = 1024;
	memcpy(buf, hdr, 5);
	memcpy(buf + 1, &len, 4);
	memcpy(buf + 5, data, len);
	ssize_t n;
	do {
		n = write(REPORT_FD, buf, 5 + len);
	} while (n < 0 && errno == EINTR);
}

static void fail(const char *fmt, ...) {
	char msg[900];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0) n = 0;
	if (n > (int)sizeof msg - 1) n = sizeof msg - 1;
	if (saved) n += snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	if (n > (int)sizeof msg - 1) n = sizeof msg - 1;
	report('E', msg, (uint32_t)n);
	_exit(1);
}

static unsigned char *read_all(int fd, size_t *len) {
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	if (!b) fail("config: malloc");
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
			if (!b) fail("config: realloc");
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) fail("config: read");
		if (r == 0) break;
		n += (size_t)r;
	}
	*len = n;
	return b;
}

// parse reads the records; string data is NUL-terminated in place by the
// driver (every string record ends with a NUL byte). With program set it
// reads a deferred runtime's configuration: its records only.
static void parse(unsigned char *b, size_t len, int program) {
	size_t i = 0;
	if (program) {
		path = NULL;
		dir = "/";
		argc_ = envc_ = 0;
	}
	while (i < len) {
		if (len - i < 5) {
			errno = 0;
			fail("config: short record");
		}
		char kind = (char)b[i];
		uint32_t n;
		memcpy(&n, b + i + 1, 4);
		i += 5;
		if (n > len - i) {
			errno = 0;
			fail("config: record %c too long", kind);
		}
		char *s = (char *)(b + i);
		if (program && kind != 'P' && kind != 'A' && kind != 'E' && kind != 'D') {
			errno = 0;
			fail("config: record %c in a runtime configuration", kind);
		}
		switch (kind) {
		case 'R': root = s; break;
		case 'H': hostname = s; break;
		case 'D': dir = s; break;
		case 'P': path = s; break;
		case 'A': if (argc_ < MAX_ITEMS - 1) argv_[argc_++] = s; break;
		case 'E': if (envc_ < MAX_ITEMS - 1) envp_[envc_++] = s; break;
		case 'F': filter = b + i; filter_len = n; break;
		case 'L': loopback = 1; break;
		case 'K': template_mode = 1; break;
		case 'T': use_template = 1; break;
		case 'W': use_netns = 1; break;
		case 'Y': userns_mode = 1; break;
		case 'C': control = CONTROL_FD; break;
		case 'Z': deferred = 1; break;
		case 'N': memcpy(&nproc, s, 4); break;
		case 'U': memcpy(&uid, s, 4); break;
		case 'G': memcpy(&gid, s, 4); break;
		case 'M':
			if (nops < MAX_ITEMS) {
				ops[nops] = s;
				op_lens[nops] = n;
				nops++;
			}
			break;
		default:
			errno = 0;
			fail("config: unknown record %c", kind);
		}
		i += n;
	}
	if (!root || (!path && !template_mode && !deferred)) {
		errno = 0;
		fail("config: root and path are required");
	}
}

static void mkdir_p(char *p, mode_t mode) {
	for (char *c = p + 1; *c; c++) {
		if (*c != '/') continue;
		*c = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST) fail("mkdir %s", p);
		*c = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST) fail("mkdir %s", p);
}

static void parent_dirs(char *p) {
	char *slash = strrchr(p, '/');
	if (!slash || slash == p) return;
	*slash = 0;
	mkdir_p(p, 0755);
	*slash = '/';
}

// field returns the idx-th NUL-separated field of op (or "" when absent).
static char *field(int op, int idx) {
	char *s = ops[op], *end = ops[op] + op_lens[op];
	for (int k = 0; k < idx; k++) {
		s += strlen(s) + 1;
		if (s >= end) return "";
	}
	return s;
}

// locked_flags are the mount flags of statvfs flags f that a mount in a
// user namespace must keep.
static unsigned long locked_flags(unsigned long f) {
	unsigned long m = 0;
	if (f & ST_NOSUID) m |= MS_NOSUID;
	if (f & ST_NODEV) m |= MS_NODEV;
	if (f & ST_NOEXEC) m |= MS_NOEXEC;
	if (f & ST_NOATIME) m |= MS_NOATIME;
	if (f & ST_NODIRATIME) m |= MS_NODIRATIME;
	if (f & ST_RELATIME) m |= MS_RELATIME;
	return m;
}

static void do_op(int op) {
	char full[4096];
	char *kind = field(op, 0);
	char *dst = field(op, 1);
	if (snprintf(full, sizeof full, "%s%s", root, dst) >= (int)sizeof full) {
		errno = ENAMETOOLONG;
		fail("op %s %s", kind, dst);
	}
	if (!strcmp(kind, "mkdir")) {
		mode_t mode = (mode_t)strtoul(field(op, 2), NULL, 8);
		mkdir_p(full, mode);
		if (chmod(full, mode) < 0) fail("chmod %s", dst);
	} else if (!strcmp(kind, "symlink")) {
		parent_dirs(full);
		if (symlink(field(op, 2), full) < 0 && errno != EEXIST) fail("symlink %s", dst);
	} else if (!strcmp(kind, "file")) {
		mode_t mode = (mode_t)strtoul(field(op, 2), NULL, 8);
		char *content = field(op, 3);
		parent_dirs(full);
		int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
		if (fd < 0) fail("create %s", dst);
		size_t n = strlen(content);
		if (write(fd, content, n) != (ssize_t)n) fail("write %s", dst);
		close(fd);
		if (chmod(full, mode) < 0) fail("chmod %s", dst);
	} else if (!strcmp(kind, "tmpfs")) {
		unsigned long flags = strtoul(field(op, 2), NULL, 10);
		mkdir_p(full, 0755);
		if (mount("tmpfs", full, "tmpfs", flags, field(op, 3)) < 0) fail("mount tmpfs %s", dst);
	} else if (!strcmp(kind, "proc")) {
		mkdir_p(full, 0555);
		if (mount("proc", full, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			fail("mount proc %s", dst);
	} else if (!strcmp(kind, "bind")) {
		char *src = field(op, 2);
		unsigned long flags = strtoul(field(op, 3), NULL, 10);
		int isfile = field(op, 4)[0] == 'f';
		if (isfile) {
			parent_dirs(full);
			int fd = open(full, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0 && errno != EEXIST) fail("create %s", dst);
			if (fd >= 0) close(fd);
		} else {
			mkdir_p(full, 0755);
		}
		if (op_fds[op] >= 0) {
			if (move_mount(op_fds[op], "", AT_FDCWD, full, MOVE_MOUNT_F_EMPTY_PATH) < 0)
				fail("attach %s on %s", src, dst);
			close(op_fds[op]);
		} else if (mount(src, full, NULL, MS_BIND, NULL) < 0) {
			fail("bind %s on %s", src, dst);
		}
		if (flags && mount(NULL, full, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
			// In a user namespace the kernel locks the nosuid, nodev,
			// noexec and atime flags of a host mount: keep them.
			struct statvfs sv;
			if (!userns_mode || errno != EPERM || statvfs(full, &sv) < 0) fail("remount %s", dst);
			flags |= locked_flags(sv.f_flag);
			if (mount(NULL, full, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) fail("remount %s", dst);
		}
	} else if (!strcmp(kind, "remount")) {
		unsigned long flags = strtoul(field(op, 2), NULL, 10);
		if (mount(NULL, full, NULL, MS_REMOUNT | flags, NULL) < 0) fail("remount %s", dst);
	} else {
		errno = 0;
		fail("unknown op %s", kind);
	}
}

static void loopback_up(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) fail("loopback socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("loopback flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("loopback up");
	close(s);
}

static void drop_privileges(void) {
	// Bounding set first (needs CAP_SETPCAP, which we still have).
	for (int c = 0; c <= 63; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) fail("drop capability %d", c);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail("clear ambient capabilities");
	// A user namespace made by an unprivileged user denies setgroups; the
	// driver's own groups stay (all that user's anyway).
	if (setgroups(0, NULL) < 0 && !(userns_mode && errno == EPERM)) fail("setgroups");
	if (setresgid(gid, gid, gid) < 0) fail("setresgid %u", gid);
	if (setresuid(uid, uid, uid) < 0) fail("setresuid %u", uid);
	// setresuid cleared the permitted and effective sets; the inheritable
	// set survives it and is not limited by the bounding set: clear it.
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) < 0) fail("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no_new_privs");
}

static void run_child(int execfd) {
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0) fail("setsid");
	if (chdir(dir) < 0) fail("chdir %s", dir);
	drop_privileges();
	if (filter) {
		struct sock_fprog prog = {
			.len = (unsigned short)(filter_len / sizeof(struct sock_filter)),
			.filter = (struct sock_filter *)filter,
		};
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) fail("seccomp");
	}
	argv_[argc_] = NULL;
	envp_[envc_] = NULL;
	if (argc_ == 0) {
		argv_[0] = path;
		argv_[1] = NULL;
	}
	environ = envp_;
	execvp(path, argv_);
	char msg[600];
	int n = snprintf(msg, sizeof msg, "exec %s: %s", path, strerror(errno));
	if (n > (int)sizeof msg - 1) n = sizeof msg - 1;
	if (write(execfd, msg, (size_t)n) < 0) {
		// Nothing left to tell anyone.
	}
	_exit(127);
}

// serve_socket answers one request on the control socket: a TCP socket
// of the requested family, or its errno as data. It returns 0 once the
// driver has closed its end.
static int serve_socket(void) {
	unsigned char req;
	ssize_t n = recv(control, &req, 1, MSG_DONTWAIT);
	if (n < 0) return errno == EAGAIN || errno == EINTR;
	if (n == 0) return 0;
	int s = socket(req == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int32_t err = s < 0 ? errno : 0;
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof err};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (s >= 0) {
		memset(&u, 0, sizeof u);
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &s, sizeof(int));
	}
	n = sendmsg(control, &msg, MSG_NOSIGNAL);
	if (s >= 0) close(s);
	return n >= 0 || errno == EAGAIN || errno == EINTR;
}

int main(void) {
	if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) return 1;
	size_t len;
	unsigned char *cfg = read_all(CONFIG_FD, &len);
	close(CONFIG_FD);
	for (int i = 0; i < MAX_ITEMS; i++) op_fds[i] = -1;
	parse(cfg, len, 0);
	if (control >= 0 && fcntl(control, F_SETFD, FD_CLOEXEC) < 0) fail("control socket");

	// The driver has placed us in the instance's cgroups: make them our root.
	if (!template_mode && unshare(CLONE_NEWCGROUP) < 0) fail("unshare cgroup namespace");
	if (use_template) {
		// The shared root, built once by a template init, pivoted and
		// read-only: take a private copy of its mount namespace and add
		// this instance's mounts.
		// Bind sources are host paths: take detached copies of them while
		// the host's mounts are still in view.
		for (int i = 0; i < nops; i++) {
			if (strcmp(field(i, 0), "bind")) continue;
			op_fds[i] = open_tree(AT_FDCWD, field(i, 2), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
			if (op_fds[i] < 0) fail("open %s", field(i, 2));
		}
		if (setns(TEMPLATE_FD, CLONE_NEWNS) < 0) fail("enter template mount namespace");
		close(TEMPLATE_FD);
		if (unshare(CLONE_NEWNS) < 0) fail("unshare mount namespace");
		if (chdir("/") < 0) fail("chdir /");
		root = ""; // ops are relative to the copied root now
		for (int i = 0; i < nops; i++) do_op(i);
	} else {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make mounts private");
		if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755") < 0)
			fail("mount root tmpfs");
		for (int i = 0; i < nops; i++) do_op(i);
	}
	if (use_netns) {
		// Made ahead by the driver, loopback already up.
		if (setns(NETNS_FD, CLONE_NEWNET) < 0) fail("enter network namespace");
		close(NETNS_FD);
	}
	if (loopback) loopback_up();
	if (hostname && sethostname(hostname, strlen(hostname)) < 0) fail("sethostname");
	if (!use_template) {
		if (chdir(root) < 0) fail("chdir root");
		if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root");
		if (umount2(".", MNT_DETACH) < 0) fail("detach old root");
		if (chdir("/") < 0) fail("chdir /");
		if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			fail("remount root read-only");
	}
	if (template_mode) {
		// The driver opens our mount namespace, then kills us.
		report('R', "", 0);
		for (;;) pause();
	}
	if (deferred) {
		// Ready ahead of demand: the runtime comes with the function.
		// Nothing of the instance runs meanwhile; the driver SIGKILLs an
		// instance that is never used.
		report('S', "", 0);
		unsigned char *prog = read_all(DEFER_FD, &len);
		close(DEFER_FD);
		parse(prog, len, 1);
		if (!path) {
			errno = 0;
			fail("config: the runtime's path is required");
		}
	}

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	if (nproc) {
		// Rootless without a pids cgroup: the kernel counts processes per
		// user per user namespace, and this namespace is the instance's.
		struct rlimit r = {nproc, nproc};
		if (setrlimit(RLIMIT_NPROC, &r) < 0) fail("setrlimit nproc %u", nproc);
	}
	int execpipe[2];
	if (pipe2(execpipe, O_CLOEXEC) < 0) fail("pipe");
	pid_t child = fork();
	if (child < 0) fail("fork");
	if (child == 0) {
		close(execpipe[0]);
		run_child(execpipe[1]);
	}
	close(execpipe[1]);
	char msg[600];
	ssize_t n;
	do {
		n = read(execpipe[0], msg, sizeof msg);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		report('E', msg, (uint32_t)n);
		_exit(1);
	}
	close(execpipe[0]);
	report('R', "", 0);

	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) fail("signalfd");
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = control, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0) continue;
		if (control >= 0 && pfd[1].revents) {
			if (!serve_socket()) {
				close(control);
				control = -1;
			}
		}
		if (!(pfd[0].revents & POLLIN)) continue;
		struct signalfd_siginfo info;
		if (read(sfd, &info, sizeof info) != (ssize_t)sizeof info) continue;
		int sig = (int)info.ssi_signo;
		if (sig == SIGCHLD) {
			int status;
			pid_t p;
			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				if (p == child) {
					int32_t st = status;
					report('X', &st, 4);
					// Exiting makes the kernel kill the rest of the namespace.
					_exit(0);
				}
			}
			continue;
		}
		switch (sig) {
		case SIGTERM: case SIGINT: case SIGHUP: case SIGQUIT:
		case SIGUSR1: case SIGUSR2: case SIGWINCH: case SIGCONT:
			kill(child, sig);
			break;
		default:
			break;
		}
	}
}
