// Package e2e holds the multi-host end-to-end test of real mode: one
// `drydock server` and three `drydock node` hosts, each node agent in a
// network namespace of its own joined to the others by a bridge the test
// creates, driven with the unmodified /usr/bin/kubectl. It needs root,
// containerd, iptables and the CNI plugins; under CI=true their absence is a
// failure, not a skip.
//
// TestMultiHost builds cmd/drydock (or uses the binary named by
// DRYDOCK_E2E_BINARY), starts the server on the bridge's gateway address
// in the root network namespace and each agent with `nsenter --net` in its
// host namespace (not `ip netns exec`, whose private mount namespace would
// hide the pods' network namespace mounts from the host's containerd), each
// with its own data dir, node IP and containerd namespace. It then applies
// a Deployment of 3 busybox httpd replicas and a Service, checks pod-to-pod
// traffic across nodes and through the ClusterIP from inside a pod's
// network namespace (entered through its containerd task's pid), kubectl
// get -o wide and logs, kills one node host (agent and tasks) while a
// prober requests the Service, checks NotReady, replacement and that only
// requests to the dead endpoint failed, checks 401 without credentials and
// 403 for a node patching another node, deletes everything, and finally
// checks that nothing of the run is left on the machine. On failure it
// dumps the processes' logs and the cluster's state.
//
// The harness has self-tests (TestHarness*, TestParseTable, TestTopology)
// that run without drydock's binaries.
package e2e
