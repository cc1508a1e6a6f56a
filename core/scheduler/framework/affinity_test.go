package framework_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

// The snapshot keeps, incrementally, the nodes holding pods with affinity,
// the pod counters, ports in use and per-controller counts, through adds,
// replacements, removals and copies.
func TestSnapshotAffinityPortsAndOwners(t *testing.T) {
	s := framework.NewSnapshot()
	for _, n := range []string{"a", "b"} {
		s.AddNode(testobj.Node(n, "4", "8Gi", 10))
	}
	anti := testobj.RequiredAntiAffinity(testobj.Term(corev1.LabelHostname, "x"))
	pref := testobj.PreferredAffinity(3, testobj.Term(corev1.LabelHostname, "x"))
	rs := testobj.Controller("ReplicaSet", "rs")
	s.AddPod(framework.NewPodInfo(testobj.Pod("plain", "", "", rs)), "a")
	if len(s.NodesWithAffinityPods()) != 0 || s.NumPodsWithAffinity() != 0 {
		t.Fatal("plain pod tracked as affinity pod")
	}
	s.AddPod(framework.NewPodInfo(testobj.Pod("p1", "", "", anti, rs, testobj.HostPort(80, "", ""))), "a")
	s.AddPod(framework.NewPodInfo(testobj.Pod("p2", "", "", pref)), "a")
	s.AddPod(framework.NewPodInfo(testobj.Pod("p3", "", "", anti, rs)), "b")
	a, b := s.Get("a"), s.Get("b")
	if got := len(s.NodesWithAffinityPods()); got != 2 || s.NumPodsWithAffinity() != 3 || s.NumPodsWithRequiredAntiAffinity() != 2 {
		t.Fatalf("nodes %d affinity pods %d anti %d", got, s.NumPodsWithAffinity(), s.NumPodsWithRequiredAntiAffinity())
	}
	if len(a.PodsWithAffinity) != 2 || a.NumRequiredAntiAffinity != 1 || a.UsedPorts.Len() != 1 {
		t.Fatalf("a: %d with affinity, %d anti, %d ports", len(a.PodsWithAffinity), a.NumRequiredAntiAffinity, a.UsedPorts.Len())
	}
	if s.OwnedOn("rs", a) != 2 || s.OwnedOn("rs", b) != 1 || len(s.OwnedNodes("rs")) != 2 {
		t.Fatalf("owned a %d b %d", s.OwnedOn("rs", a), s.OwnedOn("rs", b))
	}
	// A scratch copy changes independently of the snapshot.
	var scratch framework.NodeInfo
	a.CopyInto(&scratch)
	scratch.RemovePod("p1")
	if len(scratch.PodsWithAffinity) != 1 || scratch.UsedPorts.Len() != 0 || len(a.PodsWithAffinity) != 2 || a.UsedPorts.Len() != 1 {
		t.Fatal("copy shares affinity or port state")
	}
	// The pod turning terminating stops counting for its controller.
	term := testobj.Pod("p1", "", "", anti, rs, testobj.HostPort(80, "", ""), testobj.Terminating)
	s.AddPod(framework.NewPodInfo(term), "a")
	if s.OwnedOn("rs", a) != 1 || s.NumPodsWithAffinity() != 3 || a.UsedPorts.Len() != 1 {
		t.Fatalf("after terminating: owned %d affinity %d", s.OwnedOn("rs", a), s.NumPodsWithAffinity())
	}
	s.RemovePod("p1")
	s.RemovePod("p3")
	if got := len(s.NodesWithAffinityPods()); got != 1 || s.NodesWithAffinityPods()[0] != a || s.NumPodsWithRequiredAntiAffinity() != 0 {
		t.Fatalf("after removals: %d nodes, %d anti", got, s.NumPodsWithRequiredAntiAffinity())
	}
	if a.UsedPorts.Len() != 0 || s.OwnedNodes("rs")[b] != 0 || len(s.OwnedNodes("rs")) != 1 {
		t.Fatal("ports or owner counts not released")
	}
	s.RemovePod("p2")
	s.RemovePod("plain")
	if len(s.NodesWithAffinityPods()) != 0 || s.NumPodsWithAffinity() != 0 || s.OwnedNodes("rs") != nil {
		t.Fatal("not empty after all removals")
	}
}

func TestHostPortConflicts(t *testing.T) {
	two := func(p *corev1.Pod) { testobj.HostPort(80, "", "")(p); testobj.HostPort(80, "", "")(p) }
	s := framework.NewSnapshot()
	s.AddNode(testobj.Node("n", "4", "8Gi", 10))
	// Two pods on one port (placed past the scheduler): the port stays in
	// use until both are gone.
	s.AddPod(framework.NewPodInfo(testobj.Pod("p1", "", "", testobj.HostPort(80, "", ""))), "n")
	s.AddPod(framework.NewPodInfo(testobj.Pod("p2", "", "", two)), "n")
	n := s.Get("n")
	want := framework.HostPort{IP: "0.0.0.0", Protocol: corev1.ProtocolTCP, Port: 80}
	s.RemovePod("p2")
	if !n.UsedPorts.Conflicts(want) {
		t.Fatal("port released while p1 still binds it")
	}
	s.RemovePod("p1")
	if n.UsedPorts.Conflicts(want) {
		t.Fatal("port still in use")
	}
}

func TestAffinityTermParsing(t *testing.T) {
	term := testobj.Term(corev1.LabelHostname, "web")
	pi := framework.NewPodInfo(testobj.Pod("p", "", "", testobj.Namespace("prod"), testobj.RequiredAffinity(term),
		testobj.PreferredAntiAffinity(7, term)))
	a := pi.Affinity
	if a == nil || len(a.RequiredAffinity) != 1 || len(a.PreferredAntiAffinity) != 1 || a.PreferredAntiAffinity[0].Weight != 7 || a.Err != nil {
		t.Fatalf("parsed %+v", a)
	}
	web := func(ns string) *corev1.Pod {
		return testobj.Pod("w", "", "", testobj.Namespace(ns), testobj.PodLabels("app", "web"))
	}
	if !a.RequiredAffinity[0].Matches(web("prod")) || a.RequiredAffinity[0].Matches(web("dev")) {
		t.Error("term without namespaces must cover the pod's own namespace only")
	}
	if framework.NewPodInfo(testobj.Pod("p", "", "")).Affinity != nil {
		t.Error("pod without affinity has AffinityInfo")
	}
	if framework.NewPodInfo(testobj.Pod("p", "", "", testobj.NodeSelector("k", "v"))).Affinity != nil {
		t.Error("node selector is not pod affinity")
	}
}

// OwnerCounts agrees with NodeInfo.OwnedPods on every node for every
// controller, through pod adds and removals and a node removal (which moves
// nodes in the list), and a superseded view still answers right.
func TestOwnerCountsMatchOwnedPods(t *testing.T) {
	s := framework.NewSnapshot()
	nodes := []string{"a", "b", "c", "d", "e"}
	for _, n := range nodes {
		s.AddNode(testobj.Node(n, "4", "8Gi", 110))
	}
	owners := []string{"rs1", "rs2", "rs3"}
	check := func(step string) {
		t.Helper()
		var views []framework.OwnerCounts
		for _, o := range append(owners, "none") {
			views = append(views, s.OwnerCounts(types.UID(o)))
		}
		for i, o := range append(owners, "none") {
			for _, ni := range s.List() {
				want := int32(0) // from the node's pods themselves
				for _, pi := range ni.Pods {
					if pi.ControllerUID == types.UID(o) && pi.Pod.DeletionTimestamp == nil {
						want++
					}
				}
				if got := ni.OwnedPods(types.UID(o)); got != want {
					t.Fatalf("%s: owner %s on %s: OwnedPods %d, pods say %d", step, o, ni.Name, got, want)
				}
				if got := views[i].On(ni); got != want { // all but the last are superseded
					t.Fatalf("%s: owner %s on %s: On %d, OwnedPods %d", step, o, ni.Name, got, want)
				}
				if got := s.OwnerCounts(types.UID(o)).On(ni); got != want {
					t.Fatalf("%s: owner %s on %s: fresh On %d, OwnedPods %d", step, o, ni.Name, got, want)
				}
			}
		}
	}
	n := 0
	infos := map[types.UID]*framework.PodInfo{}
	for i := 0; i < 40; i++ {
		o := owners[i%len(owners)]
		pi := framework.NewPodInfo(testobj.Pod(fmt.Sprintf("p%d", n), "", "", testobj.Controller("ReplicaSet", o)))
		s.AddPod(pi, nodes[(i*7)%len(nodes)])
		infos[pi.Pod.UID] = pi
		n++
	}
	check("added")
	for i := 0; i < 40; i += 3 {
		uid := types.UID(fmt.Sprintf("p%d", i))
		node := s.NodeOf(uid)
		if s.PodInfoOf(uid) != infos[uid] {
			t.Fatalf("PodInfoOf(%s) is not the PodInfo added", uid)
		}
		if got := s.RemovePod(uid); got != node.Name || s.PodInfoOf(uid) != nil || s.NodeOf(uid) != nil {
			t.Fatalf("RemovePod(%s) = %q (want %q), then PodInfoOf %v", uid, got, node.Name, s.PodInfoOf(uid))
		}
		for _, pi := range node.Pods {
			if pi.Pod.UID == uid {
				t.Fatalf("%s still listed on %s", uid, node.Name)
			}
		}
	}
	check("removed pods")
	// Updates: the same pod again on its node (a status change), moved to
	// another node, under another controller, and terminating.
	for i := 1; i < 40; i += 3 {
		uid := types.UID(fmt.Sprintf("p%d", i))
		node := s.NodeOf(uid).Name
		p := testobj.Pod(string(uid), "", "", testobj.Controller("ReplicaSet", owners[i%len(owners)]))
		switch i % 4 {
		case 1:
			node = nodes[(i+1)%len(nodes)]
		case 2:
			p = testobj.Pod(string(uid), "", "", testobj.Controller("ReplicaSet", owners[(i+1)%len(owners)]))
		case 3:
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		s.AddPod(framework.NewPodInfo(p), node)
	}
	check("updated pods")
	s.RemoveNode("b")
	check("removed node")
}
