package linux

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/sandbox/sandboxtest"
)

// Tests of the bridge network. They never touch the machine's own network:
// TestBridge re-executes the test binary in a new network namespace (the
// "node"), where the TestBridgeNetns... tests run the driver; a "test host"
// in a third namespace, connected to the node's by a veth, serves HTTP on a
// private address. No traffic leaves those namespaces.

const (
	// envCodeDir hands the helper's folder to a re-executed test binary.
	envCodeDir = "OPENFC_LINUX_TEST_CODE_DIR"
	// envNetns is set in a test binary re-executed in a network namespace
	// of its own.
	envNetns = "OPENFC_LINUX_TEST_NETNS"
	// envBridgeBench asks TestBridgeNetnsStartLatency for that many starts
	// of each mode.
	envBridgeBench = "OPENFC_BRIDGE_BENCH"
)

// The test host, on the node's side of their veth and its own.
var (
	nodeSideAddr = netip.MustParseAddr("172.30.0.1")
	testHostAddr = netip.MustParseAddr("172.30.0.2")
)

// TestBridge runs the TestBridgeNetns tests in a new network namespace.
func TestBridge(t *testing.T) {
	requireRoot(t)
	if os.Getenv(envNetns) != "" {
		t.Skip("already in the test's network namespace")
	}
	out, err := inNewNetns(t, "^TestBridgeNetns", nil)
	t.Logf("in a new network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("tests in a new network namespace: %v", err)
	}
	if !strings.Contains(out, "--- PASS: TestBridgeNetnsPolicy") || !strings.Contains(out, "--- PASS: TestBridgeNetnsLeftovers") {
		t.Fatal("the tests in the new network namespace did not pass")
	}
}

// inNewNetns runs the tests matching pattern in a copy of this test
// binary started in a new network namespace, within a bounded time.
func inNewNetns(t *testing.T, pattern string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), envCodeDir+"="+codeDir, envNetns+"=1"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// inTestNetns skips a test unless this binary runs in the network
// namespace TestBridge made, and brings its loopback up.
func inTestNetns(t *testing.T) {
	t.Helper()
	requireRoot(t)
	if os.Getenv(envNetns) == "" {
		t.Skip("runs inside TestBridge's network namespace")
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
}

// testHost is an HTTP server in a network namespace of its own, reached
// from the node's namespace through a veth.
type testHost struct {
	mu     sync.Mutex
	remote []string // addresses of the connections it accepted
}

func (h *testHost) accepted() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.remote)
}

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	node, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	ns, err := newNetns(node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "testhost0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns.Fd()))}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(veth) }) // gone with the namespace anyway
	setUp := func(h *netlink.Handle, name string, a netip.Addr) {
		link, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
	}
	nodeH, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer nodeH.Close()
	setUp(nodeH, "testhost0", nodeSideAddr)
	hostH, err := netlink.NewHandleAt(netns.NsHandle(int(ns.Fd())), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer hostH.Close()
	setUp(hostH, "eth0", testHostAddr)

	// The listening socket is made in the test host's namespace.
	type result struct {
		l   net.Listener
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			c <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", net.JoinHostPort(testHostAddr.String(), "80"))
		if serr := unix.Setns(int(node.Fd()), unix.CLONE_NEWNET); serr != nil {
			c <- result{err: serr} // the thread ends with the goroutine
			return
		}
		runtime.UnlockOSThread()
		c <- result{l, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatal(r.err)
	}
	h := &testHost{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "test host") }),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				h.mu.Lock()
				h.remote = append(h.remote, c.RemoteAddr().String())
				h.mu.Unlock()
			}
		},
	}
	go srv.Serve(r.l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })

	// The node reaches it: the set-up works.
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + testHostAddr.String() + "/")
	if err != nil {
		t.Fatalf("the node cannot reach the test host: %v", err)
	}
	resp.Body.Close()
	h.mu.Lock()
	h.remote = nil
	h.mu.Unlock()
	return h
}

// bridgeDriver returns a driver in bridge mode, closed at the end of the
// test unless the test closed it.
func bridgeDriver(t *testing.T, opts Options) *Driver {
	t.Helper()
	opts.StateDir = t.TempDir()
	opts.CgroupParent = fmt.Sprintf("openfc-sandbox-test-%d-%s", os.Getpid(), filepath.Base(t.TempDir()))
	opts.Network = sandbox.NetworkBridge
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if d.init != nil {
			d.Close() // after a failure; the test checks its own Close
		}
	})
	return d
}

// closeDriver closes d and checks that the bridge, its ports and the table
// are gone.
func closeDriver(t *testing.T, d *Driver) {
	t.Helper()
	name := d.bridgeCfg.name
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d.init = nil
	if _, err := netlink.LinkByName(name); err == nil {
		t.Errorf("bridge %s remains after Close", name)
	}
	if !gone(func() bool { return len(instanceVeths(t)) == 0 }) {
		t.Errorf("veths remain 10 s after Close: %v", instanceVeths(t))
	}
	if hasTable(t, name) {
		t.Errorf("nftables table %s remains after Close", name)
	}
}

// gone polls cond for up to 10 s (bounded polling: the kernel destroys
// network namespaces, and so their veths, in the background).
func gone(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// instanceVeths lists the veths of instances in the node's namespace.
func instanceVeths(t *testing.T) []string {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		if l.Type() == "veth" && strings.HasPrefix(l.Attrs().Name, vethPrefix) {
			names = append(names, l.Attrs().Name)
		}
	}
	return names
}

func hasTable(t *testing.T, name string) bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(tables, func(tb *nftables.Table) bool { return tb.Name == name })
}

func bridgeSpec(args ...string) sandbox.Spec {
	s := helperSpec(args...)
	s.Network = sandbox.NetworkBridge
	return s
}

// denied are the errors of a connect the policy rejects (ICMP
// administratively prohibited: EHOSTUNREACH), or that finds nothing.
var denied = []string{"EHOSTUNREACH", "ECONNREFUSED", "ENETUNREACH"}

// nodeListener listens on all addresses of the node's namespace and
// reports whether anything connected.
func nodeListener(t *testing.T) (port string, reached func() bool) {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	_, port, _ = net.SplitHostPort(l.Addr().String())
	return port, func() bool {
		// Accept returns at once with a timeout unless a connection is queued.
		_ = l.(*net.TCPListener).SetDeadline(time.Now())
		c, err := l.Accept()
		if err == nil {
			c.Close()
			return true
		}
		return false
	}
}

func TestBridgeNetnsPolicy(t *testing.T) {
	inTestNetns(t)
	th := newTestHost(t)
	port, reached := nodeListener(t)
	testHost := net.JoinHostPort(testHostAddr.String(), "80")

	d := bridgeDriver(t, Options{Bridge: "ofctest0"})
	gw := d.bridge.gw
	if !hasTable(t, "ofctest0") {
		t.Fatal("no nftables table ofctest0")
	}

	t.Run("NoneReachesNothing", func(t *testing.T) {
		wantErr(t, "none: dial test host", try(t, d, "dial", testHost), "ENETUNREACH")
		wantErr(t, "none: dial node", try(t, d, "dial", net.JoinHostPort(nodeSideAddr.String(), port)), "ENETUNREACH")
		wantErr(t, "none: read resolv.conf", try(t, d, "read", "/etc/resolv.conf"), "ENOENT")
	})
	t.Run("TestHostDeniedWithoutAllow", func(t *testing.T) {
		wantErr(t, "bridge: dial test host", attempt(t, d, bridgeSpec("dial", testHost)), denied...)
		if a := th.accepted(); len(a) > 0 {
			t.Errorf("the test host accepted %v", a)
		}
	})
	t.Run("NodeAddressesDenied", func(t *testing.T) {
		for _, a := range []string{nodeSideAddr.String(), gw.String(), "127.0.0.1"} {
			wantErr(t, "bridge: dial node "+a, attempt(t, d, bridgeSpec("dial", net.JoinHostPort(a, port))), denied...)
		}
		if reached() {
			t.Error("a sandbox reached the node's listener")
		}
	})
	t.Run("InstancesIsolated", func(t *testing.T) {
		a, aOut, _ := sandboxtest.Start(t, d, bridgeSpec("serve-tcp", "0.0.0.0:9000"))
		aOut.Expect(t, "listening")
		addrA := a.(*instance).slot.addr
		// The server works: the platform reaches it inside its namespace.
		c, err := a.(*instance).dialNetns(t.Context(), net.JoinHostPort(addrA.String(), "9000"))
		if err != nil {
			t.Fatalf("dial the instance's own address inside it: %v", err)
		}
		c.Close()
		wantErr(t, "bridge: dial another instance", attempt(t, d, bridgeSpec("dial", net.JoinHostPort(addrA.String(), "9000"))), denied...)
	})
	t.Run("ResolvConf", func(t *testing.T) {
		if got := attempt(t, d, bridgeSpec("read", "/etc/resolv.conf")); got != "ok" {
			t.Errorf("bridge: read /etc/resolv.conf = %q", got)
		}
	})
	t.Run("NothingLeftAfterStop", func(t *testing.T) {
		in, out, _ := sandboxtest.Start(t, d, bridgeSpec("hang"))
		out.Expect(t, "ready")
		veth := in.(*instance).slot.veth
		if _, err := netlink.LinkByName(veth); err != nil {
			t.Fatalf("veth %s of a running instance: %v", veth, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := in.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// The kernel removes the pair with the namespace, in the background.
		if !gone(func() bool { _, err := netlink.LinkByName(veth); return err != nil }) {
			t.Errorf("veth %s remains 10 s after Stop", veth)
		}
		// What remains are the pool's, ready for the next starts, and
		// the one the filling goroutine may hold.
		if !gone(func() bool { return len(instanceVeths(t)) <= bridgePoolSize+1 }) {
			vs := instanceVeths(t)
			t.Errorf("%d veths (%v) for a pool of %d", len(vs), vs, bridgePoolSize)
		}
	})
	closeDriver(t, d)

	// The same test host, allowed.
	d = bridgeDriver(t, Options{Bridge: "ofctest1", Subnet: netip.MustParsePrefix("10.98.7.0/24"), EgressAllow: []netip.Prefix{netip.PrefixFrom(testHostAddr, 32)}})
	t.Run("TestHostAllowed", func(t *testing.T) {
		if got := attempt(t, d, bridgeSpec("dial", testHost)); got != "ok" {
			t.Fatalf("bridge with allow: dial test host = %q", got)
		}
		// Masqueraded behind the node's address.
		if a := th.accepted(); len(a) != 1 || !strings.HasPrefix(a[0], nodeSideAddr.String()+":") {
			t.Errorf("the test host accepted %v, want one connection from %s", a, nodeSideAddr)
		}
		wantErr(t, "bridge with allow: dial node", attempt(t, d, bridgeSpec("dial", net.JoinHostPort(nodeSideAddr.String(), port))), denied...)
		wantErr(t, "none with allow: dial test host", try(t, d, "dial", testHost), "ENETUNREACH")
		if reached() {
			t.Error("a sandbox reached the node's listener")
		}
	})
	closeDriver(t, d)
}

// dialNetns connects to address from inside the instance's namespace.
func (in *instance) dialNetns(ctx context.Context, address string) (net.Conn, error) {
	saved := in.addr
	defer func() { in.addr = saved }()
	in.addr = "tcp:" + address
	return in.Dial(ctx)
}

// TestBridgeNetnsLeftovers: a driver removes the veths and the table a
// previous run left, and the bridge unless it uses it.
func TestBridgeNetnsLeftovers(t *testing.T) {
	inTestNetns(t)
	const name = "ofctest2"
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: vethPrefix + "leftover", MasterIndex: link.Attrs().Index}, PeerName: "ofcleftpeer"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	c.AddTable(&nftables.Table{Name: name, Family: nftables.TableFamilyINet})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}

	d := newDriverOptions(t, Options{Bridge: name})
	if _, err := netlink.LinkByName(name); err == nil {
		t.Error("the leftover bridge remains")
	}
	if vs := instanceVeths(t); len(vs) > 0 {
		t.Errorf("leftover veths remain: %v", vs)
	}
	if hasTable(t, name) {
		t.Error("the leftover table remains")
	}
	// Bridge mode on first use, by a driver in mode none.
	if got := attempt(t, d, bridgeSpec("dial", "127.0.0.1:1")); got != "err ECONNREFUSED" {
		t.Errorf("bridge: dial own loopback = %q", got)
	}
	if !hasTable(t, name) {
		t.Error("no table after the first bridge start")
	}
	closeDriver(t, d)
}

func newDriverOptions(t *testing.T, opts Options) *Driver {
	t.Helper()
	opts.StateDir = t.TempDir()
	opts.CgroupParent = fmt.Sprintf("openfc-sandbox-test-%d-%s", os.Getpid(), filepath.Base(t.TempDir()))
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if d.init != nil {
			d.Close()
		}
	})
	return d
}

// TestBridgeStartLatency measures, in a new network namespace, the start
// to first line of bridge-mode sandboxes against none-mode ones in the same
// run: n starts of each mode, one mode after the other, each start run to
// its end (docs/BENCHMARKS.md):
//
//	OPENFC_BRIDGE_BENCH=200 go test -run '^TestBridgeStartLatency$' -v ./internal/sandbox/linux/
func TestBridgeStartLatency(t *testing.T) {
	requireRoot(t)
	if os.Getenv(envBridgeBench) == "" || os.Getenv(envNetns) != "" {
		t.Skip("set " + envBridgeBench + " to the number of starts of each mode")
	}
	out, err := inNewNetns(t, "^TestBridgeNetnsStartLatency$", nil)
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBridgeNetnsStartLatency(t *testing.T) {
	inTestNetns(t)
	n, err := strconv.Atoi(os.Getenv(envBridgeBench))
	if err != nil || n <= 0 {
		t.Skip("set " + envBridgeBench + " to the number of starts of each mode")
	}
	d := bridgeDriver(t, Options{Bridge: "ofcbench0"})
	start := func(network sandbox.Network) (time.Duration, time.Duration) {
		spec := helperSpec("hello")
		spec.Network = network
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		spec.Stdout = w
		t0 := time.Now()
		in, err := d.Start(t.Context(), spec)
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(r).ReadString('\n')
		took := time.Since(t0)
		if err != nil || line != "hello\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		t1 := time.Now()
		if e := in.Wait(); !e.Success() {
			t.Fatalf("exit %v", e)
		}
		return took, time.Since(t1)
	}
	// Both pools full before each start, as between cold starts that are
	// not back to back: the figure is that of the cold path, not of a
	// start that competes with the previous one's clean-up and refill
	// (bounded polling, not a sleep for synchronisation).
	settle := func() {
		for i := 0; i < 2000 && (len(d.nets.ready) < netPoolSize || len(d.bridge.ready) < bridgePoolSize); i++ {
			time.Sleep(time.Millisecond)
		}
	}
	var none, bridge, noneEnd, bridgeEnd durations
	for range n {
		settle()
		a, b := start(sandbox.NetworkNone)
		none, noneEnd = append(none, a), append(noneEnd, b)
	}
	for range n {
		settle()
		a, b := start(sandbox.NetworkBridge)
		bridge, bridgeEnd = append(bridge, a), append(bridgeEnd, b)
	}
	p := func(ds durations, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	t.Logf("starts of each mode: %d", n)
	t.Logf("none:   start to first line p50 %v p90 %v; exit to Wait p50 %v", p(none, .5), p(none, .9), p(noneEnd, .5))
	t.Logf("bridge: start to first line p50 %v p90 %v; exit to Wait p50 %v", p(bridge, .5), p(bridge, .9), p(bridgeEnd, .5))
	closeDriver(t, d)
}
