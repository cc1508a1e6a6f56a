// Package iptables is real mode's proxy.Backend: it programs the node's
// iptables (nat and filter tables, IPv4) the way kube-proxy's iptables mode
// does, in the network namespace of the calling thread.
//
// Chains (all prefixed DRYDOCK- so that they never collide with a
// kube-proxy on the same host):
//
//	nat    DRYDOCK-SERVICES     ClusterIP and external IP captures, then
//	                            (last rule) local destinations → NODEPORTS
//	nat    DRYDOCK-NODEPORTS    NodePort captures
//	nat    DRYDOCK-EXT-<hash>   external destinations: masquerade (policy
//	                            Cluster) or pod/node short-circuit (Local)
//	nat    DRYDOCK-SVC-<hash>   cluster policy: pick an endpoint
//	nat    DRYDOCK-SVL-<hash>   local policy: pick a local endpoint
//	nat    DRYDOCK-SEP-<hash>   hairpin masquerade mark, DNAT to the endpoint
//	nat    DRYDOCK-MARK-MASQ    set the masquerade mark
//	nat    DRYDOCK-POSTROUTING  MASQUERADE marked packets
//	filter DRYDOCK-SERVICES     REJECT (no endpoints) / DROP (no local
//	                            endpoints) for ClusterIPs
//	filter DRYDOCK-EXTERNAL-SERVICES  the same for NodePorts and external IPs
//	filter DRYDOCK-FORWARD      accept marked and established forwarded traffic
//
// The built-in chains jump to them: nat PREROUTING/OUTPUT → SERVICES,
// nat POSTROUTING → POSTROUTING, filter INPUT → EXTERNAL-SERVICES,
// FORWARD → FORWARD/SERVICES/EXTERNAL-SERVICES, OUTPUT → SERVICES.
// Endpoints are chosen with "-m statistic --mode random --probability
// 1/(n-i)" chains, ClientIP session affinity uses "-m recent". After UDP
// rules change, conntrack entries of UDP flows to a Service that are not
// DNATed to one of its current endpoints are deleted (netlink), as
// kube-proxy does.
//
// What it does not do (yet): IPv6 (ip6tables), loadBalancerSourceRanges,
// health check node ports, localhost NodePorts (route_localnet).
package iptables
