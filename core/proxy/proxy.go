package proxy

import (
	"cmp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/informer"
)

// Defaults follow kube-proxy's iptables mode.
const (
	// DefaultMinSyncPeriod is the least time between two syncs: a burst of
	// Service and Endpoints changes is applied as one.
	DefaultMinSyncPeriod = time.Second
	// DefaultSyncPeriod is how often everything is re-applied even without
	// changes (repairing drift), and how soon a failed Apply is retried.
	DefaultSyncPeriod = 30 * time.Second
)

// Config wires a Proxy.
type Config struct {
	Clock     clock.Clock
	Services  *informer.Informer // api.Services
	Endpoints *informer.Informer // api.Endpoints
	Backend   Backend
	// MinSyncPeriod and SyncPeriod default to DefaultMinSyncPeriod and
	// DefaultSyncPeriod.
	MinSyncPeriod time.Duration
	SyncPeriod    time.Duration
	// OnError, if set, hears failed Applies.
	OnError func(error)
}

// Stats counts what a Proxy did, for tests and traces.
type Stats struct {
	Syncs    int // sync runs after both caches synced
	Applies  int // calls to Backend.Apply
	Failures int // Applies that returned an error
	// LastApply is when Backend.Apply last succeeded (zero if never).
	LastApply time.Time
}

type svcKey struct{ ns, name string }

func (a svcKey) compare(b svcKey) int {
	if c := cmp.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}

// Proxy keeps a Backend programmed with the rules for the Services and
// Endpoints in its caches. It recomputes only the Services that changed and
// runs entirely on the driver's loop through the clock.
type Proxy struct {
	cfg Config

	ports map[svcKey][]ServicePort // rules per Service with rules
	keys  []svcKey                 // keys of ports, sorted
	dirty map[svcKey]bool
	rules RuleSet // desired state, assembled from ports

	started, stopped bool
	rebuild          bool // recompute every Service at the next sync
	inSync           bool // the last Apply succeeded and rules has not changed since
	lastSync         time.Time
	synced           bool // lastSync is set
	timer            clock.Timer
	timerAt          time.Time
	stats            Stats
}

// New returns a stopped Proxy.
func New(cfg Config) *Proxy {
	if cfg.MinSyncPeriod <= 0 {
		cfg.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = DefaultSyncPeriod
	}
	return &Proxy{cfg: cfg, ports: map[svcKey][]ServicePort{}, dirty: map[svcKey]bool{}}
}

// Start registers with the caches and schedules the first sync, which runs
// once both caches have synced.
func (p *Proxy) Start() {
	p.stopped = false
	p.rebuild = true
	if !p.started {
		p.started = true
		h := informer.Handler{
			OnAdd:    func(o api.Object) { p.changed(o) },
			OnUpdate: func(_, o api.Object) { p.changed(o) },
			OnDelete: func(o api.Object) { p.changed(o) },
		}
		p.cfg.Services.AddHandler(h)
		p.cfg.Endpoints.AddHandler(h)
	}
	p.requestSync()
}

// Stop cancels pending syncs; the backend keeps its last rules.
func (p *Proxy) Stop() {
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// Rules is the desired RuleSet as of the last sync. It is shared: do not
// modify it.
func (p *Proxy) Rules() RuleSet { return p.rules }

// InSync reports whether the backend holds Rules().
func (p *Proxy) InSync() bool { return p.inSync }

// Stats reports counters.
func (p *Proxy) Stats() Stats { return p.stats }

func (p *Proxy) changed(o api.Object) {
	if p.stopped {
		return
	}
	p.dirty[svcKey{o.GetNamespace(), o.GetName()}] = true
	p.requestSync()
}

// requestSync schedules a sync as soon as MinSyncPeriod allows, unless one
// is already due no later than that.
func (p *Proxy) requestSync() {
	at := p.cfg.Clock.Now()
	if p.synced {
		if next := p.lastSync.Add(p.cfg.MinSyncPeriod); next.After(at) {
			at = next
		}
	}
	p.schedule(at)
}

// schedule makes sure a sync runs at or before at.
func (p *Proxy) schedule(at time.Time) {
	if p.stopped || (p.timer != nil && !p.timerAt.After(at)) {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timerAt = at
	p.timer = p.cfg.Clock.AfterFunc(at.Sub(p.cfg.Clock.Now()), p.sync)
}

func (p *Proxy) sync() {
	p.timer = nil
	if p.stopped {
		return
	}
	now := p.cfg.Clock.Now()
	if !p.cfg.Services.HasSynced() || !p.cfg.Endpoints.HasSynced() {
		// kube-proxy programs nothing until it has seen every Service and
		// Endpoints object; look again shortly.
		p.schedule(now.Add(p.cfg.MinSyncPeriod))
		return
	}
	p.lastSync, p.synced = now, true
	p.stats.Syncs++
	if p.recompute() {
		p.inSync = false
	}
	// Apply on change, after a failure, and every SyncPeriod regardless.
	if !p.inSync || !now.Before(p.stats.LastApply.Add(p.cfg.SyncPeriod)) {
		p.stats.Applies++
		if err := p.cfg.Backend.Apply(p.rules); err != nil {
			p.stats.Failures++
			p.inSync = false
			if p.cfg.OnError != nil {
				p.cfg.OnError(err)
			}
		} else {
			p.inSync = true
			p.stats.LastApply = now
		}
	}
	// The next full resync is SyncPeriod after the last successful apply;
	// failures are retried SyncPeriod later, as kube-proxy does.
	next := now.Add(p.cfg.SyncPeriod)
	if p.inSync {
		next = p.stats.LastApply.Add(p.cfg.SyncPeriod)
	}
	p.schedule(next)
}

// recompute refreshes the rules of dirty Services (or all of them after
// Start) and reports whether the RuleSet changed.
func (p *Proxy) recompute() bool {
	var keys []svcKey
	if p.rebuild {
		p.rebuild = false
		clear(p.dirty)
		seen := map[svcKey]bool{}
		for _, k := range p.keys {
			seen[k] = true
		}
		for _, o := range p.cfg.Services.List() {
			seen[svcKey{o.GetNamespace(), o.GetName()}] = true
		}
		for k := range seen {
			keys = append(keys, k)
		}
	} else {
		for k := range p.dirty {
			keys = append(keys, k)
		}
		clear(p.dirty)
	}
	// Sorted so that the work done, like its result, never depends on map order.
	slices.SortFunc(keys, svcKey.compare)
	changed := false
	for _, k := range keys {
		if p.refresh(k) {
			changed = true
		}
	}
	if changed {
		n := 0
		for _, k := range p.keys {
			n += len(p.ports[k])
		}
		ports := make([]ServicePort, 0, n)
		for _, k := range p.keys {
			ports = append(ports, p.ports[k]...)
		}
		// A fresh slice each time: RuleSets already handed out stay immutable.
		p.rules = RuleSet{Ports: ports}
	}
	return changed
}

// refresh recomputes one Service's rules and reports whether they changed.
func (p *Proxy) refresh(k svcKey) bool {
	var svc *corev1.Service
	if o, ok := p.cfg.Services.Get(k.ns, k.name); ok {
		svc, _ = o.(*corev1.Service)
	}
	var ep *corev1.Endpoints
	if o, ok := p.cfg.Endpoints.Get(k.ns, k.name); ok {
		ep, _ = o.(*corev1.Endpoints)
	}
	cur := ServicePorts(svc, ep)
	old, had := p.ports[k]
	if len(cur) == 0 {
		if !had {
			return false
		}
		delete(p.ports, k)
		if i, ok := slices.BinarySearchFunc(p.keys, k, svcKey.compare); ok {
			p.keys = slices.Delete(p.keys, i, i+1)
		}
		return true
	}
	if had && slices.EqualFunc(old, cur, func(a, b ServicePort) bool { return a.Equal(&b) }) {
		return false
	}
	p.ports[k] = cur
	if !had {
		i, _ := slices.BinarySearchFunc(p.keys, k, svcKey.compare)
		p.keys = slices.Insert(p.keys, i, k)
	}
	return true
}
