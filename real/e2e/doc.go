// Package e2e holds the multi-host end-to-end test of real mode: one
// `drydock server` and three `drydock node` hosts, each node agent in a
// network namespace of its own joined to the others by a bridge the test
// creates, driven with the unmodified /usr/bin/kubectl. It needs root,
// containerd, iptables and the CNI plugins; under CI=true their absence is a
// failure, not a skip.
package e2e
