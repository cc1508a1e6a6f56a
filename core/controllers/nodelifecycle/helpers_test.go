package nodelifecycle

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/harness"
)

type fixture struct {
	t *testing.T
	h *harness.Harness
	c *Controller
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	h := harness.New(t)
	c := New(Config{Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("node-controller"),
		Nodes: h.Informer(api.Nodes), Leases: h.Informer(api.Leases), Pods: h.Informer(api.Pods)})
	return &fixture{t: t, h: h, c: c}
}

// addNode registers a healthy node with a lease, as a kubelet would.
func (f *fixture) addNode(name string) {
	now := metav1.NewTime(f.h.Clock.Now())
	f.h.Create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now},
		}}})
	renew := metav1.NewMicroTime(f.h.Clock.Now())
	d := int32(40)
	f.h.Create(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &d, RenewTime: &renew}})
}

// renewLease is the kubelet's 10s lease heartbeat.
func (f *fixture) renewLease(name string) {
	l := f.h.Get(api.Leases, corev1.NamespaceNodeLease, name).(*coordinationv1.Lease).DeepCopy()
	renew := metav1.NewMicroTime(f.h.Clock.Now())
	l.Spec.RenewTime = &renew
	f.update(l, "")
}

// postStatus is the kubelet posting its Ready condition.
func (f *fixture) postStatus(name string, ready corev1.ConditionStatus) {
	n := f.node(name).DeepCopy()
	now := metav1.NewTime(f.h.Clock.Now())
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Type == corev1.NodeReady {
			if c.Status != ready {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message, c.LastHeartbeatTime = ready, "Kubelet", "", now
		} else {
			c.Status, c.Reason, c.LastHeartbeatTime = corev1.ConditionFalse, "Kubelet", now
		}
	}
	f.update(n, "status")
}

func (f *fixture) update(obj api.Object, sub string) {
	f.t.Helper()
	if _, err := f.h.API.Update(context.Background(), obj, sub); err != nil {
		f.t.Fatalf("update %s: %v", obj.GetName(), err)
	}
}

func (f *fixture) node(name string) *corev1.Node {
	return f.h.Get(api.Nodes, "", name).(*corev1.Node)
}

// addPod creates a running, ready pod bound to node.
func (f *fixture) addPod(name, node string, tols ...corev1.Toleration) {
	p := f.h.Create(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: node, Tolerations: tols,
			Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}).(*corev1.Pod).DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	f.update(p, "status")
}

func (f *fixture) pod(name string) *corev1.Pod {
	if o := f.h.Get(api.Pods, "default", name); o != nil {
		return o.(*corev1.Pod)
	}
	return nil
}

func taintSet(n *corev1.Node) []string {
	var out []string
	for _, t := range n.Spec.Taints {
		out = append(out, t.Key+":"+string(t.Effect))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func elapsed(h *harness.Harness) time.Duration { return h.Clock.Now().Sub(harness.Epoch) }

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

var (
	nodesResource = api.Nodes
	deleteNow     = metav1.DeleteOptions{}
)
