// Package linux is the sandbox.Driver for production: each instance runs in
// its own PID, mount, network, IPC, UTS and cgroup namespaces, under cgroup
// limits, seccomp, no_new_privs, no capabilities and an unprivileged uid, on
// a read-only root file system.
//
// # Start
//
// Driver.Start creates the instance's cgroup (memory limit with swap off,
// cpu shares, pids limit; v1 on hosts whose cgroup2 mount has no
// controllers, v2 otherwise, see cgroup_linux.go), then clones the init in
// new PID, IPC and UTS namespaces. The init is a small static C program
// (initc/init.c, embedded as initc/init.bin, run from a sealed memfd) chosen
// over re-executing the Go binary, whose runtime start adds about 1.5 ms to
// every cold start on the reference machine (BenchmarkInitExec,
// docs/BENCHMARKS.md). The init blocks reading its configuration from a
// pipe; the driver writes it only after placing the init in the cgroup (v1;
// on v2 CLONE_INTO_CGROUP places it at clone), so nothing runs outside the
// limits. The init then:
//   - enters a new cgroup namespace;
//   - takes its root file system from a template: the driver keeps, per
//     root file system, the mount namespace of a template init that built
//     the shared part of the root once (read-only binds of the host's /usr
//     and the /bin, /lib... links of a merged /usr, or of the entries of
//     Spec.RootFS; an /etc with a few read-only host entries such as
//     ld.so.cache and ssl, and generated passwd, group, hosts and
//     nsswitch.conf naming only the sandbox user; a read-only /dev tmpfs
//     with null, zero, full, random, urandom and tty bound from the host),
//     pivoted into it and remounted it read-only. The instance's init
//     setns()es into that namespace, unshares a private copy and adds its
//     own mounts: a fresh /proc; /tmp and /dev/shm as size-capped tmpfs
//     (Spec.TmpBytes; their pages count against the memory limit, so a full
//     /tmp is ENOSPC and never touches the host's disk); Spec.CodeDir
//     read-only at /code; Spec.Mounts read-only (on /opt or a folder of
//     Options.MountPoints, which the template has, or under /opt, on a
//     tmpfs of their own); Spec.SocketDir read-write at /run/openfc. Host
//     folders are attached with open_tree/move_mount, taken before leaving
//     the host's namespace. A Spec with another host name or a mount
//     elsewhere takes the slow path instead: the init builds the whole root
//     itself, pivots and detaches the old root (about 2 ms more: the detach
//     waits for an RCU grace period);
//   - joins a network namespace the driver made ahead of demand (a pool of
//     8, loopback up: creating one costs milliseconds, more while the
//     kernel tears down those of stopped instances) and sets the hostname;
//   - for a deferred Spec (Spec.Deferred: Start returns here, the program
//     comes with Exec), reports "set up" and blocks reading the program's
//     path, arguments, environment and folder from a second pipe (fd 8),
//     which Exec writes; nothing of the instance runs meanwhile, and Stop
//     SIGKILLs an init still waiting (it has no SIGTERM handler);
//   - forks the runtime, which drops the capability bounding, ambient and
//     inheritable sets, becomes Options.UID/GID (clearing the rest), sets
//     no_new_privs, installs the seccomp filter and execs Spec.Path;
//   - reports "running" (Start returns) or the set-up error (Start fails
//     with it), then stays PID 1: it reaps orphans, forwards SIGTERM and
//     friends to the runtime and, when the runtime ends, reports its wait
//     status and exits, which makes the kernel kill the whole namespace.
//
// # seccomp
//
// The filter (seccomp_linux.go, assembled once by New with
// github.com/elastic/go-seccomp-bpf) allows by default and returns EPERM
// for mount and friends, namespace calls and clone with CLONE_NEW* flags,
// ptrace and process_vm_*, kexec, modules, bpf, keyctl, perf_event_open,
// userfaultfd, io_uring, reboot, swapon and clock setting. clone3 returns
// ENOSYS (not EPERM) so that glibc falls back to clone, as Python and Node
// need; system calls of another ABI (i386 via int 0x80) kill the process.
//
// # Network
//
// Every instance has its own network namespace with loopback only
// (sandbox.NetworkNone). The platform reaches a runtime through the Unix
// socket in Spec.SocketDir, or, for a runtime listening on TCP, through
// Instance.Dial, which creates its socket inside the instance's namespace
// on a locked OS thread.
//
// sandbox.NetworkBridge (bridge_linux.go) adds eth0: one end of a veth pair
// whose other end is a port of a host bridge (Options.Bridge, "openfc0")
// in the namespace the node runs in. The bridge holds the gateway, the
// first address of Options.Subnet (10.99.0.0/16); each instance gets a
// /32 of it with an on-link route to the gateway and a default route
// through it, so that all its traffic, to other instances too, goes
// through the host's policy; the ports are also isolated (bridge port
// isolation), so no frame goes from one instance to another. The bridge
// gets a fixed MAC address (a bridge otherwise takes its ports' lowest,
// which changes as instances come and go) and no IPv6. IP forwarding is
// enabled in the node's namespace. An inet nftables table named after the
// bridge, replaced whole in one transaction, holds:
//   - postrouting: the subnet masqueraded behind the outgoing address;
//   - prerouting and forward: from the bridge, destinations of
//     Options.EgressAllow accepted, the nameservers of the instances'
//     resolv.conf accepted on port 53, then denied: private ranges
//     (10/8, 172.16/12, 192.168/16), shared address space (100.64/10),
//     link-local (169.254/16, metadata services), 0/8, 127/8, multicast
//     and above, and the other instances (in prerouting: once routed, the
//     kernel would send an ICMP redirect first, which rate-limits the
//     rejection); anything but IPv4 rejected; the rest (the Internet)
//     accepted. Towards the bridge only replies pass;
//   - input: from the bridge only replies, allowed destinations and DNS:
//     an instance reaches none of the node's addresses;
//   - output: no ICMP redirects to instances.
//
// Denied TCP connections are reset (ECONNREFUSED), anything else gets ICMP
// "administratively prohibited" (EHOSTUNREACH), so a denied connect fails
// at once. /etc/resolv.conf of every instance links to
// /run/resolvconf/resolv.conf, where bridge-mode instances get a copy of the
// host's (or, when the host's names only a local stub such as
// systemd-resolved's 127.0.0.53, of /run/systemd/resolve/resolv.conf);
// for the others it leads nowhere. A nameserver in a private range is
// reachable on port 53 only; a local-only stub leaves instances without DNS
// (logged). Other tables of the host still apply: one whose forward policy
// drops (Docker's) must accept the bridge's traffic.
//
// A pool of 8 namespaces, each with its veth and address configured, is
// filled ahead of demand (and refilled once the start that took a slot is
// done), so the cold path creates no veth. The bridge mode is set up in New
// when Options.Network is bridge, else on the first Start of a bridge Spec.
// When an instance ends, the driver drops its namespace: the kernel
// destroys it in the background, and with it eth0 and so the whole veth
// pair. Deleting the pair synchronously cost about 25 ms per stop and, by
// the RCU grace periods it leaves pending, about 9 ms on the next start's
// cgroup v1 placement (docs/BENCHMARKS.md). The address is reused only
// once that veth is gone, and the host's neighbour entry for it is
// dropped. New removes the veths attached to the bridge, the table and the
// bridge a previous run left; Close drops the pool's namespaces and
// removes the table and the bridge. Two nodes on one machine need
// different bridges and subnets.
//
// # Stop and clean-up
//
// Stop sends SIGTERM to the init (forwarded to the runtime) and SIGKILL when
// its context ends. Once the init is reaped the namespace is empty; the
// driver reads the cgroup's OOM kill count (Exit.OOMKilled), writes
// memory.force_empty and removes the cgroup. No host folder or mount is
// created per instance: all mounts live in the instance's mount namespace,
// and the templates in namespaces held only by the driver's file
// descriptors (Close frees them).
// The init gets PR_SET_PDEATHSIG, so sandboxes die with the node; New
// removes cgroups (and kills processes) left under Options.CgroupParent by
// a previous run.
//
// # Concurrency
//
// Driver and instances are safe for concurrent use. Each instance has one
// goroutine (supervise) that reads the init's reports, reaps it and cleans
// up; Stop and Wait wait for it. The driver owns one goroutine that fills
// the network namespace pool, stopped by Close. Dial and the pool switch
// network namespaces on locked OS threads; a thread that cannot switch back
// is discarded by the Go runtime. As PR_SET_PDEATHSIG follows the thread
// that cloned the init, that would kill sandboxes started from it: it does
// not happen short of a kernel failure.
//
// # Rootless
//
// With Options.Rootless, or when the node is not root, each init is cloned
// in a user namespace of its own that maps the node's user to root, and
// builds the whole root itself with its own network namespace (those made
// ahead belong to the node's user namespace); memory and CPU limits come
// only from a delegated cgroup v2 subtree (processes are capped by
// RLIMIT_NPROC, per instance), the bridge network is refused, and Dial
// gets its TCP sockets from the init. See rootless_linux.go.
//
// Requires root, or unprivileged user namespaces in the rootless mode.
// Imports sandbox only of openfc's.
package linux
