package nodelifecycle

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

// A node whose kubelet goes silent: Unknown after the 40s grace period (seen
// at the next 5s monitor pass, 45s), unreachable taints, pods marked not ready,
// then evictions by toleration.
func TestSilentNodeEvictions(t *testing.T) {
	f := newFixture(t)
	f.addNode("n1")
	unreachable := func(secs int64) corev1.Toleration {
		return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs}
	}
	pods := []struct {
		name string
		tols []corev1.Toleration
		want time.Duration // 0: never evicted within the test
	}{
		{"tolerate-30", []corev1.Toleration{unreachable(30)}, 75 * time.Second},
		{"default-300", nil, 345 * time.Second},
		{"zero", []corev1.Toleration{unreachable(0)}, 45 * time.Second},
		{"not-ready-only", []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(10))}}, 345 * time.Second},
		{"forever", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, 0},
	}
	for _, p := range pods {
		f.addPod(p.name, "n1", p.tols...)
	}
	f.h.Settle()

	evicted := map[string]time.Duration{}
	var unknownAt time.Duration
	for elapsed(f.h) < 400*time.Second {
		f.h.Advance(time.Second)
		n := f.node("n1")
		if unknownAt == 0 && readyStatus(n) == corev1.ConditionUnknown {
			unknownAt = elapsed(f.h)
			if got := taintSet(n); !slices.Equal(got, []string{"node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"}) {
				t.Errorf("taints at Unknown = %v", got)
			}
			c := condition(n, corev1.NodeReady)
			if c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." {
				t.Errorf("ready condition = %+v", c)
			}
			if mp := condition(n, corev1.NodeMemoryPressure); mp.Status != corev1.ConditionUnknown {
				t.Errorf("memory pressure = %v, want Unknown", mp.Status)
			}
			if dp := condition(n, corev1.NodeDiskPressure); dp == nil || dp.Reason != "NodeStatusNeverUpdated" {
				t.Errorf("disk pressure = %+v, want never updated", dp)
			}
		}
		for _, p := range pods {
			if _, done := evicted[p.name]; !done && f.pod(p.name).DeletionTimestamp != nil {
				evicted[p.name] = elapsed(f.h)
			}
		}
	}
	if unknownAt != 45*time.Second {
		t.Errorf("node Unknown at %v, want 45s", unknownAt)
	}
	for _, p := range pods {
		got, ok := evicted[p.name]
		switch {
		case p.want == 0 && ok:
			t.Errorf("%s evicted at %v, want never", p.name, got)
		case p.want != 0 && got != p.want:
			t.Errorf("%s evicted at %v, want %v", p.name, got, p.want)
		}
	}
	fp := f.pod("forever")
	if podReady(fp) {
		t.Errorf("pod on Unknown node still Ready")
	}
	if !hasCondition(f.pod("tolerate-30"), corev1.DisruptionTarget) {
		t.Errorf("evicted pod lacks DisruptionTarget condition")
	}
	counts := map[string]int{}
	for _, e := range f.h.Events {
		counts[e.Reason]++
	}
	if counts["TaintManagerEviction"] != 4 || counts["NodeNotReady"] != 6 || counts["RegisteredNode"] != 1 {
		t.Errorf("event counts = %v", counts)
	}
}

// A node that keeps renewing its lease stays Ready even though its status
// heartbeat is old; when it goes silent and comes back, taints are removed
// and pods within their toleration are kept.
func TestLeaseKeepsNodeAliveAndRecovery(t *testing.T) {
	f := newFixture(t)
	f.addNode("n1")
	f.addPod("p", "n1")
	f.h.Settle()
	for range 12 { // 120s of lease renewals, no status posts
		f.h.Advance(10 * time.Second)
		f.renewLease("n1")
	}
	if s := readyStatus(f.node("n1")); s != corev1.ConditionTrue {
		t.Fatalf("ready = %v with a fresh lease", s)
	}
	f.h.Advance(60 * time.Second) // silent
	if s := readyStatus(f.node("n1")); s != corev1.ConditionUnknown {
		t.Fatalf("ready = %v after silence", s)
	}
	f.renewLease("n1")
	f.postStatus("n1", corev1.ConditionTrue)
	f.h.Settle()
	f.h.Advance(time.Second)
	if got := taintSet(f.node("n1")); len(got) != 0 {
		t.Errorf("taints after recovery = %v", got)
	}
	for range 40 {
		f.h.Advance(10 * time.Second)
		f.renewLease("n1")
	}
	if f.pod("p").DeletionTimestamp != nil {
		t.Errorf("pod evicted after node recovered")
	}
}

func TestTaintTransitions(t *testing.T) {
	steps := []struct {
		name string
		do   func(f *fixture)
		want []string
	}{
		{"ready", func(f *fixture) {}, nil},
		{"kubelet reports NotReady", func(f *fixture) { f.postStatus("n1", corev1.ConditionFalse) },
			[]string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/not-ready:NoSchedule"}},
		{"cordoned", func(f *fixture) {
			n := f.node("n1").DeepCopy()
			n.Spec.Unschedulable = true
			f.update(n, "")
		}, []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"}},
		{"silent: swapped to unreachable", func(f *fixture) { f.h.Advance(50 * time.Second) },
			[]string{"node.kubernetes.io/unschedulable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"}},
		{"back and uncordoned", func(f *fixture) {
			f.postStatus("n1", corev1.ConditionTrue)
			f.h.Settle()
			n := f.node("n1").DeepCopy()
			n.Spec.Unschedulable = false
			f.update(n, "")
		}, nil},
	}
	f := newFixture(t)
	f.addNode("n1")
	f.h.Settle()
	for _, s := range steps {
		s.do(f)
		f.h.Advance(time.Second)
		if got := taintSet(f.node("n1")); !slices.Equal(got, s.want) {
			t.Errorf("%s: taints = %v, want %v", s.name, got, s.want)
		}
	}
}

// A kubelet-reported NotReady marks pods not ready and evicts those with
// short not-ready tolerations; a user taint without timeAdded evicts
// intolerant pods at once.
func TestNotReadyAndUserTaint(t *testing.T) {
	f := newFixture(t)
	f.addNode("n1")
	f.addNode("n2")
	f.addPod("short", "n1", corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(20))})
	f.addPod("intolerant", "n2")
	f.addPod("tolerant", "n2", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "x",
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(60))})
	f.h.Settle()
	f.postStatus("n1", corev1.ConditionFalse)
	n2 := f.node("n2").DeepCopy()
	n2.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoExecute}}
	f.update(n2, "")
	f.h.Settle()
	if podReady(f.pod("short")) {
		t.Errorf("pod on NotReady node still ready")
	}
	if f.pod("intolerant").DeletionTimestamp == nil {
		t.Errorf("intolerant pod not evicted at once")
	}
	f.h.Advance(19 * time.Second)
	if f.pod("short").DeletionTimestamp != nil || f.pod("tolerant").DeletionTimestamp != nil {
		t.Errorf("evicted before tolerationSeconds")
	}
	f.h.Advance(2 * time.Second)
	if f.pod("short").DeletionTimestamp == nil {
		t.Errorf("short not evicted after 20s")
	}
	f.h.Advance(40 * time.Second)
	if f.pod("tolerant").DeletionTimestamp == nil {
		t.Errorf("tolerant not evicted after 60s")
	}
}

func TestNeverPostedNode(t *testing.T) {
	f := newFixture(t)
	f.h.Create(&corev1.Node{ObjectMeta: metaName("n1")})
	f.h.Settle()
	f.h.Advance(55 * time.Second)
	if s := readyStatus(f.node("n1")); s != "" {
		t.Fatalf("ready = %q before startup grace", s)
	}
	f.h.Advance(10 * time.Second)
	c := condition(f.node("n1"), corev1.NodeReady)
	if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusNeverUpdated" {
		t.Fatalf("ready = %+v, want Unknown NodeStatusNeverUpdated", c)
	}
	f.h.Advance(time.Second)
	if got := taintSet(f.node("n1")); !slices.Equal(got, []string{"node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"}) {
		t.Errorf("taints = %v", got)
	}
	// Node deletion drops its health record.
	f.h.API.Delete(t.Context(), nodesResource, "", "n1", deleteNow)
	f.h.Advance(10 * time.Second)
	if len(f.c.health) != 0 {
		t.Errorf("health kept for deleted node")
	}
}

// Nodes the informer held before the controller was built are monitored.
func TestStartsFromExistingCache(t *testing.T) {
	h := harness.New(t)
	nodes, leases, pods := h.Informer(api.Nodes), h.Informer(api.Leases), h.Informer(api.Pods)
	f := &fixture{t: t, h: h}
	f.addNode("n1")
	h.Settle()
	New(Config{Client: h.Client, Clock: h.Clock, Nodes: nodes, Leases: leases, Pods: pods})
	h.Advance(50 * time.Second)
	if s := readyStatus(f.node("n1")); s != corev1.ConditionUnknown {
		t.Errorf("ready = %v, want Unknown", s)
	}
}
