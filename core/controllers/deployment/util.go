package deployment

import (
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Annotations the controller keeps on Deployments and ReplicaSets, as in Kubernetes.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	rollbackToAnnotation      = "deprecated.deployment.rollback.to"
	lastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"

	// maxRevisionHistoryChars bounds the revision-history annotation.
	maxRevisionHistoryChars = 2000
)

// Condition reasons, as kubectl and users know them.
const (
	ReasonNewRSCreated        = "NewReplicaSetCreated"
	ReasonFoundNewRS          = "FoundNewReplicaSet"
	ReasonRSUpdated           = "ReplicaSetUpdated"
	ReasonNewRSAvailable      = "NewReplicaSetAvailable"
	ReasonTimedOut            = "ProgressDeadlineExceeded"
	ReasonPaused              = "DeploymentPaused"
	ReasonResumed             = "DeploymentResumed"
	ReasonFailedRSCreate      = "ReplicaSetCreateError"
	ReasonMinimumAvailable    = "MinimumReplicasAvailable"
	ReasonMinimumUnavailable  = "MinimumReplicasUnavailable"
	EventReasonScalingRS      = "ScalingReplicaSet"
	EventReasonSelectingAll   = "SelectingAll"
	messageMinimumAvailable   = "Deployment has minimum availability."
	messageMinimumUnavailable = "Deployment does not have minimum availability."
)

// annotationsNotCopied are the Deployment annotations that never pass to its
// ReplicaSets (and, for rollback, are kept from the Deployment).
var annotationsNotCopied = map[string]bool{
	lastAppliedAnnotation:     true,
	RevisionAnnotation:        true,
	RevisionHistoryAnnotation: true,
	DesiredReplicasAnnotation: true,
	MaxReplicasAnnotation:     true,
	rollbackToAnnotation:      true,
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

// Revision parses a ReplicaSet's revision annotation (0 when absent).
func Revision(obj metav1.Object) (int64, error) {
	v, ok := obj.GetAnnotations()[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		if v, err := Revision(rs); err == nil && v > m {
			m = v
		}
	}
	return m
}

// ResolveFenceposts turns maxSurge and maxUnavailable into pod counts for
// desired replicas: surge rounds up, unavailable rounds down, and if both
// come out zero unavailable becomes 1 so the rollout can move.
func ResolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (int32, int32, error) {
	zero := intstr.FromInt32(0)
	if maxSurge == nil {
		maxSurge = &zero
	}
	if maxUnavailable == nil {
		maxUnavailable = &zero
	}
	surge, err := intstr.GetScaledValueFromIntOrPercent(maxSurge, int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := intstr.GetScaledValueFromIntOrPercent(maxUnavailable, int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return int32(surge), int32(unavailable), nil
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.RollingUpdate != nil
}

// MaxSurge is how many pods above spec.replicas a rolling update may run.
func MaxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	s, _, _ := ResolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, replicasOf(d))
	return s
}

// MaxUnavailable is how many of spec.replicas a rolling update may lack.
func MaxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || replicasOf(d) == 0 {
		return 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	_, u, _ := ResolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, replicasOf(d))
	return min(u, replicasOf(d))
}

func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

func hasRevisionHistoryLimit(d *appsv1.Deployment) bool {
	return d.Spec.RevisionHistoryLimit != nil && *d.Spec.RevisionHistoryLimit != math.MaxInt32
}

// Sums over ReplicaSets (nil entries count zero).
func specReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rsReplicas(rs)
	}
	return n
}

func statusReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func readyReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

func availableReplicas(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

func activeRSs(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// withNew is old plus newRS (if any), in a fresh slice.
func withNew(old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	out := make([]*appsv1.ReplicaSet, 0, len(old)+1)
	out = append(out, old...)
	if newRS != nil {
		out = append(out, newRS)
	}
	return out
}

// Orderings of ReplicaSets.
func olderFirst(a, b *appsv1.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

func sortByCreation(rss []*appsv1.ReplicaSet) {
	sort.Slice(rss, func(i, j int) bool { return olderFirst(rss[i], rss[j]) })
}

// sortBySizeNewer: larger first, newer first among equals (scaling up).
func sortBySizeNewer(rss []*appsv1.ReplicaSet) {
	sort.Slice(rss, func(i, j int) bool {
		if a, b := rsReplicas(rss[i]), rsReplicas(rss[j]); a != b {
			return a > b
		}
		return olderFirst(rss[j], rss[i])
	})
}

// sortBySizeOlder: larger first, older first among equals (scaling down).
func sortBySizeOlder(rss []*appsv1.ReplicaSet) {
	sort.Slice(rss, func(i, j int) bool {
		if a, b := rsReplicas(rss[i]), rsReplicas(rss[j]); a != b {
			return a > b
		}
		return olderFirst(rss[i], rss[j])
	})
}

func sortByRevision(rss []*appsv1.ReplicaSet) {
	sort.Slice(rss, func(i, j int) bool {
		a, err1 := Revision(rss[i])
		b, err2 := Revision(rss[j])
		if err1 != nil || err2 != nil || a == b {
			return olderFirst(rss[i], rss[j])
		}
		return a < b
	})
}

// EqualIgnoreHash reports whether two pod templates are the same apart
// from the pod-template-hash label.
func EqualIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	x, y := *a, *b // shallow: only Labels is replaced, nothing is written
	x.Labels = withoutHash(a.Labels)
	y.Labels = withoutHash(b.Labels)
	return apiequality.Semantic.DeepEqual(x, y)
}

func withoutHash(l map[string]string) map[string]string {
	if _, ok := l[appsv1.DefaultDeploymentUniqueLabelKey]; !ok {
		return l
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		if k != appsv1.DefaultDeploymentUniqueLabelKey {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// findNewRS is the oldest ReplicaSet whose template equals the Deployment's.
func (c *Controller) findNewRS(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), rsList...)
	sortByCreation(sorted)
	for _, rs := range sorted {
		if c.templatesEqual(rs, d) {
			return rs
		}
	}
	return nil
}

// tmplKey identifies a ReplicaSet and a Deployment at given generations.
type tmplKey struct {
	rs, d       types.UID
	rsGen, dGen int64
}

// templatesEqual is EqualIgnoreHash of rs's and d's templates, remembered
// per (UID, generation) pair: the API server bumps metadata.generation on
// every spec change, so the answer cannot change while both stay the same,
// while every ReplicaSet status change syncs the Deployment and the
// reflective comparison was the largest part of that sync. Objects without
// a generation (never stored) are compared every time.
func (c *Controller) templatesEqual(rs *appsv1.ReplicaSet, d *appsv1.Deployment) bool {
	if rs.Generation == 0 || d.Generation == 0 || rs.UID == "" || d.UID == "" {
		return EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template)
	}
	k := tmplKey{rs: rs.UID, d: d.UID, rsGen: rs.Generation, dGen: d.Generation}
	if eq, ok := c.tmplEq[k]; ok {
		return eq
	}
	eq := EqualIgnoreHash(&rs.Spec.Template, &d.Spec.Template)
	if len(c.tmplEq) >= 4096 {
		clear(c.tmplEq) // a bound, not an LRU: refilling costs one comparison each
	}
	c.tmplEq[k] = eq
	return eq
}

func findOldRSs(newRS *appsv1.ReplicaSet, rsList []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.UID != newRS.UID {
			out = append(out, rs)
		}
	}
	return out
}

// Conditions.

func newCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) appsv1.DeploymentCondition {
	ts := metav1.NewTime(now.Truncate(time.Second))
	return appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: ts, LastTransitionTime: ts}
}

// GetCondition returns the condition of type t, or nil.
func GetCondition(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition replaces the condition of c's type unless status and reason
// are unchanged; lastTransitionTime survives when the status does.
func setCondition(st *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := GetCondition(*st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var keep []appsv1.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			keep = append(keep, c)
		}
	}
	st.Conditions = keep
}

// Replica annotations on ReplicaSets: the Deployment size and maximum
// (size + surge) when the ReplicaSet was last scaled, which proportional
// scaling uses to apportion a resize.

func desiredReplicasAnnotation(rs *appsv1.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, DesiredReplicasAnnotation)
}

func maxReplicasAnnotation(rs *appsv1.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, MaxReplicasAnnotation)
}

func int32Annotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[DesiredReplicasAnnotation] != strconv.Itoa(int(desired)) ||
		rs.Annotations[MaxReplicasAnnotation] != strconv.Itoa(int(maxReplicas))
}

// setReplicasAnnotations writes the annotations on rs (a private copy).
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	if !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false
	}
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[DesiredReplicasAnnotation] = strconv.Itoa(int(desired))
	rs.Annotations[MaxReplicasAnnotation] = strconv.Itoa(int(maxReplicas))
	return true
}
