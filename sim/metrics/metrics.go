// Package metrics measures a simulated run from the stream of pod changes:
// scheduling latency (pod created -> bound), pod startup (created -> first
// Ready) and recovery after node crashes (crash -> every affected workload
// has as many Ready pods on live nodes as before the crash).
package metrics

import (
	"sort"
	"time"

	"gonum.org/v1/gonum/stat"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Percentiles summarises a sample of durations, in seconds.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summarise computes percentiles of ds.
func Summarise(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = d.Seconds()
	}
	sort.Float64s(xs)
	q := func(p float64) float64 { return stat.Quantile(p, stat.Empirical, xs, nil) }
	return Percentiles{Count: len(xs), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: xs[len(xs)-1]}
}

type podState struct {
	created   time.Duration
	node      string
	owner     types.UID
	scheduled bool
	everReady bool
	counted   bool // Ready on a live node, counted in readyLive
}

// Recovery is the outcome of one node crash.
type Recovery struct {
	Node      string        `json:"node"`
	At        time.Duration `json:"-"`
	AtSeconds float64       `json:"atSeconds"`
	// Seconds from the crash until every affected workload was back to its
	// Ready count; negative when it never recovered within the run.
	Seconds  float64 `json:"seconds"`
	PodsLost int     `json:"podsLost"`
}

type crash struct {
	rec    Recovery
	target map[types.UID]int
	done   bool
}

// Collector folds pod changes into measurements.
type Collector struct {
	pods       map[types.UID]*podState
	byNode     map[string]map[types.UID]bool
	readyLive  map[types.UID]int // owner -> Ready pods on live nodes
	down       map[string]bool
	scheduling []time.Duration
	startup    []time.Duration
	replaced   []time.Duration // crash -> each replacement pod Ready
	crashes    []*crash
}

// New returns an empty collector.
func New() *Collector {
	return &Collector{pods: map[types.UID]*podState{}, byNode: map[string]map[types.UID]bool{},
		readyLive: map[types.UID]int{}, down: map[string]bool{}}
}

// PodChanged records a pod's new state (nil when deleted) at offset now.
func (c *Collector) PodChanged(now time.Duration, uid types.UID, pod *corev1.Pod) {
	st := c.pods[uid]
	if pod == nil {
		if st != nil {
			c.setCounted(uid, st, false)
			c.setNode(uid, st, "")
			delete(c.pods, uid)
		}
		return
	}
	if st == nil {
		st = &podState{created: now, owner: controllerUID(pod)}
		c.pods[uid] = st
	}
	if pod.Spec.NodeName != "" && !st.scheduled {
		st.scheduled = true
		c.scheduling = append(c.scheduling, now-st.created)
	}
	c.setNode(uid, st, pod.Spec.NodeName)
	ready := isReady(pod) && pod.DeletionTimestamp == nil
	if ready && !st.everReady {
		st.everReady = true
		c.startup = append(c.startup, now-st.created)
		for _, cr := range c.crashes {
			if !cr.done && st.created > cr.rec.At && cr.target[st.owner] > 0 {
				c.replaced = append(c.replaced, now-cr.rec.At)
				break
			}
		}
	}
	c.setCounted(uid, st, ready && !c.down[st.node])
	c.checkRecovered(now)
}

func (c *Collector) setNode(uid types.UID, st *podState, node string) {
	if st.node == node {
		return
	}
	if m := c.byNode[st.node]; m != nil {
		delete(m, uid)
	}
	st.node = node
	if node != "" {
		m := c.byNode[node]
		if m == nil {
			m = map[types.UID]bool{}
			c.byNode[node] = m
		}
		m[uid] = true
	}
}

func (c *Collector) setCounted(uid types.UID, st *podState, v bool) {
	if st.counted == v || st.owner == "" {
		st.counted = v && st.owner != ""
		return
	}
	st.counted = v
	if v {
		c.readyLive[st.owner]++
	} else {
		c.readyLive[st.owner]--
	}
}

// NodeCrashed records a node failure at offset now.
func (c *Collector) NodeCrashed(now time.Duration, node string) {
	cr := &crash{rec: Recovery{Node: node, At: now, AtSeconds: now.Seconds(), Seconds: -1}, target: map[types.UID]int{}}
	uids := make([]types.UID, 0, len(c.byNode[node]))
	for uid := range c.byNode[node] {
		uids = append(uids, uid)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	for _, uid := range uids {
		if st := c.pods[uid]; st.counted {
			cr.rec.PodsLost++
			cr.target[st.owner] = c.readyLive[st.owner]
		}
	}
	c.down[node] = true
	for _, uid := range uids {
		c.setCounted(uid, c.pods[uid], false)
	}
	if len(cr.target) == 0 {
		cr.done, cr.rec.Seconds = true, 0
	}
	c.crashes = append(c.crashes, cr)
}

// NodeRestored records that a crashed node is back.
func (c *Collector) NodeRestored(node string) { delete(c.down, node) }

func (c *Collector) checkRecovered(now time.Duration) {
	for _, cr := range c.crashes {
		if cr.done {
			continue
		}
		ok := true
		for owner, want := range cr.target {
			if c.readyLive[owner] < want {
				ok = false
				break
			}
		}
		if ok {
			cr.done = true
			cr.rec.Seconds = (now - cr.rec.At).Seconds()
		}
	}
}

// Summary is what a run measured.
type Summary struct {
	SchedulingLatency Percentiles `json:"schedulingLatencySeconds"`
	PodStartup        Percentiles `json:"podStartupSeconds"`
	Replacement       Percentiles `json:"replacementReadySeconds"`
	Recoveries        []Recovery  `json:"recoveries"`
}

// Summary computes the measurements so far.
func (c *Collector) Summary() Summary {
	s := Summary{SchedulingLatency: Summarise(c.scheduling), PodStartup: Summarise(c.startup),
		Replacement: Summarise(c.replaced), Recoveries: []Recovery{}}
	for _, cr := range c.crashes {
		s.Recoveries = append(s.Recoveries, cr.rec)
	}
	return s
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func controllerUID(p *corev1.Pod) types.UID {
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		return ref.UID
	}
	return ""
}
