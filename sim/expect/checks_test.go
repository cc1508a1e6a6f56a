package expect

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestChecks(t *testing.T) {
	deploy := func(gen, observed int64, spec, ready, updated, replicas, available int32, conds ...appsv1.DeploymentCondition) map[string]*appsv1.Deployment {
		return map[string]*appsv1.Deployment{"default/web": {
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: &spec},
			Status: appsv1.DeploymentStatus{ObservedGeneration: observed, ReadyReplicas: ready, UpdatedReplicas: updated,
				Replicas: replicas, AvailableReplicas: available, Conditions: conds},
		}}
	}
	ev := func(reason, typ, kind, name, ns, msg string, count int32) *corev1.Event {
		return &corev1.Event{Reason: reason, Type: typ, Message: msg, Count: count,
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns}}
	}
	waiting := func(reason string) podOpt {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
		}
	}
	cases := []struct {
		name   string
		exp    string
		view   fakeView
		ok     bool
		detail string
	}{
		{"deploymentReady missing", "- {by: 1m, deploymentReady: {name: web}}", fakeView{}, false, "deployment default/web not found"},
		{"deploymentReady ready", "- {by: 1m, deploymentReady: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 3, 3, 3)}, true, "readyReplicas 3/3"},
		{"deploymentReady short", "- {by: 1m, deploymentReady: {name: web, replicas: 5}}", fakeView{deps: deploy(2, 2, 3, 4, 3, 3, 3)}, false, "readyReplicas 4/5"},
		{"deploymentReady unobserved", "- {by: 1m, deploymentReady: {name: web}}", fakeView{deps: deploy(3, 2, 3, 3, 3, 3, 3)}, false, "readyReplicas 3/3 (generation 3 not yet observed)"},
		{"rollout complete", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 3, 3, 3)}, true, "3 replicas updated and available"},
		{"rollout unobserved", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(3, 2, 3, 3, 3, 3, 3)}, false, "waiting for generation 3 to be observed"},
		{"rollout updating", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 1, 4, 3)}, false, "1 of 3 replicas updated"},
		{"rollout old left", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 3, 4, 3)}, false, "1 old replicas pending termination"},
		{"rollout unavailable", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 3, 3, 2)}, false, "2 of 3 updated replicas available"},
		{"rollout deadline", "- {by: 1m, rolloutComplete: {name: web}}", fakeView{deps: deploy(2, 2, 3, 3, 3, 3, 3,
			appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"})}, false, "progress deadline exceeded"},

		{"podsRunning filters", "- {by: 1m, podsRunning: {selector: app=web, namespace: default, count: 2}}", fakeView{pods: []*corev1.Pod{
			pod("a", on("a-0")), pod("b", on("a-1")),
			pod("terminating", on("a-0"), deleting), pod("pending", phase(corev1.PodPending)), pod("done", phase(corev1.PodSucceeded)),
			pod("other-ns", ns("x")), pod("other-app", label("app", "db")),
		}}, true, "2 pods running (want 2)"},
		{"podsRunning pool and image", "- {by: 1m, podsRunning: {pool: a, image: 'nginx:2', min: 2}}", fakeView{pods: []*corev1.Pod{
			pod("a", on("a-0"), image("nginx:2")), pod("b", on("b-0"), image("nginx:2")), pod("c", on("a-1")), pod("unbound", image("nginx:2")),
		}}, false, "1 pods running (want >= 2)"},
		{"podsReady", "- {by: 1m, podsReady: {node: a-0, count: 1}}", fakeView{pods: []*corev1.Pod{
			pod("a", on("a-0"), isReady), pod("b", on("a-0")), pod("c", on("a-0"), isReady, deleting), pod("d", on("a-1"), isReady),
		}}, true, "1 pods ready (want 1)"},
		{"podsPending", "- {by: 1m, podsPending: {max: 1}}", fakeView{pods: []*corev1.Pod{
			pod("a", phase(corev1.PodPending)), pod("b", phase("")), pod("c", phase(corev1.PodPending), deleting),
		}}, false, "2 pods pending (want <= 1)"},
		{"podsUnschedulable", "- {by: 1m, podsUnschedulable: {count: 1}}", fakeView{pods: []*corev1.Pod{
			pod("a", unschedulablePod), pod("b", phase(corev1.PodPending)), pod("c", unschedulablePod, on("a-0")),
		}}, true, "1 pods unschedulable (want 1)"},
		{"podsOnNode counts terminating", "- {by: 1m, podsOnNode: {node: a-0, count: 0}}", fakeView{pods: []*corev1.Pod{
			pod("a", on("a-0"), deleting), pod("b", on("a-0"), phase(corev1.PodFailed)), pod("c", on("a-1")),
		}}, false, "1 pods on the node(s) (want 0)"},
		{"containerWaiting", "- {by: 1m, containerWaiting: {reason: CrashLoopBackOff, count: 2}}", fakeView{pods: []*corev1.Pod{
			pod("a", waiting("CrashLoopBackOff")), pod("b", waiting("CrashLoopBackOff")), pod("c", waiting("ImagePullBackOff")), pod("d", waiting("CrashLoopBackOff"), deleting),
		}}, true, "2 pods waiting with reason CrashLoopBackOff (want 2)"},
		{"containerRestarts", "- {by: 1m, containerRestarts: {selector: app=web, min: 9}}", fakeView{pods: []*corev1.Pod{
			pod("a", waiting("x")), pod("b", waiting("x")), pod("c", waiting("x"), label("app", "db")),
		}}, false, "8 container restarts (want >= 9)"},

		{"nodeReady", "- {by: 1m, nodeReady: {node: a-0}}", fakeView{nodes: []*corev1.Node{node("a-0")}}, true, "node a-0 Ready=True"},
		{"nodeReady unknown", "- {by: 1m, nodeReady: {node: a-0, ready: false}}", fakeView{nodes: []*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, 0))}}, true, "node a-0 Ready=Unknown"},
		{"nodeReady no condition", "- {by: 1m, nodeReady: {node: a-0}}", fakeView{nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "a-0"}}}}, false, "node a-0 Ready=Unknown"},
		{"nodeReady missing", "- {by: 1m, nodeReady: {node: a-1, ready: false}}", fakeView{}, true, "node a-1 not found"},

		{"eventSeen", "- {by: 1m, eventSeen: {reason: Preempted, involvedKind: Pod, namespace: default, message: by}}", fakeView{events: []*corev1.Event{
			ev("Preempted", "Normal", "Pod", "p1", "default", "Preempted by pod x", 2),
			ev("Preempted", "Normal", "Pod", "p2", "other", "Preempted by pod x", 1),
			ev("Preempted", "Normal", "Node", "n", "", "by", 1),
			ev("Scheduled", "Normal", "Pod", "p3", "default", "by", 1),
		}}, true, "2 matching events (want >= 1)"},
		{"eventSeen none", "- {by: 1m, eventSeen: {reason: BackOff, type: Warning}}", fakeView{events: []*corev1.Event{
			ev("BackOff", "Normal", "Pod", "p", "default", "", 0),
		}}, false, "0 matching events (want >= 1)"},
		{"eventSeen never", "- {always: true, eventSeen: {reason: Evicted, max: 0}}", fakeView{events: []*corev1.Event{
			ev("Evicted", "Warning", "Pod", "p", "default", "", 0),
		}}, false, "1 matching events (want <= 0)"},

		{"topologySpread", "- {by: 1m, topologySpread: {selector: app=web, topologyKey: zone, maxSkew: 1}}", fakeView{
			nodes: []*corev1.Node{node("a-0", zone("x")), node("a-1", zone("y")), node("b-0", zone("y")), node("c", func(*corev1.Node) {})},
			pods: []*corev1.Pod{pod("1", on("a-0")), pod("2", on("a-1")), pod("3", on("b-0")), pod("4", on("b-0")),
				pod("t", on("a-1"), deleting), pod("o", on("a-0"), label("app", "db")), pod("c", on("c"))},
		}, false, "skew 2 (want <= 1): x=1 y=3"},
		{"topologySpread pool", "- {by: 1m, topologySpread: {topologyKey: zone, maxSkew: 1, pool: a}}", fakeView{
			nodes: []*corev1.Node{node("a-0", zone("x")), node("a-1", zone("y")), node("b-0", zone("z"))},
			pods:  []*corev1.Pod{pod("1", on("a-0")), pod("2", on("a-1")), pod("3", on("a-1"))},
		}, true, "skew 1 (want <= 1): x=1 y=2"},
		{"topologySpread no domains", "- {by: 1m, topologySpread: {topologyKey: zone, maxSkew: 1}}", fakeView{
			nodes: []*corev1.Node{node("a-0")},
		}, false, "no node has label zone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, detail := eval(t, tc.exp, &tc.view)
			if ok != tc.ok || detail != tc.detail {
				t.Errorf("got %v %q, want %v %q", ok, detail, tc.ok, tc.detail)
			}
		})
	}
}

func TestNoOvercommit(t *testing.T) {
	sidecar := corev1.ContainerRestartPolicyAlways
	withInit := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{
			{Name: "setup", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}}},
		}
	}
	withSidecar := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{
			{Name: "proxy", RestartPolicy: &sidecar, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
			{Name: "setup", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2500m")}}},
		}
	}
	limitsOnly := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}}
	}
	overhead := func(p *corev1.Pod) {
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	}
	cases := []struct {
		name   string
		pods   []*corev1.Pod
		ok     bool
		detail string
	}{
		{"fits exactly", []*corev1.Pod{pod("a", on("a-0"), requests("2", "4Gi")), pod("b", on("a-0"), requests("2", "4Gi"))}, true, "all nodes within allocatable"},
		{"cpu over", []*corev1.Pod{pod("a", on("a-0"), requests("2", "1Gi")), pod("b", on("a-0"), requests("2500m", "1Gi"))}, false,
			"node a-0 cpu: requests 4500m > allocatable 4"},
		{"finished pods free their resources, terminating ones do not", []*corev1.Pod{
			pod("a", on("a-0"), requests("3", "1Gi")), pod("b", on("a-0"), requests("3", "1Gi"), phase(corev1.PodSucceeded)),
			pod("c", on("a-0"), requests("1500m", "1Gi"), deleting)}, false, "node a-0 cpu: requests 4500m > allocatable 4"},
		{"unbound pods use nothing", []*corev1.Pod{pod("a", requests("64", "1Ti"))}, true, "all nodes within allocatable"},
		{"init container larger than containers", []*corev1.Pod{pod("a", on("a-0"), requests("1", "1Gi"), withInit), pod("b", on("a-0"), requests("1500m", "1Gi"))}, false,
			"node a-0 cpu: requests 4500m > allocatable 4"},
		{"sidecar runs alongside", []*corev1.Pod{pod("a", on("a-0"), requests("2", "1Gi"), withSidecar), pod("b", on("a-0"), requests("1", "1Gi"), overhead)}, false,
			"node a-0 cpu: requests 4600m > allocatable 4"}, // a: max(2+1, 2.5+1); b: 1 + 100m overhead
		{"pod count and memory", []*corev1.Pod{pod("a", on("b-0"), requests("0", "3Gi")), pod("b", on("b-0"), requests("0", "3Gi")),
			pod("c", on("b-0"), requests("0", "3Gi")), pod("d", on("b-0"))}, false,
			"node b-0 memory: requests 9Gi > allocatable 8Gi; node b-0 pods: requests 4 > allocatable 3"},
		{"extended resource from limits", []*corev1.Pod{pod("a", on("a-1"), limitsOnly)}, false, "node a-1 example.com/gpu: requests 1 > allocatable 0"},
		{"deleted node ignored", []*corev1.Pod{pod("a", on("gone"), requests("64", "1Gi"))}, true, "all nodes within allocatable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &fakeView{nodes: []*corev1.Node{node("a-0"), node("a-1"), node("b-0")}, pods: tc.pods}
			ok, detail := eval(t, "- noOvercommit: {}", v)
			if ok != tc.ok || detail != tc.detail {
				t.Errorf("got %v %q, want %v %q", ok, detail, tc.ok, tc.detail)
			}
		})
	}
}

func TestRequestsCache(t *testing.T) {
	c := New(parse(t, "- noOvercommit: {}"), t0)
	p := pod("a", on("a-0"), requests("1", "1Gi"))
	p.UID, p.ResourceVersion = "u1", "5"
	if got := c.requestsOf(p)[corev1.ResourceCPU]; got != 1000 {
		t.Fatalf("cpu %d", got)
	}
	// A new version of the pod is recomputed, not served from the cache.
	q := pod("a", on("a-0"), requests("2", "1Gi"))
	q.UID, q.ResourceVersion = "u1", "6"
	if got := c.requestsOf(q)[corev1.ResourceCPU]; got != 2000 {
		t.Fatalf("cpu after update %d", got)
	}
}

func TestNoPodOnNotReady(t *testing.T) {
	min := time.Minute
	cases := []struct {
		name   string
		now    time.Duration
		nodes  []*corev1.Node
		pods   []*corev1.Pod
		exp    string
		ok     bool
		detail string
	}{
		{"all ready", 5 * min, []*corev1.Node{node("a-0")}, []*corev1.Pod{pod("p", on("a-0"))}, "", true, "all nodes ready"},
		{"within toleration plus margin", min + 44*time.Second,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, min))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/unreachable", ptr(int64(30))))},
			"", true, "1 nodes not ready, no pod past its toleration"},
		{"past toleration plus margin", min + 46*time.Second,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, min))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/unreachable", ptr(int64(30))))},
			"", false, "pod default/p on node a-0 (NotReady since 1m, tolerates node.kubernetes.io/unreachable for 30s)"},
		{"the taint follows the condition", min + 46*time.Second,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionFalse, min))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/unreachable", ptr(int64(30))))},
			"", true, "1 nodes not ready, no pod past its toleration"},
		{"terminating and finished pods are evicted already", 9 * min,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, min))},
			[]*corev1.Pod{pod("p", on("a-0"), deleting), pod("q", on("a-0"), phase(corev1.PodSucceeded)), pod("r", on("a-1"))},
			"", true, "1 nodes not ready, no pod past its toleration"},
		{"tolerates forever", 9 * min,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, min))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("", nil))},
			"", true, "1 nodes not ready, no pod past its toleration"},
		{"smallest matching toleration wins", min + 20*time.Second,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionFalse, min))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/not-ready", nil), tolerate("node.kubernetes.io/not-ready", ptr(int64(-5))))},
			"- noPodOnNotReadyNodePastToleration: {margin: 10s}", false, "pod default/p on node a-0 (NotReady since 1m, tolerates node.kubernetes.io/not-ready for 0s)"},
		{"no toleration: admission's default", min + 5*min + 14*time.Second,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, min))},
			[]*corev1.Pod{pod("p", on("a-0"))},
			"", true, "1 nodes not ready, no pod past its toleration"},
		{"no lastTransitionTime: first seen now", 9 * min,
			[]*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, -1))},
			[]*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/unreachable", ptr(int64(0))))},
			"", true, "1 nodes not ready, no pod past its toleration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp := tc.exp
			if exp == "" {
				exp = "- noPodOnNotReadyNodePastToleration: {}"
			}
			v := &fakeView{now: tc.now, nodes: tc.nodes, pods: tc.pods}
			ok, detail := eval(t, exp, v)
			if ok != tc.ok || detail != tc.detail {
				t.Errorf("got %v %q, want %v %q", ok, detail, tc.ok, tc.detail)
			}
		})
	}
}

// TestFirstSeenNotReady: without a transition time the clock starts at the
// first sample that saw the node not ready, and resets when it recovers.
func TestFirstSeenNotReady(t *testing.T) {
	c := New(parse(t, "- noPodOnNotReadyNodePastToleration: {}"), t0)
	down := []*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, -1))}
	pods := []*corev1.Pod{pod("p", on("a-0"), tolerate("node.kubernetes.io/unreachable", ptr(int64(30))))}
	check := func(now time.Duration, nodes []*corev1.Node) bool {
		ok, _ := c.states[0].eval(&sample{v: &fakeView{now: now, nodes: nodes, pods: pods}, c: c, now: now})
		return ok
	}
	if !check(time.Minute, down) || !check(time.Minute+45*time.Second, down) {
		t.Fatal("violation within 30s + 15s of first sight")
	}
	if check(time.Minute+46*time.Second, down) {
		t.Fatal("no violation past 30s + 15s of first sight")
	}
	if !check(2*time.Minute, []*corev1.Node{node("a-0")}) {
		t.Fatal("violation on a ready node")
	}
	if !check(3*time.Minute, down) || !check(3*time.Minute+45*time.Second, down) {
		t.Fatal("first sight not reset by recovery")
	}
}

func TestDetailIsDeterministic(t *testing.T) {
	var pods []*corev1.Pod
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		pods = append(pods, pod(n, on("a-0")))
	}
	v := &fakeView{now: 9 * time.Minute, nodes: []*corev1.Node{node("a-0", readyStatus(corev1.ConditionUnknown, 0))}, pods: pods}
	_, detail := eval(t, "- noPodOnNotReadyNodePastToleration: {}", v)
	if !strings.HasPrefix(detail, "pod default/a on node a-0") || !strings.HasSuffix(detail, "; and 2 more") {
		t.Errorf("detail %q", detail)
	}
}
