// Package proxy is the node's service proxy, computed the way kube-proxy's
// iptables mode computes it but kept apart from any packet machinery:
//
//   - Rules is a pure function from Services and Endpoints to a RuleSet, the
//     desired forwarding state: for each Service port its ClusterIP, NodePort
//     and external IPs, its ready backends, its traffic policies and session
//     affinity. A RuleSet does not depend on the node it is applied on; which
//     endpoints are "local" is decided by the backend, which knows its node.
//   - Diff compares two RuleSets so a backend can apply changes incrementally.
//   - Proxy is the component: it watches the Service and Endpoints caches and
//     hands the RuleSet to a Backend, coalescing bursts of changes no more often
//     than MinSyncPeriod and re-applying everything every SyncPeriod.
//   - Backend is the port. The simulator's in-memory rule table and real mode's
//     iptables both implement it and pass the behaviour suite in proxytest.
package proxy
