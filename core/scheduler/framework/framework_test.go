package framework_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/drydock-sim/drydock/core/scheduler/framework"
	"github.com/drydock-sim/drydock/core/scheduler/internal/testobj"
)

func container(cpu, mem string) corev1.Container {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req}}
}

func sidecar(cpu, mem string) corev1.Container {
	c := container(cpu, mem)
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

const mi = 1024 * 1024

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name       string
		containers []corev1.Container
		inits      []corev1.Container
		overhead   corev1.ResourceList
		podLevel   corev1.ResourceList
		want, nonZ framework.Resource
	}{
		{name: "one container", containers: []corev1.Container{container("100m", "500Mi")},
			want: framework.Resource{MilliCPU: 100, Memory: 500 * mi}, nonZ: framework.Resource{MilliCPU: 100, Memory: 500 * mi}},
		{name: "sum of containers", containers: []corev1.Container{container("100m", "1Gi"), container("250m", "")},
			want: framework.Resource{MilliCPU: 350, Memory: 1024 * mi},
			nonZ: framework.Resource{MilliCPU: 350, Memory: 1024*mi + 200*mi}},
		{name: "no requests: non-zero defaults", containers: []corev1.Container{container("", "")},
			want: framework.Resource{}, nonZ: framework.Resource{MilliCPU: 100, Memory: 200 * mi}},
		{name: "explicit zero is not missing", containers: []corev1.Container{container("0", "0")},
			want: framework.Resource{}, nonZ: framework.Resource{}},
		{name: "init container larger than containers",
			containers: []corev1.Container{container("100m", "100Mi")},
			inits:      []corev1.Container{container("1", "50Mi"), container("500m", "1Gi")},
			want:       framework.Resource{MilliCPU: 1000, Memory: 1024 * mi},
			nonZ:       framework.Resource{MilliCPU: 1000, Memory: 1024 * mi}},
		{name: "sidecar adds to containers and to later inits",
			containers: []corev1.Container{container("100m", "100Mi")},
			inits:      []corev1.Container{sidecar("200m", "100Mi"), container("250m", "10Mi")},
			// running: 100m+200m; the init runs beside the sidecar: 250m+200m.
			want: framework.Resource{MilliCPU: 450, Memory: 200 * mi},
			nonZ: framework.Resource{MilliCPU: 450, Memory: 200 * mi}},
		{name: "overhead added", containers: []corev1.Container{container("100m", "100Mi")},
			overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
			want:     framework.Resource{MilliCPU: 150, Memory: 100 * mi},
			nonZ:     framework.Resource{MilliCPU: 150, Memory: 100 * mi}},
		{name: "pod-level requests win", containers: []corev1.Container{container("100m", "100Mi")},
			podLevel: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			want:     framework.Resource{MilliCPU: 2000, Memory: 100 * mi},
			nonZ:     framework.Resource{MilliCPU: 2000, Memory: 100 * mi}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testobj.Pod("p", "", "")
			p.Spec.Containers = tc.containers
			p.Spec.InitContainers = tc.inits
			p.Spec.Overhead = tc.overhead
			if tc.podLevel != nil {
				p.Spec.Resources = &corev1.ResourceRequirements{Requests: tc.podLevel}
			}
			pi := framework.NewPodInfo(p)
			if pi.Request != tc.want || pi.NonZeroRequest != tc.nonZ {
				t.Errorf("got request %+v non-zero %+v, want %+v %+v", pi.Request, pi.NonZeroRequest, tc.want, tc.nonZ)
			}
		})
	}
}

func TestSnapshotIncremental(t *testing.T) {
	s := framework.NewSnapshot()
	for _, n := range []string{"a", "b", "c"} {
		s.AddNode(testobj.Node(n, "4", "8Gi", 10))
	}
	p1 := framework.NewPodInfo(testobj.Pod("p1", "1", "1Gi"))
	p2 := framework.NewPodInfo(testobj.Pod("p2", "500m", "1Gi"))
	s.AddPod(p1, "b")
	s.AddPod(p2, "b")
	b := s.Get("b")
	if b.Requested.MilliCPU != 1500 || len(b.Pods) != 2 {
		t.Fatalf("b: %+v, %d pods", b.Requested, len(b.Pods))
	}
	gen := b.Generation
	if got := s.RemovePod("p1"); got != "b" || b.Requested.MilliCPU != 500 || b.Generation <= gen {
		t.Fatalf("remove: node %q requested %+v generation %d->%d", got, b.Requested, gen, b.Generation)
	}
	// Removing a node swaps the last into its place; pods on a removed node
	// stay known until they go.
	s.RemoveNode("b")
	if s.NumNodes() != 2 || s.Get("b") != nil || s.List()[1].Name != "c" {
		t.Fatalf("after remove: %d nodes, list %v", s.NumNodes(), names(s.List()))
	}
	if s.NodeOf("p2") == nil {
		t.Fatal("pod on removed node forgotten")
	}
	s.AddNode(testobj.Node("b", "4", "8Gi", 10))
	if b2 := s.Get("b"); b2.Requested.MilliCPU != 500 || len(b2.Pods) != 1 {
		t.Fatalf("re-added node lost its pods: %+v", b2.Requested)
	}
	// A pod seen on a node before the node itself.
	s.AddPod(framework.NewPodInfo(testobj.Pod("p3", "1", "")), "ghost")
	if s.Get("ghost") != nil || s.NumNodes() != 3 {
		t.Fatal("ghost node listed")
	}
	s.AddNode(testobj.Node("ghost", "4", "8Gi", 10))
	if g := s.Get("ghost"); g == nil || g.Requested.MilliCPU != 1000 {
		t.Fatal("ghost node's pod not counted")
	}
	// Re-adding a counted pod replaces it (assume, then confirm).
	s.AddPod(framework.NewPodInfo(testobj.Pod("p3", "2", "")), "ghost")
	if g := s.Get("ghost"); g.Requested.MilliCPU != 2000 || len(g.Pods) != 1 {
		t.Fatalf("replace: %+v %d", g.Requested, len(g.Pods))
	}
}

func names(l []*framework.NodeInfo) []string {
	var out []string
	for _, ni := range l {
		out = append(out, ni.Name)
	}
	return out
}

func TestFitErrorMessage(t *testing.T) {
	cpu := framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	both := framework.NewStatus(framework.Unschedulable, "Insufficient cpu", "Insufficient memory")
	taint := framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {k: v}")
	tests := []struct {
		name string
		diag func(d *framework.Diagnosis)
		all  int
		want string
	}{
		{name: "sorted histogram", all: 13, diag: func(d *framework.Diagnosis) {
			for i := 0; i < 10; i++ {
				d.NodeToStatus.Add("n", "NodeResourcesFit", cpu)
			}
			d.NodeToStatus.Add("t1", "TaintToleration", taint)
			d.NodeToStatus.Add("t2", "TaintToleration", taint)
			d.NodeToStatus.Add("b", "NodeResourcesFit", both)
		}, want: "0/13 nodes are available: 1 Insufficient memory, 11 Insufficient cpu, 2 node(s) had untolerated taint {k: v}."},
		{name: "prefilter message", all: 3, diag: func(d *framework.Diagnosis) {
			d.PreFilterMsg = "node(s) didn't satisfy plugin NodeName"
		}, want: "0/3 nodes are available: node(s) didn't satisfy plugin NodeName."},
		{name: "absent nodes counted", all: 4, diag: func(d *framework.Diagnosis) {
			d.NodeToStatus.Add("a", "NodeResourcesFit", cpu)
			d.NodeToStatus.Absent = framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [NodeAffinity]")
		}, want: "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]."},
		{name: "preemption suffix", all: 2, diag: func(d *framework.Diagnosis) {
			d.NodeToStatus.Add("a", "NodeResourcesFit", cpu)
			d.NodeToStatus.Add("b", "NodeResourcesFit", cpu)
			d.PostFilterMsg = "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
		}, want: "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &framework.Diagnosis{}
			tc.diag(d)
			e := &framework.FitError{NumAllNodes: tc.all, Diagnosis: d}
			if got := e.Error(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestStatusCodes(t *testing.T) {
	var nilStatus *framework.Status
	if !nilStatus.IsSuccess() || nilStatus.IsRejected() || nilStatus.AsError() != nil {
		t.Error("nil status must be success")
	}
	u := framework.NewStatus(framework.Unschedulable, "a", "b")
	if !u.IsRejected() || u.Message() != "a, b" || u.AsError() == nil {
		t.Errorf("unschedulable: %v", u)
	}
	e := framework.AsStatus(errTest)
	if e.IsRejected() || e.Code() != framework.Error || e.AsError() != errTest {
		t.Errorf("error status: %v", e)
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("boom")

func TestNominator(t *testing.T) {
	n := framework.NewNominator()
	a := framework.NewPodInfo(testobj.Pod("a", "1", ""))
	b := framework.NewPodInfo(testobj.Pod("b", "1", ""))
	n.Add(a, "n1")
	n.Add(b, "n1")
	held := n.ForNode("n1")
	n.Add(a, "n2")
	if n.NodeFor("a") != "n2" || len(n.ForNode("n1")) != 1 || len(n.ForNode("n2")) != 1 || n.Len() != 2 {
		t.Fatalf("move: %v %v", n.ForNode("n1"), n.ForNode("n2"))
	}
	if len(held) != 2 || held[0] != a {
		t.Fatal("a slice handed out was modified")
	}
	n.Delete("b")
	n.Add(a, "")
	if n.Len() != 0 || n.ForNode("n1") != nil {
		t.Fatal("not emptied")
	}
}
