package scenario

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// header is a minimal valid scenario head: 6 lines, so bodies start on line 7.
const header = `name: t
duration: 10m
nodePools:
  - name: a
    count: 3
    capacity: {cpu: "4", memory: 8Gi}
`

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
`

// testFS holds manifest files the error cases refer to.
var testFS = fstest.MapFS{
	"good.yaml": {Data: []byte(goodDeployment)},
	"typo.yaml": {Data: []byte(`# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replica: 3
  template:
    spec:
      containers:
        - name: web
          imagee: nginx
`)},
	"multi.yaml": {Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: x
      resources: {requests: {cpu: lots}}
`)},
	"empty.yaml": {Data: []byte("# nothing here\n---\n")},
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		// The file as a whole.
		{"syntax error", "name: [\n", []string{
			"t.yaml:1: invalid YAML: did not find expected node content"}},
		{"empty file", "", []string{"t.yaml: empty scenario file"}},
		{"comment only", "# hi\n", []string{"t.yaml: empty scenario file"}},
		{"two documents", header + "---\nname: u\n", []string{
			"t.yaml:7: a scenario file holds one YAML document; found another"}},
		{"not a mapping", "- a\n", []string{"t.yaml:1: want a mapping, got a list"}},
		{"unknown top-level field", header + "nodepools: []\n", []string{
			"t.yaml:7: nodepools: unknown field (want one of name, description, seed, duration, settings, nodePools, objects, timeline, traffic, expectations)"}},
		{"duplicate field", header + "name: u\n", []string{
			"t.yaml:7: name: duplicate field (first at line 1)"}},
		{"missing required fields", "description: x\n", []string{
			"t.yaml:1: name: missing required field",
			"t.yaml:1: duration: missing required field",
			"t.yaml:1: nodePools: missing required field"}},
		{"wrong scalar types", "name: [x]\nduration: true\nseed: -1\ndescription: 3\n" + header[strings.Index(header, "nodePools"):], []string{
			"t.yaml:1: name: want a string, got a list",
			"t.yaml:2: duration: want a duration (e.g. 90s, 1m30s, 250ms, or a number of seconds), got boolean true",
			"t.yaml:3: seed: want an integer from 0 to 18446744073709551615, got integer -1",
			`t.yaml:4: description: want a string, got integer 3`}},
		{"bad durations", "name: t\nduration: 10 minutes\n" + header[strings.Index(header, "nodePools"):] + "timeline:\n  - {at: -5s, action: cordon, node: a-0}\n  - {at: 0, action: cordon, node: a-0}\n", []string{
			`t.yaml:2: duration: invalid duration "10 minutes" (want e.g. 90s, 1m30s, 250ms, or a number of seconds)`,
			`t.yaml:8: timeline[0].at: duration "-5s" must not be negative`}},
		{"zero duration", "name: t\nduration: 0\n" + header[strings.Index(header, "nodePools"):], []string{
			"t.yaml:2: duration: must be positive"}},

		// Settings.
		{"settings", header + `settings:
  apiLatency: {distribution: gaussian, mean: 1ms}
  watchLatency: {distribution: lognormal, median: 1ms, mean: 2ms}
  nodeLeaseDuration: 10s
  nodeLeaseRenewInterval: 10s
  nodeMonitorGracePeriod: 5s
  crashLoopBackOff: {initial: 1m, max: 10s}
  checkInterval: 0s
  runtime:
    imagePull: {distribution: uniform, min: 3s, max: 1s}
    containerStart: {distribution: constant}
  tickRate: 5
`, []string{
			`t.yaml:8: settings.apiLatency.distribution: unknown distribution "gaussian" (want one of constant, uniform, exponential, lognormal)`,
			`t.yaml:9: settings.watchLatency.sigma: missing required field`,
			`t.yaml:9: settings.watchLatency.mean: unknown field (want one of distribution, median, sigma, min, max)`,
			`t.yaml:11: settings.nodeLeaseRenewInterval: must be shorter than nodeLeaseDuration (10s)`,
			`t.yaml:12: settings.nodeMonitorGracePeriod: must be longer than nodeLeaseRenewInterval (10s), or every node flaps`,
			`t.yaml:13: settings.crashLoopBackOff: initial (1m) must not exceed max (10s)`,
			`t.yaml:14: settings.checkInterval: must be positive`,
			`t.yaml:16: settings.runtime.imagePull: min (3s) must not exceed max (1s)`,
			`t.yaml:17: settings.runtime.containerStart.value: missing required field`,
			`t.yaml:18: settings.tickRate: unknown field (want one of apiLatency, watchLatency, nodeLeaseDuration, nodeLeaseRenewInterval, nodeMonitorPeriod, nodeMonitorGracePeriod, terminatedPodGCThreshold, defaultTolerationSeconds, crashLoopBackOff, podBackoff, checkInterval, runtime)`}},

		// Node pools.
		{"pools", `name: t
duration: 10m
nodePools:
  - name: Pool_A
    count: ten
    capacity: {cpu: 4x, memory: 8Gi}
  - name: b
    count: 0
    capacity: {memory: 8Gi, gpu!: 1}
    allocatable: {memory: 9Gi, cpu: 1}
  - name: b
    count: 1
    capacity: {cpu: 1, memory: 1Gi}
    labels: {"bad key!": x, zone: 1}
    taints:
      - {key: dedicated, value: gpu, effect: NoEvict}
      - {key: k, effect: NoSchedule}
      - {key: k, effect: NoSchedule}
      - {value: v, effect: NoSchedule}
    runtime: {imagePull: 1s, pullPolicy: Always}
`, []string{
			`t.yaml:4: nodePools[0].name: invalid pool name "Pool_A": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`t.yaml:5: nodePools[0].count: want an integer, got string "ten"`,
			`t.yaml:6: nodePools[0].capacity.cpu: invalid quantity "4x" (want e.g. 4, 500m, 16Gi)`,
			`t.yaml:8: nodePools[1].count: must be between 1 and 100000, got 0`,
			`t.yaml:9: nodePools[1].capacity.gpu!: invalid resource name: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`t.yaml:9: nodePools[1].capacity.cpu: missing required field`,
			`t.yaml:10: nodePools[1].allocatable.memory: 9Gi exceeds capacity 8Gi`,
			`t.yaml:10: nodePools[1].allocatable.cpu: not in capacity`,
			`t.yaml:11: nodePools[2].name: duplicate pool name "b" (first at line 7)`,
			`t.yaml:14: nodePools[2].labels.bad key!: invalid key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`t.yaml:14: nodePools[2].labels.zone: want a string, got integer 1`,
			`t.yaml:16: nodePools[2].taints[0].effect: unknown taint effect "NoEvict" (want one of NoSchedule, PreferNoSchedule, NoExecute)`,
			`t.yaml:18: nodePools[2].taints[2]: duplicate taint k:NoSchedule (first at line 17)`,
			`t.yaml:19: nodePools[2].taints[3].key: missing required field`,
			`t.yaml:20: nodePools[2].runtime.pullPolicy: unknown field (want one of imagePull, containerStart)`}},
		{"no pools", "name: t\nduration: 1m\nnodePools: []\n", []string{
			"t.yaml:3: nodePools: must list at least one pool"}},

		// Objects and manifests.
		{"object entries", header + `objects:
  - file: nope.yaml
  - {file: good.yaml, inline: "x"}
  - {}
  - file: empty.yaml
  - path: good.yaml
`, []string{
			`t.yaml:8: objects[0].file: cannot read nope.yaml: file does not exist`,
			`t.yaml:9: objects[1]: give file or inline, not both`,
			`t.yaml:10: objects[2]: missing file or inline`,
			`t.yaml:11: objects[3].file: no objects in empty.yaml`,
			`t.yaml:12: objects[4]: missing file or inline`,
			`t.yaml:12: objects[4].path: unknown field (want one of file, inline)`}},
		{"manifest file errors", header + "objects:\n  - file: typo.yaml\n  - file: multi.yaml\n", []string{
			`typo.yaml:7: spec.replica: unknown field (did you mean "replicas"?)`,
			`typo.yaml:12: spec.template.spec.containers[0].imagee: unknown field (did you mean "image"?)`,
			`multi.yaml:12: spec.containers[0].resources.requests.cpu: invalid quantity "lots" (want e.g. 4, 500m, 16Gi)`}},
		{"inline manifest errors", header + `objects:
  - inline: |
      apiVersion: apps/v1
      kind: Deploymnet
      metadata: {name: a}
      ---
      apiVersion: extensions/v1beta1
      kind: Deployment
      metadata: {name: b}
      ---
      apiVersion: example.com/v1
      kind: Widget
      ---
      kind: Pod
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: c}
      spec: {replicas: three}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: d, name: e}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {labels: {a: b}}
      ---
      apiVersion: v1
      kind: Node
      metadata: {name: n1}
      ---
      [1, 2]
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: f
`, []string{
			`t.yaml:10: objects[0].inline.kind: unknown kind "Deploymnet" in apiVersion "apps/v1"`,
			`t.yaml:13: objects[0].inline.apiVersion: kind Deployment is not served by apiVersion "extensions/v1beta1" (want apps/v1)`,
			`t.yaml:17: objects[0].inline.apiVersion: unknown apiVersion "example.com/v1"`,
			`t.yaml:20: objects[0].inline.apiVersion: missing required field`,
			`t.yaml:25: objects[0].inline.spec.replicas: want int32, got string`,
			`t.yaml:29: objects[0].inline.metadata.name: duplicate field (first at line 29)`,
			`t.yaml:33: objects[0].inline.metadata.name: missing required field`,
			`t.yaml:35: objects[0].inline.kind: Node objects come from nodePools and cannot be applied`,
			`t.yaml:39: objects[0].inline: a manifest must be a mapping, got a list`,
			`t.yaml:43: objects[0].inline: invalid YAML: did not find expected ',' or '}'`}},
		{"YAML 1.1 booleans in manifests, as kubectl reads them", header + "objects:\n  - inline: |\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: cfg}\n      data: {enabled: yes}\n", []string{
			`t.yaml:12: objects[0].inline.data: want string, got bool`}},
		{"duplicate objects", header + "objects:\n  - file: good.yaml\n  - file: good.yaml\n", []string{
			`good.yaml:1: duplicate object Deployment default/web (first at good.yaml:1)`}},
		{"simulator annotations", header + `objects:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        annotations: {sim.drydock.io/exit-after: 5s}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata:
            labels: {app: web}
            annotations:
              sim.drydock.io/exit-code: "1"
              sim.drydock.io/ready-after: soon
              sim.drydock.io/exit-afer: 5s
              sim.drydock.io/stop-after.sidecar: 1s
              example.com/other: anything
          spec:
            containers:
              - {name: web, image: nginx}
`, []string{
			`t.yaml:13: objects[0].inline.metadata.annotations.sim.drydock.io/exit-after: simulator annotations belong on the pod template (spec.template.metadata.annotations), not on the Deployment`,
			`t.yaml:21: objects[0].inline.spec.template.metadata.annotations.sim.drydock.io/ready-after: invalid duration "soon" (want e.g. 90s, 1m30s, 250ms, or a number of seconds)`,
			`t.yaml:22: objects[0].inline.spec.template.metadata.annotations.sim.drydock.io/exit-afer: unknown simulator annotation (want one of sim.drydock.io/exit-after, sim.drydock.io/exit-code, sim.drydock.io/fail-liveness-after, sim.drydock.io/fail-readiness-after, sim.drydock.io/ready-after, sim.drydock.io/stop-after, optionally followed by .<container>)`,
			`t.yaml:23: objects[0].inline.spec.template.metadata.annotations.sim.drydock.io/stop-after.sidecar: no container "sidecar" in the pod (containers: web)`}},
		{"exit code without exit-after", header + `objects:
  - inline: |
      apiVersion: v1
      kind: Pod
      metadata:
        name: p
        annotations: {sim.drydock.io/exit-code: "300", sim.drydock.io/exit-after.c: 1s}
      spec:
        containers: [{name: c, image: x}, {name: d, image: x}]
`, []string{
			`t.yaml:13: objects[0].inline.metadata.annotations.sim.drydock.io/exit-code: invalid exit code "300" (want an integer 0..255)`}},
		{"inline not a string", header + "objects:\n  - inline: {kind: Pod}\n", []string{
			`t.yaml:8: objects[0].inline: want a string, got a mapping`}},

		// Timeline.
		{"timeline entries", header + `objects:
  - file: good.yaml
timeline:
  - {at: 1m, action: crash, node: a-0}
  - {action: cordon, node: a-0}
  - {at: 11m, action: cordon, node: a-0}
  - {at: 1m, action: cordon, node: a-3}
  - {at: 1m, action: drain}
  - {at: 1m, action: cordon, node: a-1, target: deployment/web}
  - {at: 1m, action: scale, target: service/web}
  - {at: 1m, action: scale, target: deployment/web}
  - {at: 1m, action: delete, target: web}
  - {at: 1m, action: delete, target: gadget/web}
  - {at: 1m, action: delete, target: priorityclass/high, namespace: x}
  - {at: 1m, action: delete, target: deployment/Web}
  - {at: 1m, action: delete, target: node/a-9}
`, []string{
			`t.yaml:10: timeline[0].action: unknown action "crash" (want one of apply, delete, scale, crashNode, restoreNode, partitionNode, healNode, cordon, uncordon, drain, taint, untaint, rolloutUndo, setImage)`,
			`t.yaml:11: timeline[1].at: missing required field`,
			`t.yaml:12: timeline[2].at: 11m is after the end of the scenario (duration 10m)`,
			`t.yaml:13: timeline[3].node: unknown node "a-3" (nodes: a-0..a-2)`,
			`t.yaml:14: timeline[4].node: missing required field`,
			`t.yaml:15: timeline[5].target: unknown field (want one of at, action, node)`,
			`t.yaml:16: timeline[6].target: scale cannot target a Service (want deployment or replicaset or statefulset)`,
			`t.yaml:16: timeline[6].replicas: missing required field`,
			`t.yaml:17: timeline[7].replicas: missing required field`,
			`t.yaml:18: timeline[8].target: invalid target "web" (want kind/name, e.g. deployment/web)`,
			`t.yaml:19: timeline[9].target: unknown kind "gadget" (want one of deployment, replicaset, statefulset, daemonset, job, pod, service, configmap, secret, poddisruptionbudget, namespace, priorityclass, node)`,
			`t.yaml:20: timeline[10].namespace: PriorityClass is cluster-scoped and has no namespace`,
			`t.yaml:21: timeline[11].target: invalid name "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			`t.yaml:22: timeline[12].target: unknown node "a-9" (nodes: a-0..a-2)`}},
		{"timeline order checks", header + `objects:
  - file: good.yaml
timeline:
  - {at: 5m, action: restoreNode, node: a-0}
  - {at: 1m, action: crashNode, node: a-0}
  - {at: 2m, action: crashNode, node: a-0}
  - {at: 1m, action: healNode, node: a-1}
  - {at: 1m, action: setImage, target: deployment/web, container: app, image: nginx:2}
  - {at: 1m, action: rolloutUndo, target: deployment/api}
  - {at: 3m, action: delete, target: deployment/web}
  - {at: 4m, action: scale, target: deployment/web, replicas: 2}
  - {at: 4m, action: scale, target: deployment/web, replicas: 2, namespace: other}
  - at: 4m30s
    action: apply
    inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: other}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: nginx}]}
  - {at: 5m, action: setImage, target: deployment/web, container: web, image: nginx:2, namespace: other}
`, []string{
			`t.yaml:12: timeline[2].node: node a-0 is already crashed at 2m (crashNode at line 11)`,
			`t.yaml:13: timeline[3].node: node a-1 is not partitioned at 1m (healNode follows partitionNode)`,
			`t.yaml:14: timeline[4].container: no container "app" in deployment default/web (containers: web)`,
			`t.yaml:15: timeline[5].target: deployment default/api does not exist at 1m (create it in objects or an earlier apply)`,
			`t.yaml:17: timeline[7].target: deployment default/web does not exist at 4m (create it in objects or an earlier apply)`,
			`t.yaml:18: timeline[8].target: deployment other/web does not exist at 4m (create it in objects or an earlier apply)`}},

		{"taint entries", header + `timeline:
  - {at: 1m, action: taint, node: a-0, key: node.kubernetes.io/out-of-service}
  - {at: 1m, action: taint, node: a-0, key: "bad key", effect: NoExecute}
  - {at: 1m, action: taint, node: a-0, key: k, value: "no way", effect: Evict}
  - {at: 1m, action: untaint, key: k}
  - {at: 1m, action: untaint, node: a-0, effect: NoSchedule}
  - {at: 1m, action: untaint, node: a-0, key: k, value: v, target: node/a-0}
`, []string{
			`t.yaml:8: timeline[0].effect: missing required field`,
			`t.yaml:9: timeline[1].key: invalid taint key "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`t.yaml:10: timeline[2].value: invalid taint value "no way": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
			`t.yaml:10: timeline[2].effect: unknown taint effect "Evict" (want one of NoSchedule, PreferNoSchedule, NoExecute)`,
			`t.yaml:11: timeline[3].node: missing required field`,
			`t.yaml:12: timeline[4].key: missing required field`,
			`t.yaml:13: timeline[5].target: unknown field (want one of at, action, node, key, value, effect)`}},

		// Expectations.
		{"expectation shape", header + `expectations:
  - by: 1m
  - {by: 1m, podsReady: {count: 1}, podsRunning: {count: 1}}
  - podsReady: {count: 1}
  - {by: 1m, podsRedy: {count: 1}}
  - {at: 11m, nodeReady: {node: a-0}}
  - {by: 1m, from: 2m, nodeReady: {node: a-0}}
  - {at: 1m, from: 30s, until: 40s, nodeReady: {node: a-0}}
  - {always: false, noOvercommit: {}}
  - {always: true, noOvercommit: false}
  - {by: 1m, nodeReady: {node: a-5, ready: maybe}}
`, []string{
			`t.yaml:8: expectations[0]: missing check (want one of deploymentReady, rolloutComplete, podsRunning, podsReady, podsPending, podsUnschedulable, podsOnNode, containerRestarts, containerWaiting, nodeReady, eventSeen, topologySpread, noOvercommit, noPodOnNotReadyNodePastToleration, serviceAnswered)`,
			`t.yaml:9: expectations[1].podsRunning: only one check per expectation (this one has podsReady)`,
			`t.yaml:10: expectations[2]: missing timing: give by, at or always`,
			`t.yaml:11: expectations[3].podsRedy: unknown field (want one of name, by, at, always, from, until, deploymentReady, rolloutComplete, podsRunning, podsReady, podsPending, podsUnschedulable, podsOnNode, containerRestarts, containerWaiting, nodeReady, eventSeen, topologySpread, noOvercommit, noPodOnNotReadyNodePastToleration, serviceAnswered)`,
			`t.yaml:12: expectations[4].at: 11m is after the end of the scenario (duration 10m)`,
			`t.yaml:13: expectations[5].from: from (2m) is after by (1m)`,
			`t.yaml:14: expectations[6].from: from needs by or always`,
			`t.yaml:14: expectations[6].until: until needs always`,
			`t.yaml:15: expectations[7].always: always: false means nothing; leave it out`,
			`t.yaml:16: expectations[8].noOvercommit: false means nothing; leave the expectation out`,
			`t.yaml:17: expectations[9].nodeReady.node: unknown node "a-5" (nodes: a-0..a-2)`,
			`t.yaml:17: expectations[9].nodeReady.ready: want true or false, got string "maybe"`}},
		{"check fields", header + `expectations:
  - {by: 1m, podsReady: {selector: "app in (", count: 1}}
  - {by: 1m, podsReady: {selector: app=web}}
  - {by: 1m, podsReady: {count: 1, min: 1}}
  - {by: 1m, podsReady: {min: 3, max: 1}}
  - {by: 1m, podsReady: {count: -1}}
  - {by: 1m, podsOnNode: {count: 0}}
  - {by: 1m, podsOnNode: {node: a-0, pool: a, count: 0}}
  - {by: 1m, podsRunning: {pool: b, count: 0}}
  - {by: 1m, podsUnschedulable: {node: a-0, count: 0}}
  - {by: 1m, deploymentReady: {namespace: default}}
  - {by: 1m, eventSeen: {reason: Preempted, type: Info}}
  - {by: 1m, topologySpread: {topologyKey: zone}}
  - {by: 1m, containerWaiting: {count: 1}}
  - {noPodOnNotReadyNodePastToleration: {margin: soon}}
  - {name: x, by: 1m, podsReady: {count: 1}}
  - {name: x, by: 2m, podsReady: {count: 1}}
  - {by: 1m, podsReady: {selector: {app: web}, namespace: Bad_NS, count: 1}}
`, []string{
			`t.yaml:8: expectations[0].podsReady.selector: invalid label selector "app in (": unable to parse requirement: found '', expected: ',', ')' or identifier`,
			`t.yaml:9: expectations[1].podsReady.count: missing count (or min and/or max)`,
			`t.yaml:10: expectations[2].podsReady.min: give count, or min and/or max, not both`,
			`t.yaml:11: expectations[3].podsReady.min: min (3) exceeds max (1)`,
			`t.yaml:12: expectations[4].podsReady.count: must be at least 0, got -1`,
			`t.yaml:13: expectations[5].podsOnNode: missing node or pool`,
			`t.yaml:14: expectations[6].podsOnNode.pool: give node or pool, not both`,
			`t.yaml:15: expectations[7].podsRunning.pool: unknown pool "b" (pools: a)`,
			`t.yaml:16: expectations[8].podsUnschedulable.node: unknown field (want one of selector, namespace, image, count, min, max)`,
			`t.yaml:17: expectations[9].deploymentReady.name: missing required field`,
			`t.yaml:18: expectations[10].eventSeen.type: unknown event type "Info" (want Normal or Warning)`,
			`t.yaml:19: expectations[11].topologySpread.maxSkew: missing required field`,
			`t.yaml:20: expectations[12].containerWaiting.reason: missing required field`,
			`t.yaml:21: expectations[13].noPodOnNotReadyNodePastToleration.margin: invalid duration "soon" (want e.g. 90s, 1m30s, 250ms, or a number of seconds)`,
			`t.yaml:23: expectations[15].name: duplicate expectation name "x" (first at line 22)`,
			`t.yaml:24: expectations[16].podsReady.namespace: invalid namespace "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := ParseFS(testFS, "t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("parsed without error: %+v", sc)
			}
			if sc != nil {
				t.Errorf("got a scenario along with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
