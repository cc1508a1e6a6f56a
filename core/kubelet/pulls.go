package kubelet

import (
	"slices"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
)

// pullReq is one image pull a pod waits for.
type pullReq struct {
	ps       *podState
	image    string
	sandbox  *cri.SandboxConfig
	queued   time.Time
	canceled bool
	done     func(img *cri.Image, err error, pulling, total time.Duration)
}

// pullQueue runs image pulls one at a time per node, in request order, as
// the kubelet does by default (serializeImagePulls); with ParallelImagePulls
// every pull starts at once.
type pullQueue struct {
	waiting []*pullReq
	busy    bool
}

func (q *pullQueue) add(k *Kubelet, r *pullReq) {
	r.ps.pull = r
	q.waiting = append(q.waiting, r)
	q.pump(k)
}

// cancel drops a pull that has not started; it reports false if the pull is
// already running (the caller then waits for it).
func (q *pullQueue) cancel(r *pullReq) bool {
	for i, w := range q.waiting {
		if w == r {
			r.canceled = true
			q.waiting = slices.Delete(q.waiting, i, i+1) // clears the vacated slot
			return true
		}
	}
	return false
}

func (q *pullQueue) pump(k *Kubelet) {
	for len(q.waiting) > 0 && (!q.busy || k.cfg.ParallelImagePulls) {
		r := q.waiting[0]
		// Clear the slot: the array behind the slice would otherwise keep
		// every finished request (its sandbox config, callback and pod)
		// alive for as long as the kubelet runs.
		q.waiting[0] = nil
		q.waiting = q.waiting[1:]
		if len(q.waiting) == 0 {
			q.waiting = nil
		}
		if r.canceled {
			continue
		}
		q.busy = true
		start := k.clock.Now()
		live := k.live()
		k.rt.PullImage(r.image, r.sandbox, func(img *cri.Image, err error) {
			if !live() {
				return
			}
			q.busy = false
			now := k.clock.Now()
			r.done(img, err, now.Sub(start), now.Sub(r.queued))
			q.pump(k)
		})
	}
}
