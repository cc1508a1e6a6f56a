package kubelet_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/critest"
	"github.com/drydock-sim/drydock/core/cri/memruntime"
	"github.com/drydock-sim/drydock/core/harness"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/kubelet"
)

// Test container behaviour comes from these pod annotations (the simulator
// has its own, in sim/scenario; core tests cannot import it).
const (
	annExitAfter    = "test/exit-after"
	annExitCode     = "test/exit-code"
	annReadyAfter   = "test/ready-after"
	annFailLiveness = "test/fail-liveness-after"
	annStopAfter    = "test/stop-after"
)

// behavior reads the test annotations; "key.container" wins over "key".
func behavior(sb *cri.SandboxConfig, c *cri.ContainerConfig) (memruntime.Behavior, error) {
	var b memruntime.Behavior
	get := func(key string) (string, bool) {
		if v, ok := sb.Annotations[key+"."+c.Name]; ok {
			return v, true
		}
		v, ok := sb.Annotations[key]
		return v, ok
	}
	dur := func(key string) (time.Duration, bool) {
		v, ok := get(key)
		if !ok {
			return 0, false
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			panic(err)
		}
		return d, true
	}
	b.ExitAfter, b.Exits = dur(annExitAfter)
	if v, ok := get(annExitCode); ok {
		n, _ := strconv.Atoi(v)
		b.ExitCode = int32(n)
	}
	b.ReadyAfter, _ = dur(annReadyAfter)
	b.FailLivenessAfter, b.FailsLiveness = dur(annFailLiveness)
	b.StopAfter, _ = dur(annStopAfter)
	return b, nil
}

// Default runtime timings: sandbox 100ms, first pull 1s, start 300ms.
func latency(op memruntime.Op, _ string, cached bool) time.Duration {
	switch op {
	case memruntime.OpRunSandbox:
		return 100 * time.Millisecond
	case memruntime.OpPull:
		if !cached {
			return time.Second
		}
	case memruntime.OpStart:
		return 300 * time.Millisecond
	}
	return 0
}

type env struct {
	t   *testing.T
	h   *harness.Harness
	rt  *memruntime.Runtime
	k   *kubelet.Kubelet
	cfg kubelet.Config
	run func(time.Duration, func() bool) bool
}

const nodeName = "node-1"

func nodeTemplate(cpu, mem string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"topology.kubernetes.io/zone": "a"}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
				corev1.ResourcePods: resource.MustParse("110")},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.11"}, {Type: corev1.NodeHostName, Address: nodeName}},
		},
	}
}

// newEnv starts a kubelet over a memruntime on a harness; opts adjust the
// configs before anything starts.
func newEnv(t *testing.T, opts ...func(*kubelet.Config, *memruntime.Config)) *env {
	t.Helper()
	return newEnvWrapped(t, nil, opts...)
}

// newEnvWrapped is newEnv with the kubelet's runtime wrapped by wrap (nil:
// the memruntime itself).
func newEnvWrapped(t *testing.T, wrap func(*harness.Harness, *memruntime.Runtime) cri.Runtime, opts ...func(*kubelet.Config, *memruntime.Config)) *env {
	t.Helper()
	h := harness.New(t)
	rcfg := memruntime.Config{Clock: h.Clock, Latency: latency, Behavior: behavior,
		ImageExists: func(image string) bool { return image != "missing:1" }}
	kcfg := kubelet.Config{NodeName: nodeName, Client: h.Client, Clock: h.Clock, Recorder: h.Recorder("kubelet"),
		Node: nodeTemplate("4", "8Gi")}
	for _, o := range opts {
		o(&kcfg, &rcfg)
	}
	rt := memruntime.New(rcfg)
	kcfg.Runtime = rt
	if wrap != nil {
		kcfg.Runtime = wrap(h, rt)
	}
	e := &env{t: t, h: h, rt: rt, cfg: kcfg, run: critest.ManualRun(h.Clock)}
	e.k = kubelet.New(kcfg)
	e.k.Start(context.Background())
	h.Settle()
	return e
}

type podOpt func(*corev1.Pod)

func withAnn(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[k] = v
	}
}

func withPolicy(r corev1.RestartPolicy) podOpt {
	return func(p *corev1.Pod) { p.Spec.RestartPolicy = r }
}

func withGrace(s int64) podOpt {
	return func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = &s }
}

func withCPU(q string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
	}
}

func withProbe(readiness bool, period, failures int32) podOpt {
	return func(p *corev1.Pod) {
		pr := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}},
			PeriodSeconds: period, FailureThreshold: failures}
		if readiness {
			p.Spec.Containers[0].ReadinessProbe = pr
		} else {
			p.Spec.Containers[0].LivenessProbe = pr
		}
	}
}

// createPod creates a pod bound to the node.
func (e *env) createPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
	for _, o := range opts {
		o(p)
	}
	return e.h.Create(p).(*corev1.Pod)
}

func (e *env) pod(name string) *corev1.Pod {
	o := e.h.Get(api.Pods, "default", name)
	if o == nil {
		return nil
	}
	return o.(*corev1.Pod)
}

func (e *env) node() *corev1.Node {
	o := e.h.Get(api.Nodes, "", nodeName)
	if o == nil {
		return nil
	}
	return o.(*corev1.Node)
}

func (e *env) lease() *coordinationv1.Lease {
	o := e.h.Get(api.Leases, corev1.NamespaceNodeLease, nodeName)
	if o == nil {
		return nil
	}
	return o.(*coordinationv1.Lease)
}

// until runs the clock until cond holds, failing after d.
func (e *env) until(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	if !e.run(d, cond) {
		e.t.Fatalf("%s: not within %v (now %v)", what, d, e.h.Clock.Now().Sub(harness.Epoch))
	}
}

// elapsed is the time since the harness started.
func (e *env) elapsed() time.Duration { return e.h.Clock.Now().Sub(harness.Epoch) }

func cond(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func phaseIs(e *env, name string, phase corev1.PodPhase) func() bool {
	return func() bool { p := e.pod(name); return p != nil && p.Status.Phase == phase }
}

func readyIs(e *env, name string) func() bool {
	return func() bool { p := e.pod(name); return p != nil && cond(p, corev1.PodReady) == corev1.ConditionTrue }
}

func (e *env) reasons(obj string) []string {
	var out []string
	for _, ev := range e.h.Events {
		if ev.InvolvedObject.Name == obj {
			out = append(out, ev.Reason)
		}
	}
	return out
}

func informerDeleteHook(f func(*corev1.Pod)) informer.Handler {
	return informer.Handler{OnDelete: func(o api.Object) { f(o.(*corev1.Pod)) }}
}
