package kubelet

import (
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
)

// Lease retry after a failed renewal: 200ms doubling to 7s, as Kubernetes'
// lease controller backs off.
const (
	leaseRetryBase = 200 * time.Millisecond
	leaseRetryMax  = 7 * time.Second
)

// renewLease renews (or creates) the node's Lease in kube-node-lease and
// schedules the next renewal: LeaseRenewInterval after a success, a short
// growing back-off after a failure.
func (k *Kubelet) renewLease() {
	next := k.cfg.LeaseRenewInterval
	if err := k.tryRenewLease(); err != nil {
		k.fail(err)
		next = leaseRetryBase << min(k.leaseFails, 6)
		if next > leaseRetryMax {
			next = leaseRetryMax
		}
		k.leaseFails++
	} else {
		k.leaseFails = 0
	}
	k.leaseTimer = clock.Rearm(k.clock, k.leaseSpare, next, k.leaseTick)
	k.leaseSpare = nil
}

func (k *Kubelet) tryRenewLease() error {
	now := metav1.NewMicroTime(k.clock.Now().Truncate(time.Microsecond))
	if k.lease != nil {
		// A shallow copy is enough: only RenewTime (a new pointer) and, in
		// setLeaseOwner, the owner slice (replaced, never edited in place)
		// change, and the API copies what it stores. A deep copy here was 7%
		// of the simulator's allocations at 1,000 nodes.
		// The copy and its RenewTime live in the kubelet and serve every
		// renewal: the client copies what it is given (client.Interface),
		// and this is 360,000 Updates an hour at 1,000 nodes.
		r := &k.renewal
		*r = leaseRenewal{lease: *k.lease, renewTime: now}
		l := &r.lease
		l.Spec.RenewTime = &r.renewTime
		k.setLeaseOwner(l)
		out, err := k.client.Update(k.ctx, l, "")
		*r = leaseRenewal{} // keep nothing alive
		if err == nil {
			k.lease = out.(*coordinationv1.Lease)
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return err
		}
		k.lease = nil // someone else wrote it, or it is gone: start from the API's copy
	}
	cur, err := k.client.Get(k.ctx, api.Leases, corev1.NamespaceNodeLease, k.cfg.NodeName)
	if apierrors.IsNotFound(err) {
		// Own variables here: taking now's address would move it to the
		// heap on every call, renewals included.
		createTime := now
		secs := int32(k.cfg.LeaseDuration / time.Second)
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &k.cfg.NodeName, LeaseDurationSeconds: &secs,
				RenewTime: &createTime},
		}
		k.setLeaseOwner(l)
		out, err := k.client.Create(k.ctx, l, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		k.lease = out.(*coordinationv1.Lease)
		return nil
	}
	if err != nil {
		return err
	}
	l := cur.(*coordinationv1.Lease).DeepCopy()
	renewTime := now
	secs := int32(k.cfg.LeaseDuration / time.Second)
	l.Spec.HolderIdentity = &k.cfg.NodeName
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &renewTime
	k.setLeaseOwner(l)
	out, err := k.client.Update(k.ctx, l, "")
	if err != nil {
		return err
	}
	k.lease = out.(*coordinationv1.Lease)
	return nil
}

// leaseRenewal is a renewal's Lease with its RenewTime beside it.
type leaseRenewal struct {
	lease     coordinationv1.Lease
	renewTime metav1.MicroTime
}

// setLeaseOwner makes the Node own its Lease, so deleting the Node deletes it.
func (k *Kubelet) setLeaseOwner(l *coordinationv1.Lease) {
	if k.node == nil || k.node.UID == "" {
		return
	}
	for _, o := range l.OwnerReferences {
		if o.UID == k.node.UID {
			return
		}
	}
	l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: k.node.Name, UID: k.node.UID}}
}

// newer reports whether resourceVersion a is later than b. Both worlds use
// decimal store revisions; anything else counts as newer, so a fresh read wins.
func newer(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return a != b
	}
	return x > y
}
