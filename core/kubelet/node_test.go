package kubelet_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/kubelet"
)

func TestNodeRegistration(t *testing.T) {
	e := newEnv(t)
	n := e.node()
	if n == nil {
		t.Fatal("node not registered")
	}
	for k, v := range map[string]string{"kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux",
		"topology.kubernetes.io/zone": "a"} {
		if n.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, n.Labels[k], v)
		}
	}
	if q := n.Status.Allocatable[corev1.ResourceCPU]; q.Cmp(resource.MustParse("4")) != 0 {
		t.Errorf("allocatable cpu %v", q.String())
	}
	var ready *corev1.NodeCondition
	for i, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = &n.Status.Conditions[i]
		} else if c.Status != corev1.ConditionFalse {
			t.Errorf("condition %s is %s", c.Type, c.Status)
		}
	}
	if ready == nil || ready.Status != corev1.ConditionTrue || ready.Reason != "KubeletReady" || ready.Message != "kubelet is posting ready status" {
		t.Errorf("Ready condition %+v", ready)
	}
	if n.Status.NodeInfo.KubeletVersion != kubelet.Version || n.Status.NodeInfo.ContainerRuntimeVersion != "mem://0.1.0" {
		t.Errorf("nodeInfo %+v", n.Status.NodeInfo)
	}
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[0].Address != "192.168.0.11" {
		t.Errorf("addresses %+v", n.Status.Addresses)
	}
	want := []string{"Starting", "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"}
	if got := e.reasons(nodeName); !reflect.DeepEqual(got, want) {
		t.Errorf("node events %v, want %v", got, want)
	}
}

func heartbeat(n *corev1.Node) time.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.LastHeartbeatTime.Time
		}
	}
	return time.Time{}
}

// TestNodeStatusHeartbeat: an unchanged status is written every
// NodeStatusReportFrequency (5m); a change is written within
// NodeStatusUpdateFrequency (10s).
func TestNodeStatusHeartbeat(t *testing.T) {
	e := newEnv(t)
	first := heartbeat(e.node())
	rv := e.node().ResourceVersion
	e.run(4*time.Minute+50*time.Second, func() bool { return false })
	if e.node().ResourceVersion != rv {
		t.Fatal("unchanged node status was rewritten before 5m")
	}
	e.run(20*time.Second, func() bool { return false })
	if got := heartbeat(e.node()).Sub(first); got != 5*time.Minute {
		t.Errorf("heartbeat moved by %v, want 5m", got)
	}
	// The node lifecycle controller marks the node Unknown; the kubelet corrects it.
	n := e.node().DeepCopy()
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			n.Status.Conditions[i].Status = corev1.ConditionUnknown
			n.Status.Conditions[i].Reason = "NodeStatusUnknown"
		}
	}
	if _, err := e.h.Client.Update(context.Background(), n, "status"); err != nil {
		t.Fatal(err)
	}
	start := e.elapsed()
	e.until("ready again", 15*time.Second, func() bool {
		for _, c := range e.node().Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	if got := e.elapsed() - start; got > 10*time.Second {
		t.Errorf("corrected after %v, want within 10s", got)
	}
}

func TestLeaseRenewal(t *testing.T) {
	e := newEnv(t)
	l := e.lease()
	if l == nil {
		t.Fatal("no lease")
	}
	if *l.Spec.HolderIdentity != nodeName || *l.Spec.LeaseDurationSeconds != 40 ||
		len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != e.node().UID {
		t.Errorf("lease %+v", l)
	}
	for i := 0; i <= 6; i++ {
		if got, want := e.lease().Spec.RenewTime.Sub(harness.Epoch), time.Duration(i)*10*time.Second; got != want {
			t.Errorf("renewTime %v, want %v", got, want)
		}
		e.run(10*time.Second, func() bool { return false })
	}
	// A stopped kubelet renews nothing.
	e.k.Stop()
	before := e.lease().Spec.RenewTime.Time
	e.run(time.Minute, func() bool { return false })
	if !e.lease().Spec.RenewTime.Time.Equal(before) {
		t.Error("stopped kubelet renewed its lease")
	}
}

// TestNodeCrashAndRestart: the node dies (kubelet stopped, runtime crashed);
// when it returns, its pods are restarted in a new sandbox and each
// container counts a restart with the lost run as lastState.
func TestNodeCrashAndRestart(t *testing.T) {
	e := newEnv(t)
	e.createPod("web")
	e.createPod("job", withPolicy(corev1.RestartPolicyNever))
	e.until("running", 5*time.Second, func() bool {
		return phaseIs(e, "web", corev1.PodRunning)() && phaseIs(e, "job", corev1.PodRunning)()
	})
	oldIP := e.pod("web").Status.PodIP
	oldID := e.pod("web").Status.ContainerStatuses[0].ContainerID
	e.k.Stop()
	e.rt.Crash()
	e.run(time.Minute, func() bool { return false })
	if e.pod("web").Status.Phase != corev1.PodRunning {
		t.Fatal("a dead kubelet changed the pod")
	}
	restartedAt := e.h.Clock.Now()
	e.k.Start(context.Background())
	e.until("restarted", 10*time.Second, func() bool {
		cs := e.pod("web").Status.ContainerStatuses[0]
		return cs.RestartCount == 1 && cs.State.Running != nil
	})
	p := e.pod("web")
	cs := p.Status.ContainerStatuses[0]
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 255 || lt.Reason != "Unknown" || lt.ContainerID != oldID {
		t.Errorf("lastState %+v, want the lost container (exit 255, Unknown)", cs.LastTerminationState)
	}
	if p.Status.PodIP == "" || p.Status.PodIP == oldIP {
		t.Logf("pod IP %q (was %q)", p.Status.PodIP, oldIP)
	}
	found := false
	for _, r := range e.reasons("web") {
		found = found || r == "SandboxChanged"
	}
	if !found {
		t.Error("no SandboxChanged event")
	}
	// restartPolicy Never: the lost container is not restarted; the pod failed.
	e.until("job failed", 10*time.Second, phaseIs(e, "job", corev1.PodFailed))
	if e.rt.Running() != 1 {
		t.Errorf("%d containers running, want 1 (web)", e.rt.Running())
	}
	if got := e.lease().Spec.RenewTime.Time; !got.Equal(restartedAt) {
		t.Errorf("lease not renewed on start: %v", got)
	}
}

// TestKubeletRestartAdoptsContainers: a kubelet restart without a node crash
// keeps running containers as they are.
func TestKubeletRestartAdoptsContainers(t *testing.T) {
	e := newEnv(t)
	e.createPod("web", withProbe(true, 10, 3))
	e.until("ready", time.Minute, readyIs(e, "web"))
	before := e.pod("web").Status.ContainerStatuses[0]
	e.k.Stop()
	e.run(5*time.Second, func() bool { return false })
	e.k.Start(context.Background())
	e.until("ready again", time.Minute, readyIs(e, "web"))
	e.run(time.Minute, func() bool { return false })
	after := e.pod("web").Status.ContainerStatuses[0]
	if after.ContainerID != before.ContainerID || after.RestartCount != 0 || !after.State.Running.StartedAt.Equal(&before.State.Running.StartedAt) {
		t.Errorf("container after kubelet restart %+v, before %+v", after, before)
	}
}

// TestNodeWipedRestartCountsFromAPI: a node that comes back empty (its
// runtime forgot everything) still counts restarts from the API status.
func TestNodeWipedRestartCountsFromAPI(t *testing.T) {
	e := newEnv(t)
	e.createPod("web")
	e.until("running", 5*time.Second, phaseIs(e, "web", corev1.PodRunning))
	e.k.Stop()
	e.rt.Wipe()
	e.k.Start(context.Background())
	e.until("restarted", 10*time.Second, func() bool {
		cs := e.pod("web").Status.ContainerStatuses[0]
		return cs.RestartCount == 1 && cs.State.Running != nil
	})
}

// TestPodsDeletedWhileNodeDown: pods deleted while the kubelet was dead stay
// Terminating, and are finished off when it returns.
func TestPodsDeletedWhileNodeDown(t *testing.T) {
	e := newEnv(t)
	e.createPod("web")
	e.until("running", 5*time.Second, phaseIs(e, "web", corev1.PodRunning))
	e.k.Stop()
	e.rt.Crash()
	ctx := context.Background()
	if _, _, err := e.h.Client.Delete(ctx, api.Pods, "default", "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.run(5*time.Minute, func() bool { return false })
	if p := e.pod("web"); p == nil || p.DeletionTimestamp == nil {
		t.Fatalf("pod on a dead node: %v, want it Terminating", p)
	}
	e.k.Start(ctx)
	e.until("gone", 10*time.Second, func() bool { return e.pod("web") == nil })
	e.run(time.Second, func() bool { return false })
	var sandboxes int
	e.rt.ListPodSandboxes(func(l []*cri.SandboxStatus, _ error) { sandboxes = len(l) })
	e.h.Settle()
	if sandboxes != 0 {
		t.Errorf("%d sandboxes left", sandboxes)
	}
}

// TestWatchNode: with WatchNode the kubelet follows changes others make to
// its Node, so its next status write needs no conflict retry.
func TestWatchNode(t *testing.T) {
	var errs []error
	e := newEnv(t, func(k *kubelet.Config, _ *memruntime.Config) {
		k.WatchNode = true
		k.OnError = func(err error) { errs = append(errs, err) }
	})
	n := e.node().DeepCopy()
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "example.com/maintenance", Effect: corev1.TaintEffectNoSchedule})
	if _, err := e.h.Client.Update(context.Background(), n, ""); err != nil {
		t.Fatal(err)
	}
	e.run(6*time.Minute, func() bool { return false })
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	if len(e.node().Spec.Taints) != 1 || heartbeat(e.node()).Sub(harness.Epoch) != 5*time.Minute {
		t.Errorf("node %+v", e.node())
	}
}

// A template with the host's system information and kubelet port (real
// mode's) is reported as given.
func TestNodeInfoAndPortFromTemplate(t *testing.T) {
	e := newEnv(t, func(c *kubelet.Config, _ *memruntime.Config) {
		c.Node.Status.NodeInfo = corev1.NodeSystemInfo{KernelVersion: "6.1.0-28-amd64", OSImage: "Debian GNU/Linux 12 (bookworm)",
			OperatingSystem: "linux", Architecture: "arm64"}
		c.Node.Status.DaemonEndpoints.KubeletEndpoint.Port = 10350
	})
	n := e.node()
	if got := n.Status.NodeInfo; got.KernelVersion != "6.1.0-28-amd64" || got.OSImage != "Debian GNU/Linux 12 (bookworm)" ||
		got.Architecture != "arm64" || got.KubeletVersion != kubelet.Version {
		t.Errorf("nodeInfo %+v", got)
	}
	if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10350 {
		t.Errorf("kubelet port %d, want 10350", p)
	}
}
