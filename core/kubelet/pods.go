package kubelet

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/informer"
)

// opKind is the runtime work in flight for a pod. A pod has at most one
// sandbox or container-start operation at a time, as Kubernetes' pod worker
// runs one sync at a time; stops and probes run beside it.
type opKind uint8

const (
	opNone opKind = iota
	opSandbox
	opStart // image, create and start of one container
	opStopSandbox
)

// podState is what the kubelet knows about one pod (one UID).
type podState struct {
	uid types.UID
	key string
	pod *corev1.Pod // latest known object; shared, never modified

	removed  bool // gone from the API
	admitted bool
	rejected bool
	// frozen: the pod was already terminal when the kubelet first saw it,
	// so its status is history and is never rewritten.
	frozen bool
	// finished: the pod reached Succeeded or Failed; nothing restarts.
	finished bool
	// terminal: its containers were stopped for deletion; status is final.
	terminal   bool
	deleteSent bool
	counted    bool // requests counted in Kubelet.used
	req        resources

	// failReason/failMessage: why the kubelet failed the pod (rejected at
	// admission, active deadline exceeded).
	failReason, failMessage string
	startTime               *metav1.Time

	sb           sandboxState
	oldSandboxes []string
	sbStopped    bool
	inits        []*ctrState // init containers, run one by one to completion
	ctrs         []*ctrState // app containers (and sidecars, first)
	all          []*ctrState // inits then ctrs
	initDone     bool

	op         opKind
	holdStatus bool // a short runtime call is in flight: write status after it
	pull       *pullReq
	grace      int64 // termination grace period in use (seconds; 0: none yet)

	wake   clock.Timer
	wakeAt time.Time

	// What the kubelet last acted on, to tell which updates need a sync.
	seenDeletion bool
	seenGrace    *int64
	seenGen      int64
}

type sandboxState struct {
	id      string
	ip      string
	ready   bool
	attempt uint32
	// changed: an earlier sandbox died, the next one is a re-creation.
	changed bool
	retryAt time.Time // after a failed creation
}

// wakeAt makes sure the pod is synced at t.
func (k *Kubelet) wakeAt(ps *podState, t time.Time) {
	if ps.wake != nil && !ps.wakeAt.After(t) {
		return
	}
	if ps.wake != nil {
		ps.wake.Stop()
	}
	ps.wakeAt = t
	ps.wake = k.after(t.Sub(k.clock.Now()), func() {
		ps.wake = nil
		k.enqueue(ps)
	})
}

func (ps *podState) stopTimers() {
	if ps.wake != nil {
		ps.wake.Stop()
		ps.wake = nil
	}
	for _, c := range ps.all {
		c.stopProbes()
	}
}

func (ps *podState) deleting() bool { return ps.removed || ps.pod.DeletionTimestamp != nil }

// fullName is the pod as the kubelet names it in messages: name_namespace(uid).
func (ps *podState) fullName() string {
	return ps.pod.Name + "_" + ps.pod.Namespace + "(" + string(ps.uid) + ")"
}

// startWatches starts the Node and Pod reflectors. The pod reflector lists
// synchronously, so every pod bound here has a state when it returns and
// runtime leftovers of pods that are gone can be removed.
func (k *Kubelet) startWatches() {
	if k.cfg.WatchNode {
		k.watchNode()
	}
	k.podInf = informer.New(api.Pods)
	k.podInf.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { k.podChanged(o.(*corev1.Pod)) },
		OnUpdate: func(_, o api.Object) { k.podChanged(o.(*corev1.Pod)) },
		OnDelete: func(o api.Object) { k.podDeleted(o.(*corev1.Pod)) },
	})
	k.podRef = &informer.Reflector{Client: k.client, Informer: k.podInf, Clock: k.clock, OnError: k.fail,
		Options: metav1.ListOptions{FieldSelector: "spec.nodeName=" + k.cfg.NodeName}}
	k.podRef.Start(k.ctx)
	k.collectOrphans()
}

func (k *Kubelet) watchNode() {
	k.nodeInf = informer.New(api.Nodes)
	k.nodeInf.AddHandler(informer.Handler{
		OnAdd:    func(o api.Object) { k.setNode(o.(*corev1.Node)) },
		OnUpdate: func(_, o api.Object) { k.setNode(o.(*corev1.Node)) },
	})
	k.nodeRef = &informer.Reflector{Client: k.client, Informer: k.nodeInf, Clock: k.clock, OnError: k.fail,
		Options: metav1.ListOptions{FieldSelector: "metadata.name=" + k.cfg.NodeName}}
	k.nodeRef.Start(k.ctx)
}

func (k *Kubelet) podChanged(pod *corev1.Pod) {
	key := informer.Key(pod)
	ps := k.byKey[key]
	if ps != nil && ps.uid != pod.UID {
		// The name now belongs to a new pod: the old one is gone.
		k.markRemoved(ps)
		ps = nil
	}
	if ps == nil {
		k.addPod(pod)
		return
	}
	// A status someone else wrote (the node lifecycle controller marks
	// pods not ready while the node is unreachable) is put right with the
	// kubelet's own view, as Kubernetes' status manager reconciles a pod
	// status that differs from the one it holds. The kubelet's own writes
	// come back with the revision it already holds, so setPod refuses them
	// and they cost no comparison.
	old := ps.pod
	if k.setPod(ps, pod) && !apiequality.Semantic.DeepEqual(&old.Status, &pod.Status) {
		k.updateStatus(ps)
	}
}

// setPod records a newer copy of the pod; a deletion, a shorter grace
// period or a spec change needs a sync. It reports whether it took a newer
// copy that needed none (only status or metadata changed).
func (k *Kubelet) setPod(ps *podState, pod *corev1.Pod) bool {
	if !newer(pod.ResourceVersion, ps.pod.ResourceVersion) {
		return false
	}
	ps.pod = pod
	if (pod.DeletionTimestamp != nil) != ps.seenDeletion || !int64PtrEqual(pod.DeletionGracePeriodSeconds, ps.seenGrace) ||
		pod.Generation != ps.seenGen {
		ps.seenDeletion, ps.seenGrace, ps.seenGen = pod.DeletionTimestamp != nil, pod.DeletionGracePeriodSeconds, pod.Generation
		k.specChanged(ps)
		k.enqueue(ps)
		return false
	}
	return true
}

func int64PtrEqual(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (k *Kubelet) podDeleted(pod *corev1.Pod) {
	if ps := k.byKey[informer.Key(pod)]; ps != nil && ps.uid == pod.UID {
		k.setPod(ps, pod)
		k.markRemoved(ps)
	}
}

func (k *Kubelet) markRemoved(ps *podState) {
	ps.removed = true
	if k.byKey[ps.key] == ps {
		delete(k.byKey, ps.key)
	}
	k.enqueue(ps)
}

// addPod starts tracking a pod: it takes over what the API status and the
// runtime remember of earlier lives, then queues the pod for admission.
func (k *Kubelet) addPod(pod *corev1.Pod) {
	ps := &podState{uid: pod.UID, key: informer.Key(pod), pod: pod,
		seenDeletion: pod.DeletionTimestamp != nil, seenGrace: pod.DeletionGracePeriodSeconds, seenGen: pod.Generation}
	for i := range pod.Spec.InitContainers {
		s := &pod.Spec.InitContainers[i]
		if s.RestartPolicy != nil && *s.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar runs beside the app containers; it is started first.
			ps.ctrs = append(ps.ctrs, &ctrState{ps: ps, spec: s, initSpec: true})
			continue
		}
		ps.inits = append(ps.inits, &ctrState{ps: ps, spec: s, init: true, initSpec: true})
	}
	for i := range pod.Spec.Containers {
		ps.ctrs = append(ps.ctrs, &ctrState{ps: ps, spec: &pod.Spec.Containers[i]})
	}
	ps.all = append(append([]*ctrState(nil), ps.inits...), ps.ctrs...)
	k.pods[ps.uid] = ps
	k.byKey[ps.key] = ps
	ps.startTime = pod.Status.StartTime
	// A container that ran before (per the API) counts its restarts on even
	// if the runtime forgot it, as the kubelet does from its log directory.
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if c := ps.ctr(cs.Name); c != nil && cs.ContainerID != "" {
			c.hadInstance = true
			c.restartCount = cs.RestartCount
			c.prev = cs.LastTerminationState.Terminated
		}
	}
	k.adoptRuntime(ps)
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		ps.frozen, ps.finished = true, true
		k.enqueue(ps)
	case pod.DeletionTimestamp != nil:
		k.enqueue(ps)
	default:
		k.toAdmit = append(k.toAdmit, ps)
		if !k.admitQueued {
			k.admitQueued = true
			k.after(0, k.admitPending)
		}
	}
}

func (ps *podState) ctr(name string) *ctrState {
	for _, c := range ps.all {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

// admitPending admits the pods seen since the last round, oldest first, as
// the kubelet admits a batch of new pods in creation order.
func (k *Kubelet) admitPending() {
	list := k.toAdmit
	k.toAdmit, k.admitQueued = nil, false
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].pod.CreationTimestamp, list[j].pod.CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return list[i].key < list[j].key
	})
	for _, ps := range list {
		if k.pods[ps.uid] != ps || ps.deleting() {
			if k.pods[ps.uid] == ps {
				k.enqueue(ps)
			}
			continue
		}
		k.admit(ps)
	}
}

// specChanged picks up the new pod spec's container images: a running
// container whose image changed is restarted, as Kubernetes does for a
// changed container definition.
func (k *Kubelet) specChanged(ps *podState) {
	pod := ps.pod
	for _, c := range ps.all {
		spec := findSpec(pod, c.spec.Name, c.initSpec)
		if spec == nil {
			continue
		}
		changed := spec.Image != c.spec.Image
		c.spec = spec
		if changed && c.phase == cRunning && !ps.deleting() && !ps.finished {
			k.killContainer(ps, c, "Container "+spec.Name+" definition changed, will be restarted", nil, true)
		}
	}
}

func findSpec(pod *corev1.Pod, name string, init bool) *corev1.Container {
	list := pod.Spec.Containers
	if init {
		list = pod.Spec.InitContainers
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// runtimePod is what the runtime still holds of one pod at kubelet start.
type runtimePod struct {
	sandboxes  []*cri.SandboxStatus              // newest first
	containers map[string][]*cri.ContainerStatus // by container name, newest first
	claimed    bool
}

// takeStock lists the runtime's sandboxes and containers, then starts the
// watches. Failures retry after a second.
func (k *Kubelet) takeStock() {
	live := k.live()
	retry := func(err error) {
		k.fail(err)
		k.after(time.Second, k.takeStock)
	}
	k.rt.ListPodSandboxes(func(sbs []*cri.SandboxStatus, err error) {
		if !live() {
			return
		}
		if err != nil {
			retry(err)
			return
		}
		k.rt.ListContainers(func(cs []*cri.ContainerStatus, err error) {
			if !live() {
				return
			}
			if err != nil {
				retry(err)
				return
			}
			k.adopt = groupRuntime(sbs, cs)
			k.startWatches()
		})
	})
}

func groupRuntime(sbs []*cri.SandboxStatus, cs []*cri.ContainerStatus) map[string]*runtimePod {
	out := map[string]*runtimePod{}
	get := func(uid string) *runtimePod {
		rp := out[uid]
		if rp == nil {
			rp = &runtimePod{containers: map[string][]*cri.ContainerStatus{}}
			out[uid] = rp
		}
		return rp
	}
	for _, sb := range sbs {
		if uid := sb.UID; uid != "" {
			rp := get(uid)
			rp.sandboxes = append(rp.sandboxes, sb)
		}
	}
	for _, c := range cs {
		uid := c.Labels[cri.LabelPodUID]
		if uid == "" {
			continue
		}
		rp := get(uid)
		rp.containers[c.Name] = append(rp.containers[c.Name], c)
	}
	for _, rp := range out {
		sort.SliceStable(rp.sandboxes, func(i, j int) bool {
			a, b := rp.sandboxes[i], rp.sandboxes[j]
			if a.Attempt != b.Attempt {
				return a.Attempt > b.Attempt
			}
			return a.CreatedAt.After(b.CreatedAt)
		})
		for _, list := range rp.containers {
			sort.SliceStable(list, func(i, j int) bool {
				if list[i].Attempt != list[j].Attempt {
					return list[i].Attempt > list[j].Attempt
				}
				return list[i].CreatedAt.After(list[j].CreatedAt)
			})
		}
	}
	return out
}

// adoptRuntime takes over the sandbox and containers a previous kubelet life
// left for this pod: a ready sandbox and running containers are kept,
// exited containers count as the last run (their exit shows as lastState and
// the next start increments restartCount).
func (k *Kubelet) adoptRuntime(ps *podState) {
	rp := k.adopt[string(ps.uid)]
	if rp == nil {
		return
	}
	rp.claimed = true
	for i, sb := range rp.sandboxes {
		if i == 0 && sb.State == cri.SandboxReady {
			ps.sb = sandboxState{id: sb.ID, ip: sb.IP, ready: true, attempt: sb.Attempt}
			continue
		}
		if i == 0 {
			ps.sb = sandboxState{attempt: sb.Attempt + 1, changed: true}
		}
		ps.oldSandboxes = append(ps.oldSandboxes, sb.ID)
	}
	initsOK := ps.sb.ready
	for _, c := range ps.all {
		list := rp.containers[c.spec.Name]
		if len(list) == 0 {
			continue
		}
		cur := list[0]
		if len(list) > 1 && list[1].State == cri.ContainerExited {
			c.prev = terminatedOf(k.rtName, list[1])
		}
		c.hadInstance = true
		c.restartCount = int32(cur.Attempt)
		c.id = cur.ID
		c.imageRef = cur.ImageRef
		k.byContainer[cur.ID] = c
		switch {
		case cur.State == cri.ContainerRunning && ps.sb.ready && cur.SandboxID == ps.sb.id:
			c.phase = cRunning
			c.startedAt = cur.StartedAt
		case cur.State == cri.ContainerExited:
			c.phase = cExited
			c.exitCode, c.reason, c.startedAt, c.finishedAt = cur.ExitCode, cur.Reason, cur.StartedAt, cur.FinishedAt
		default:
			// Created but never started, or running in a dead sandbox: it
			// goes with its sandbox and counts as lost.
			c.phase = cExited
			c.exitCode, c.reason, c.startedAt, c.finishedAt = 255, cri.ReasonUnknown, cur.StartedAt, k.clock.Now()
		}
	}
	for _, c := range ps.inits {
		if c.phase != cExited || c.exitCode != 0 {
			initsOK = false
		}
	}
	ps.initDone = initsOK
	if !initsOK {
		ps.rerunInits()
	}
}

// rerunInits makes init containers that completed run again, as Kubernetes
// does when a pod's sandbox is re-created.
func (ps *podState) rerunInits() {
	ps.initDone = false
	for _, c := range ps.inits {
		if c.phase == cExited && c.exitCode == 0 {
			c.rerun = true
		}
	}
}

// collectOrphans removes what the runtime holds for pods no longer bound here.
func (k *Kubelet) collectOrphans() {
	var uids []string
	for uid, rp := range k.adopt {
		if !rp.claimed {
			uids = append(uids, uid)
		}
	}
	sort.Strings(uids)
	for _, uid := range uids {
		for _, sb := range k.adopt[uid].sandboxes {
			k.rt.RemovePodSandbox(sb.ID, k.fail)
		}
	}
	k.adopt = nil
}
