package tables

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// now is the fixed reference time of every table in these tests.
var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
func agoP(d time.Duration) *metav1.Time {
	t := ago(d)
	return &t
}
func ptr[T any](v T) *T { return &v }

func objMeta(name string, created time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: ago(created),
		ResourceVersion: "7", Labels: map[string]string{"app": name}}
}

func running(name string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: true, Started: ptr(true), RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}}
}

func waiting(name, reason string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: restarts,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func pod(name string, created time.Duration, mutate func(p *corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: objMeta(name, created),
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}},
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{running("main", 0)}}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func fixturePods() []api.Object {
	return []api.Object{
		pod("running", 90*time.Minute, nil),
		pod("creating", 5*time.Second, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.PodIPs, p.Status.Conditions = nil, nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("main", "ContainerCreating", 0)}
		}),
		pod("pending-unscheduled", 3*time.Minute, func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node-2",
				Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}
		}),
		pod("gated", 3*time.Minute, func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Status = corev1.PodStatus{Phase: corev1.PodPending,
				Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated"}}}
		}),
		pod("crashing", 26*time.Hour, func(p *corev1.Pod) {
			cs := waiting("main", "CrashLoopBackOff", 7)
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(95 * time.Second)}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
			p.Status.Conditions = nil
		}),
		pod("image-pull", 40*time.Second, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("main", "ErrImagePull", 0)}
		}),
		pod("completed", 49*time.Hour, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", "Completed", 0, 0)}
			p.Status.Conditions = nil
		}),
		pod("failed-exitcode", 10*24*time.Hour, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", "", 3, 0)}
		}),
		pod("killed-signal", 400*24*time.Hour, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", "", 0, 9)}
		}),
		pod("terminating", 2*time.Hour, func(p *corev1.Pod) { p.DeletionTimestamp = agoP(time.Second) }),
		pod("terminating-done", 2*time.Hour, func(p *corev1.Pod) {
			p.DeletionTimestamp = agoP(time.Second)
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("main", "Completed", 0, 0)}
		}),
		pod("node-lost", 2*time.Hour, func(p *corev1.Pod) {
			p.DeletionTimestamp = agoP(time.Minute)
			p.Status.Reason = "NodeLost"
		}),
		pod("evicted", 2*time.Hour, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.Reason = "Evicted"
			p.Status.ContainerStatuses = nil
		}),
		pod("two-containers", 2*time.Hour, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running("main", 1), terminated("side", "Completed", 0, 0)}
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/gate"}, {ConditionType: "example.com/other"}}
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})
		}),
		pod("completed-not-ready", 2*time.Hour, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running("main", 0), terminated("side", "Completed", 0, 0)}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		}),
		pod("init-running", 30*time.Second, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "init1"}, {Name: "init2"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init1", "Completed", 0, 0), running("init2", 0)}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("main", "PodInitializing", 0)}
			p.Status.Conditions = nil
		}),
		pod("init-crash", 30*time.Minute, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "init1"}}
			cs := waiting("init1", "CrashLoopBackOff", 4)
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(20 * time.Second)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{cs}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("main", "PodInitializing", 0)}
		}),
		pod("init-failed", 30*time.Minute, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Spec.InitContainers = []corev1.Container{{Name: "init1"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init1", "", 2, 0)}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("main", "PodInitializing", 0)}
		}),
		pod("sidecar", 30*time.Minute, func(p *corev1.Pod) {
			always := corev1.ContainerRestartPolicyAlways
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
			cs := running("proxy", 2)
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(10 * time.Minute)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{cs}
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue})
		}),
	}
}

func node(name string, mutate func(n *corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(3 * 24 * time.Hour),
		Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: "192.168.0.11"}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.32.0-drydock", OSImage: "Debian GNU/Linux 12 (bookworm)",
				KernelVersion: "6.1.0-28-amd64", ContainerRuntimeVersion: "containerd://1.6.20"}}}
	if mutate != nil {
		mutate(n)
	}
	return n
}

func fixtureNodes() []api.Object {
	return []api.Object{
		node("ready", nil),
		node("cordoned", func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Labels["node-role.kubernetes.io/control-plane"] = ""
			n.Labels["node-role.kubernetes.io/worker"] = ""
		}),
		node("not-ready", func(n *corev1.Node) {
			n.Status.Conditions[1].Status = corev1.ConditionUnknown
			n.Labels["kubernetes.io/role"] = "edge"
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.9"})
		}),
		node("new", func(n *corev1.Node) {
			n.CreationTimestamp = ago(2 * time.Second)
			n.Status = corev1.NodeStatus{}
			n.Spec.Unschedulable = true
		}),
	}
}

func fixtureServices() []api.Object {
	svc := func(name string, t corev1.ServiceType, mutate func(s *corev1.Service)) *corev1.Service {
		s := &corev1.Service{ObjectMeta: objMeta(name, 5*time.Hour), Spec: corev1.ServiceSpec{Type: t,
			ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Selector: map[string]string{"app": name, "tier": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	return []api.Object{
		svc("web", corev1.ServiceTypeClusterIP, nil),
		svc("headless", corev1.ServiceTypeClusterIP, func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports, s.Spec.Selector = "None", []string{"None"}, nil, nil
		}),
		svc("nodeport", corev1.ServiceTypeNodePort, func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 53, NodePort: 30053, Protocol: corev1.ProtocolUDP})
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.ExternalIPs = []string{"198.51.100.1"}
		}),
		svc("lb-pending", corev1.ServiceTypeLoadBalancer, nil),
		svc("lb", corev1.ServiceTypeLoadBalancer, func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.20"}, {Hostname: "lb.example.com"}}
		}),
		svc("external", corev1.ServiceTypeExternalName, func(s *corev1.Service) {
			s.Spec.ExternalName, s.Spec.ClusterIP, s.Spec.ClusterIPs = "db.example.com", "", nil
		}),
	}
}

func fixtureEndpoints() []api.Object {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, len(ips))
		for i, ip := range ips {
			out[i] = corev1.EndpointAddress{IP: ip}
		}
		return out
	}
	return []api.Object{
		&corev1.Endpoints{ObjectMeta: objMeta("web", time.Hour), Subsets: []corev1.EndpointSubset{{
			Addresses: addrs("10.244.1.5", "10.244.2.7"), Ports: []corev1.EndpointPort{{Port: 8080}}}}},
		&corev1.Endpoints{ObjectMeta: objMeta("many", time.Hour), Subsets: []corev1.EndpointSubset{{
			Addresses: addrs("10.244.1.5", "10.244.2.7", "10.244.3.9"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}}}},
		&corev1.Endpoints{ObjectMeta: objMeta("headless", time.Hour), Subsets: []corev1.EndpointSubset{{Addresses: addrs("10.244.1.5")}}},
		&corev1.Endpoints{ObjectMeta: objMeta("empty", time.Hour)},
	}
}

func fixtureNamespaces() []api.Object {
	return []api.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: ago(30 * 24 * time.Hour)},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "going", CreationTimestamp: ago(90 * time.Second), DeletionTimestamp: agoP(time.Second)},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}
}

func template(containers ...string) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{}
	for _, c := range containers {
		t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: c, Image: "docker.io/library/" + c + ":1.0"})
	}
	return t
}

func fixtureDeployments() []api.Object {
	return []api.Object{
		&appsv1.Deployment{ObjectMeta: objMeta("web", 4*time.Hour), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: template("nginx", "sidecar")},
			Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
		&appsv1.Deployment{ObjectMeta: objMeta("expr", 7*time.Minute), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(0)),
			Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}},
			Template: template("app")}},
	}
}

func fixtureReplicaSets() []api.Object {
	return []api.Object{
		&appsv1.ReplicaSet{ObjectMeta: objMeta("web-5d4f8c7b9", 4*time.Hour), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "5d4f8c7b9"}}, Template: template("nginx")},
			Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}},
		&appsv1.ReplicaSet{ObjectMeta: objMeta("old-1", 9*24*time.Hour), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "old"}}, Template: template("a", "b")}},
	}
}

func fixtureEvents() []api.Object {
	return []api.Object{
		&corev1.Event{ObjectMeta: objMeta("web-1.17f0a", 5*time.Minute), Type: "Normal", Reason: "Scheduled",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", Namespace: "default"},
			Message:        "Successfully assigned default/web-1 to node-1\n", Source: corev1.EventSource{Component: "default-scheduler"},
			FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(5 * time.Minute), Count: 1},
		&corev1.Event{ObjectMeta: objMeta("web-1.17f0b", 5*time.Minute), Type: "Warning", Reason: "BackOff",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{main}"},
			Message:        "Back-off restarting failed container", Source: corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(4 * time.Minute), LastTimestamp: ago(12 * time.Second), Count: 9},
		&corev1.Event{ObjectMeta: objMeta("series.17f0c", time.Hour), Type: "Normal", Reason: "Pulled",
			InvolvedObject: corev1.ObjectReference{Kind: "Node"}, ReportingController: "drydock.io/kubelet", ReportingInstance: "node-2",
			EventTime: metav1.NewMicroTime(now.Add(-time.Hour)), Series: &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-3 * time.Minute))}},
		&corev1.Event{ObjectMeta: objMeta("single.17f0d", 2*time.Minute), Type: "Normal", Reason: "Started",
			InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
			EventTime:      metav1.NewMicroTime(now.Add(-2 * time.Minute))},
	}
}

func fixtureLeases() []api.Object {
	return []api.Object{
		&coordinationv1.Lease{ObjectMeta: objMeta("node-1", 3*24*time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1")}},
		&coordinationv1.Lease{ObjectMeta: objMeta("unheld", time.Minute)},
	}
}

func fixturePriorityClasses() []api.Object {
	never := corev1.PreemptNever
	return []api.Object{
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical", CreationTimestamp: ago(3 * 24 * time.Hour)},
			Value: 2000001000, PreemptionPolicy: ptr(corev1.PreemptLowerPriority)},
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "batch", CreationTimestamp: ago(time.Hour)},
			Value: -10, GlobalDefault: true, PreemptionPolicy: &never},
	}
}

func fixtures() map[*api.Resource][]api.Object {
	return map[*api.Resource][]api.Object{
		api.Pods: fixturePods(), api.Nodes: fixtureNodes(), api.Services: fixtureServices(),
		api.Endpoints: fixtureEndpoints(), api.Namespaces: fixtureNamespaces(), api.Deployments: fixtureDeployments(),
		api.ReplicaSets: fixtureReplicaSets(), api.Events: fixtureEvents(), api.Leases: fixtureLeases(),
		api.PriorityClasses: fixturePriorityClasses(),
	}
}

// render prints a Table the way kubectl's table printer lays it out: upper
// case headers, columns separated by at least three spaces.
func render(t *metav1.Table) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 3, ' ', 0)
	head := make([]string, len(t.ColumnDefinitions))
	for i, c := range t.ColumnDefinitions {
		head[i] = strings.ToUpper(c.Name)
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, r := range t.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = fmt.Sprint(c)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	w.Flush()
	return buf.String()
}

// describeColumns lists the column definitions, to pin types and priorities.
func describeColumns(t *metav1.Table) string {
	var b strings.Builder
	for _, c := range t.ColumnDefinitions {
		fmt.Fprintf(&b, "# column %q type=%s format=%s priority=%d\n", c.Name, c.Type, c.Format, c.Priority)
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got), *update)
}

func TestGolden(t *testing.T) {
	for r, objs := range fixtures() {
		for _, wide := range []bool{false, true} {
			name := r.Name
			if wide {
				name += "-wide"
			}
			t.Run(name, func(t *testing.T) {
				tab, err := Table(r, objs, Options{Wide: wide, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				for i, row := range tab.Rows {
					if len(row.Cells) != len(tab.ColumnDefinitions) {
						t.Fatalf("row %d has %d cells for %d columns", i, len(row.Cells), len(tab.ColumnDefinitions))
					}
				}
				checkGolden(t, name, describeColumns(tab)+render(tab))
			})
		}
	}
}

// Every served resource renders, with its own printer or the default one.
func TestAllResourcesRender(t *testing.T) {
	for _, r := range api.All {
		obj := r.New()
		obj.SetName("x")
		obj.SetCreationTimestamp(ago(time.Minute))
		tab, err := Table(r, []api.Object{obj}, Options{Wide: true, Now: now})
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if len(tab.Rows) != 1 || len(tab.Rows[0].Cells) != len(tab.ColumnDefinitions) {
			t.Fatalf("%s: bad table %+v", r.Name, tab)
		}
		if _, ok := printers[r.GroupResource().String()]; !ok {
			t.Errorf("%s has no printer of its own (gets Name and Created At)", r.Name)
		}
	}
}

func TestDefaultPrinter(t *testing.T) {
	r := &api.Resource{Name: "widgets", Kind: "Widget", Group: "example.com", Version: "v1", Namespaced: true}
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w", CreationTimestamp: ago(time.Hour)}}
	tab, err := Table(r, []api.Object{obj}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := render(tab)
	want := "NAME   CREATED AT\nw      2026-12-06T11:00:00Z\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestIncludeObject(t *testing.T) {
	p := pod("running", time.Hour, nil)
	cases := []struct {
		include  string
		wantKind string // "" for no object
	}{
		{"", "PartialObjectMetadata"},
		{"Metadata", "PartialObjectMetadata"},
		{"Object", "Pod"},
		{"None", ""},
	}
	for _, c := range cases {
		t.Run("include="+c.include, func(t *testing.T) {
			tab, err := Table(api.Pods, []api.Object{p}, Options{IncludeObject: c.include, Now: now, Wide: true})
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(tab)
			if err != nil {
				t.Fatal(err)
			}
			var decoded struct {
				Kind       string `json:"kind"`
				APIVersion string `json:"apiVersion"`
				Rows       []struct {
					Object *struct {
						Kind       string            `json:"kind"`
						APIVersion string            `json:"apiVersion"`
						Metadata   metav1.ObjectMeta `json:"metadata"`
						Spec       *json.RawMessage  `json:"spec"`
					} `json:"object"`
				} `json:"rows"`
			}
			if err := json.Unmarshal(data, &decoded); err != nil {
				t.Fatal(err)
			}
			if decoded.Kind != "Table" || decoded.APIVersion != "meta.k8s.io/v1" {
				t.Errorf("table is %s %s", decoded.APIVersion, decoded.Kind)
			}
			obj := decoded.Rows[0].Object
			if c.wantKind == "" {
				if obj != nil {
					t.Errorf("row object %+v, want none", obj)
				}
				return
			}
			if obj == nil {
				t.Fatal("row has no object")
			}
			if obj.Kind != c.wantKind {
				t.Errorf("row object kind %q, want %q", obj.Kind, c.wantKind)
			}
			if obj.Metadata.Name != "running" || obj.Metadata.Namespace != "default" || obj.Metadata.ResourceVersion != "7" {
				t.Errorf("row object metadata %+v", obj.Metadata)
			}
			if (obj.Spec != nil) != (c.wantKind == "Pod") {
				t.Errorf("row object spec present=%v for kind %s", obj.Spec != nil, c.wantKind)
			}
			if c.wantKind == "Pod" && obj.APIVersion != "v1" {
				t.Errorf("full object apiVersion %q", obj.APIVersion)
			}
		})
	}
	if p.Kind != "" {
		t.Errorf("Table set TypeMeta on the caller's object: %+v", p.TypeMeta)
	}
}

func TestBadIncludeObject(t *testing.T) {
	_, err := Table(api.Pods, nil, Options{IncludeObject: "Everything"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("err = %v, want BadRequest", err)
	}
}

func TestWrongType(t *testing.T) {
	_, err := Table(api.Pods, []api.Object{&corev1.Node{}}, Options{Now: now})
	if err == nil || !strings.Contains(err.Error(), "*v1.Node") {
		t.Fatalf("err = %v, want a type error", err)
	}
}

func TestPodRowConditions(t *testing.T) {
	tab, err := Table(api.Pods, fixturePods(), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range tab.Rows {
		name := row.Cells[0].(string)
		completed := len(row.Conditions) == 1 && row.Conditions[0].Type == metav1.RowCompleted
		want := map[string]bool{"completed": true, "failed-exitcode": true, "killed-signal": true,
			"terminating-done": true, "evicted": true, "init-failed": true}[name]
		if completed != want {
			t.Errorf("%s: row conditions %+v, want completed=%v", name, row.Conditions, want)
		}
	}
}

func TestColumns(t *testing.T) {
	if got := len(Columns(api.Pods, false)); got != 5 {
		t.Errorf("pods narrow columns = %d, want 5", got)
	}
	if got := len(Columns(api.Pods, true)); got != 9 {
		t.Errorf("pods wide columns = %d, want 9", got)
	}
}
