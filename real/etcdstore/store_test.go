package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/store"
)

var (
	stamp    = metav1.NewTime(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	micro    = metav1.NewMicroTime(time.Date(2026, 12, 6, 3, 0, 1, 123456000, time.UTC))
	replicas = int32(3)
	grace    = int64(30)
	duration = int32(40)
)

func objMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: ns, UID: "0b7c8a52-5d0e-4d6b-9f3e-2f9a1c7d2b11", Generation: 2,
		CreationTimestamp: stamp, Labels: map[string]string{"app": "web"},
		Annotations: map[string]string{"note": "round trip"}, Finalizers: []string{"example.com/keep"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "u-rs"}},
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		NodeName: "node-1", RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Command: []string{"sleep", "3600"},
			Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
		}},
		Tolerations: []corev1.Toleration{{Key: api.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
	}
}

// roundTripObjects has one populated object per served resource.
func roundTripObjects() map[*api.Resource]api.Object {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: podSpec()}
	return map[*api.Resource]api.Object{
		api.Namespaces: &corev1.Namespace{ObjectMeta: objMeta("team", ""), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		api.Nodes: &corev1.Node{ObjectMeta: objMeta("node-1", ""),
			Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", Taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{
				Capacity:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
				Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: stamp}},
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			}},
		api.Pods: &corev1.Pod{ObjectMeta: objMeta("web-1-abcde", "default"), Spec: podSpec(),
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5", StartTime: &stamp,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, RestartCount: 2,
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: stamp}}}}}},
		api.Services: &corev1.Service{ObjectMeta: objMeta("web", "default"), Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Type:  corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}},
		api.Endpoints: &corev1.Endpoints{ObjectMeta: objMeta("web", "default"), Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5", NodeName: ptr("node-1"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1-abcde", Namespace: "default"}}},
			Ports: []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}}},
		api.Events: &corev1.Event{ObjectMeta: objMeta("web.1", "default"),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1-abcde", Namespace: "default"},
			Reason:         "Scheduled", Message: "assigned", Type: corev1.EventTypeNormal, Count: 3,
			FirstTimestamp: stamp, LastTimestamp: stamp, EventTime: micro, Source: corev1.EventSource{Component: "scheduler"}},
		api.ReplicaSets: &appsv1.ReplicaSet{ObjectMeta: objMeta("web-1", "default"),
			Spec:   appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl},
			Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2, ObservedGeneration: 2}},
		api.Deployments: &appsv1.Deployment{ObjectMeta: objMeta("web", "default"),
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: sel, Template: tmpl,
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromString("25%")), MaxUnavailable: ptr(intstr.FromString("25%"))}}},
			Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3,
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: stamp}}}},
		api.Leases: &coordinationv1.Lease{ObjectMeta: objMeta("node-1", corev1.NamespaceNodeLease),
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1"), LeaseDurationSeconds: &duration, RenewTime: &micro}},
		api.PriorityClasses: &schedulingv1.PriorityClass{ObjectMeta: objMeta("high", ""), Value: 1000000,
			Description: "high", PreemptionPolicy: ptr(corev1.PreemptLowerPriority)},
	}
}

func ptr[T any](v T) *T { return &v }

// TestEncodingRoundTrip stores one populated object of every served kind
// and reads it back through Get, List and a watch: the same Go type, the
// resource's apiVersion and kind, the write's resourceVersion, every field.
func TestEncodingRoundTrip(t *testing.T) {
	objs := roundTripObjects()
	for _, r := range api.All {
		t.Run(r.Kind, func(t *testing.T) {
			in, ok := objs[r]
			if !ok {
				t.Fatalf("no round-trip object for %s: add one to roundTripObjects", r.Name)
			}
			s := newTestStore(t)
			rec := &events{}
			cancel, err := s.Watch("/", 0, rec.fn)
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			want := in.DeepCopyObject().(api.Object)
			key := r.Key(in.GetNamespace(), in.GetName())
			rev, err := s.Create(key, in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			want.SetResourceVersion(strconv.FormatInt(rev, 10))
			want.GetObjectKind().SetGroupVersionKind(r.GVK())

			got, err := s.Get(key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			list, _, err := s.List(r.KeyPrefix(""))
			if err != nil || len(list) != 1 {
				t.Fatalf("List: %d objects, %v", len(list), err)
			}
			evs := rec.wait(t, rev)
			for what, o := range map[string]any{"Get": got, "List": list[0], "watch": evs[0].Object} {
				if reflect.TypeOf(o) != reflect.TypeOf(r.New()) {
					t.Fatalf("%s returned %T, want %T", what, o, r.New())
				}
				ao := o.(api.Object)
				if gvk := ao.GetObjectKind().GroupVersionKind(); gvk != r.GVK() {
					t.Errorf("%s: apiVersion/kind %v, want %v", what, gvk, r.GVK())
				}
				if !apiequality.Semantic.DeepEqual(ao, want) {
					t.Errorf("%s: round trip changed the object:\n got %#v\nwant %#v", what, ao, want)
				}
			}
		})
	}
}

// events records store watch events from any goroutine.
type events struct {
	mu  sync.Mutex
	evs []store.Event
	ch  chan struct{}
}

func (e *events) fn(ev store.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	if e.ch == nil {
		e.ch = make(chan struct{}, 1)
	}
	ch := e.ch
	e.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (e *events) snapshot() []store.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == nil {
		e.ch = make(chan struct{}, 1)
	}
	return append([]store.Event(nil), e.evs...)
}

// wait waits for an event at revision >= rev.
func (e *events) wait(t *testing.T, rev int64) []store.Event {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		evs := e.snapshot()
		if len(evs) > 0 && evs[len(evs)-1].Revision >= rev {
			return evs
		}
		e.mu.Lock()
		ch := e.ch
		e.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for an event at revision %d; have %d events", rev, len(evs))
		}
	}
}

func cm(name, v string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Data: map[string]string{"v": v}}
}

// TestWatchCancelWaitsForCallback: cancel returns only after a callback in
// progress has returned, and no callback starts after it, while writes keep
// coming.
func TestWatchCancelWaitsForCallback(t *testing.T) {
	s := newTestStore(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	var inside, after atomic.Bool
	var calls atomic.Int64
	cancel, err := s.Watch("/cm/", 0, func(store.Event) {
		if after.Load() {
			t.Error("callback after cancel returned")
		}
		inside.Store(true)
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		inside.Store(false)
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Create("/cm/"+strconv.Itoa(i), cm(strconv.Itoa(i), "x")); err != nil {
				t.Errorf("Create: %v", err)
				return
			}
		}
	}()
	<-entered
	cancelled := make(chan struct{})
	var atCancel int64
	go func() {
		cancel()
		after.Store(true)
		atCancel = calls.Load()
		if inside.Load() {
			t.Error("cancel returned while the callback was running")
		}
		close(cancelled)
	}()
	select {
	case <-cancelled:
		t.Fatal("cancel returned while the callback was blocked")
	case <-time.After(200 * time.Millisecond): // gives a wrong cancel the chance to return
	}
	releaseOnce.Do(func() { close(release) })
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("cancel did not return")
	}
	cancel() // idempotent, and does not block
	close(stop)
	<-writerDone
	// A witness watch sees a write after all the others: by then the
	// cancelled watch has had every chance to be called again.
	w := &events{}
	wc, err := s.Watch("/cm/", 0, w.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer wc()
	rev, _ := s.Create("/cm/witness", cm("witness", "x"))
	w.wait(t, rev)
	// Calls between the release and cancel's return are legitimate; none
	// may follow.
	if n := calls.Load(); n != atCancel {
		t.Fatalf("callback called %d times, %d when cancel returned", n, atCancel)
	}
}

// TestWatchAfterStoreClose: Close cancels open watches; Watch afterwards fails.
func TestWatchAfterStoreClose(t *testing.T) {
	s := newTestStore(t)
	var calls atomic.Int64
	if _, err := s.Watch("/cm/", 0, func(store.Event) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Watch("/cm/", 0, func(store.Event) {}); err == nil {
		t.Fatal("Watch after Close succeeded")
	}
	other := newTestStoreWith(t, testEtcd.Client(), nil)
	other.prefix = s.prefix // same keys, a store still open
	w := &events{}
	wc, err := other.Watch("/cm/", 0, w.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer wc()
	rev, err := other.Create("/cm/a", cm("a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	w.wait(t, rev)
	if n := calls.Load(); n != 0 {
		t.Fatalf("watch of a closed store got %d events", n)
	}
}

// TestPrefixIsolation: stores under "/p" and "/pq" share etcd but not keys.
func TestPrefixIsolation(t *testing.T) {
	base := newTestStore(t).prefix
	p, err := New(Config{Client: testEtcd.Client(), Prefix: base + "/p"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pq, err := New(Config{Client: testEtcd.Client(), Prefix: base + "/pq/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	rp := &events{}
	cancel, err := p.Watch("", 0, rp.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if _, err := pq.Create("/x", cm("x", "pq")); err != nil {
		t.Fatal(err)
	}
	last, err := p.Create("/x", cm("x", "p"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create("x", cm("x", "p")); err == nil {
		t.Error("Create of a key without a leading / under a prefix succeeded")
	}
	objs, _, err := p.List("")
	if err != nil || len(objs) != 1 || objs[0].(*corev1.ConfigMap).Data["v"] != "p" {
		t.Fatalf("List of everything under /p = %v, %v; want only its own key", objs, err)
	}
	evs := rp.wait(t, last)
	if len(evs) != 1 || evs[0].Key != "/x" || evs[0].Revision != last {
		t.Fatalf("watch of everything under /p saw %d events (first %s@%d)", len(evs), evs[0].Key, evs[0].Revision)
	}
}

// TestUndecodableValue: a value that is not drydock's encoding makes Get
// fail with the key named, and stops a watch through OnWatchError.
func TestUndecodableValue(t *testing.T) {
	reported := make(chan error, 1)
	s := newTestStoreWith(t, testEtcd.Client(), func(prefix string, err error) { reported <- err })
	var calls atomic.Int64
	cancel, err := s.Watch("/cm/", 0, func(store.Event) { calls.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	ctx, c := context.WithTimeout(context.Background(), 10*time.Second)
	defer c()
	if _, err := testEtcd.Client().Put(ctx, s.prefix+"/cm/bad", "not protobuf"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("/cm/bad"); err == nil || !strings.Contains(err.Error(), "/cm/bad") {
		t.Errorf("Get of a foreign value: %v, want a decode error naming the key", err)
	}
	select {
	case err := <-reported:
		if !strings.Contains(err.Error(), "/cm/bad") {
			t.Errorf("reported %v, want the key named", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch error not reported")
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("callback called %d times for an undecodable value", n)
	}
}

// TestEmbeddedRestart: an embedded etcd restarted on the same data dir
// keeps the objects, the revision and the history.
func TestEmbeddedRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(dir, WithUnsafeNoFsync())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Client: e.Client(), Prefix: "/drydock"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Create("/cm/a", cm("a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update("/cm/a", cm("a", "2"), first); err != nil {
		t.Fatal(err)
	}
	rev := s.Revision()
	s.Close()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir + "/member"); err != nil {
		t.Fatalf("data dir after Close: %v", err)
	}

	e, err = StartEmbedded(dir, WithUnsafeNoFsync())
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer e.Close()
	s, err = New(Config{Client: e.Client(), Prefix: "/drydock"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Revision(); got != rev {
		t.Fatalf("revision after restart = %d, want %d", got, rev)
	}
	got, err := s.Get("/cm/a")
	if err != nil || got.(*corev1.ConfigMap).Data["v"] != "2" || got.(*corev1.ConfigMap).ResourceVersion != strconv.FormatInt(rev, 10) {
		t.Fatalf("Get after restart = %v, %v", got, err)
	}
	// History survives too: a watch from before the update replays it.
	w := &events{}
	cancel, err := s.Watch("/cm/", first, w.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	next, err := s.Create("/cm/b", cm("b", "1"))
	if err != nil || next != rev+1 {
		t.Fatalf("first write after restart at %d (%v), want %d", next, err, rev+1)
	}
	evs := w.wait(t, next)
	if len(evs) != 2 || evs[0].Type != store.Modified || evs[0].Revision != rev || evs[1].Revision != next {
		t.Fatalf("watch from %d after restart: %v", first, evs)
	}
}

// TestEmbeddedPorts: explicit ports are used; a data dir is required.
func TestEmbeddedPorts(t *testing.T) {
	if _, err := StartEmbedded(""); err == nil {
		t.Fatal("StartEmbedded with no data dir succeeded")
	}
	port, err := pickPort(0)
	if err != nil {
		t.Fatal(err)
	}
	e, err := StartEmbedded(t.TempDir(), WithClientPort(port), WithUnsafeNoFsync())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if want := "127.0.0.1:" + strconv.Itoa(port); e.Endpoints()[0] != want {
		t.Fatalf("endpoints %v, want %s", e.Endpoints(), want)
	}
	cli, err := Dial(e.Endpoints(), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	cli.Close()
	defer func(d time.Duration) { dialCheckTimeout = d }(dialCheckTimeout)
	dialCheckTimeout = time.Second
	if _, err := Dial([]string{"127.0.0.1:1"}, nil); err == nil {
		t.Fatal("Dial of a closed port succeeded")
	}
}

// TestWatchSurvivesEtcdRestart: etcd going away and coming back (same data,
// same address) does not lose or repeat events of an open watch: the client
// reconnects and resumes after the last revision delivered.
func TestWatchSurvivesEtcdRestart(t *testing.T) {
	dir := t.TempDir()
	port, err := pickPort(0)
	if err != nil {
		t.Fatal(err)
	}
	e, err := StartEmbedded(dir, WithClientPort(port), WithUnsafeNoFsync())
	if err != nil {
		t.Fatal(err)
	}
	cli, err := Dial(e.Endpoints(), nil) // outlives e, whose Close closes only its own client
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	reported := make(chan error, 1)
	s := newTestStoreWith(t, cli, func(_ string, err error) { reported <- err })
	rec := &events{}
	cancel, err := s.Watch("/cm/", 0, rec.fn)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		s.Close()
		cli.Close()
	}()
	a, err := s.Create("/cm/a", cm("a", "1"))
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	rec.wait(t, a)
	// etcd's graceful stop waits (about 7 s) for our client's open watch
	// stream before it closes it: that is the outage.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = StartEmbedded(dir, WithClientPort(port), WithUnsafeNoFsync())
	if err != nil {
		t.Fatalf("restart on port %d: %v", port, err)
	}
	// Runs after (LIFO) the store's and the client's cleanups, so etcd has
	// no open stream to wait for.
	t.Cleanup(func() { e.Close() })
	// Write through the restarted etcd's own client: ours may still be
	// reconnecting.
	s2, err := New(Config{Client: e.Client(), Prefix: s.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	b, err := s2.Create("/cm/b", cm("b", "1"))
	if err != nil {
		t.Fatal(err)
	}
	_, d, err := s2.Delete("/cm/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	evs := rec.wait(t, d)
	want := []storeSummary{{store.Added, "/cm/a", a}, {store.Added, "/cm/b", b}, {store.Deleted, "/cm/a", d}}
	if got := summarizeStore(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events across the restart: %v, want %v", got, want)
	}
	select {
	case err := <-reported:
		t.Fatalf("watch error: %v", err)
	default:
	}
}

// TestEmbeddedPortInUse: a given port that is taken is an error naming it
// (and recognisable as "address in use", which StartEmbedded retries with
// fresh ports when it chose them itself).
func TestEmbeddedPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	e, err := StartEmbedded(t.TempDir(), WithClientPort(port), WithUnsafeNoFsync())
	if err == nil {
		e.Close()
		t.Fatalf("StartEmbedded on a taken port %d succeeded", port)
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("error %q: want EADDRINUSE naming port %d", err, port)
	}
}

// TestListPages: a List longer than a page reads every page at the first
// page's revision, in key order.
func TestListPages(t *testing.T) {
	s, err := New(Config{Client: testEtcd.Client(), Prefix: newTestStore(t).prefix + "/paged", ListPageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := []string{"e", "a", "d", "b", "c"}
	for _, n := range names {
		if _, err := s.Create("/cm/"+n, cm(n, "1")); err != nil {
			t.Fatal(err)
		}
	}
	s.Create("/cmx/z", cm("z", "1")) // next to the prefix, not under it
	objs, rev, err := s.List("/cm/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.(*corev1.ConfigMap).Name)
	}
	if strings.Join(got, ",") != "a,b,c,d,e" || rev != s.Revision() {
		t.Fatalf("List in pages of 2 = %v at %d, want a..e at %d", got, rev, s.Revision())
	}

	// With a writer updating the keys meanwhile, every page is still read
	// at the first page's revision: nothing listed is newer than it.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := names[i%len(names)]
			if _, err := s.Update("/cm/"+n, cm(n, strconv.Itoa(i)), 0); err != nil {
				t.Errorf("Update: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for range 20 {
		objs, rev, err := s.List("/cm/")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != len(names) {
			t.Fatalf("List returned %d objects", len(objs))
		}
		for _, o := range objs {
			if r := mustRV(t, o.(*corev1.ConfigMap).ResourceVersion); r > rev {
				t.Fatalf("List at %d returned %s at %d", rev, o.(*corev1.ConfigMap).Name, r)
			}
		}
	}
}
