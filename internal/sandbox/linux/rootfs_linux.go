package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
)

// Mount flags of the parts of the root file system.
const (
	roFlags  = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV
	rwFlags  = unix.MS_NOSUID | unix.MS_NODEV
	devFlags = unix.MS_NOSUID | unix.MS_NOEXEC
)

// systemDirs are the host's top-level folders a sandbox sees read-only (or as
// the same symbolic links: Debian's /usr is merged).
var systemDirs = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// hostEtc are the entries of the host's /etc a sandbox sees read-only:
// the dynamic linker's cache, certificates, time zone, MIME types, the
// alternatives some /usr/bin links go through, and Python's site files.
var hostEtc = []string{
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates",
	"ca-certificates.conf", "localtime", "timezone", "mime.types", "alternatives",
	"python3", "os-release",
}

// generatedEtc are written by the driver, never taken from the host or the
// runtime root file system.
var generatedEtc = map[string]bool{"passwd": true, "group": true, "hosts": true, "hostname": true, "nsswitch.conf": true, "resolv.conf": true}

// resolvMount is where bridge-mode instances get a folder holding a copy of
// the host's resolv.conf; /etc/resolv.conf links there.
const resolvMount = "/run/resolvconf"

// devices are bound from the host's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// defaultHostname is the host name of an instance whose Spec has none.
const defaultHostname = "openfc"

// sharedOps build the part of a root file system that is the same for
// every instance on rootfs (the host's /usr when ""): system folders, /etc,
// /dev, and the empty mount points instanceOps mounts on. A template init
// runs them once per rootfs; see init.c.
func (d *Driver) sharedOps(rootfs string) ([]op, error) {
	var ops []op
	if rootfs == "" {
		for _, name := range systemDirs {
			o, ok, err := mirror("/"+name, "/"+name)
			if err != nil {
				return nil, err
			}
			if ok {
				ops = append(ops, o)
			}
		}
	} else {
		ents, err := os.ReadDir(rootfs)
		if err != nil {
			return nil, fmt.Errorf("read rootfs: %w", err)
		}
		for _, e := range ents {
			switch e.Name() {
			case "proc", "dev", "tmp", "etc", "run", "sys", "code", "opt":
				continue // made below
			}
			o, ok, err := mirror(filepath.Join(rootfs, e.Name()), "/"+e.Name())
			if err != nil {
				return nil, err
			}
			if ok {
				ops = append(ops, o)
			}
		}
	}

	// /etc: a few host (or rootfs) entries and generated files.
	ops = append(ops, mkdirOp("/etc", 0o755))
	if rootfs == "" {
		for _, name := range hostEtc {
			o, ok, err := mirror("/etc/"+name, "/etc/"+name)
			if err != nil {
				return nil, err
			}
			if ok {
				ops = append(ops, o)
			}
		}
	} else {
		etc := filepath.Join(rootfs, "etc")
		ents, err := os.ReadDir(etc)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read rootfs etc: %w", err)
		}
		for _, e := range ents {
			if generatedEtc[e.Name()] {
				continue
			}
			o, ok, err := mirror(filepath.Join(etc, e.Name()), "/etc/"+e.Name())
			if err != nil {
				return nil, err
			}
			if ok {
				ops = append(ops, o)
			}
		}
	}
	ops = append(ops,
		fileOp("/etc/passwd", 0o644, fmt.Sprintf("sandbox:x:%d:%d:sandbox:/tmp:/usr/sbin/nologin\n", d.uid, d.gid)),
		fileOp("/etc/group", 0o644, fmt.Sprintf("sandbox:x:%d:\n", d.gid)),
		fileOp("/etc/nsswitch.conf", 0o644, "passwd: files\ngroup: files\nhosts: files dns\n"),
		// Bridge-mode instances get the host's on resolvMount; for others
		// it leads nowhere (no DNS, as before).
		symlinkOp(resolvMount+"/resolv.conf", "/etc/resolv.conf"),
	)

	// /dev, read-only once its entries are in place.
	ops = append(ops, tmpfsOp("/dev", devFlags, "size=64k,nr_inodes=64,mode=0755"))
	for _, name := range devices {
		if _, err := os.Stat("/dev/" + name); err != nil {
			continue
		}
		ops = append(ops, bindOp("/dev/"+name, "/dev/"+name, devFlags, true))
	}
	ops = append(ops,
		symlinkOp("/proc/self/fd", "/dev/fd"),
		symlinkOp("/proc/self/fd/0", "/dev/stdin"),
		symlinkOp("/proc/self/fd/1", "/dev/stdout"),
		symlinkOp("/proc/self/fd/2", "/dev/stderr"),
		mkdirOp("/dev/shm", 0o1777),
		remountOp("/dev", unix.MS_RDONLY|devFlags),
	)

	// Mount points.
	ops = append(ops,
		mkdirOp("/proc", 0o555),
		mkdirOp("/tmp", 0o1777),
		mkdirOp(sandbox.CodeMount, 0o755),
		mkdirOp(sandbox.SocketMount, 0o755),
		mkdirOp(resolvMount, 0o755),
	)
	for _, p := range d.mountPoints {
		ops = append(ops, mkdirOp(p, 0o755))
	}
	return ops, nil
}

// instanceOps mount what is the instance's own on the mount points of
// sharedOps: /proc, /tmp, /dev/shm, the code, the extra mounts and the
// socket folder. Extra mounts under /opt go on a tmpfs of their own, so they
// need no folder in the shared root; others need the slow path (fastOK).
func (d *Driver) instanceOps(spec *sandbox.Spec) ([]op, error) {
	ops := []op{
		procOp("/proc"),
		tmpfsOp("/dev/shm", rwFlags|unix.MS_NOEXEC, fmt.Sprintf("size=%d,mode=1777", min(spec.TmpBytes, 64<<20))),
		tmpfsOp("/tmp", rwFlags, fmt.Sprintf("size=%d,mode=1777", spec.TmpBytes)),
	}
	if spec.CodeDir != "" {
		ops = append(ops, bindOp(spec.CodeDir, sandbox.CodeMount, roFlags, false))
	}
	opt := false
	for _, m := range spec.Mounts {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("mount %s: %w", m.Target, err)
		}
		if reserved(m.Target) {
			return nil, fmt.Errorf("mount %s: %w: reserved path", m.Target, sandbox.ErrInvalidSpec)
		}
		target := filepath.Clean(m.Target)
		if underOpt(target) && !opt && !optBound(spec) {
			opt = true
			ops = append(ops, tmpfsOp("/opt", rwFlags, "size=64k,nr_inodes=1024,mode=0755"))
		}
		ops = append(ops, bindOp(m.Source, target, roFlags, !fi.IsDir()))
	}
	if opt {
		ops = append(ops, remountOp("/opt", roFlags))
	}
	if spec.SocketDir != "" {
		ops = append(ops, bindOp(spec.SocketDir, sandbox.SocketMount, rwFlags, false))
	}
	return ops, nil
}

// fastOK reports whether spec can copy a template's mount namespace: its
// host name is the default (the template's /etc/hosts names it) and each
// extra mount targets one of the template's mount points
// (Options.MountPoints, /opt) or a folder under /opt.
func (d *Driver) fastOK(spec *sandbox.Spec) bool {
	if spec.Hostname != defaultHostname {
		return false
	}
	for _, m := range spec.Mounts {
		t := filepath.Clean(m.Target)
		if !slices.Contains(d.mountPoints, t) && !underOpt(t) {
			return false
		}
	}
	return true
}

func underOpt(target string) bool { return strings.HasPrefix(target, "/opt/") }

// optBound reports whether spec mounts a folder on /opt itself (the layers
// of a function); mounts under /opt then go inside it.
func optBound(spec *sandbox.Spec) bool {
	for _, m := range spec.Mounts {
		if filepath.Clean(m.Target) == "/opt" {
			return true
		}
	}
	return false
}

// hostsOps write /etc/hostname and /etc/hosts for host name h.
func hostsOps(h string) []op {
	return []op{
		fileOp("/etc/hostname", 0o644, h+"\n"),
		fileOp("/etc/hosts", 0o644, "127.0.0.1\tlocalhost "+h+"\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
	}
}

// reserved reports whether target would cover a part of the sandbox the
// driver owns.
func reserved(target string) bool {
	t := filepath.Clean(target)
	for _, p := range []string{"/", "/proc", "/dev", "/etc", "/tmp", sandbox.SocketMount} {
		if t == p || strings.HasPrefix(t, p+"/") && p != "/" {
			return true
		}
	}
	return false
}

// mirror returns the op that shows host path src at dst: the same symbolic
// link, or a read-only bind of the folder or file. ok is false when src
// does not exist.
func mirror(src, dst string) (o op, ok bool, err error) {
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return op{}, false, nil
	}
	if err != nil {
		return op{}, false, fmt.Errorf("root file system: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return op{}, false, fmt.Errorf("root file system: %w", err)
		}
		return symlinkOp(target, dst), true, nil
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return op{}, false, nil
	}
	return bindOp(src, dst, roFlags, !fi.IsDir()), true, nil
}
