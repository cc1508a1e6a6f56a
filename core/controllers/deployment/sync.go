package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/controller"
	"github.com/drydock-sim/drydock/core/controllers/replicaset"
)

// syncer is one sync of one Deployment. d is a private copy that the sync
// updates as it writes (status, revision annotation, resourceVersion), the
// way Kubernetes threads its deep copy through a sync.
type syncer struct {
	c            *Controller
	ctx          context.Context
	d            *appsv1.Deployment
	requeueAfter time.Duration
	requeue      bool

	found  bool // getAllRSsAndSyncRevision has run
	newRS  *appsv1.ReplicaSet
	oldRSs []*appsv1.ReplicaSet
}

// privateCopy is the Deployment a sync works on: it writes only status,
// annotations and resourceVersion, so those are copied and the rest (the
// template above all) is shared with the cache, read-only. Every
// ReplicaSet status change syncs its Deployment. The copy is the
// controller's scratch Deployment (the client keeps nothing it is given,
// and nothing keeps the syncer's Deployment past the sync); done clears it.
func (c *Controller) privateCopy(d *appsv1.Deployment) (cp *appsv1.Deployment, done func()) {
	cp = &c.scratchD
	*cp = *d
	cp.Annotations = maps.Clone(d.Annotations)
	d.Status.DeepCopyInto(&cp.Status)
	return cp, c.clearScratchD
}

func (c *Controller) clearScratchD() { c.scratchD = appsv1.Deployment{} }

// rsCopy is a ReplicaSet to write back with new annotations or scale: only
// the annotations map is written in place, so only it is copied (the API
// server copies what it is given). The copy is the controller's scratch
// ReplicaSet, for a copy that is only read or sent and not kept past the
// caller (which runs done when finished with it): every sync of a
// Deployment with a current ReplicaSet makes one.
func (s *syncer) rsCopy(rs *appsv1.ReplicaSet) (cp *appsv1.ReplicaSet, done func()) {
	cp = &s.c.scratchRS
	*cp = *rs
	cp.Annotations = maps.Clone(rs.Annotations)
	return cp, s.c.clearScratchRS
}

func (c *Controller) clearScratchRS() { c.scratchRS = appsv1.ReplicaSet{} }

// Reconcile syncs one Deployment.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	o, ok := c.cfg.Deployments.GetKey(key)
	if !ok {
		return controller.Result{}, nil // deleted; the garbage collector handles its ReplicaSets
	}
	d, done := c.privateCopy(o.(*appsv1.Deployment))
	defer done()
	s := &syncer{c: c, ctx: ctx, d: d}
	if err := s.syncDeployment(); err != nil {
		return controller.Result{}, err
	}
	return controller.Result{RequeueAfter: s.requeueAfter, Requeue: s.requeue}, nil
}

func (s *syncer) now() time.Time { return s.c.cfg.Clock.Now() }

func (s *syncer) event(eventType, reason, msg string) {
	s.c.cfg.Recorder.Event(s.d, eventType, reason, msg)
}

func (s *syncer) syncDeployment() error {
	d := s.d
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		s.event(corev1.EventTypeWarning, EventReasonSelectingAll, "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return s.updateStatus()
		}
		return nil
	}
	rsList, err := s.claimReplicaSets()
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		newRS, oldRSs, err := s.getAllRSsAndSyncRevision(rsList, false)
		if err != nil {
			return err
		}
		return s.syncDeploymentStatus(withNew(oldRSs, newRS), newRS)
	}
	// Pausing and resuming reset the progress clock, so a resumed
	// Deployment does not time out for the time it spent paused.
	if err := s.checkPausedConditions(); err != nil {
		return err
	}
	if d.Spec.Paused {
		return s.sync(rsList)
	}
	scaling, err := s.isScalingEvent(rsList)
	if err != nil {
		return err
	}
	if scaling {
		return s.sync(rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return s.rolloutRecreate(rsList)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return s.rolloutRolling(rsList)
	}
	return fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
}

// claimReplicaSets returns the ReplicaSets the Deployment controls, after
// adopting matching orphans and releasing ones it no longer selects.
func (s *syncer) claimReplicaSets() ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(s.d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %w", s.d.Namespace, s.d.Name, err)
	}
	inf := s.c.cfg.ReplicaSets
	cands := append(inf.ByIndex(IndexRSByController, string(s.d.UID)), inf.ByIndex(IndexOrphanRS, s.d.Namespace)...)
	m := &replicaset.RefManager{Client: s.c.cfg.Client, Owner: s.d, OwnerResource: api.Deployments,
		Resource: api.ReplicaSets, Selector: sel}
	claimed, err := m.Claim(s.ctx, cands)
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, len(claimed))
	for i, o := range claimed {
		out[i] = o.(*appsv1.ReplicaSet)
	}
	return out, nil
}

// updateStatus writes s.d's status and keeps its resourceVersion current.
func (s *syncer) updateStatus() error {
	out, err := s.c.cfg.Client.Update(s.ctx, s.d, "status")
	if err != nil {
		return err
	}
	s.d.ResourceVersion = out.GetResourceVersion()
	return nil
}

// persist writes the revision annotation (a metadata patch) and the status,
// as needed.
func (s *syncer) persist(annotation, status bool) error {
	if annotation {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{RevisionAnnotation: s.d.Annotations[RevisionAnnotation]}}})
		if err != nil {
			return err
		}
		out, err := s.c.cfg.Client.Patch(s.ctx, api.Deployments, s.d.Namespace, s.d.Name, types.MergePatchType, patch, "")
		if err != nil {
			return err
		}
		s.d.ResourceVersion = out.GetResourceVersion()
	}
	if status {
		return s.updateStatus()
	}
	return nil
}

// setRevision sets the Deployment's revision annotation; it reports a change.
func (s *syncer) setRevision(rev string) bool {
	if s.d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if s.d.Annotations == nil {
		s.d.Annotations = map[string]string{}
	}
	s.d.Annotations[RevisionAnnotation] = rev
	return true
}

// getAllRSsAndSyncRevision finds the new ReplicaSet (creating it if asked
// and missing) and the old ones, and brings the revision annotations of the
// new ReplicaSet and the Deployment up to date.
//
// Within one sync the answer is remembered: asking again (Kubernetes does,
// after isScalingEvent) would compare the stale cached ReplicaSet with what
// the first call just wrote and fail on a resourceVersion conflict.
func (s *syncer) getAllRSsAndSyncRevision(rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	if s.found && (s.newRS != nil || !create) {
		return s.newRS, s.oldRSs, nil
	}
	existing := s.c.findNewRS(s.d, rsList)
	old := findOldRSs(existing, rsList)
	newRS, err := s.getNewReplicaSet(existing, old, create)
	if err != nil {
		return nil, nil, err
	}
	s.found, s.newRS, s.oldRSs = true, newRS, old
	return newRS, old, nil
}

func (s *syncer) getNewReplicaSet(existing *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := s.d
	newRevision := strconv.FormatInt(maxRevision(oldRSs)+1, 10)
	if existing != nil {
		cp, done := s.rsCopy(existing)
		defer done()
		annotationsChanged := setNewRSAnnotations(d, cp, newRevision, true)
		if annotationsChanged || cp.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			cp.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := s.c.cfg.Client.Update(s.ctx, cp, "")
			if err != nil {
				return nil, err
			}
			return out.(*appsv1.ReplicaSet), nil
		}
		// The revision on the ReplicaSet is authoritative; the Deployment copies it.
		annotation := s.setRevision(cp.Annotations[RevisionAnnotation])
		status := false
		if hasProgressDeadline(d) && GetCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", cp.Name), s.now()))
			status = true
		}
		if err := s.persist(annotation, status); err != nil {
			return nil, err
		}
		return existing, nil
	}
	if !create {
		return nil, nil
	}

	hash := ComputeHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	zero := int32(0)
	newRS := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			// A deterministic name makes creation idempotent across syncs.
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{replicaset.NewControllerRef(d, api.Deployments)},
			Labels:          tmpl.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: tmpl},
	}
	n, err := newRSNewReplicas(d, withNew(oldRSs, newRS), newRS)
	if err != nil {
		return nil, err
	}
	newRS.Spec.Replicas = &n
	setNewRSAnnotations(d, newRS, newRevision, false)

	alreadyExists := false
	var created *appsv1.ReplicaSet
	out, err := s.c.cfg.Client.Create(s.ctx, newRS, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Either our own from a sync the cache has not caught up with, or
		// a hash collision with someone else's ReplicaSet.
		alreadyExists = true
		o, ok := s.c.cfg.ReplicaSets.Get(newRS.Namespace, newRS.Name)
		if !ok {
			// Created by an earlier sync but not yet seen through the watch:
			// read it from the API rather than fail until the cache catches up.
			var gerr error
			if o, gerr = s.c.cfg.Client.Get(s.ctx, api.ReplicaSets, newRS.Namespace, newRS.Name); gerr != nil {
				return nil, err
			}
		}
		rs := o.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOfNoCopy(rs); ref != nil && ref.UID == d.UID && EqualIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			created = rs
			break
		}
		// A collision: bump collisionCount so the next sync hashes differently.
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = new(int32)
		}
		*d.Status.CollisionCount++
		_ = s.updateStatus()
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", newRS.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now()))
			_ = s.updateStatus() // the create error is the one to report
		}
		s.event(corev1.EventTypeWarning, ReasonFailedRSCreate, msg)
		return nil, err
	default:
		created = out.(*appsv1.ReplicaSet)
	}
	if !alreadyExists && n > 0 {
		s.event(corev1.EventTypeNormal, EventReasonScalingRS, fmt.Sprintf("Scaled up replica set %s to %d", created.Name, n))
	}
	annotation := s.setRevision(newRevision)
	status := false
	if !alreadyExists && hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), s.now()))
		status = true
	}
	return created, s.persist(annotation, status)
}

func withLabel(l map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for a, b := range l {
		out[a] = b
	}
	out[k] = v
	return out
}

// setNewRSAnnotations copies the Deployment's annotations to its new
// ReplicaSet, raises the ReplicaSet's revision to newRevision (remembering
// the revision it had, when a rollback reuses it) and, for a ReplicaSet about
// to be created, sets the replica annotations. rs is a private copy.
func setNewRSAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if annotationsNotCopied[k] {
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	oldRevision, had := rs.Annotations[RevisionAnnotation]
	oldRev, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		oldRev = 0
	}
	newRev, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldRev < newRev {
		rs.Annotations[RevisionAnnotation] = newRevision
		changed = true
		if had {
			appendRevisionHistory(rs, oldRevision)
		}
	}
	if !exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d)+MaxSurge(d)) {
		changed = true
	}
	return changed
}

// appendRevisionHistory records a revision a reused ReplicaSet used to
// have, within maxRevisionHistoryChars (oldest entries dropped first).
func appendRevisionHistory(rs *appsv1.ReplicaSet, oldRevision string) {
	hist := rs.Annotations[RevisionHistoryAnnotation]
	if hist == "" {
		rs.Annotations[RevisionHistoryAnnotation] = oldRevision
		return
	}
	parts := strings.Split(hist, ",")
	total := len(hist) + len(oldRevision) + 1
	start := 0
	for total > maxRevisionHistoryChars && start < len(parts) {
		total -= len(parts[start]) + 1
		start++
	}
	if total <= maxRevisionHistoryChars {
		rs.Annotations[RevisionHistoryAnnotation] = strings.Join(append(parts[start:], oldRevision), ",")
	}
}

// newRSNewReplicas is the size the new ReplicaSet may grow to now.
func newRSNewReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (int32, error) {
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		maxTotal := replicasOf(d) + MaxSurge(d)
		current := specReplicas(all)
		if current >= maxTotal {
			return rsReplicas(newRS), nil
		}
		up := min(maxTotal-current, replicasOf(d)-rsReplicas(newRS))
		return rsReplicas(newRS) + up, nil
	case appsv1.RecreateDeploymentStrategyType:
		return replicasOf(d), nil
	}
	return 0, fmt.Errorf("deployment type %v isn't supported", d.Spec.Strategy.Type)
}

// scaleRSAndRecordEvent scales rs to n if it is not already that size.
func (s *syncer) scaleRSAndRecordEvent(rs *appsv1.ReplicaSet, n int32) (bool, *appsv1.ReplicaSet, error) {
	if rsReplicas(rs) == n {
		return false, rs, nil
	}
	return s.scaleRS(rs, n)
}

// scaleRS writes rs's size and replica annotations and records the
// ScalingReplicaSet event for a size change.
func (s *syncer) scaleRS(rs *appsv1.ReplicaSet, n int32) (bool, *appsv1.ReplicaSet, error) {
	d := s.d
	oldScale := rsReplicas(rs)
	sizeChange := oldScale != n
	maxR := replicasOf(d) + MaxSurge(d)
	if !sizeChange && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), maxR) {
		return false, rs, nil
	}
	cp, done := s.rsCopy(rs)
	cp.Spec.Replicas = &n
	setReplicasAnnotations(cp, replicasOf(d), maxR)
	out, err := s.c.cfg.Client.Update(s.ctx, cp, "")
	done()
	if err != nil {
		return false, rs, err
	}
	updated := out.(*appsv1.ReplicaSet)
	if !sizeChange {
		return false, updated, nil
	}
	verb := "down"
	if oldScale < n {
		verb = "up"
	}
	s.event(corev1.EventTypeNormal, EventReasonScalingRS, fmt.Sprintf("Scaled %s replica set %s to %d from %d", verb, rs.Name, n, oldScale))
	return true, updated, nil
}

// isScalingEvent reports whether spec.replicas changed since the active
// ReplicaSets were last sized (their desired-replicas annotation).
func (s *syncer) isScalingEvent(rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, oldRSs, err := s.getAllRSsAndSyncRevision(rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range activeRSs(withNew(oldRSs, newRS)) {
		if desired, ok := desiredReplicasAnnotation(rs); ok && desired != replicasOf(s.d) {
			return true, nil
		}
	}
	return false, nil
}

// sync handles scaling and paused Deployments: resize without rolling out.
func (s *syncer) sync(rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := s.getAllRSsAndSyncRevision(rsList, false)
	if err != nil {
		return err
	}
	if err := s.scale(newRS, oldRSs); err != nil {
		return err
	}
	if s.d.Spec.Paused {
		if err := s.cleanup(oldRSs); err != nil {
			return err
		}
	}
	return s.syncDeploymentStatus(withNew(oldRSs, newRS), newRS)
}

// scale brings the ReplicaSets to the Deployment's size: all of it to the
// only active (or newest) ReplicaSet; old ones to zero when the new one is
// saturated; otherwise, for rolling updates, the difference spread in
// proportion to size, leftovers to the largest.
func (s *syncer) scale(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	d := s.d
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if rsReplicas(rs) == replicasOf(d) {
			return nil
		}
		_, _, err := s.scaleRSAndRecordEvent(rs, replicasOf(d))
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range activeRSs(oldRSs) {
			if _, _, err := s.scaleRSAndRecordEvent(old, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := activeRSs(withNew(oldRSs, newRS))
	allowed := int32(0)
	if replicasOf(d) > 0 {
		allowed = replicasOf(d) + MaxSurge(d)
	}
	toAdd := allowed - specReplicas(all)
	switch {
	case toAdd > 0:
		sortBySizeNewer(all)
	case toAdd < 0:
		sortBySizeOlder(all)
	}
	added := int32(0)
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[0] = max(sizes[0]+toAdd-added, 0)
		}
		if _, _, err := s.scaleRS(rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// proportion is rs's share of toAdd (added already handed out), never
// beyond what is left in the direction of the change.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	f := fraction(rs, d)
	left := toAdd - added
	if toAdd > 0 {
		return min(f, left)
	}
	return max(f, left)
}

// fraction is how much rs should change so that it keeps its share of the
// Deployment's maximum size: rs * newMax / oldMax, rounded, minus rs.
func fraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if replicasOf(d) == 0 {
		return -rsReplicas(rs)
	}
	newMax := int64(replicasOf(d) + MaxSurge(d))
	oldMax, ok := maxReplicasAnnotation(rs)
	if !ok || oldMax == 0 {
		// Someone edited the ReplicaSet: fall back to the current size.
		oldMax = d.Status.Replicas
	}
	if oldMax <= 0 {
		return 0
	}
	num, den := int64(rsReplicas(rs))*newMax, int64(oldMax)
	return int32((2*num+den)/(2*den)) - rsReplicas(rs) // round half up, like math.Round for positives
}

// findActiveOrLatest is the only ReplicaSet with replicas, or the newest
// when none has any, or nil when several have.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	old := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(old)
	for i, j := 0, len(old)-1; i < j; i, j = i+1, j-1 {
		old[i], old[j] = old[j], old[i]
	}
	active := activeRSs(withNew(old, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return old[0]
	case 1:
		return active[0]
	}
	return nil
}

func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := desiredReplicasAnnotation(rs)
	return ok && desired == replicasOf(d) && rsReplicas(rs) == replicasOf(d) && rs.Status.AvailableReplicas == replicasOf(d)
}

// cleanup deletes the oldest fully scaled-down ReplicaSets beyond
// revisionHistoryLimit.
func (s *syncer) cleanup(oldRSs []*appsv1.ReplicaSet) error {
	d := s.d
	if !hasRevisionHistoryLimit(d) {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := int32(len(alive)) - *d.Spec.RevisionHistoryLimit
	if diff <= 0 {
		return nil
	}
	sortByRevision(alive)
	for _, rs := range alive[:diff] {
		// Never a ReplicaSet that still has (or may still get) pods.
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		_, _, err := s.c.cfg.Client.Delete(s.ctx, api.ReplicaSets, rs.Namespace, rs.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// calculateStatus derives the Deployment's status from its ReplicaSets.
func (s *syncer) calculateStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) appsv1.DeploymentStatus {
	d := s.d
	avail := availableReplicas(all)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            statusReplicas(all),
		UpdatedReplicas:     statusReplicas([]*appsv1.ReplicaSet{newRS}),
		ReadyReplicas:       readyReplicas(all),
		AvailableReplicas:   avail,
		UnavailableReplicas: max(specReplicas(all)-avail, 0),
		CollisionCount:      d.Status.CollisionCount,
	}
	st.Conditions = append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...)
	if avail >= replicasOf(d)-MaxUnavailable(d) {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, messageMinimumAvailable, s.now()))
	} else {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumUnavailable, messageMinimumUnavailable, s.now()))
	}
	return st
}

// syncDeploymentStatus writes the calculated status if it changed.
func (s *syncer) syncDeploymentStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := s.calculateStatus(all, newRS)
	if apiequality.Semantic.DeepEqual(s.d.Status, st) {
		return nil
	}
	s.d.Status = st
	return s.updateStatus()
}

// checkPausedConditions marks pausing and resuming in the Progressing
// condition (status Unknown), unless a timeout is already reported.
func (s *syncer) checkPausedConditions() error {
	d := s.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := GetCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonTimedOut {
		return nil
	}
	pausedCond := cond != nil && cond.Reason == ReasonPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", s.now()))
	case !d.Spec.Paused && pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", s.now()))
	default:
		return nil
	}
	return s.updateStatus()
}
