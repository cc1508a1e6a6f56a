package sim

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/drydock-sim/drydock/core/proxy"
	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/traffic"
)

// trafficScenario: web-1 runs on a-1 and web-2 on a-2, both behind the
// Service web; a-2 crashes at 1m. Clients on a-0 call web; others call a
// Service without pods, a Service created at 30s, and web from a-2.
const trafficScenario = `name: traffic
seed: 3
duration: 3m
nodePools:
  - {name: a, count: 3, capacity: {cpu: "4", memory: 8Gi}}
objects:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web-1}
      spec:
        replicas: 1
        selector: {matchLabels: {app: web, part: one}}
        template:
          metadata: {labels: {app: web, part: one}}
          spec:
            nodeSelector: {kubernetes.io/hostname: a-1}
            containers: [{name: web, image: nginx}]
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web-2}
      spec:
        replicas: 1
        selector: {matchLabels: {app: web, part: two}}
        template:
          metadata: {labels: {app: web, part: two}}
          spec:
            nodeSelector: {kubernetes.io/hostname: a-2}
            containers: [{name: web, image: nginx}]
  - inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
  - inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: nobody}
      spec: {selector: {app: none}, ports: [{port: 80}]}
timeline:
  - {at: 1m, action: crashNode, node: a-2}
  - at: 30s
    action: apply
    inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: late}
      spec: {selector: {app: web}, ports: [{port: 8080, targetPort: 80}]}
traffic:
  - {name: main, service: web, port: http, rate: 10, from: 20s, until: 2m30s, client: a-0}
  - {name: empty, service: nobody, port: 80, rate: 2, from: 20s, until: 30s}
  - {name: late, service: late, port: 8080, rate: 10, from: 20s, until: 50s}
  - {name: from-dead, service: web, port: 80, rate: 1, from: 50s, until: 70s, client: a-2}
expectations:
  - {name: main before the crash, always: true, until: 1m, serviceAnswered: {traffic: main}}
  - {name: main overall, serviceAnswered: {traffic: main, minSuccessRate: 0.8}}
  - {name: main fully back, from: 1m, by: 2m, serviceAnswered: {traffic: main}}
  - {name: main strict, serviceAnswered: {traffic: main}}
`

func runTrafficScenario(t *testing.T) (*World, *Result, string) {
	t.Helper()
	sc, err := scenario.ParseFS(fstest.MapFS{}, "traffic.yaml", []byte(trafficScenario))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := New(sc, Options{Trace: &buf})
	if err != nil {
		t.Fatal(err)
	}
	w.Run()
	return w, w.Result(), buf.String()
}

func TestTraffic(t *testing.T) {
	w, res, tr := runTrafficScenario(t)
	byName := map[string]TrafficResult{}
	for _, r := range res.Traffic {
		byName[r.Name] = r
	}
	s := time.Second
	count := func(name string, from, to time.Duration) traffic.Window {
		return w.traffic.gen(name).window(Epoch.Add(from), Epoch.Add(to))
	}

	// main: 10/s for 130s. Before the crash every request is answered;
	// after it, those sent to web-2 fail until the endpoints drop it (the
	// node is marked NotReady 40-55s after the crash, its pod not ready).
	main := byName["main"]
	if main.Sent != 1300 || main.OK+main.Failed != main.Sent || main.Failed == 0 || main.Failures["unreachable"] != main.Failed {
		t.Errorf("main: %+v", main)
	}
	if c := count("main", 20*s, 60*s); c.Sent() != 400 || c.Failed() != 0 {
		t.Errorf("main before the crash: %+v", c)
	}
	if c := count("main", 60*s, 100*s); c.Failed() < 100 || c.Failed() > 300 {
		t.Errorf("main in the 40s after the crash: %+v, want about half failed", c)
	}
	if c := count("main", 2*time.Minute, 150*s); c.Sent() != 300 || c.Failed() != 0 {
		t.Errorf("main after the endpoints update: %+v", c)
	}
	// empty: a Service without endpoints rejects every request.
	if e := byName["empty"]; e.Sent != 20 || e.Failures["rejected"] != 20 {
		t.Errorf("empty: %+v", e)
	}
	// late: no rule until the Service exists and the proxy has synced it,
	// then answered.
	late := byName["late"]
	if c := count("late", 20*s, 30*s); c.NoRule != 100 {
		t.Errorf("late before the Service exists: %+v", c)
	}
	if c := count("late", 32*s, 50*s); c.Sent() != 180 || c.OK != 180 {
		t.Errorf("late once the Service exists: %+v", c)
	}
	if late.Failures["noRule"] < 100 || late.Failed > 120 {
		t.Errorf("late: %+v", late)
	}
	// from-dead: the client's own node is down from 1m.
	if d := byName["from-dead"]; d.Sent != 20 || d.Failures["clientDown"] != 10 || d.OK != 10 {
		t.Errorf("from-dead: %+v", d)
	}

	wantPass := map[string]bool{"main before the crash": true, "main overall": true, "main fully back": true, "main strict": false}
	for _, e := range res.Expectations {
		if want, ok := wantPass[e.Name]; !ok || e.Passed != want {
			t.Errorf("expectation %q passed=%v: %s", e.Name, e.Passed, e.Detail)
		}
	}
	// The trace has a line per second with failures and a summary per
	// entry, never a line per request.
	var summaries, failures int
	for _, line := range strings.Split(tr, "\n") {
		switch {
		case strings.Contains(line, `"kind":"traffic","op":"summary"`):
			summaries++
		case strings.Contains(line, `"kind":"traffic","op":"failures"`):
			failures++
		}
	}
	if summaries != 4 || failures == 0 || failures > 100 {
		t.Errorf("trace: %d summaries, %d failure lines", summaries, failures)
	}
}

// The traffic, its checks and the trace replay exactly.
func TestTrafficDeterministic(t *testing.T) {
	_, a, ta := runTrafficScenario(t)
	_, b, tb := runTrafficScenario(t)
	if ta != tb || a.TraceHash != b.TraceHash {
		t.Errorf("traces differ")
	}
	if !reflect.DeepEqual(a.Traffic, b.Traffic) || !reflect.DeepEqual(a.Expectations, b.Expectations) {
		t.Errorf("results differ:\n%+v\n%+v", a.Traffic, b.Traffic)
	}
}

// Windows are counted exactly from the runs of failed requests.
func TestTrafficWindowCounts(t *testing.T) {
	spec := &scenario.Traffic{Name: "x", Rate: 4, From: time.Second, Until: 4 * time.Second}
	g := &trafficGen{spec: spec, start: Epoch.Add(spec.From)}
	g.total = g.before(spec.Until - spec.From)
	if g.total != 12 {
		t.Fatalf("total %d, want 12", g.total)
	}
	// Requests 0..11 at 1s, 1.25s, ... 3.75s; 3-5 unreachable, 6 rejected,
	// 10 unreachable.
	outcome := map[int64]error{3: traffic.ErrUnreachable, 4: traffic.ErrUnreachable, 5: traffic.ErrUnreachable,
		6: proxy.ErrRejected, 10: traffic.ErrUnreachable}
	for g.next = 0; g.next < g.total; g.next++ {
		g.tally(traffic.Result{At: g.start.Add(g.offset(g.next)), Err: outcome[g.next]})
	}
	if len(g.runs) != 3 {
		t.Errorf("runs %+v, want 3", g.runs)
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		from, to                   time.Duration
		sent, ok, unreach, rejects int
	}{
		{0, 10 * time.Second, 12, 7, 4, 1},
		{0, time.Second, 0, 0, 0, 0},
		{time.Second, 1750 * ms, 3, 3, 0, 0},
		{1750 * ms, 2750 * ms, 4, 0, 3, 1},
		{1800 * ms, 2500 * ms, 2, 0, 2, 0},
		{2500 * ms, 3500 * ms, 4, 3, 0, 1},
		{3500 * ms, 4 * time.Second, 2, 1, 1, 0},
		{3 * time.Second, 2 * time.Second, 0, 0, 0, 0},
	} {
		w := g.window(Epoch.Add(tc.from), Epoch.Add(tc.to))
		if w.Sent() != tc.sent || w.OK != tc.ok || w.Unreachable != tc.unreach || w.Rejected != tc.rejects {
			t.Errorf("[%v, %v): %+v, want sent %d ok %d unreachable %d rejected %d", tc.from, tc.to, w, tc.sent, tc.ok, tc.unreach, tc.rejects)
		}
	}
}

// A partitioned client node's kube-proxy cannot watch the API: its rules
// keep the dead endpoint after the others dropped it, until the partition
// heals.
func TestTrafficPartitionedClientKeepsStaleRules(t *testing.T) {
	src := strings.Replace(trafficScenario, "timeline:\n", `timeline:
  - {at: 50s, action: partitionNode, node: a-0}
  - {at: 130s, action: healNode, node: a-0}
`, 1)
	src = strings.Replace(src, "traffic:\n", `traffic:
  - {name: side, service: web, port: 80, rate: 10, from: 20s, until: 2m30s, client: a-1}
`, 1)
	src = src[:strings.Index(src, "expectations:")]
	sc, err := scenario.ParseFS(fstest.MapFS{}, "traffic.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Run()
	s := time.Second
	count := func(name string, from, to time.Duration) traffic.Window {
		return w.traffic.gen(name).window(Epoch.Add(from), Epoch.Add(to))
	}
	if c := count("main", 110*s, 130*s); c.Unreachable == 0 || c.Failed() != c.Unreachable {
		t.Errorf("main from the partitioned a-0 after the endpoints update: %+v, want stale routes to the dead pod", c)
	}
	if c := count("main", 130*s, 150*s); c.Sent() != 200 || c.Failed() != 0 {
		t.Errorf("main after the partition healed: %+v", c)
	}
	if c := count("side", 110*s, 150*s); c.Sent() != 400 || c.Failed() != 0 {
		t.Errorf("side from a-1 after the endpoints update: %+v", c)
	}
}
