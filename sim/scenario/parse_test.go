package scenario

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

const fullScenario = `name: full
description: every feature once
seed: 18446744073709551615
duration: 20m
settings:
  apiLatency: {distribution: exponential, mean: 2ms, max: 50ms}
  watchLatency: 500us
  nodeLeaseDuration: 30s
  nodeLeaseRenewInterval: 5s
  nodeMonitorPeriod: 2s
  nodeMonitorGracePeriod: 20s
  defaultTolerationSeconds: 60
  crashLoopBackOff: {initial: 5s, max: 1m}
  podBackoff: {initial: 2s, max: 20s}
  checkInterval: 500ms
  runtime:
    containerStart: 0.5
x-defaults: &pool
  count: 2
  capacity: {cpu: 2, memory: 4Gi, ephemeral-storage: 100Gi}
nodePools:
  - <<: *pool
    name: small
    runtime:
      imagePull: {distribution: lognormal, median: 2s, sigma: 0.5, min: 100ms, max: 1m}
  - name: big
    count: 1
    capacity: {cpu: "64", memory: 256Gi, pods: 250, example.com/fpga: 2}
    allocatable: {cpu: 63500m}
    labels: {tier: big, topology.kubernetes.io/zone: z1}
    taints: [{key: big, effect: NoExecute}, {key: dedicated, value: batch, effect: PreferNoSchedule}]
objects:
  - file: manifests/app.yaml
  - inline: |
      apiVersion: scheduling.k8s.io/v1
      kind: PriorityClass
      metadata: {name: high}
      value: 100
timeline:
  - {at: 10m, action: uncordon, node: big-0}
  - {at: 1m, action: cordon, node: big-0}
  - {at: 1m, action: scale, target: deploy/app, replicas: 3}
  - {at: 2m, action: crashNode, node: small-1}
  - {at: 3m, action: restoreNode, node: small-1}
  - {at: 2m, action: partitionNode, node: small-0}
  - {at: 3m, action: healNode, node: small-0}
  - {at: 4m, action: drain, node: small-0}
  - {at: 5m, action: setImage, target: deployment/app, container: app, image: "app:2"}
  - {at: 6m, action: rolloutUndo, target: deployment/app}
  - {at: 7m, action: delete, target: pc/high}
  - {at: 8m, action: delete, target: svc/app, namespace: shop}
  - at: 9m
    action: apply
    file: manifests/app.yaml
expectations:
  - {by: 5m, deploymentReady: {name: app}}
  - {name: rollout, at: 6m, rolloutComplete: {name: app, namespace: default}}
  - {by: 5m, from: 1m, podsRunning: {selector: "app=app,tier in (web)", namespace: shop, pool: small, image: "app:1", min: 1, max: 3}}
  - {always: true, from: 2m, until: 4m, podsReady: {selector: {app: app}, node: big-0, min: 1}}
  - {by: 5m, podsPending: {count: 0}}
  - {by: 5m, podsUnschedulable: {max: 2}}
  - {by: 5m, podsOnNode: {node: small-0, count: 0}}
  - {by: 5m, containerRestarts: {max: 0}}
  - {by: 5m, containerWaiting: {reason: CrashLoopBackOff, count: 0}}
  - {by: 3m, at: 4m, nodeReady: {node: small-1, ready: false}}
  - {by: 5m, eventSeen: {reason: Preempted, type: Normal, involvedKind: Pod, involvedName: p, namespace: default, message: "by pod"}}
  - {by: 5m, topologySpread: {topologyKey: topology.kubernetes.io/zone, maxSkew: 2, pool: big}}
  - noOvercommit: true
  - {always: true, until: 10m, noPodOnNotReadyNodePastToleration: {margin: 30s}}
  - {by: 5m, podsPending: {count: 0}}
`

const appManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata:
      labels: {app: app}
      annotations: {sim.drydock.io/exit-after: 30s, sim.drydock.io/exit-code: "3", sim.drydock.io/ready-after.app: 2s}
    spec:
      containers: [{name: app, image: "app:1"}]
---
# a comment-only document is skipped
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: shop}
spec:
  selector: {app: app}
  ports: [{port: 80}]
`

func TestParseFull(t *testing.T) {
	fsys := fstest.MapFS{"s/manifests/app.yaml": {Data: []byte(appManifest)}}
	sc, err := ParseFS(fsys, "s/full.yaml", []byte(fullScenario))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "full" || sc.Description != "every feature once" || sc.Seed != 1<<64-1 || sc.Duration != 20*time.Minute {
		t.Errorf("header: %q %q %d %v", sc.Name, sc.Description, sc.Seed, sc.Duration)
	}

	wantSettings := DefaultSettings()
	wantSettings.APILatency = Distribution{Kind: DistExponential, Mean: 2 * time.Millisecond, Max: 50 * time.Millisecond}
	wantSettings.WatchLatency = Constant(500 * time.Microsecond)
	wantSettings.NodeLeaseDuration = 30 * time.Second
	wantSettings.NodeLeaseRenewInterval = 5 * time.Second
	wantSettings.NodeMonitorPeriod = 2 * time.Second
	wantSettings.NodeMonitorGracePeriod = 20 * time.Second
	wantSettings.DefaultTolerationSeconds = 60
	wantSettings.CrashLoopBackOffInitial, wantSettings.CrashLoopBackOffMax = 5*time.Second, time.Minute
	wantSettings.PodBackoffInitial, wantSettings.PodBackoffMax = 2*time.Second, 20*time.Second
	wantSettings.CheckInterval = 500 * time.Millisecond
	wantSettings.Runtime.ContainerStart = Constant(500 * time.Millisecond)
	if !reflect.DeepEqual(sc.Settings, wantSettings) {
		t.Errorf("settings:\n%+v\nwant\n%+v", sc.Settings, wantSettings)
	}

	// Pools: merge keys, defaults, allocatable, runtime layering.
	if len(sc.NodePools) != 2 {
		t.Fatalf("%d pools", len(sc.NodePools))
	}
	small, big := sc.NodePools[0], sc.NodePools[1]
	if small.Name != "small" || small.Count != 2 || small.Line != 22 {
		t.Errorf("small: %q %d line %d", small.Name, small.Count, small.Line)
	}
	wantCap := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	if !equalResources(small.Capacity, wantCap) || !equalResources(small.Allocatable, wantCap) {
		t.Errorf("small capacity %v allocatable %v", small.Capacity, small.Allocatable)
	}
	wantRT := Runtime{
		ImagePull:      Distribution{Kind: DistLognormal, Median: 2 * time.Second, Sigma: 0.5, Min: 100 * time.Millisecond, Max: time.Minute},
		ContainerStart: Constant(500 * time.Millisecond),
	}
	if !reflect.DeepEqual(small.Runtime, wantRT) {
		t.Errorf("small runtime %+v", small.Runtime)
	}
	if !reflect.DeepEqual(big.Runtime, wantSettings.Runtime) {
		t.Errorf("big runtime %+v, want the settings' one", big.Runtime)
	}
	if got := big.Allocatable[corev1.ResourceCPU]; got.Cmp(resource.MustParse("63500m")) != 0 {
		t.Errorf("big allocatable cpu %v", got.String())
	}
	if got := big.Allocatable["example.com/fpga"]; got.Value() != 2 {
		t.Errorf("big allocatable fpga %v", got.String())
	}
	if !reflect.DeepEqual(big.Labels, map[string]string{"tier": "big", "topology.kubernetes.io/zone": "z1"}) {
		t.Errorf("labels %v", big.Labels)
	}
	wantTaints := []corev1.Taint{{Key: "big", Effect: corev1.TaintEffectNoExecute}, {Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectPreferNoSchedule}}
	if !reflect.DeepEqual(big.Taints, wantTaints) {
		t.Errorf("taints %v", big.Taints)
	}
	if got := sc.NodeNames(); !reflect.DeepEqual(got, []string{"small-0", "small-1", "big-0"}) {
		t.Errorf("node names %v", got)
	}

	// Objects: file manifests (comment-only document skipped) then inline.
	if len(sc.Objects) != 3 {
		t.Fatalf("%d objects", len(sc.Objects))
	}
	d, ok := sc.Objects[0].Object.(*appsv1.Deployment)
	if !ok || d.Name != "app" || *d.Spec.Replicas != 2 || sc.Objects[0].File != "s/manifests/app.yaml" || sc.Objects[0].Line != 1 {
		t.Errorf("object 0: %T %s:%d", sc.Objects[0].Object, sc.Objects[0].File, sc.Objects[0].Line)
	}
	if svc, ok := sc.Objects[1].Object.(*corev1.Service); !ok || svc.Namespace != "shop" || sc.Objects[1].Line != 17 {
		t.Errorf("object 1: %T line %d", sc.Objects[1].Object, sc.Objects[1].Line)
	}
	if pc, ok := sc.Objects[2].Object.(*schedulingv1.PriorityClass); !ok || pc.Value != 100 || sc.Objects[2].File != "s/full.yaml" || sc.Objects[2].Line != 35 {
		t.Errorf("object 2: %T %s:%d", sc.Objects[2].Object, sc.Objects[2].File, sc.Objects[2].Line)
	}
	if sc.Objects[2].GVK.String() != "scheduling.k8s.io/v1, Kind=PriorityClass" {
		t.Errorf("gvk %v", sc.Objects[2].GVK)
	}

	// Timeline: sorted by time, file order among equals.
	var order []int
	for _, a := range sc.Timeline {
		order = append(order, a.Index)
	}
	if !reflect.DeepEqual(order, []int{1, 2, 3, 5, 4, 6, 7, 8, 9, 10, 11, 12, 0}) {
		t.Errorf("timeline order %v", order)
	}
	byIndex := map[int]Action{}
	for _, a := range sc.Timeline {
		byIndex[a.Index] = a
	}
	if a := byIndex[2]; a.Kind != ActionScale || a.Replicas != 3 || a.Target != (ObjectRef{"apps/v1", "Deployment", "default", "app"}) || a.At != time.Minute {
		t.Errorf("scale: %+v", a)
	}
	if a := byIndex[8]; a.Kind != ActionSetImage || a.Container != "app" || a.Image != "app:2" {
		t.Errorf("setImage: %+v", a)
	}
	if a := byIndex[10]; a.Target != (ObjectRef{"scheduling.k8s.io/v1", "PriorityClass", "", "high"}) {
		t.Errorf("delete pc: %+v", a.Target)
	}
	if a := byIndex[11]; a.Target != (ObjectRef{"v1", "Service", "shop", "app"}) {
		t.Errorf("delete svc: %+v", a.Target)
	}
	if a := byIndex[12]; a.Kind != ActionApply || len(a.Objects) != 2 || a.Line != 52 {
		t.Errorf("apply: %+v", a)
	}
	if a := byIndex[3]; a.Kind != ActionCrashNode || a.Node != "small-1" {
		t.Errorf("crash: %+v", a)
	}

	// Expectations.
	if len(sc.Expectations) != 15 {
		t.Fatalf("%d expectations", len(sc.Expectations))
	}
	names := []string{
		"deploymentReady default/app by 5m",
		"rollout",
		"podsRunning app=app,tier in (web) namespace shop pool small image app:1 count 1..3 from 1m by 5m",
		"podsReady app=app node big-0 count >= 1 always from 2m until 4m",
		"podsPending count 0 by 5m",
		"podsUnschedulable count <= 2 by 5m",
		"podsOnNode node small-0 count 0 by 5m",
		"containerRestarts count <= 0 by 5m",
		"containerWaiting reason CrashLoopBackOff count 0 by 5m",
		"nodeReady small-1 ready false by 3m, at 4m",
		`eventSeen reason Preempted type Normal involvedKind Pod involvedName p message "by pod" namespace default by 5m`,
		"topologySpread topology.kubernetes.io/zone maxSkew 2 pool big by 5m",
		"noOvercommit always",
		"noPodOnNotReadyNodePastToleration always until 10m",
		"podsPending count 0 by 5m #2",
	}
	for i, e := range sc.Expectations {
		if e.Name != names[i] {
			t.Errorf("expectation %d name %q, want %q", i, e.Name, names[i])
		}
	}
	e := sc.Expectations[2]
	if !e.HasBy || e.By != 5*time.Minute || e.From != time.Minute || e.HasAt || e.Always || e.Until != 20*time.Minute {
		t.Errorf("timing %+v", e)
	}
	if !e.Check.Selector.Matches(labels.Set{"app": "app", "tier": "web"}) || e.Check.Selector.Matches(labels.Set{"app": "app"}) {
		t.Errorf("selector %v", e.Check.Selector)
	}
	if e := sc.Expectations[3]; !e.Always || e.From != 2*time.Minute || e.Until != 4*time.Minute || !e.Check.Selector.Matches(labels.Set{"app": "app"}) {
		t.Errorf("always %+v", e)
	}
	if c := sc.Expectations[4].Check; !c.Selector.Empty() || c.Namespace != "" || c.Count != (Range{0, 0, true, true}) {
		t.Errorf("podsPending %+v", c)
	}
	if c := sc.Expectations[10].Check; c.Count != (Range{Min: 1, HasMin: true}) {
		t.Errorf("eventSeen default count %+v", c.Count)
	}
	if e := sc.Expectations[12]; !e.Always || e.Check.Kind != CheckNoOvercommit {
		t.Errorf("noOvercommit %+v", e)
	}
	if c := sc.Expectations[13].Check; c.Margin != 30*time.Second {
		t.Errorf("margin %v", c.Margin)
	}
	if e := sc.Expectations[9]; !e.HasBy || !e.HasAt || e.Check.Ready {
		t.Errorf("nodeReady %+v", e)
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestDefaults(t *testing.T) {
	sc, err := ParseFS(fstest.MapFS{}, "d.yaml", []byte(header+"expectations:\n  - noPodOnNotReadyNodePastToleration: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed != 1 || !reflect.DeepEqual(sc.Settings, DefaultSettings()) {
		t.Errorf("seed %d settings %+v", sc.Seed, sc.Settings)
	}
	if e := sc.Expectations[0]; !e.Always || e.Check.Margin != DefaultTolerationMargin || e.Until != 10*time.Minute {
		t.Errorf("invariant defaults %+v", e)
	}
	if got := sc.NodePools[0].Capacity[corev1.ResourcePods]; got.Value() != 110 {
		t.Errorf("default pods capacity %v", got.String())
	}
}

func TestTaintActions(t *testing.T) {
	src := header + `timeline:
  - {at: 1m, action: taint, node: a-0, key: node.kubernetes.io/out-of-service, value: nodeshutdown, effect: NoExecute}
  - {at: 2m, action: untaint, node: a-0, key: node.kubernetes.io/out-of-service}
  - {at: 3m, action: untaint, node: a-1, key: dedicated, effect: NoSchedule}
expectations:
  - noOvercommit: {}
`
	sc, err := ParseFS(fstest.MapFS{}, "t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{
		{At: time.Minute, Kind: ActionTaint, Index: 0, Line: 8, Node: "a-0",
			Taint: corev1.Taint{Key: "node.kubernetes.io/out-of-service", Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}},
		{At: 2 * time.Minute, Kind: ActionUntaint, Index: 1, Line: 9, Node: "a-0",
			Taint: corev1.Taint{Key: "node.kubernetes.io/out-of-service"}},
		{At: 3 * time.Minute, Kind: ActionUntaint, Index: 2, Line: 10, Node: "a-1",
			Taint: corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}},
	}
	if !reflect.DeepEqual(sc.Timeline, want) {
		t.Errorf("timeline\n%+v\nwant\n%+v", sc.Timeline, want)
	}
}

func TestTerminatedPodGCThreshold(t *testing.T) {
	tests := []struct {
		settings string
		want     int32
		err      string
	}{
		{"", 12500, ""},
		{"settings: {terminatedPodGCThreshold: 0}\n", 0, ""},
		{"settings: {terminatedPodGCThreshold: 20}\n", 20, ""},
		{"settings: {terminatedPodGCThreshold: -1}\n", 0, "t.yaml:7: settings.terminatedPodGCThreshold: must be at least 0, got -1"},
	}
	for _, tc := range tests {
		sc, err := ParseFS(fstest.MapFS{}, "t.yaml", []byte(header+tc.settings+"expectations:\n  - noOvercommit: {}\n"))
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %s", tc.settings, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.settings, err)
		case sc.Settings.TerminatedPodGCThreshold != tc.want:
			t.Errorf("%q: threshold %d, want %d", tc.settings, sc.Settings.TerminatedPodGCThreshold, tc.want)
		}
	}
}

func TestPoolOfNode(t *testing.T) {
	sc := &Scenario{NodePools: []NodePool{{Name: "a", Count: 11}, {Name: "a-1", Count: 2}}}
	for node, want := range map[string]string{
		"a-0": "a", "a-10": "a", "a-1": "a", "a-1-0": "a-1", "a-1-1": "a-1",
		"a-11": "", "a-01": "", "a-": "", "a-+1": "", "a-1-2": "", "b-0": "", "a": "",
	} {
		got := ""
		if p := sc.PoolOfNode(node); p != nil {
			got = p.Name
		}
		if got != want {
			t.Errorf("PoolOfNode(%q) = %q, want %q", node, got, want)
		}
	}
}

func TestSplitDocuments(t *testing.T) {
	docs := splitDocuments([]byte("a: 1\n---\nb: 2\n--- # note\n\n---x: no\nc: 3\n---\n"))
	var got []string
	var lines []int
	for _, d := range docs {
		got = append(got, string(d.data))
		lines = append(lines, d.line)
	}
	want := []string{"a: 1\n", "b: 2\n", "\n---x: no\nc: 3\n", ""}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(lines, []int{1, 3, 5, 9}) {
		t.Errorf("got %q at %v", got, lines)
	}
}

func TestDistributionSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		d        Distribution
		min, max time.Duration
	}{
		{Constant(3 * time.Second), 3 * time.Second, 3 * time.Second},
		{Distribution{Kind: DistUniform, Min: time.Second, Max: 2 * time.Second}, time.Second, 2 * time.Second},
		{Distribution{Kind: DistUniform, Min: time.Second, Max: time.Second}, time.Second, time.Second},
		{Distribution{Kind: DistExponential, Mean: time.Second, Min: 10 * time.Millisecond, Max: 3 * time.Second}, 10 * time.Millisecond, 3 * time.Second},
		{Distribution{Kind: DistLognormal, Median: time.Second, Sigma: 2, Max: 5 * time.Second}, 0, 5 * time.Second},
		{Distribution{Kind: DistLognormal, Median: time.Second, Sigma: 0}, time.Second, time.Second},
	}
	for _, tc := range cases {
		for range 1000 {
			if v := tc.d.Sample(r); v < tc.min || v > tc.max {
				t.Fatalf("%v sampled %v outside [%v, %v]", tc.d, v, tc.min, tc.max)
			}
		}
	}
	// Same seed, same draws.
	d := Distribution{Kind: DistLognormal, Median: time.Second, Sigma: 0.5}
	a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for range 100 {
		if d.Sample(a) != d.Sample(b) {
			t.Fatal("samples differ for the same seed")
		}
	}
	// The lognormal's median is its median.
	below := 0
	for range 10000 {
		if d.Sample(r) < time.Second {
			below++
		}
	}
	if below < 4700 || below > 5300 {
		t.Errorf("%d of 10000 lognormal samples below the median", below)
	}
}

func TestDistributionString(t *testing.T) {
	for d, want := range map[Distribution]string{
		Constant(90 * time.Second):                                                    "1m30s",
		{Kind: DistUniform, Min: time.Second, Max: time.Minute}:                       "uniform(1s..1m)",
		{Kind: DistExponential, Mean: time.Second}:                                    "exponential(mean 1s)",
		{Kind: DistLognormal, Median: time.Second, Sigma: 0.5, Max: 10 * time.Second}: "lognormal(median 1s, sigma 0.5, max 10s)",
	} {
		if got := d.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", d, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 6 * time.Minute: "6m", 90 * time.Second: "1m30s", time.Hour: "1h",
		time.Hour + 10*time.Minute: "1h10m", 250 * time.Millisecond: "250ms", 10 * time.Second: "10s",
		10 * time.Minute: "10m", 2*time.Minute + 10*time.Second: "2m10s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRange(t *testing.T) {
	cases := []struct {
		r    Range
		in   []int
		out  []int
		text string
	}{
		{Range{Min: 3, Max: 3, HasMin: true, HasMax: true}, []int{3}, []int{2, 4}, "3"},
		{Range{Min: 3, HasMin: true}, []int{3, 100}, []int{2}, ">= 3"},
		{Range{Max: 3, HasMax: true}, []int{0, 3}, []int{4}, "<= 3"},
		{Range{Min: 1, Max: 3, HasMin: true, HasMax: true}, []int{1, 3}, []int{0, 4}, "1..3"},
		{Range{}, []int{0, 9}, nil, "any"},
	}
	for _, tc := range cases {
		for _, n := range tc.in {
			if !tc.r.Contains(n) {
				t.Errorf("%v should contain %d", tc.r, n)
			}
		}
		for _, n := range tc.out {
			if tc.r.Contains(n) {
				t.Errorf("%v should not contain %d", tc.r, n)
			}
		}
		if tc.r.String() != tc.text {
			t.Errorf("String() = %q, want %q", tc.r.String(), tc.text)
		}
	}
}

func TestContainerBehavior(t *testing.T) {
	ann := map[string]string{
		AnnotationExitAfter:                   "20s",
		AnnotationExitCode:                    "1",
		AnnotationReadyAfter:                  "5",
		AnnotationFailLivenessAfter + ".side": "1m",
		AnnotationFailReadinessAfter:          "30s",
		AnnotationStopAfter:                   "2s",
		AnnotationExitAfter + ".side":         "1h",
		"example.com/unrelated":               "x",
		AnnotationReadyAfter + ".other":       "bad but not ours",
	}
	main, err := ContainerBehavior(ann, "main")
	if err != nil {
		t.Fatal(err)
	}
	want := Behavior{Exits: true, ExitAfter: 20 * time.Second, ExitCode: 1, ReadyAfter: 5 * time.Second,
		FailsReadiness: true, FailReadinessAfter: 30 * time.Second, StopAfter: 2 * time.Second}
	if main != want {
		t.Errorf("main: %+v\nwant %+v", main, want)
	}
	side, err := ContainerBehavior(ann, "side")
	if err != nil {
		t.Fatal(err)
	}
	if side.ExitAfter != time.Hour || !side.FailsLiveness || side.FailLivenessAfter != time.Minute {
		t.Errorf("side: %+v", side)
	}
	if b, err := ContainerBehavior(nil, "x"); err != nil || b != (Behavior{}) {
		t.Errorf("no annotations: %+v, %v", b, err)
	}
	for _, tc := range []struct {
		ann  map[string]string
		want string
	}{
		{map[string]string{AnnotationExitAfter: "-1s"}, `annotation sim.drydock.io/exit-after: duration "-1s" must not be negative`},
		{map[string]string{AnnotationExitAfter: "1s", AnnotationExitCode: "x"}, `annotation sim.drydock.io/exit-code: invalid exit code "x" (want an integer 0..255)`},
		{map[string]string{AnnotationExitCode + ".c": "2"}, `annotation sim.drydock.io/exit-code.c: has no effect without sim.drydock.io/exit-after`},
	} {
		_, err := ContainerBehavior(tc.ann, "c")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %s", tc.ann, err, tc.want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || err.Error() != "testdata/does-not-exist.yaml: cannot read scenario: file does not exist" {
		t.Errorf("error %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	for e, want := range map[*Error]string{
		{File: "a.yaml", Line: 3, Field: "x.y", Message: "bad"}: "a.yaml:3: x.y: bad",
		{File: "a.yaml", Message: "bad"}:                        "a.yaml: bad",
		{File: "a.yaml", Line: 1, Message: "bad"}:               "a.yaml:1: bad",
	} {
		if e.Error() != want {
			t.Errorf("%q, want %q", e.Error(), want)
		}
	}
	if got := (Errors{{File: "a", Message: "x"}, {File: "b", Message: "y"}}).Error(); got != "a: x\nb: y" {
		t.Errorf("Errors: %q", got)
	}
}
