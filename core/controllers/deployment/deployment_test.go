package deployment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/api"
)

func TestCreate(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(newDeployment("web", 3, "nginx:1"))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.h.Advance(5 * time.Second)

	rss := e.rss()
	if len(rss) != 1 {
		t.Fatalf("replica sets = %d, want 1", len(rss))
	}
	rs := rss[0]
	d := e.deployment("web")
	hash := ComputeHash(&d.Spec.Template, nil)
	if rs.Name != "web-"+hash || rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("replica set %s labels %v selector %v, want hash %s", rs.Name, rs.Labels, rs.Spec.Selector, hash)
	}
	for k, v := range map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"} {
		if rs.Annotations[k] != v {
			t.Errorf("rs annotation %s = %q, want %q", k, rs.Annotations[k], v)
		}
	}
	if d.Annotations[RevisionAnnotation] != "1" {
		t.Errorf("deployment revision = %q", d.Annotations[RevisionAnnotation])
	}
	want := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
	got := d.Status
	got.Conditions = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	conds := map[appsv1.DeploymentConditionType]string{}
	for _, c := range d.Status.Conditions {
		conds[c.Type] = string(c.Status) + "/" + c.Reason
	}
	if conds[appsv1.DeploymentAvailable] != "True/MinimumReplicasAvailable" || conds[appsv1.DeploymentProgressing] != "True/NewReplicaSetAvailable" {
		t.Errorf("conditions = %v", conds)
	}
	if msgs := e.messages(EventReasonScalingRS); len(msgs) != 1 || msgs[0] != "Scaled up replica set "+rs.Name+" to 3" {
		t.Errorf("events = %q", msgs)
	}
	if n := len(e.pods()); n != 3 {
		t.Errorf("pods = %d", n)
	}
}

// TestRollingUpdateBounds rolls out a new image and checks after every
// clock step that the ReplicaSets' sizes never exceed replicas+maxSurge and
// that ready, non-terminating pods never drop below replicas-maxUnavailable.
func TestRollingUpdateBounds(t *testing.T) {
	cases := []struct {
		replicas           int32
		surge, unavailable intstr.IntOrString
		latency            time.Duration
		maxTotal, minAvail int
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 0, 13, 8},
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 3 * time.Second, 13, 8},
		{10, intstr.FromInt32(0), intstr.FromInt32(1), 0, 10, 9},
		{10, intstr.FromInt32(0), intstr.FromInt32(1), 2 * time.Second, 10, 9},
		{10, intstr.FromInt32(3), intstr.FromInt32(0), 2 * time.Second, 13, 10},
		{5, intstr.FromInt32(1), intstr.FromInt32(0), time.Second, 6, 5},
		{3, intstr.FromString("50%"), intstr.FromString("0%"), 0, 5, 3},
		{4, intstr.FromString("10%"), intstr.FromString("10%"), 0, 5, 3}, // surge rounds up to 1, unavailable down to 0
		{1, intstr.FromInt32(0), intstr.FromString("10%"), 0, 1, 0},      // both resolve to zero: unavailable becomes 1
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%d/surge=%s/unavail=%s/latency=%v", tc.replicas, tc.surge.String(), tc.unavailable.String(), tc.latency)
		t.Run(name, func(t *testing.T) {
			e := setup(t, tc.latency)
			e.h.Create(rolling(newDeployment("web", tc.replicas, "nginx:1"), tc.surge, tc.unavailable))
			e.runUntil(2*time.Minute, func() bool { return e.rolledOut("web") }, nil)
			e.h.Advance(10 * time.Second)
			e.update("web", setImage("nginx:2"))
			check := func() {
				total := 0
				for _, rs := range e.rss() {
					total += int(*rs.Spec.Replicas)
				}
				if total > tc.maxTotal {
					t.Fatalf("%v: replica sets sum to %d > %d", e.h.Clock.Now(), total, tc.maxTotal)
				}
				if n := e.availablePods(); n < tc.minAvail {
					t.Fatalf("%v: %d available pods < %d", e.h.Clock.Now(), n, tc.minAvail)
				}
			}
			e.runUntil(5*time.Minute, func() bool { return e.rolledOut("web") }, check)
			e.h.Advance(10 * time.Second)
			rss := e.rss()
			if len(rss) != 2 || *rss[0].Spec.Replicas != 0 || *rss[1].Spec.Replicas != tc.replicas {
				t.Fatalf("replica sets after rollout: %s", describe(rss))
			}
			for _, p := range e.pods() {
				if p.Spec.Containers[0].Image != "nginx:2" {
					t.Fatalf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
				}
			}
			if rev := rss[1].Annotations[RevisionAnnotation]; rev != "2" {
				t.Errorf("new revision = %s", rev)
			}
			if rev := e.deployment("web").Annotations[RevisionAnnotation]; rev != "2" {
				t.Errorf("deployment revision = %s", rev)
			}
		})
	}
}

func describe(rss []*appsv1.ReplicaSet) string {
	var b strings.Builder
	for _, rs := range rss {
		fmt.Fprintf(&b, "%s(rev %s): %d/%d ", rs.Name, rs.Annotations[RevisionAnnotation], *rs.Spec.Replicas, rs.Status.Replicas)
	}
	return b.String()
}

func TestRollingUpdateEvents(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(rolling(newDeployment("web", 3, "nginx:1"), intstr.FromInt32(1), intstr.FromInt32(0)))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", setImage("nginx:2"))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	rss := e.rss()
	o, n := rss[0].Name, rss[1].Name
	want := []string{
		"Scaled up replica set " + o + " to 3",
		"Scaled up replica set " + n + " to 1",
		"Scaled down replica set " + o + " to 2 from 3",
		"Scaled up replica set " + n + " to 2 from 1",
		"Scaled down replica set " + o + " to 1 from 2",
		"Scaled up replica set " + n + " to 3 from 2",
		"Scaled down replica set " + o + " to 0 from 1",
	}
	if got := e.messages(EventReasonScalingRS); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRecreate: the new ReplicaSet appears only after every old pod is gone.
func TestRecreate(t *testing.T) {
	e := setup(t, time.Second)
	d := newDeployment("web", 4, "nginx:1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.h.Create(d)
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", setImage("nginx:2"))
	sawOldOnlyTerminating := false
	check := func() {
		var old, cur, terminating int
		for _, p := range e.pods() {
			if p.Spec.Containers[0].Image == "nginx:1" {
				old++
				if p.DeletionTimestamp != nil {
					terminating++
				}
			} else {
				cur++
			}
		}
		if old > 0 && cur > 0 {
			t.Fatalf("%v: %d old and %d new pods at once", e.h.Clock.Now(), old, cur)
		}
		if old > 0 && old == terminating {
			sawOldOnlyTerminating = true
		}
		if len(e.rss()) == 2 && old > 0 {
			t.Fatalf("new replica set created while %d old pods exist", old)
		}
	}
	e.runUntil(2*time.Minute, func() bool { return e.rolledOut("web") }, check)
	if !sawOldOnlyTerminating {
		t.Error("never saw the old pods terminating before the new ones")
	}
	rss := e.rss()
	if len(rss) != 2 || *rss[0].Spec.Replicas != 0 || *rss[1].Spec.Replicas != 4 {
		t.Fatalf("replica sets: %s", describe(rss))
	}
	if msgs := e.messages(EventReasonScalingRS); len(msgs) != 3 || msgs[1] != "Scaled down replica set "+rss[0].Name+" to 0 from 4" ||
		msgs[2] != "Scaled up replica set "+rss[1].Name+" to 4" {
		t.Fatalf("events = %q", msgs)
	}
}

func TestRollback(t *testing.T) {
	e := setup(t, 0)
	ctx := context.Background()
	e.h.Create(newDeployment("web", 2, "nginx:1"))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", func(d *appsv1.Deployment) {
		setImage("nginx:2")(d)
		d.Annotations = map[string]string{"kubernetes.io/change-cause": "v2"}
	})
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.h.Advance(5 * time.Second)

	if err := Rollback(ctx, e.h.Client, e.deployment("web"), 7); !errors.Is(err, ErrRevisionNotFound) {
		t.Fatalf("rollback to 7: %v, want ErrRevisionNotFound", err)
	}
	if err := Rollback(ctx, e.h.Client, e.deployment("web"), 2); !errors.Is(err, ErrRollbackSkipped) {
		t.Fatalf("rollback to current: %v, want ErrRollbackSkipped", err)
	}
	if err := Rollback(ctx, e.h.Client, e.deployment("web"), 0); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	d := e.deployment("web")
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1" {
		t.Fatalf("template image after rollback = %s", img)
	}
	if _, ok := d.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		t.Fatal("pod-template-hash copied into the deployment")
	}
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.h.Advance(5 * time.Second)
	rss := e.rss()
	if len(rss) != 2 {
		t.Fatalf("rollback created a replica set: %s", describe(rss))
	}
	// The v1 ReplicaSet is reused and becomes revision 3, remembering 1.
	cur := rss[1]
	if cur.Spec.Template.Spec.Containers[0].Image != "nginx:1" || cur.Annotations[RevisionAnnotation] != "3" ||
		cur.Annotations[RevisionHistoryAnnotation] != "1" || *cur.Spec.Replicas != 2 {
		t.Fatalf("current replica set: %s annotations %v", describe(rss), cur.Annotations)
	}
	if got := e.deployment("web").Annotations; got[RevisionAnnotation] != "3" || got["kubernetes.io/change-cause"] != "" {
		t.Fatalf("deployment annotations after rollback = %v", got)
	}
	// Rolling back again (to the previous revision, 2) goes back to v2.
	if err := Rollback(ctx, e.h.Client, e.deployment("web"), 0); err != nil {
		t.Fatal(err)
	}
	if d := e.deployment("web"); d.Spec.Template.Spec.Containers[0].Image != "nginx:2" || d.Annotations["kubernetes.io/change-cause"] != "v2" {
		t.Fatalf("second rollback: image %s annotations %v", d.Spec.Template.Spec.Containers[0].Image, d.Annotations)
	}
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	if err := Rollback(ctx, e.h.Client, e.deployment("web"), 3); !errors.Is(err, ErrPaused) {
		t.Fatalf("rollback of paused: %v", err)
	}
}

func TestRevisionHistoryCleanup(t *testing.T) {
	e := setup(t, 0)
	d := newDeployment("web", 1, "nginx:1")
	d.Spec.RevisionHistoryLimit = int32p(2)
	e.h.Create(d)
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	for v := 2; v <= 6; v++ {
		e.update("web", setImage(fmt.Sprintf("nginx:%d", v)))
		e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
		e.h.Advance(5 * time.Second)
	}
	rss := e.rss()
	var revs []string
	for _, rs := range rss {
		revs = append(revs, rs.Annotations[RevisionAnnotation])
	}
	if strings.Join(revs, ",") != "4,5,6" {
		t.Fatalf("kept revisions %v, want 4,5,6 (limit 2 old + current)", revs)
	}
}

func TestProgressDeadline(t *testing.T) {
	e := setup(t, 0)
	d := rolling(newDeployment("web", 3, "nginx:1"), intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.ProgressDeadlineSeconds = int32p(30)
	e.h.Create(d)
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", setImage(brokenImage))
	e.h.Advance(10 * time.Second)
	progressing := func() *appsv1.DeploymentCondition {
		return GetCondition(e.deployment("web").Status, appsv1.DeploymentProgressing)
	}
	if c := progressing(); c.Status != corev1.ConditionTrue || c.Reason != ReasonRSUpdated {
		t.Fatalf("during rollout: %+v", c)
	}
	// Nothing else happens: the deadline check must come from the
	// controller's own requeue.
	e.h.Advance(40 * time.Second)
	c := progressing()
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonTimedOut ||
		!strings.Contains(c.Message, "has timed out progressing") {
		t.Fatalf("after deadline: %+v", c)
	}
	st := e.deployment("web").Status
	if st.Replicas != 4 || st.UpdatedReplicas != 1 || st.AvailableReplicas != 3 || st.UnavailableReplicas != 1 {
		t.Fatalf("stuck status = %+v", st)
	}
	if a := GetCondition(st, appsv1.DeploymentAvailable); a.Status != corev1.ConditionTrue {
		t.Fatalf("available = %+v", a)
	}
	// A fixed image makes progress again.
	e.update("web", setImage("nginx:3"))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	if c := progressing(); c.Reason != ReasonNewRSAvailable {
		t.Fatalf("after fix: %+v", c)
	}
}

func TestAvailableCondition(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(newDeployment("web", 4, brokenImage))
	e.h.Advance(10 * time.Second)
	d := e.deployment("web")
	a := GetCondition(d.Status, appsv1.DeploymentAvailable)
	if a == nil || a.Status != corev1.ConditionFalse || a.Reason != ReasonMinimumUnavailable {
		t.Fatalf("available = %+v", a)
	}
	if d.Status.UnavailableReplicas != 4 || d.Status.Replicas != 4 {
		t.Fatalf("status = %+v", d.Status)
	}
}

// TestProportionalScaling is the example of the Kubernetes documentation:
// 10 replicas, maxSurge 3, maxUnavailable 2, a rollout stuck on a bad image
// (old 8, new 5), then scaled to 15: the 5 extra replicas go 3 to the old
// ReplicaSet and 2 to the new one.
func TestProportionalScaling(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(rolling(newDeployment("web", 10, "nginx:1"), intstr.FromInt32(3), intstr.FromInt32(2)))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", setImage(brokenImage))
	e.h.Advance(30 * time.Second)
	rss := e.rss()
	if *rss[0].Spec.Replicas != 8 || *rss[1].Spec.Replicas != 5 {
		t.Fatalf("stuck rollout: %s", describe(rss))
	}
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Replicas = int32p(15) })
	e.h.Advance(30 * time.Second)
	rss = e.rss()
	if *rss[0].Spec.Replicas != 11 || *rss[1].Spec.Replicas != 7 {
		t.Fatalf("after scaling to 15: %s", describe(rss))
	}
	for _, rs := range rss {
		if rs.Annotations[DesiredReplicasAnnotation] != "15" || rs.Annotations[MaxReplicasAnnotation] != "18" {
			t.Fatalf("%s annotations %v", rs.Name, rs.Annotations)
		}
	}
	// And back down to 5: 18 -> 8, taken mostly from the larger (old) one,
	// never leaving fewer than 5-2 ready pods (old ReplicaSet statuses lag
	// behind the deletions they cause).
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Replicas = int32p(5) })
	end := e.h.Clock.Now().Add(30 * time.Second)
	e.runUntil(time.Minute, func() bool { return !e.h.Clock.Now().Before(end) }, func() {
		if n := e.availablePods(); n < 3 {
			t.Fatalf("%v: %d available pods < 3", e.h.Clock.Now(), n)
		}
	})
	rss = e.rss()
	if total := *rss[0].Spec.Replicas + *rss[1].Spec.Replicas; total != 8 {
		t.Fatalf("after scaling to 5: %s\n%s", describe(rss), strings.Join(e.messages(EventReasonScalingRS), "\n"))
	}
}

func TestPaused(t *testing.T) {
	e := setup(t, 0)
	e.h.Create(newDeployment("web", 2, "nginx:1"))
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	e.h.Advance(5 * time.Second)
	if c := GetCondition(e.deployment("web").Status, appsv1.DeploymentProgressing); c.Status != corev1.ConditionUnknown || c.Reason != ReasonPaused {
		t.Fatalf("paused condition = %+v", c)
	}
	e.update("web", func(d *appsv1.Deployment) { setImage("nginx:2")(d); d.Spec.Replicas = int32p(4) })
	e.h.Advance(30 * time.Second)
	rss := e.rss()
	if len(rss) != 1 || *rss[0].Spec.Replicas != 4 {
		t.Fatalf("paused: %s, want the old replica set scaled to 4 and no rollout", describe(rss))
	}
	if d := e.deployment("web"); d.Status.ObservedGeneration != d.Generation {
		t.Fatalf("paused deployment not observed: %d/%d", d.Status.ObservedGeneration, d.Generation)
	}
	e.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	if rss := e.rss(); len(rss) != 2 || *rss[1].Spec.Replicas != 4 {
		t.Fatalf("resumed: %s", describe(rss))
	}
}

func TestHashCollision(t *testing.T) {
	e := setup(t, 0)
	d := newDeployment("web", 1, "nginx:1")
	api.Default(d)
	hash := ComputeHash(&d.Spec.Template, nil)
	// Someone else's ReplicaSet squats the name the Deployment wants; its
	// labels do not match the Deployment's selector, so it is not adopted.
	squat := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: int32p(0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"x": "y"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "other"}}}}},
	}
	e.h.Create(squat)
	e.h.Create(d)
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	got := e.deployment("web")
	if got.Status.CollisionCount == nil || *got.Status.CollisionCount != 1 {
		t.Fatalf("collisionCount = %v", got.Status.CollisionCount)
	}
	want := "web-" + ComputeHash(&got.Spec.Template, got.Status.CollisionCount)
	if e.h.Get(api.ReplicaSets, "default", want) == nil {
		t.Fatalf("replica set %s not created", want)
	}
}

func TestAdoptsOrphanReplicaSet(t *testing.T) {
	e := setup(t, 0)
	d := newDeployment("web", 2, "nginx:1")
	api.Default(d)
	hash := ComputeHash(&d.Spec.Template, nil)
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash}
	e.h.Create(&appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "default", Labels: tmpl.Labels},
		Spec:       appsv1.ReplicaSetSpec{Replicas: int32p(2), Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
	})
	e.h.Advance(10 * time.Second)
	e.h.Create(d)
	e.runUntil(time.Minute, func() bool { return e.rolledOut("web") }, nil)
	rss := e.rss()
	if len(rss) != 1 {
		t.Fatalf("replica sets: %s", describe(rss))
	}
	if ref := metav1.GetControllerOf(rss[0]); ref == nil || ref.UID != e.deployment("web").UID {
		t.Fatalf("orphan not adopted: %+v", ref)
	}
}

func TestComputeHash(t *testing.T) {
	d := newDeployment("web", 1, "nginx:1")
	a := ComputeHash(&d.Spec.Template, nil)
	if a != ComputeHash(d.Spec.Template.DeepCopy(), nil) {
		t.Fatal("hash not deterministic")
	}
	one := int32(1)
	if a == ComputeHash(&d.Spec.Template, &one) {
		t.Fatal("collisionCount does not change the hash")
	}
	d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if a == ComputeHash(&d.Spec.Template, nil) {
		t.Fatal("template change does not change the hash")
	}
	for _, r := range a {
		if !strings.ContainsRune(safeAlphabet, r) {
			t.Fatalf("hash %q has %q outside the safe alphabet", a, r)
		}
	}
}

func TestResolveFenceposts(t *testing.T) {
	cases := []struct {
		surge, unavail intstr.IntOrString
		desired        int32
		s, u           int32
	}{
		{intstr.FromString("25%"), intstr.FromString("25%"), 10, 3, 2},
		{intstr.FromString("25%"), intstr.FromString("25%"), 1, 1, 0},
		{intstr.FromInt32(0), intstr.FromString("25%"), 3, 0, 1}, // both zero after rounding: unavailable 1
		{intstr.FromInt32(2), intstr.FromInt32(5), 4, 2, 5},
		{intstr.FromString("100%"), intstr.FromString("0%"), 7, 7, 0},
	}
	for _, tc := range cases {
		s, u, err := ResolveFenceposts(&tc.surge, &tc.unavail, tc.desired)
		if err != nil || s != tc.s || u != tc.u {
			t.Errorf("%s/%s of %d = %d,%d,%v; want %d,%d", tc.surge.String(), tc.unavail.String(), tc.desired, s, u, err, tc.s, tc.u)
		}
	}
}
