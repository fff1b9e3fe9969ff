package linux

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// netPool keeps network namespaces made ahead of demand, each with its
// loopback up: creating one costs milliseconds, and more while the kernel
// tears down the namespaces of stopped instances, so it stays off the cold
// start path. A namespace is used by one instance only.
type netPool struct {
	host  *os.File // the node's own network namespace
	log   *slog.Logger
	ready chan *os.File
	stop  chan struct{}
	wg    sync.WaitGroup
}

// netPoolSize is how many namespaces wait ready.
const netPoolSize = 8

func newNetPool(host *os.File, log *slog.Logger) *netPool {
	p := &netPool{host: host, log: log, ready: make(chan *os.File, netPoolSize), stop: make(chan struct{})}
	p.wg.Go(p.fill)
	return p
}

func (p *netPool) fill() {
	for {
		ns, err := newNetns(p.host)
		if err != nil {
			p.log.Warn("prepare network namespace", "err", err)
			select {
			case <-time.After(time.Second):
				continue
			case <-p.stop:
				return
			}
		}
		select {
		case p.ready <- ns:
		case <-p.stop:
			ns.Close()
			return
		}
	}
}

// get returns a fresh namespace, made now when none is ready.
func (p *netPool) get() (*os.File, error) {
	select {
	case ns := <-p.ready:
		return ns, nil
	default:
		return newNetns(p.host)
	}
}

// close stops the filling and frees the ready namespaces.
func (p *netPool) close() {
	close(p.stop)
	p.wg.Wait()
	for {
		select {
		case ns := <-p.ready:
			ns.Close()
		default:
			return
		}
	}
}

// newNetns makes a network namespace with loopback up and returns an fd
// that keeps it alive. The work runs on a locked OS thread that enters the
// new namespace and returns to host; if it cannot return, its goroutine ends
// still locked and the Go runtime discards the thread.
func newNetns(host *os.File) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			c <- result{err: fmt.Errorf("unshare network namespace: %w", err)}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err == nil {
			err = loopbackUp()
		}
		if serr := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); serr != nil {
			if f != nil {
				f.Close()
			}
			c <- result{err: fmt.Errorf("return to the node's network namespace: %w", serr)}
			return // locked: the thread goes away with the goroutine
		}
		runtime.UnlockOSThread()
		if err != nil && f != nil {
			f.Close()
			f = nil
		}
		c <- result{f, err}
	}()
	r := <-c
	return r.f, r.err
}

// loopbackUp brings lo up in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
