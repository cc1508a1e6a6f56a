package plugins

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

const (
	reasonAffinity     = "node(s) didn't match pod affinity rules"
	reasonAnti         = "node(s) didn't match pod anti-affinity rules"
	reasonExistingAnti = "node(s) didn't satisfy existing pods anti-affinity rules"
	zoneKey            = corev1.LabelTopologyZone
	hostKey            = corev1.LabelHostname
)

func zoned(z string) func(*corev1.Node) { return testobj.Labels(zoneKey, z) }

// affinityNodes: zone a holds a1 and a2, zone b holds b1; "bare" has no
// zone label (only its hostname).
func affinityNodes() []*corev1.Node {
	return []*corev1.Node{
		testobj.Node("a1", "4", "8Gi", 110, zoned("a")),
		testobj.Node("a2", "4", "8Gi", 110, zoned("a")),
		testobj.Node("b1", "4", "8Gi", 110, zoned("b")),
		testobj.Node("bare", "4", "8Gi", 110),
	}
}

func TestInterPodAffinityFilter(t *testing.T) {
	e := newEnv(affinityNodes(),
		testobj.Pod("db", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("a1")),
		testobj.Pod("cache-other-ns", "", "", testobj.PodLabels("app", "cache"), testobj.Namespace("other"), testobj.OnNode("b1")),
	)
	pl := NewInterPodAffinity(e.fw)
	pod := func(opts ...func(*corev1.Pod)) *corev1.Pod { return testobj.Pod("p", "", "", opts...) }
	withNamespaces := func(t corev1.PodAffinityTerm, ns ...string) corev1.PodAffinityTerm {
		t.Namespaces = ns
		return t
	}
	withNSSelector := func(t corev1.PodAffinityTerm, sel *metav1.LabelSelector) corev1.PodAffinityTerm {
		t.NamespaceSelector = sel
		return t
	}
	nilSelector := testobj.Term(zoneKey, "db")
	nilSelector.LabelSelector = nil
	emptySelector := testobj.Term(zoneKey, "db")
	emptySelector.LabelSelector = &metav1.LabelSelector{}
	const U, UU, OK = framework.Unschedulable, framework.UnschedulableAndUnresolvable, framework.Success
	tests := []struct {
		name   string
		pod    *corev1.Pod
		node   string
		code   framework.Code
		reason string
	}{
		{"no terms anywhere: skipped", pod(), "a1", OK, ""},
		{"affinity: same zone as db", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "db"))), "a2", OK, ""},
		{"affinity: other zone", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "db"))), "b1", UU, reasonAffinity},
		{"affinity: node lacks the topology key", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "db"))), "bare", UU, reasonAffinity},
		{"affinity: hostname key", pod(testobj.RequiredAffinity(testobj.Term(hostKey, "db"))), "a2", UU, reasonAffinity},
		{"affinity: all terms must match one pod", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "db"), testobj.Term(zoneKey, "web"))), "a1", UU, reasonAffinity},
		{"affinity: first of its group may go anywhere", pod(testobj.PodLabels("app", "web"), testobj.RequiredAffinity(testobj.Term(zoneKey, "web"))), "b1", OK, ""},
		{"affinity: first of its group still needs the key", pod(testobj.PodLabels("app", "web"), testobj.RequiredAffinity(testobj.Term(zoneKey, "web"))), "bare", UU, reasonAffinity},
		{"affinity: not matching its own term, no such pod", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "web"))), "b1", UU, reasonAffinity},
		{"affinity: pod in another namespace not counted", pod(testobj.PodLabels("app", "cache"), testobj.RequiredAffinity(testobj.Term(zoneKey, "cache"))), "a1", OK, ""},
		{"affinity: listed namespace counts", pod(testobj.RequiredAffinity(withNamespaces(testobj.Term(zoneKey, "cache"), "other"))), "a1", UU, reasonAffinity},
		{"affinity: listed namespace, its zone", pod(testobj.RequiredAffinity(withNamespaces(testobj.Term(zoneKey, "cache"), "other"))), "b1", OK, ""},
		{"affinity: empty namespace selector is all namespaces", pod(testobj.RequiredAffinity(withNSSelector(testobj.Term(zoneKey, "cache"), &metav1.LabelSelector{}))), "b1", OK, ""},
		{"affinity: namespace selector by name label", pod(testobj.RequiredAffinity(withNSSelector(testobj.Term(zoneKey, "cache"),
			&metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "other"}}))), "a1", UU, reasonAffinity},
		{"affinity: nil label selector matches nothing", pod(testobj.RequiredAffinity(nilSelector)), "a1", UU, reasonAffinity},
		{"affinity: empty label selector matches every pod", pod(testobj.RequiredAffinity(emptySelector)), "a2", OK, ""},
		{"anti: same node as db", pod(testobj.RequiredAntiAffinity(testobj.Term(hostKey, "db"))), "a1", U, reasonAnti},
		{"anti: other node", pod(testobj.RequiredAntiAffinity(testobj.Term(hostKey, "db"))), "a2", OK, ""},
		{"anti: same zone as db", pod(testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "db"))), "a2", U, reasonAnti},
		{"anti: node without the key is unconstrained", pod(testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "db"))), "bare", OK, ""},
		{"anti: other namespace ignored", pod(testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "cache"))), "b1", OK, ""},
		{"affinity is checked before anti-affinity", pod(testobj.RequiredAffinity(testobj.Term(zoneKey, "web")), testobj.RequiredAntiAffinity(testobj.Term(hostKey, "db"))), "a1", UU, reasonAffinity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reasons []string
			if tc.reason != "" {
				reasons = []string{tc.reason}
			}
			wantStatus(t, e.filter(t, pl, tc.pod, tc.node), tc.code, reasons...)
		})
	}
}

func TestInterPodAffinityMatchLabelKeys(t *testing.T) {
	e := newEnv(affinityNodes(),
		testobj.Pod("v1", "", "", testobj.PodLabels("app", "web", "rev", "1"), testobj.OnNode("a1")),
		testobj.Pod("v2", "", "", testobj.PodLabels("app", "web", "rev", "2"), testobj.OnNode("b1")),
	)
	pl := NewInterPodAffinity(e.fw)
	term := testobj.Term(hostKey, "web")
	term.MatchLabelKeys = []string{"rev"}
	pod := testobj.Pod("p", "", "", testobj.PodLabels("app", "web", "rev", "2"), testobj.RequiredAntiAffinity(term))
	// Only pods of the same revision repel: a1 holds rev 1.
	wantStatus(t, e.filter(t, pl, pod, "a1"), framework.Success)
	wantStatus(t, e.filter(t, pl, pod, "b1"), framework.Unschedulable, reasonAnti)
	term.MatchLabelKeys, term.MismatchLabelKeys = nil, []string{"rev"}
	pod = testobj.Pod("p", "", "", testobj.PodLabels("app", "web", "rev", "2"), testobj.RequiredAntiAffinity(term))
	// Only pods of other revisions repel.
	wantStatus(t, e.filter(t, pl, pod, "a1"), framework.Unschedulable, reasonAnti)
	wantStatus(t, e.filter(t, pl, pod, "b1"), framework.Success)
}

func TestInterPodAffinityExistingPods(t *testing.T) {
	// guard (on b1) refuses app=web pods in its zone; loner (on a1)
	// refuses them on its node.
	e := newEnv(affinityNodes(),
		testobj.Pod("guard", "", "", testobj.OnNode("b1"), testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "web"))),
		testobj.Pod("loner", "", "", testobj.OnNode("a1"), testobj.RequiredAntiAffinity(testobj.Term(hostKey, "web"))),
		testobj.Pod("elsewhere", "", "", testobj.Namespace("other"), testobj.OnNode("a2"), testobj.RequiredAntiAffinity(testobj.Term(hostKey, "web"))),
	)
	pl := NewInterPodAffinity(e.fw)
	web := testobj.Pod("w", "", "", testobj.PodLabels("app", "web"))
	tests := []struct {
		node string
		code framework.Code
	}{{"a1", framework.Unschedulable}, {"a2", framework.Success}, {"b1", framework.Unschedulable}, {"bare", framework.Success}}
	for _, tc := range tests {
		t.Run(tc.node, func(t *testing.T) {
			var reasons []string
			if tc.code != framework.Success {
				reasons = []string{reasonExistingAnti}
			}
			wantStatus(t, e.filter(t, pl, web, tc.node), tc.code, reasons...)
		})
	}
	t.Run("pods the terms do not select are unaffected", func(t *testing.T) {
		wantStatus(t, e.filter(t, pl, testobj.Pod("db", "", "", testobj.PodLabels("app", "db")), "b1"), framework.Success)
	})
	t.Run("own anti-affinity is checked before the existing pods'", func(t *testing.T) {
		e := newEnv(affinityNodes(),
			testobj.Pod("guard", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("b1"), testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "web"))))
		pod := testobj.Pod("w", "", "", testobj.PodLabels("app", "web"), testobj.RequiredAntiAffinity(testobj.Term(hostKey, "db")))
		wantStatus(t, e.filter(t, NewInterPodAffinity(e.fw), pod, "b1"), framework.Unschedulable, reasonAnti)
	})
}

// The PreFilter extensions keep the counts right when dry runs add or
// remove pods, and clones are independent.
func TestInterPodAffinityExtensions(t *testing.T) {
	e := newEnv(affinityNodes(),
		testobj.Pod("db", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("a1")),
		testobj.Pod("guard", "", "", testobj.OnNode("a2"), testobj.RequiredAntiAffinity(testobj.Term(hostKey, "web"))),
	)
	pl := NewInterPodAffinity(e.fw)
	pi := framework.NewPodInfo(testobj.Pod("w", "", "", testobj.PodLabels("app", "web"),
		testobj.RequiredAntiAffinity(testobj.Term(hostKey, "db")), testobj.RequiredAffinity(testobj.Term(zoneKey, "db"))))
	state := framework.NewCycleState()
	if _, st := pl.PreFilter(state, pi); !st.IsSuccess() {
		t.Fatal(st)
	}
	a1, a2, b1 := e.snap.Get("a1"), e.snap.Get("a2"), e.snap.Get("b1")
	wantStatus(t, pl.Filter(state, pi, a1), framework.Unschedulable, reasonAnti)
	wantStatus(t, pl.Filter(state, pi, a2), framework.Unschedulable, reasonExistingAnti)

	c := state.Clone()
	pl.RemovePod(c, pi, a2.Pods[0], a2)
	wantStatus(t, pl.Filter(c, pi, a2), framework.Success)
	pl.RemovePod(c, pi, a1.Pods[0], a1)
	// No db pod left anywhere, and w does not match its own term.
	wantStatus(t, pl.Filter(c, pi, a2), framework.UnschedulableAndUnresolvable, reasonAffinity)
	pl.AddPod(c, pi, framework.NewPodInfo(testobj.Pod("db2", "", "", testobj.PodLabels("app", "db"))), b1)
	wantStatus(t, pl.Filter(c, pi, b1), framework.Unschedulable, reasonAnti)
	wantStatus(t, pl.Filter(c, pi, a2), framework.UnschedulableAndUnresolvable, reasonAffinity)
	// The original state is untouched.
	wantStatus(t, pl.Filter(state, pi, a2), framework.Unschedulable, reasonExistingAnti)
}

func TestInterPodAffinitySkipsWhenNoTerms(t *testing.T) {
	e := newEnv(affinityNodes(), testobj.Pod("db", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("a1"),
		testobj.PreferredAffinity(5, testobj.Term(zoneKey, "x"))))
	pl := NewInterPodAffinity(e.fw)
	pi := framework.NewPodInfo(testobj.Pod("p", "", ""))
	if _, st := pl.PreFilter(framework.NewCycleState(), pi); !st.IsSkip() {
		t.Errorf("PreFilter %v, want Skip: only preferred terms exist", st)
	}
	if st := pl.PreScore(framework.NewCycleState(), pi, e.snap.List()); !st.IsSkip() {
		t.Errorf("PreScore %v, want Skip: no term selects the pod", st)
	}
	e = newEnv(affinityNodes())
	if st := NewInterPodAffinity(e.fw).PreScore(framework.NewCycleState(), pi, e.snap.List()); !st.IsSkip() {
		t.Errorf("PreScore %v, want Skip", st)
	}
}

func TestInterPodAffinityParseError(t *testing.T) {
	e := newEnv(affinityNodes())
	bad := testobj.Term(zoneKey, "db")
	bad.LabelSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}
	_, st := NewInterPodAffinity(e.fw).PreFilter(framework.NewCycleState(), framework.NewPodInfo(testobj.Pod("p", "", "", testobj.RequiredAffinity(bad))))
	if st.Code() != framework.UnschedulableAndUnresolvable {
		t.Errorf("status %v", st)
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	nodes := []*corev1.Node{
		testobj.Node("a1", "4", "8Gi", 110, zoned("a")),
		testobj.Node("a2", "4", "8Gi", 110, zoned("a")),
		testobj.Node("b1", "4", "8Gi", 110, zoned("b")),
		testobj.Node("c1", "4", "8Gi", 110, zoned("c")),
	}
	t.Run("the pod's preferred terms", func(t *testing.T) {
		e := newEnv(nodes, testobj.Pod("db", "", "", testobj.PodLabels("app", "db"), testobj.OnNode("a1")))
		pod := testobj.Pod("p", "", "", testobj.PreferredAffinity(10, testobj.Term(zoneKey, "db")),
			testobj.PreferredAntiAffinity(5, testobj.Term(hostKey, "db")))
		// raw a1 10-5=5, a2 10, b1 0, c1 0.
		if got := e.scores(t, NewInterPodAffinity(e.fw), pod); !reflect.DeepEqual(got, []int64{50, 100, 0, 0}) {
			t.Errorf("scores %v", got)
		}
	})
	t.Run("existing pods' terms that select the pod", func(t *testing.T) {
		e := newEnv(nodes,
			testobj.Pod("friend", "", "", testobj.OnNode("b1"), testobj.PreferredAffinity(20, testobj.Term(zoneKey, "web")),
				testobj.RequiredAffinity(testobj.Term(hostKey, "web"))),
			testobj.Pod("hater", "", "", testobj.OnNode("c1"), testobj.PreferredAntiAffinity(7, testobj.Term(zoneKey, "web"))),
			// Required anti-affinity does not score.
			testobj.Pod("strict", "", "", testobj.OnNode("a1"), testobj.RequiredAntiAffinity(testobj.Term(zoneKey, "web"))),
		)
		pod := testobj.Pod("w", "", "", testobj.PodLabels("app", "web"))
		// raw a1 0, a2 0, b1 20+1, c1 -7: scaled over [-7, 21].
		if got := e.scores(t, NewInterPodAffinity(e.fw), pod); !reflect.DeepEqual(got, []int64{25, 25, 100, 0}) {
			t.Errorf("scores %v", got)
		}
	})
}
