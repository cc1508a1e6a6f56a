package podgc

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/informer"
)

// countingClient counts Node look-ups through the API, by name.
type countingClient struct {
	client.Interface
	nodeGets map[string]int
}

func (c *countingClient) Get(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
	if r == api.Nodes {
		c.nodeGets[name]++
	}
	return c.Interface.Get(ctx, r, ns, name)
}

type fixture struct {
	t      *testing.T
	h      *harness.Harness
	cl     *countingClient
	pods   *informer.Informer
	nodes  *informer.Informer
	c      *Controller
	logs   []string
	errs   []error
	last   map[string]*corev1.Pod // each pod's state when it was removed
	goneAt map[string]time.Duration
}

// newFixture builds the harness and informers; start builds the
// controller. nodes, if given, replaces the reflector-fed node cache (to
// model a cache that lags behind the API).
func newFixture(t *testing.T, nodes *informer.Informer) *fixture {
	t.Helper()
	h := harness.New(t)
	f := &fixture{t: t, h: h, cl: &countingClient{Interface: h.Client, nodeGets: map[string]int{}}, pods: h.Informer(api.Pods), nodes: nodes,
		last: map[string]*corev1.Pod{}, goneAt: map[string]time.Duration{}}
	if f.nodes == nil {
		f.nodes = h.Informer(api.Nodes)
	}
	f.pods.AddHandler(informer.Handler{OnDelete: func(obj api.Object) {
		p := obj.(*corev1.Pod)
		f.last[p.Name] = p
		f.goneAt[p.Name] = elapsed(h)
	}})
	return f
}

func (f *fixture) start(threshold int) {
	f.c = New(Config{Client: f.cl, Clock: f.h.Clock, Pods: f.pods, Nodes: f.nodes, TerminatedPodThreshold: threshold,
		Log: func(msg string, kv ...any) { f.logs = append(f.logs, fmt.Sprint(append([]any{msg}, kv...)...)) }})
	f.c.Runner.OnError = func(_, _ string, err error) { f.errs = append(f.errs, err) }
	f.h.Settle()
}

func elapsed(h *harness.Harness) time.Duration { return h.Clock.Now().Sub(harness.Epoch) }

func (f *fixture) addNode(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) {
	f.h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}})
}

// addPod creates a pod bound to node ("" for none) and sets its status.
func (f *fixture) addPod(name, node string, phase corev1.PodPhase, reason string, finalizers ...string) {
	f.t.Helper()
	p := f.h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Finalizers: finalizers},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}).(*corev1.Pod).DeepCopy()
	p.Status.Phase, p.Status.Reason = phase, reason
	if phase == corev1.PodRunning {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if _, err := f.h.API.Update(context.Background(), p, "status"); err != nil {
		f.t.Fatalf("status of %s: %v", name, err)
	}
}

// deletePod is a graceful delete, as kubectl or the taint manager does.
func (f *fixture) deletePod(name string) {
	f.t.Helper()
	if _, _, err := f.h.API.Delete(context.Background(), api.Pods, "default", name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatalf("delete %s: %v", name, err)
	}
}

func (f *fixture) deleteNode(name string) {
	f.t.Helper()
	if _, _, err := f.h.API.Delete(context.Background(), api.Nodes, "", name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatalf("delete node %s: %v", name, err)
	}
}

func (f *fixture) pod(name string) *corev1.Pod {
	if o := f.h.Get(api.Pods, "default", name); o != nil {
		return o.(*corev1.Pod)
	}
	return nil
}

// run advances one second at a time up to until, calling at[s] at second s.
func (f *fixture) run(until time.Duration, at map[time.Duration]func()) {
	for elapsed(f.h) < until {
		f.h.Advance(time.Second)
		if fn := at[elapsed(f.h)]; fn != nil {
			fn()
		}
	}
}

func (f *fixture) remaining() []string {
	var out []string
	for _, o := range f.h.List(api.Pods, "default", "") {
		out = append(out, o.GetName())
	}
	return out
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func TestTerminatedPodsAboveThreshold(t *testing.T) {
	// Created a second apart, oldest first; four are terminal.
	pods := []struct {
		name   string
		phase  corev1.PodPhase
		reason string
	}{
		{"a-succeeded", corev1.PodSucceeded, ""},
		{"b-failed", corev1.PodFailed, ""},
		{"c-running", corev1.PodRunning, ""},
		{"d-succeeded", corev1.PodSucceeded, ""},
		{"e-evicted", corev1.PodFailed, "Evicted"},
		{"f-pending", corev1.PodPending, ""},
	}
	tests := []struct {
		threshold int
		deleted   []string // in deletion order
	}{
		{threshold: 0},  // off
		{threshold: 4},  // at the threshold
		{threshold: 10}, // below
		{threshold: 3, deleted: []string{"e-evicted"}},
		{threshold: 2, deleted: []string{"e-evicted", "a-succeeded"}},
		{threshold: 1, deleted: []string{"e-evicted", "a-succeeded", "b-failed"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("threshold %d", tc.threshold), func(t *testing.T) {
			f := newFixture(t, nil)
			f.addNode("n1", corev1.ConditionTrue)
			for _, p := range pods {
				f.addPod(p.name, "n1", p.phase, p.reason)
				f.h.Advance(time.Second)
			}
			var order []string
			f.pods.AddHandler(informer.Handler{OnDelete: func(obj api.Object) { order = append(order, obj.GetName()) }})
			f.start(tc.threshold)
			f.run(30*time.Second, nil)
			if !slices.Equal(order, tc.deleted) {
				t.Errorf("deleted %v, want %v", order, tc.deleted)
			}
			for _, p := range pods {
				if last := f.last[p.name]; last != nil && last.Status.Phase != p.phase {
					t.Errorf("%s: phase %s at deletion, want %s unchanged", p.name, last.Status.Phase, p.phase)
				}
			}
			if len(tc.deleted) > 0 {
				if want := fmt.Sprint("Garbage collecting pods", "numPods", len(tc.deleted)); f.logs[0] != want {
					t.Errorf("first log %q, want %q", f.logs[0], want)
				}
			}
			if len(f.errs) > 0 {
				t.Errorf("errors: %v", f.errs)
			}
		})
	}
}

// Orphans: pods bound to a node that does not exist go once the node has
// been missing for the quarantine (40s, seen on the 20s passes) and the API,
// not only the cache, says it is gone.
func TestOrphanedPods(t *testing.T) {
	tests := []struct {
		name string
		// laggingCache: the controller's node cache never hears of any node.
		laggingCache bool
		setup        func(f *fixture)
		at           map[time.Duration]func(f *fixture)
		wantGoneAt   time.Duration // of pod "p"; 0: never within 300s
		wantGets     int
	}{
		{
			// Seen missing on the 20s pass, quarantined until 60s.
			name:  "node deleted",
			setup: func(f *fixture) { f.addNode("n1", corev1.ConditionTrue); f.addPod("p", "n1", corev1.PodRunning, "") },
			at:    map[time.Duration]func(f *fixture){5 * time.Second: func(f *fixture) { f.deleteNode("n1") }},
			// One look-up: once its pods are gone the node is no longer a suspect.
			wantGoneAt: 60 * time.Second, wantGets: 1,
		},
		{
			name:       "bound to a node that never existed",
			setup:      func(f *fixture) { f.addPod("p", "ghost", corev1.PodRunning, "") },
			wantGoneAt: 40 * time.Second, wantGets: 1,
		},
		{
			name:  "node back within the quarantine",
			setup: func(f *fixture) { f.addNode("n1", corev1.ConditionTrue); f.addPod("p", "n1", corev1.PodRunning, "") },
			at: map[time.Duration]func(f *fixture){
				5 * time.Second:  func(f *fixture) { f.deleteNode("n1") },
				30 * time.Second: func(f *fixture) { f.addNode("n1", corev1.ConditionTrue) },
			},
		},
		{
			// The cache never has the node, the API does: looked up after
			// each 40s quarantine (40s, 80s, ... 280s), never deleted.
			name: "cache lags, the API has the node", laggingCache: true,
			setup:    func(f *fixture) { f.addNode("n1", corev1.ConditionTrue); f.addPod("p", "n1", corev1.PodRunning, "") },
			wantGets: 7,
		},
		{
			name: "cache lags, then the node is deleted", laggingCache: true,
			setup: func(f *fixture) { f.addNode("n1", corev1.ConditionTrue); f.addPod("p", "n1", corev1.PodRunning, "") },
			// Looked up at 40s and 80s (there), at 120s gone.
			at:         map[time.Duration]func(f *fixture){90 * time.Second: func(f *fixture) { f.deleteNode("n1") }},
			wantGoneAt: 120 * time.Second, wantGets: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nodes *informer.Informer
			if tc.laggingCache {
				nodes = informer.New(api.Nodes)
				nodes.Replace(nil, "1") // synced, empty
			}
			f := newFixture(t, nodes)
			f.addNode("other", corev1.ConditionTrue)
			f.addPod("bystander", "other", corev1.PodRunning, "")
			tc.setup(f)
			f.h.Settle()
			f.start(DefaultTerminatedPodThreshold)
			at := map[time.Duration]func(){}
			for d, fn := range tc.at {
				at[d] = func() { fn(f) }
			}
			f.run(300*time.Second, at)

			if got := f.goneAt["p"]; got != tc.wantGoneAt {
				t.Errorf("p gone at %v, want %v (0: never)", got, tc.wantGoneAt)
			}
			if got := f.cl.nodeGets["n1"] + f.cl.nodeGets["ghost"]; got != tc.wantGets {
				t.Errorf("%d look-ups of p's node through the API, want %d", got, tc.wantGets)
			}
			if _, gone := f.goneAt["bystander"]; gone {
				t.Errorf("pod on an existing node deleted")
			}
			if len(f.errs) > 0 {
				t.Errorf("errors: %v", f.errs)
			}
			if tc.wantGoneAt == 0 {
				return
			}
			p := f.last["p"]
			if p.Status.Phase != corev1.PodFailed {
				t.Errorf("phase at deletion %s, want Failed", p.Status.Phase)
			}
			dt := condition(p, corev1.DisruptionTarget)
			if dt == nil || dt.Status != corev1.ConditionTrue || dt.Reason != "DeletionByPodGC" || dt.Message != "PodGC: node no longer exists" {
				t.Errorf("DisruptionTarget = %+v", dt)
			}
			if condition(p, corev1.PodReady) == nil {
				t.Errorf("the status patch dropped the Ready condition: %+v", p.Status.Conditions)
			}
			want := []string{fmt.Sprint("PodGC is force deleting Pod", "pod", "default/p"),
				fmt.Sprint("Forced deletion of orphaned Pod succeeded", "pod", "default/p")}
			if !slices.Equal(f.logs, want) {
				t.Errorf("logs %q, want %q", f.logs, want)
			}
		})
	}
}

// Terminating pods go at once only from a node that is not Ready and has the
// out-of-service taint.
func TestTerminatingOnOutOfServiceNode(t *testing.T) {
	oos := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name        string
		ready       corev1.ConditionStatus
		taints      []corev1.Taint
		terminating bool
		wantGone    bool
	}{
		{"not ready, tainted", corev1.ConditionFalse, []corev1.Taint{oos}, true, true},
		{"unknown, tainted NoSchedule", corev1.ConditionUnknown, []corev1.Taint{{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoSchedule}}, true, true},
		{"ready, tainted", corev1.ConditionTrue, []corev1.Taint{oos}, true, false},
		{"not ready, no taint", corev1.ConditionUnknown, nil, true, false},
		{"not ready, another taint", corev1.ConditionFalse, []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}}, true, false},
		{"not ready, tainted, pod not terminating", corev1.ConditionFalse, []corev1.Taint{oos}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.addNode("n1", tc.ready, tc.taints...)
			f.addPod("p", "n1", corev1.PodRunning, "")
			if tc.terminating {
				f.deletePod("p") // graceful: Terminating, with no kubelet to finish it
			}
			f.h.Settle()
			if p := f.pod("p"); tc.terminating != (p.DeletionTimestamp != nil) {
				t.Fatalf("terminating = %v, want %v", p.DeletionTimestamp != nil, tc.terminating)
			}
			f.start(DefaultTerminatedPodThreshold)
			f.run(300*time.Second, nil)
			_, gone := f.goneAt["p"]
			if gone != tc.wantGone {
				t.Fatalf("gone = %v, want %v", gone, tc.wantGone)
			}
			if !gone {
				if len(f.logs) > 0 {
					t.Errorf("logs %q", f.logs)
				}
				return
			}
			if at := f.goneAt["p"]; at != 0 {
				t.Errorf("gone at %v, want on the first pass", at)
			}
			p := f.last["p"]
			if p.Status.Phase != corev1.PodFailed || condition(p, corev1.DisruptionTarget) != nil {
				t.Errorf("at deletion: phase %s, conditions %+v; want Failed without DisruptionTarget", p.Status.Phase, p.Status.Conditions)
			}
			if want := []string{fmt.Sprint("PodGC is force deleting Pod", "pod", "default/p")}; !slices.Equal(f.logs, want) {
				t.Errorf("logs %q, want %q", f.logs, want)
			}
		})
	}
}

// The taint arriving later: the next pass picks the pod up.
func TestOutOfServiceTaintAddedLater(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", corev1.ConditionUnknown)
	f.addPod("p", "n1", corev1.PodRunning, "")
	f.deletePod("p")
	f.start(DefaultTerminatedPodThreshold)
	f.run(time.Minute, map[time.Duration]func(){45 * time.Second: func() {
		n := f.h.Get(api.Nodes, "", "n1").(*corev1.Node).DeepCopy()
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute})
		if _, err := f.h.API.Update(context.Background(), n, ""); err != nil {
			t.Fatal(err)
		}
	}})
	if got := f.goneAt["p"]; got != 60*time.Second {
		t.Errorf("gone at %v, want 60s (the first pass after the taint)", got)
	}
}

// Terminating pods that were never scheduled: a finalizer keeps one from
// going at once; PodGC marks it Failed and deletes it with grace 0.
func TestUnscheduledTerminatingPods(t *testing.T) {
	tests := []struct {
		name       string
		node       string
		phase      corev1.PodPhase
		terminate  bool
		wantFailed bool
	}{
		{"pending, terminating", "", corev1.PodPending, true, true},
		{"pending, not terminating", "", corev1.PodPending, false, false},
		{"already failed, terminating", "", corev1.PodFailed, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.addPod("p", tc.node, tc.phase, "", "example.com/hold")
			if tc.terminate {
				f.deletePod("p")
			}
			f.h.Settle()
			f.start(DefaultTerminatedPodThreshold)
			f.h.Advance(time.Second)
			p := f.pod("p")
			if got := p.Status.Phase == corev1.PodFailed; got != tc.wantFailed {
				t.Errorf("phase %s, want Failed: %v", p.Status.Phase, tc.wantFailed)
			}
			var want []string
			if tc.terminate {
				want = []string{fmt.Sprint("PodGC is force deleting Pod", "pod", "default/p"),
					fmt.Sprint("Forced deletion of unscheduled terminating Pod succeeded", "pod", "default/p")}
			}
			if !slices.Equal(f.logs, want) {
				t.Errorf("logs %q, want %q", f.logs, want)
			}
			// Once the finalizer is gone, so is the pod.
			p = p.DeepCopy()
			p.Finalizers = nil
			if _, err := f.h.API.Update(context.Background(), p, ""); err != nil {
				t.Fatal(err)
			}
			f.h.Advance(time.Second)
			if gone := f.pod("p") == nil; gone != tc.terminate {
				t.Errorf("gone = %v after the finalizer was removed", gone)
			}
		})
	}
}

// Passes over a healthy cluster find nothing to do and keep no state.
func TestIdleCluster(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", corev1.ConditionTrue)
	for i := range 50 {
		f.addPod(fmt.Sprintf("p%02d", i), "n1", corev1.PodRunning, "")
	}
	f.h.Settle()
	f.start(DefaultTerminatedPodThreshold)
	f.run(100*time.Second, nil)
	if f.c.Passes != 6 { // 0s, 20s, ... 100s
		t.Errorf("%d passes, want 6", f.c.Passes)
	}
	if len(f.c.suspects) != 0 || len(f.c.quarantine) != 0 || len(f.cl.nodeGets) != 0 || len(f.logs) != 0 {
		t.Errorf("idle cluster: suspects %v, quarantine %v, look-ups %v, logs %q", f.c.suspects, f.c.quarantine, f.cl.nodeGets, f.logs)
	}
	if got := f.remaining(); len(got) != 50 {
		t.Errorf("%d pods left, want 50", len(got))
	}
}
