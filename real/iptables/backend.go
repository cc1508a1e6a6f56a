package iptables

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	goipt "github.com/coreos/go-iptables/iptables"

	"github.com/drydock-sim/drydock/core/proxy"
)

// Defaults.
const (
	// DefaultMasqueradeBit is the fwmark bit that marks packets for SNAT:
	// 0x2000, next to (not on) kube-proxy's 0x4000.
	DefaultMasqueradeBit = 13
	// DefaultFullSyncPeriod is how often Apply rewrites every chain and
	// re-checks the jumps from the built-in chains even when nothing
	// changed, repairing drift (kube-proxy does the same once an hour).
	DefaultFullSyncPeriod = time.Hour
	// JumpCheckPeriod: an Apply that has nothing to write (the Proxy's
	// periodic resync) checks the jumps from the built-in chains if they
	// were last checked this long ago, and does a full sync at once if one
	// is missing (someone flushed a built-in chain). Applies that write
	// changes skip the check, which costs one iptables call per jump.
	JumpCheckPeriod = 30 * time.Second
)

// Config configures a Backend.
type Config struct {
	// NodeName is the node the backend runs on: endpoints whose NodeName
	// equals it are local for internal and external traffic policy Local.
	NodeName string
	// ClusterCIDR is the pod network, an IPv4 CIDR such as 10.244.0.0/16
	// (kube-proxy's --cluster-cidr with --detect-local-mode=ClusterCIDR).
	// Traffic from it is pod traffic: ClusterIP traffic from elsewhere is
	// masqueraded, and pods reaching a Service's NodePort or external IP
	// are not subject to externalTrafficPolicy Local. Empty: no local
	// traffic detection, as kube-proxy without a cluster CIDR.
	ClusterCIDR string
	// MasqueradeAll masquerades all ClusterIP traffic (--masquerade-all).
	MasqueradeAll bool
	// MasqueradeBit is the fwmark bit (1 to 31) used to mark packets for
	// SNAT; 0 means DefaultMasqueradeBit.
	MasqueradeBit int
	// FullSyncPeriod; 0 means DefaultFullSyncPeriod.
	FullSyncPeriod time.Duration
	// ConntrackError, if set, hears failures to clear stale UDP conntrack
	// entries. They do not fail Apply (the rules are in place), as in
	// kube-proxy, which only logs them.
	ConntrackError func(error)
}

func (c *Config) complete() error {
	if c.MasqueradeBit == 0 {
		c.MasqueradeBit = DefaultMasqueradeBit
	}
	if c.MasqueradeBit < 0 || c.MasqueradeBit > 31 {
		return fmt.Errorf("iptables: Config.MasqueradeBit %d: must be between 1 and 31", c.MasqueradeBit)
	}
	if c.FullSyncPeriod <= 0 {
		c.FullSyncPeriod = DefaultFullSyncPeriod
	}
	if c.ClusterCIDR != "" {
		p, err := netip.ParsePrefix(c.ClusterCIDR)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("iptables: Config.ClusterCIDR %q: not an IPv4 CIDR", c.ClusterCIDR)
		}
		c.ClusterCIDR = p.Masked().String()
	}
	return nil
}

func (c *Config) markString() string { return fmt.Sprintf("0x%x", uint32(1)<<c.MasqueradeBit) }

// jump is a rule in a built-in chain that enters one of the backend's chains.
type jump struct {
	table, chain string
	args         []string
}

// jumps are inserted at the top of the built-in chains, as kube-proxy
// does, in this order.
func jumps() []jump {
	newOnly := []string{"-m", "conntrack", "--ctstate", "NEW"}
	c := func(s string) []string { return []string{"-m", "comment", "--comment", s} }
	return []jump{
		{TableNAT, "PREROUTING", join(c("drydock service portals"), []string{"-j", ChainServices})},
		{TableNAT, "OUTPUT", join(c("drydock service portals"), []string{"-j", ChainServices})},
		{TableNAT, "POSTROUTING", join(c("drydock postrouting rules"), []string{"-j", ChainPostrouting})},
		{TableFilter, "INPUT", join(newOnly, c("drydock externally-visible service portals"), []string{"-j", ChainExternalServices})},
		{TableFilter, "FORWARD", join(c("drydock forwarding rules"), []string{"-j", ChainForward})},
		{TableFilter, "FORWARD", join(newOnly, c("drydock service portals"), []string{"-j", ChainServices})},
		{TableFilter, "FORWARD", join(newOnly, c("drydock externally-visible service portals"), []string{"-j", ChainExternalServices})},
		{TableFilter, "OUTPUT", join(newOnly, c("drydock service portals"), []string{"-j", ChainServices})},
	}
}

// Backend is a proxy.Backend that programs the iptables rules of the
// network namespace it runs in, the way kube-proxy's iptables mode does.
// Every Apply is one iptables-restore --noflush batch that touches only the
// backend's own DRYDOCK-* chains: a full sync (the first Apply, after a
// failure, and every FullSyncPeriod) rewrites all of them, deletes stale
// ones and makes sure the built-in chains jump to them; otherwise only the
// chains whose contents changed are rewritten. Safe for concurrent use.
type Backend struct {
	cfg Config

	mu       sync.Mutex
	applied  map[string]map[string]string // table → chain → body last written
	needFull bool
	cache    renderCache
	lastFull time.Time
	lastJump time.Time // last check of the jumps

	// Hooks, replaced by tests that run without root.
	now        func() time.Time
	restore    func(data []byte) error
	listChains func(table string) ([]string, error)
	ensure     func() (inserted int, err error)
	unjump     func() error
	clearUDP   func(*staleUDP) error
}

// New returns a Backend that has not touched iptables yet; the first Apply
// does a full sync.
func New(cfg Config) (*Backend, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, needFull: true, now: time.Now}
	b.restore = runRestore
	b.listChains = savedChains
	b.ensure = ensureJumps
	b.unjump = removeJumps
	b.clearUDP = clearStaleUDP
	return b, nil
}

var _ proxy.Backend = (*Backend)(nil)

// Apply programs rs.
func (b *Backend) Apply(rs proxy.RuleSet) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	full := b.needFull || !now.Before(b.lastFull.Add(b.cfg.FullSyncPeriod))
	wrote, err := b.apply(rs, now, full)
	if err != nil || full || wrote || now.Before(b.lastJump.Add(JumpCheckPeriod)) {
		return err
	}
	b.lastJump = now
	inserted, err := b.ensure()
	if err != nil {
		b.needFull = true
		return err
	}
	if inserted > 0 {
		// Something removed our jumps; the chains may be gone too.
		_, err = b.apply(rs, now, true)
	}
	return err
}

// apply writes rs (everything when full) and reports whether it ran
// iptables-restore.
func (b *Backend) apply(rs proxy.RuleSet, now time.Time, full bool) (wrote bool, err error) {
	p, cache, udpChanged := render(&b.cfg, rs, b.cache)
	b.cache = cache

	write := map[string][]chain{}
	remove := map[string][]chain{}
	next := map[string]map[string]string{}
	for _, t := range []string{TableFilter, TableNAT} {
		want := p.table(t)
		cur := make(map[string]string, len(want))
		for _, c := range want {
			cur[c.name] = c.body
			if full {
				write[t] = append(write[t], c)
			} else if old, ok := b.applied[t][c.name]; !ok || old != c.body {
				write[t] = append(write[t], c)
			}
		}
		next[t] = cur
		var stale []string
		if full {
			existing, err := b.listChains(t)
			if err != nil {
				b.needFull = true
				return false, err
			}
			for _, name := range existing {
				if _, ok := cur[name]; !ok && strings.HasPrefix(name, Prefix) {
					stale = append(stale, name)
				}
			}
		} else {
			for name := range b.applied[t] {
				if _, ok := cur[name]; !ok {
					stale = append(stale, name)
				}
			}
		}
		slices.Sort(stale)
		for _, name := range stale {
			remove[t] = append(remove[t], chain{name: name})
		}
	}
	if data := restoreInput(write, remove); len(data) > 0 {
		wrote = true
		if err := b.restore(data); err != nil {
			// What is in the kernel is unknown now: start over next time.
			b.needFull = true
			return true, err
		}
	}
	b.applied = next
	if udpChanged || full {
		if f := newStaleUDP(rs); f != nil {
			if err := b.clearUDP(f); err != nil && b.cfg.ConntrackError != nil {
				b.cfg.ConntrackError(fmt.Errorf("iptables: clear stale UDP conntrack entries: %w", err))
			}
		}
	}
	if full {
		if _, err := b.ensure(); err != nil {
			b.needFull = true
			return wrote, err
		}
		b.needFull = false
		b.lastFull, b.lastJump = now, now
	}
	return wrote, nil
}

// Cleanup removes every jump and chain the backend (or an earlier backend
// in this network namespace) created. The next Apply starts from scratch.
func (b *Backend) Cleanup() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.needFull = true
	b.applied = nil
	errJ := b.unjump()
	remove := map[string][]chain{}
	var errs []error
	for _, t := range []string{TableFilter, TableNAT} {
		names, err := b.listChains(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(n, Prefix) {
				remove[t] = append(remove[t], chain{name: n})
			}
		}
	}
	if data := restoreInput(nil, remove); len(data) > 0 {
		errs = append(errs, b.restore(data))
	}
	return errors.Join(append([]error{errJ}, errs...)...)
}

// runRestore feeds data to iptables-restore --noflush in the current
// network namespace.
func runRestore(data []byte) error {
	cmd := exec.Command("iptables-restore", "-w", "5", "--noflush")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s%s", err, strings.TrimSpace(stderr.String()), failedLine(data, stderr.String()))
	}
	return nil
}

// failedLine quotes the input line iptables-restore complains about
// ("... line N failed"), if it names one.
func failedLine(data []byte, msg string) string {
	i := strings.Index(msg, "line ")
	if i < 0 {
		return ""
	}
	var n int
	if _, err := fmt.Sscanf(msg[i:], "line %d", &n); err != nil || n < 1 {
		return ""
	}
	ls := strings.Split(string(data), "\n")
	if n > len(ls) {
		return ""
	}
	return fmt.Sprintf(" (input line %d: %q)", n, ls[n-1])
}

// savedChains lists the chains of table as iptables-save reports them.
func savedChains(table string) ([]string, error) {
	out, err := exec.Command("iptables-save", "-t", table).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("iptables-save -t %s: %v: %s", table, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("iptables-save -t %s: %w", table, err)
	}
	return parseChains(out), nil
}

// parseChains returns the chain names declared (":NAME policy [p:b]") in
// iptables-save output.
func parseChains(save []byte) []string {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if len(l) > 1 && l[0] == ':' {
			if f := strings.Fields(l[1:]); len(f) > 0 {
				names = append(names, f[0])
			}
		}
	}
	return names
}

// ensureJumps inserts each missing jump at the top of its built-in chain
// and reports how many were missing (including jumps it could not insert
// because their target chain does not exist). They are inserted in
// reverse so that the chain lists them in jumps() order.
func ensureJumps() (inserted int, err error) {
	ipt, err := goipt.New()
	if err != nil {
		return 0, fmt.Errorf("iptables: %w", err)
	}
	js := jumps()
	for i := len(js) - 1; i >= 0; i-- {
		j := js[i]
		target := j.args[len(j.args)-1]
		if ok, err := ipt.ChainExists(j.table, target); err == nil && !ok {
			// The chain itself is gone: report the jump missing so that
			// the caller does a full sync, which recreates the chain
			// before it inserts the jump.
			inserted++
			continue
		}
		ok, err := ipt.Exists(j.table, j.chain, j.args...)
		if err != nil {
			return inserted, fmt.Errorf("iptables: check jump %s/%s -> %s: %w", j.table, j.chain, j.args[len(j.args)-1], err)
		}
		if ok {
			continue
		}
		if err := ipt.Insert(j.table, j.chain, 1, j.args...); err != nil {
			return inserted, fmt.Errorf("iptables: insert jump %s/%s -> %s: %w", j.table, j.chain, j.args[len(j.args)-1], err)
		}
		inserted++
	}
	return inserted, nil
}

// removeJumps deletes every jump, tolerating absent ones.
func removeJumps() error {
	ipt, err := goipt.New()
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	var errs []error
	for _, j := range jumps() {
		target := j.args[len(j.args)-1]
		if ok, err := ipt.ChainExists(j.table, target); err == nil && !ok {
			continue // a jump to a missing chain cannot exist
		}
		if err := ipt.DeleteIfExists(j.table, j.chain, j.args...); err != nil {
			errs = append(errs, fmt.Errorf("iptables: delete jump %s/%s -> %s: %w", j.table, j.chain, j.args[len(j.args)-1], err))
		}
	}
	return errors.Join(errs...)
}
