// Package kubelet is the node agent: it registers its Node, keeps a Lease
// renewed, reports node status, and runs the pods bound to the node through
// the container runtime port (core/cri), reporting their status the way
// Kubernetes' kubelet does: phases, conditions, container states, init
// containers, CrashLoopBackOff, probes, graceful termination, admission and
// recovery after a restart.
//
// Everything runs on the driver loop: API watch events, runtime callbacks and
// clock timers each enqueue a pod, and one queue drains into a per-pod sync
// that is level-based (it compares what the pod needs with what the kubelet
// knows of the runtime and issues at most one start operation per pod at a
// time). Per pod the kubelet keeps a small state record and at most a few
// timers (back-off wake-up, probes), so one process can run thousands of
// kubelets.
//
// Deliberate differences from Kubernetes' kubelet:
//   - Status is not written while a short runtime call (sandbox, create,
//     start) is in flight, so a pod whose image is cached goes from no
//     kubelet status straight to Running; during an image pull it shows
//     ContainerCreating as in Kubernetes.
//   - Probes run at container start plus initialDelaySeconds, then every
//     periodSeconds (Kubernetes phases its probe ticker from the worker's
//     creation, with jitter after a kubelet restart).
//   - After a failed image pull or create, the pod is retried after the
//     pod worker back-off (10s); the image pull back-off itself follows
//     Kubernetes (10s doubling to 5m).
//   - The previous instance of a restarted container is removed at once
//     (Kubernetes keeps one dead instance for logs until garbage
//     collection); in real mode its log file is kept, so `kubectl logs
//     --previous` still works (real/containerd, real/kubeletserver).
//   - Not modelled: volumes, secrets and configmaps, env valueFrom,
//     lifecycle hooks (postStart, preStop), eviction on resource pressure,
//     static pods, in-place resize and exec (logs are the runtime's and the
//     node server's business, not this package's); sidecars (init containers
//     with restartPolicy Always) are started before the app containers
//     without waiting for their startup probes.
//   - Node readiness follows the runtime's status only for runtimes that
//     report one (cri.StatusReporter, real mode): checked every 5 s, and a
//     change of readiness is written at once (Kubernetes waits for the next
//     status update). While the network is not ready only sandbox creation
//     waits (Kubernetes holds every sync of a pod that is not host-network),
//     and a runtime that is not ready does not pause pod syncs as
//     Kubernetes' sync loop does. The simulated runtime reports nothing and
//     its nodes are Ready from registration.
//   - Stop models the kubelet process dying; a node crash is Stop plus the
//     runtime losing its processes (sim/simruntime's Crash).
package kubelet
