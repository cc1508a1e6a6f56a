package expect

import (
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/sim/scenario"
	"github.com/drydock-sim/drydock/sim/traffic"
)

// trafficView is a fakeView with one traffic entry "web" sending rate
// requests per second from t=0, whose outcome at each time fail decides
// ("" answered, else the failure: "unreachable", "rejected", "down").
type trafficView struct {
	fakeView
	rate float64
	fail func(time.Duration) string
	// seen records the spans asked for.
	seen [][2]time.Duration
}

func (v *trafficView) Traffic(name string, from, to time.Time) (traffic.Window, bool) {
	if name != "web" {
		return traffic.Window{}, false
	}
	v.seen = append(v.seen, [2]time.Duration{from.Sub(t0), to.Sub(t0)})
	w := traffic.Window{Start: from}
	gap := time.Duration(float64(time.Second) / v.rate)
	for at := time.Duration(0); t0.Add(at).Before(to) && at <= v.now; at += gap {
		if t0.Add(at).Before(from) {
			continue
		}
		switch v.fail(at) {
		case "":
			w.OK++
		case "unreachable":
			w.Unreachable++
		case "rejected":
			w.Rejected++
		default:
			w.Other++
		}
	}
	return w, true
}

// parseTraffic builds a 10m scenario with a Service web and a traffic entry
// web (rate given) and the expectations.
func parseTraffic(t *testing.T, rate, expectations string) *scenario.Scenario {
	t.Helper()
	src := `name: t
duration: 10m
nodePools:
  - {name: a, count: 2, capacity: {cpu: "4", memory: 8Gi}}
objects:
  - inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec: {selector: {app: web}, ports: [{port: 80}]}
traffic:
  - {name: web, service: web, port: 80, rate: ` + rate + `}
expectations:
` + expectations
	sc, err := scenario.ParseFS(fstest.MapFS{}, "t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// runTraffic drives the checker as the simulator does and returns the
// sample times and results.
func runTraffic(c *Checker, v *trafficView, end time.Duration) ([]time.Duration, []Result) {
	var times []time.Duration
	for {
		at, ok := c.Next()
		if !ok || at.Sub(t0) > end {
			break
		}
		v.now = at.Sub(t0)
		times = append(times, v.now)
		c.Observe(v)
	}
	v.now = end
	return times, c.Finish(v)
}

func TestServiceAnswered(t *testing.T) {
	s := time.Second
	// One request in twenty fails from 60s to 70s (10 of the 200 sent
	// then): 10 failures out of 12000 in the run.
	someFail := func(at time.Duration) string {
		if at >= 60*s && at < 70*s && (at/(50*time.Millisecond))%20 == 0 {
			return "unreachable"
		}
		return ""
	}
	// Nothing answers before 2m: no endpoints, then a dead pod.
	downUntil2m := func(at time.Duration) string {
		switch {
		case at < 90*s:
			return "rejected"
		case at < 2*time.Minute:
			return "unreachable"
		}
		return ""
	}
	cases := []struct {
		name         string
		rate         string
		fail         func(time.Duration) string
		expectations string
		end          time.Duration
		wantTimes    []time.Duration
		want         []Result
	}{
		{
			name: "always over the whole run, by default", rate: "20", fail: someFail, end: 10 * time.Minute,
			expectations: `
- {name: rate, serviceAnswered: {traffic: web, minSuccessRate: 0.999}}
- {name: strict, serviceAnswered: {traffic: web}}
- {name: budget, serviceAnswered: {traffic: web, maxFailures: 10}}
`,
			wantTimes: []time.Duration{10 * time.Minute},
			want: []Result{
				{"rate", true, "11990 of 12000 requests answered in [0s, 10m) (99.91%); failed: 10 unreachable; want success rate >= 0.999"},
				{"strict", false, "11990 of 12000 requests answered in [0s, 10m) (99.91%); failed: 10 unreachable; want at most 0 failures"},
				{"budget", true, "11990 of 12000 requests answered in [0s, 10m) (99.91%); failed: 10 unreachable; want at most 10 failures"},
			},
		},
		{
			name: "always window", rate: "20", fail: someFail, end: 10 * time.Minute,
			expectations: `
- {name: before, always: true, until: 1m, serviceAnswered: {traffic: web}}
- {name: during, always: true, from: 1m, until: 80s, serviceAnswered: {traffic: web, minSuccessRate: 0.96, maxFailures: 9}}
`,
			wantTimes: []time.Duration{time.Minute, 80 * s},
			want: []Result{
				{"before", true, "1200 of 1200 requests answered in [0s, 1m) (100%); want at most 0 failures"},
				{"during", false, "390 of 400 requests answered in [1m, 1m20s) (97.5%); failed: 10 unreachable; want success rate >= 0.96 and at most 9 failures"},
			},
		},
		{
			name: "by looks at the last interval", rate: "20", fail: downUntil2m, end: 10 * time.Minute,
			expectations: `
- {name: back, from: 1m, by: 3m, serviceAnswered: {traffic: web}}
- {name: too-soon, by: 1m, serviceAnswered: {traffic: web}}
`,
			want: []Result{
				{"back", true, "held at 2m1s"},
				{"too-soon", false, "not by 1m: 0 of 20 requests answered in [59s, 1m) (0%); failed: 20 rejected (no endpoints); want at most 0 failures"},
			},
		},
		{
			name: "at looks back far enough for one request", rate: "0.5", fail: downUntil2m, end: 10 * time.Minute,
			expectations: `
- {name: down, at: 100s, serviceAnswered: {traffic: web}}
- {name: up, at: 3m, serviceAnswered: {traffic: web}}
`,
			wantTimes: []time.Duration{100 * s, 3 * time.Minute},
			want: []Result{
				{"down", false, "at 1m40s: 0 of 1 requests answered in [1m38s, 1m40s) (0%); failed: 1 unreachable; want at most 0 failures"},
				{"up", true, "at 3m: 1 of 1 requests answered in [2m58s, 3m) (100%); want at most 0 failures"},
			},
		},
		{
			name: "run ends before until", rate: "1", fail: func(time.Duration) string { return "down" }, end: 30 * s,
			expectations: `
- {name: cut, serviceAnswered: {traffic: web, minSuccessRate: 0.5}}
`,
			wantTimes: nil,
			want: []Result{
				{"cut", false, "0 of 30 requests answered in [0s, 30s) (0%); failed: 30 client node down; want success rate >= 0.5 (run ended at 30s)"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(parseTraffic(t, tc.rate, tc.expectations), t0)
			v := &trafficView{rate: mustRate(tc.rate), fail: tc.fail}
			times, results := runTraffic(c, v, tc.end)
			if tc.wantTimes != nil || len(times) == 0 {
				if !reflect.DeepEqual(times, tc.wantTimes) {
					t.Errorf("sampled at %v, want %v", times, tc.wantTimes)
				}
			}
			if !reflect.DeepEqual(results, tc.want) {
				t.Errorf("results:\n%+v\nwant\n%+v", results, tc.want)
			}
		})
	}
}

func mustRate(s string) float64 {
	switch s {
	case "20":
		return 20
	case "1":
		return 1
	case "0.5":
		return 0.5
	}
	panic(s)
}

// A view without traffic (or with other traffic) fails the check and says why.
func TestServiceAnsweredWithoutTraffic(t *testing.T) {
	sc := parseTraffic(t, "1", "- {name: x, at: 1m, serviceAnswered: {traffic: web}}\n")
	c := New(sc, t0)
	_, res := runChecker(c, &fakeView{}, func(time.Duration) []*corev1.Pod { return nil }, 10*time.Minute)
	if res[0].Passed || res[0].Detail != "at 1m: this run has no traffic" {
		t.Errorf("%+v", res[0])
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		ok, sent int
		want     string
	}{
		{1, 1, "100%"}, {0, 5, "0%"}, {1, 2, "50%"}, {39, 40, "97.5%"}, {9999, 10000, "99.99%"},
		{99999, 100000, "99.99%"}, {1, 3, "33.33%"}, {101, 10000, "1.01%"},
	} {
		if got := percent(tc.ok, tc.sent); got != tc.want {
			t.Errorf("percent(%d, %d) = %s, want %s", tc.ok, tc.sent, got, tc.want)
		}
	}
}
