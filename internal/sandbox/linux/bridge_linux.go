package linux

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Defaults of the bridge network (sandbox.NetworkBridge).
const (
	DefaultBridge = "openfc0"
)

// DefaultSubnet is the private subnet of bridge-mode instances; the bridge
// takes its first address, the gateway of the instances.
var DefaultSubnet = netip.MustParsePrefix("10.99.0.0/16")

// deniedPrefixes are the destinations an instance may not reach unless
// Options.EgressAllow lists them: private ranges, shared address space
// (carrier-grade NAT), link-local (cloud metadata services), this network,
// loopback and multicast. The node's own addresses are denied separately
// (input chain), whatever their range.
var deniedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/3"), // multicast, reserved, broadcast
}

// vethPrefix starts the host-side name of every instance veth.
const vethPrefix = "ofc"

// bridgePoolSize is how many network namespaces with their veth wait ready.
const bridgePoolSize = 8

// bridgeNet is the bridge mode of a driver: a host bridge with the
// instances' gateway address, an nftables table of its own (NAT and egress
// policy), an address allocator and a pool of network namespaces, each
// already holding its eth0 (one end of a veth pair whose other end is a
// port of the bridge).
type bridgeNet struct {
	name      string // of the bridge, and of the nftables table
	subnet    netip.Prefix
	gw        netip.Addr
	allow     []netip.Prefix
	dns       []netip.Addr // nameservers of resolvConf, reachable on port 53
	index     int          // of the bridge
	resolvDir string       // host folder bound on the instances' resolvMount
	host      *os.File     // the node's network namespace
	log       *slog.Logger

	mu    sync.Mutex // guards used, dying, next
	used  map[netip.Addr]bool
	dying map[netip.Addr]string // released addresses → their veth, maybe not gone yet
	next  netip.Addr

	ready chan *vethSlot
	need  chan struct{} // wakes fill: see refill
	stop  chan struct{}
	wg    sync.WaitGroup
}

// vethSlot is a network namespace with eth0 configured: address, route to
// the gateway, default route.
type vethSlot struct {
	ns    *os.File
	veth  string // host end, a port of the bridge
	index int    // of veth
	addr  netip.Addr
}

// bridgeConfig is what Options say of the bridge mode.
type bridgeConfig struct {
	name     string
	subnet   netip.Prefix
	allow    []netip.Prefix
	stateDir string
}

func (c *bridgeConfig) check() error {
	if c.name == "" {
		c.name = DefaultBridge
	}
	if !c.subnet.IsValid() {
		c.subnet = DefaultSubnet
	}
	c.subnet = c.subnet.Masked()
	if len(c.name) > 15 || strings.ContainsAny(c.name, "/ \x00") {
		return fmt.Errorf("bridge name %q: at most 15 characters, no slash or space", c.name)
	}
	if !c.subnet.Addr().Is4() || c.subnet.Bits() > 28 || c.subnet.Bits() < 8 {
		return fmt.Errorf("bridge subnet %s: an IPv4 prefix from /8 to /28", c.subnet)
	}
	for _, p := range c.allow {
		if !p.IsValid() || !p.Addr().Is4() {
			return fmt.Errorf("egress allow %s: IPv4 prefixes only", p)
		}
	}
	return nil
}

// newBridgeNet sets up the bridge mode in the node's network namespace:
// the bridge (created, or taken over if it exists) with the gateway
// address, IP forwarding, the nftables table (replaced whole), the copy of
// resolv.conf, and starts filling the pool.
func newBridgeNet(c bridgeConfig, host *os.File, log *slog.Logger) (*bridgeNet, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b := &bridgeNet{
		name:   c.name,
		subnet: c.subnet,
		gw:     c.subnet.Addr().Next(),
		allow:  c.allow,
		host:   host,
		log:    log,
		used:   map[netip.Addr]bool{},
		dying:  map[netip.Addr]string{},
		ready:  make(chan *vethSlot, bridgePoolSize),
		need:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	b.next = b.gw.Next()
	resolv, dns := hostResolvConf(log)
	b.dns = dns
	b.resolvDir = filepath.Join(c.stateDir, "net-"+c.name)
	if err := os.MkdirAll(b.resolvDir, 0o755); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.resolvDir, "resolv.conf"), resolv, 0o644); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if err := b.setupLink(); err != nil {
		return nil, fmt.Errorf("bridge %s: %w", b.name, err)
	}
	if err := enableForwarding(log); err != nil {
		_ = removeBridgeNet(b.name, true) // best effort: the error above matters
		return nil, fmt.Errorf("bridge %s: %w", b.name, err)
	}
	if err := b.setupTable(); err != nil {
		_ = removeBridgeNet(b.name, true)
		return nil, fmt.Errorf("bridge %s: nftables: %w", b.name, err)
	}
	b.wg.Go(b.fill)
	log.Info("sandbox bridge ready", "bridge", b.name, "subnet", b.subnet, "gateway", b.gw, "egress_allow", b.allow)
	return b, nil
}

// setupLink creates the bridge, or takes over an existing one (ports of a
// previous run removed), gives it the gateway address and brings it up.
func (b *bridgeNet) setupLink() error {
	link, err := netlink.LinkByName(b.name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		// A fixed address: by default a bridge takes the lowest of its
		// ports', which changes as instances come and go and would leave
		// the instances' neighbour entries of the gateway stale.
		mac := make(net.HardwareAddr, 6)
		_, _ = rand.Read(mac)  // crypto/rand does not fail on Linux
		mac[0] = mac[0]&^1 | 2 // unicast, locally administered
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: b.name, HardwareAddr: mac}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if link, err = netlink.LinkByName(b.name); err != nil {
			return err
		}
	case err != nil:
		return err
	case link.Type() != "bridge":
		return fmt.Errorf("%s exists and is a %s, not a bridge", b.name, link.Type())
	default:
		if err := removePorts(link.Attrs().Index); err != nil {
			return err
		}
	}
	b.index = link.Attrs().Index
	// No IPv6 on the bridge: instances get none, and the host offers none
	// to them (the input chain rejects it anyway).
	_ = writeSysctl("net/ipv6/conf/"+b.name+"/disable_ipv6", "1") // hosts without IPv6 have no such file
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: b.gw.AsSlice(), Mask: net.CIDRMask(b.subnet.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("address %s: %w", b.gw, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	return nil
}

// removePorts deletes the veths attached to the bridge of that index.
func removePorts(bridge int) error {
	links, err := netlink.LinkList()
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		if l.Attrs().MasterIndex == bridge && l.Type() == "veth" {
			// The kernel may be removing it already (its namespace ended).
			if err := netlink.LinkDel(l); err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) && !errors.Is(err, unix.ENODEV) {
				errs = append(errs, fmt.Errorf("remove %s: %w", l.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeBridgeNet removes what a bridge named name left: its ports, its
// nftables table and, if bridge, the bridge itself. Nothing there is no
// error.
func removeBridgeNet(name string, bridge bool) error {
	var errs []error
	link, err := netlink.LinkByName(name)
	if err == nil && link.Type() == "bridge" {
		if err := removePorts(link.Attrs().Index); err != nil {
			errs = append(errs, err)
		}
		if bridge {
			if err := netlink.LinkDel(link); err != nil {
				errs = append(errs, fmt.Errorf("remove bridge %s: %w", name, err))
			}
		}
	} else if err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) {
		errs = append(errs, err)
	}
	if err := deleteTable(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteTable deletes the inet table name, if there is one.
func deleteTable(name string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == name {
			c.DelTable(t)
			if err := c.Flush(); err != nil {
				return fmt.Errorf("delete nftables table %s: %w", name, err)
			}
		}
	}
	return nil
}

// enableForwarding turns IPv4 forwarding on in the node's namespace (NAT
// needs it); it stays on after Close, as other users may rely on it.
func enableForwarding(log *slog.Logger) error {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	log.Warn("sandbox bridge: enabling IPv4 forwarding (net.ipv4.ip_forward=1)")
	return writeSysctl("net/ipv4/ip_forward", "1")
}

// writeSysctl writes a sysctl of the calling thread's network namespace.
func writeSysctl(name, value string) error {
	return os.WriteFile("/proc/sys/"+name, []byte(value), 0o644)
}

// setupTable replaces the inet table named after the bridge, in one
// transaction:
//
//	forward: replies to instances' connections accepted; from the bridge:
//	  allowed destinations accepted, nameservers on port 53 accepted,
//	  denied ranges (and any other instance) rejected, anything not IPv4
//	  rejected, the rest (the Internet) accepted; to the bridge: rejected
//	  (nobody opens a connection to an instance).
//	input: from the bridge, replies and allowed destinations accepted,
//	  nameservers on port 53 accepted, the rest rejected: an instance
//	  reaches none of the node's addresses.
//	output: no ICMP redirect to instances (they would learn each other's
//	  link addresses).
//	postrouting (nat): the subnet masqueraded behind the outgoing address.
//
// Rejections are ICMP "administratively prohibited", so a denied connect
// fails at once (EHOSTUNREACH) rather than timing out.
func (b *bridgeNet) setupTable() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: b.name, Family: nftables.TableFamilyINet}
	// add, delete, add: replaces a previous run's table atomically.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)

	mkSet := func(name string, prefixes []netip.Prefix) (*nftables.Set, error) {
		s := &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIPAddr, Interval: true}
		if err := c.AddSet(s, intervalElements(prefixes)); err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
		return s, nil
	}
	allow, err := mkSet("allow", b.allow)
	if err != nil {
		return err
	}
	deny, err := mkSet("deny", append(slices.Clone(deniedPrefixes), b.subnet))
	if err != nil {
		return err
	}
	// The instances: the subnet less the gateway.
	others, err := mkSet("instances", subnetLessGateway(b.subnet, b.gw))
	if err != nil {
		return err
	}
	var dnsPrefixes []netip.Prefix
	for _, a := range b.dns {
		dnsPrefixes = append(dnsPrefixes, netip.PrefixFrom(a, 32))
	}
	dns, err := mkSet("dns", dnsPrefixes)
	if err != nil {
		return err
	}

	policy := nftables.ChainPolicyAccept
	chain := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: typ, Hooknum: hook, Priority: prio, Policy: &policy})
	}
	pre := chain("prerouting", nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityFilter)
	fwd := chain("forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
	in := chain("input", nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter)
	out := chain("output", nftables.ChainTypeFilter, nftables.ChainHookOutput, nftables.ChainPriorityFilter)
	nat := chain("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	rule := func(ch *nftables.Chain, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: slices.Concat(exprs...)})
	}
	iif, oif := ifname(expr.MetaKeyIIFNAME, b.name, true), ifname(expr.MetaKeyOIFNAME, b.name, true)

	// prerouting: another instance is rejected before routing, which would
	// answer with an ICMP redirect first, and that would make the kernel
	// rate-limit (suppress) the rejection's ICMP error.
	rule(pre, iif, ipv4(), daddrIn(allow), verdict(expr.VerdictAccept))
	rule(pre, iif, ipv4(), daddrIn(others), rejectTCP())
	rule(pre, iif, ipv4(), daddrIn(others), reject())
	// forward
	rule(fwd, oif, ctReply(), verdict(expr.VerdictAccept))
	rule(fwd, iif, ipv4(), daddrIn(allow), verdict(expr.VerdictAccept))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		rule(fwd, iif, ipv4(), daddrIn(dns), dport53(proto), verdict(expr.VerdictAccept))
	}
	rule(fwd, iif, ipv4(), daddrIn(deny), rejectTCP())
	rule(fwd, iif, ipv4(), daddrIn(deny), reject())
	rule(fwd, iif, notIPv4(), reject())
	rule(fwd, oif, rejectTCP())
	rule(fwd, oif, reject())
	// input
	rule(in, iif, ctReply(), verdict(expr.VerdictAccept))
	rule(in, iif, ipv4(), daddrIn(allow), verdict(expr.VerdictAccept))
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		rule(in, iif, ipv4(), daddrIn(dns), dport53(proto), verdict(expr.VerdictAccept))
	}
	rule(in, iif, rejectTCP())
	rule(in, iif, reject())
	// output
	rule(out, oif, ipv4(), icmpRedirect(), verdict(expr.VerdictDrop))
	// postrouting
	rule(nat, ipv4(), saddrIn(b.subnet), ifname(expr.MetaKeyOIFNAME, b.name, false), []expr.Any{&expr.Masq{}})
	return c.Flush()
}

// intervalElements turns prefixes into the elements of an interval set:
// a start and an end (the first address after) per range, overlaps merged.
func intervalElements(prefixes []netip.Prefix) []nftables.SetElement {
	type span struct{ lo, hi uint64 } // hi exclusive
	var spans []span
	for _, p := range prefixes {
		p = p.Masked()
		lo := uint64(be32(p.Addr()))
		spans = append(spans, span{lo, lo + 1<<(32-p.Bits())})
	}
	slices.SortFunc(spans, func(a, b span) int { return int(int64(a.lo) - int64(b.lo)) })
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && s.lo <= merged[n-1].hi {
			merged[n-1].hi = max(merged[n-1].hi, s.hi)
			continue
		}
		merged = append(merged, s)
	}
	var els []nftables.SetElement
	for _, s := range merged {
		els = append(els, nftables.SetElement{Key: u32bytes(uint32(s.lo))})
		if s.hi <= 0xffffffff {
			els = append(els, nftables.SetElement{Key: u32bytes(uint32(s.hi)), IntervalEnd: true})
		}
	}
	return els
}

// subnetLessGateway returns the prefixes covering p except gw.
func subnetLessGateway(p netip.Prefix, gw netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for bits := p.Bits() + 1; bits <= 32; bits++ {
		// The half of the current range that does not hold gw.
		half := netip.PrefixFrom(gw, bits).Masked()
		lo := be32(half.Addr()) ^ 1<<(32-bits)
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte(u32bytes(lo))), bits))
	}
	return out
}

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32bytes(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// Expressions of the rules. Register 1 is the scratch register.

func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: data}}
}

func ipv4() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}}}
}

func notIPv4() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}}}
}

// ctReply matches ct state established or related.
func ctReply() []expr.Any {
	mask := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: nativeU32(mask), Xor: nativeU32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: nativeU32(0)},
	}
}

func nativeU32(v uint32) []byte {
	return binary.NativeEndian.AppendUint32(nil, v)
}

func daddrIn(s *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
	}
}

func saddrIn(p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

// dport53 matches proto (UDP or TCP) to port 53.
func dport53(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 53}},
	}
}

func icmpRedirect() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{5}}, // ICMP_REDIRECT
	}
}

// rejectTCP matches TCP and answers with a reset (a refused connection;
// not rate-limited as ICMP errors are, so repeated attempts fail at once
// too). reject answers anything with ICMP "administratively prohibited".
func rejectTCP() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
	}
}

func reject() []expr.Any {
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

// hostResolvConf returns the resolv.conf instances get, a copy of the
// host's, and its IPv4 nameservers. A host whose resolv.conf names only a
// local stub (systemd-resolved's 127.0.0.53), which an instance cannot
// reach, gives the upstream file of systemd-resolved when there is one.
func hostResolvConf(log *slog.Logger) ([]byte, []netip.Addr) {
	var fallback []byte
	for _, file := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if fallback == nil {
			fallback = data
		}
		var servers []netip.Addr
		local := false
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || f[0] != "nameserver" {
				continue
			}
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				continue
			}
			if a.IsLoopback() {
				local = true
				continue
			}
			if a.Is4() {
				servers = append(servers, a)
			}
		}
		if len(servers) > 0 || !local {
			return data, servers
		}
	}
	log.Warn("sandbox bridge: the host's resolv.conf names only local nameservers, which instances cannot reach: no DNS in sandboxes")
	return fallback, nil
}

// fill keeps the pool full; stopped by close. It makes a slot only when
// there is room for it, and after a start only once that start is done
// (refill), so that it does not compete with the cold path.
func (b *bridgeNet) fill() {
	for {
		if len(b.ready) == cap(b.ready) {
			select {
			case <-b.need:
				continue
			case <-b.stop:
				return
			}
		}
		s, err := b.newSlot()
		if err != nil {
			b.log.Warn("prepare bridge network namespace", "err", err)
			select {
			case <-time.After(time.Second):
				continue
			case <-b.stop:
				return
			}
		}
		select {
		case b.ready <- s:
		case <-b.stop:
			b.release(s)
			return
		}
	}
}

// refill tells fill that a slot was taken and the start that took it is
// done.
func (b *bridgeNet) refill() {
	select {
	case b.need <- struct{}{}:
	default: // already told
	}
}

// get returns a ready slot, made now when the pool is empty.
func (b *bridgeNet) get() (*vethSlot, error) {
	select {
	case s := <-b.ready:
		return s, nil
	default:
		return b.newSlot()
	}
}

// newSlot makes a network namespace with loopback and eth0: the veth's
// peer is created inside it, the host end is created already a port of the
// bridge (isolated: ports do not talk to each other, only to the host),
// so no veth is ever outside the bridge.
func (b *bridgeNet) newSlot() (s *vethSlot, err error) {
	addr, err := b.alloc()
	if err != nil {
		return nil, err
	}
	s = &vethSlot{addr: addr, veth: vethPrefix + randomHex(4)}
	defer func() {
		if err != nil {
			if s.index != 0 {
				// Not handed out: the index is still the veth's.
				_ = netlink.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: s.index, Name: s.veth}}) // best effort: the namespace's end takes it too
			}
			b.release(s)
			s = nil
		}
	}()
	if s.ns, err = newNetns(b.host); err != nil {
		return s, err
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.veth, MasterIndex: b.index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(s.ns.Fd())),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return s, fmt.Errorf("create veth: %w", err)
	}
	link, err := netlink.LinkByName(s.veth)
	if err != nil {
		return s, err
	}
	s.index = link.Attrs().Index
	if link.Attrs().MasterIndex != b.index {
		return s, fmt.Errorf("veth %s is not a port of %s", s.veth, b.name)
	}
	if err := netlink.LinkSetIsolated(link, true); err != nil {
		return s, fmt.Errorf("isolate veth: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return s, fmt.Errorf("veth up: %w", err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(int(s.ns.Fd())), unix.NETLINK_ROUTE)
	if err != nil {
		return s, err
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return s, err
	}
	// A /32 with an on-link route to the gateway: everything, other
	// instances included, goes through the host's policy.
	if err := h.AddrAdd(eth0, &netlink.Addr{IPNet: &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
		return s, fmt.Errorf("eth0 address: %w", err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return s, fmt.Errorf("eth0 up: %w", err)
	}
	gw := &net.IPNet{IP: b.gw.AsSlice(), Mask: net.CIDRMask(32, 32)}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: gw, Scope: netlink.SCOPE_LINK}); err != nil {
		return s, fmt.Errorf("route to gateway: %w", err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: b.gw.AsSlice()}); err != nil {
		return s, fmt.Errorf("default route: %w", err)
	}
	return s, nil
}

// release gives up a slot: the namespace's last reference is dropped, so
// the kernel destroys it once the instance's processes are gone, and with
// it eth0 and thus the whole veth pair. Deleting the pair here instead
// (RTM_DELLINK) takes about 25 ms of RCU grace periods on the reference
// machine, and the next start's cgroup v1 placement, which waits for a
// grace period too, about 9 ms more; the kernel's namespace clean-up does
// it in the background, in batches (docs/BENCHMARKS.md). The address waits
// in dying until its veth is gone (alloc), and the host's neighbour entry
// for it is dropped, so that a new instance with the address is reached at
// its own link address.
func (b *bridgeNet) release(s *vethSlot) {
	if s.ns != nil {
		s.ns.Close()
		s.ns = nil
	}
	if s.index != 0 {
		// No entry is fine.
		_ = netlink.NeighDel(&netlink.Neigh{LinkIndex: b.index, Family: unix.AF_INET, IP: s.addr.AsSlice()})
	}
	b.mu.Lock()
	delete(b.used, s.addr)
	if s.index != 0 {
		b.dying[s.addr] = s.veth
	}
	b.mu.Unlock()
}

// alloc returns a free address of the subnet, after the gateway.
func (b *bridgeNet) alloc() (netip.Addr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	last := lastAddr(b.subnet) // broadcast
	for range 1 << (32 - b.subnet.Bits()) {
		a := b.next
		b.next = a.Next()
		if !b.next.IsValid() || b.next == last {
			b.next = b.gw.Next()
		}
		if a == last || b.used[a] {
			continue
		}
		if veth, ok := b.dying[a]; ok {
			if _, err := netlink.LinkByName(veth); err == nil {
				continue // the kernel has not removed it yet
			}
			delete(b.dying, a)
		}
		b.used[a] = true
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("bridge %s: no free address in %s", b.name, b.subnet)
}

func lastAddr(p netip.Prefix) netip.Addr {
	v := be32(p.Addr()) | (1<<(32-p.Bits()) - 1)
	return netip.AddrFrom4([4]byte(u32bytes(v)))
}

// close stops the pool, removes its slots, the table and the bridge.
// Instances must have stopped.
func (b *bridgeNet) close() error {
	close(b.stop)
	b.wg.Wait()
	var errs []error
	for done := false; !done; {
		select {
		case s := <-b.ready:
			b.release(s)
		default:
			done = true
		}
	}
	errs = append(errs, removeBridgeNet(b.name, true))
	if err := os.RemoveAll(b.resolvDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}
