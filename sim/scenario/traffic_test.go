package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// trafficObjects follows header: a Service web (ports 80 "http" TCP and 53
// "dns" UDP) and a headless Service db in namespace data: 15 lines, so the
// next line is 22.
const trafficObjects = `objects:
  - inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports:
          - {name: http, port: 80}
          - {name: dns, port: 53, protocol: UDP}
  - inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: db, namespace: data}
      spec: {clusterIP: None, ports: [{port: 5432}]}
`

func TestParseTraffic(t *testing.T) {
	src := header + trafficObjects + `timeline:
  - at: 2m
    action: apply
    inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: late, namespace: other}
      spec: {ports: [{port: 8080}]}
traffic:
  - {name: web-clients, service: default/web, port: 80, rate: 20, from: 30s, until: 9m, client: a-2}
  - {name: by-name, service: web, port: http, rate: 0.5}
  - {name: late, service: other/late, port: 8080, rate: 100, from: 2m}
expectations:
  - serviceAnswered: {traffic: web-clients, minSuccessRate: 0.99}
  - {from: 1m, by: 2m, serviceAnswered: {traffic: by-name}}
  - {name: both, at: 5m, serviceAnswered: {traffic: late, minSuccessRate: 0.5, maxFailures: 3}}
`
	sc, err := ParseFS(testFS, "t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Traffic{
		{Name: "web-clients", Namespace: "default", Service: "web", Port: 80, Rate: 20, From: 30 * time.Second, Until: 9 * time.Minute, Client: "a-2", Line: 31},
		{Name: "by-name", Namespace: "default", Service: "web", PortName: "http", Rate: 0.5, Until: 10 * time.Minute, Client: "a-0", Line: 32},
		{Name: "late", Namespace: "other", Service: "late", Port: 8080, Rate: 100, From: 2 * time.Minute, Until: 10 * time.Minute, Client: "a-0", Line: 33},
	}
	if len(sc.Traffic) != len(want) {
		t.Fatalf("traffic %+v", sc.Traffic)
	}
	for i := range want {
		if sc.Traffic[i] != want[i] {
			t.Errorf("traffic[%d] = %+v, want %+v", i, sc.Traffic[i], want[i])
		}
	}
	if got := sc.Traffic[1].Target(); got != "default/web:http" {
		t.Errorf("Target() = %q", got)
	}
	if sc.TrafficByName("late") != &sc.Traffic[2] || sc.TrafficByName("nope") != nil {
		t.Errorf("TrafficByName")
	}
	exps := []struct {
		name            string
		check           Check
		always, by, at  bool
		from, until, ts time.Duration
	}{
		{name: "serviceAnswered web-clients minSuccessRate 0.99 always",
			check: Check{Traffic: "web-clients", MinSuccessRate: 0.99, HasMinSuccessRate: true}, always: true, until: 10 * time.Minute},
		{name: "serviceAnswered by-name maxFailures 0 from 1m by 2m",
			check: Check{Traffic: "by-name", HasMaxFailures: true}, by: true, from: time.Minute, until: 10 * time.Minute, ts: 2 * time.Minute},
		{name: "both",
			check: Check{Traffic: "late", MinSuccessRate: 0.5, HasMinSuccessRate: true, MaxFailures: 3, HasMaxFailures: true}, at: true, until: 10 * time.Minute, ts: 5 * time.Minute},
	}
	for i, w := range exps {
		e := sc.Expectations[i]
		c := e.Check
		if e.Name != w.name || c.Kind != CheckServiceAnswered || c.Traffic != w.check.Traffic ||
			c.MinSuccessRate != w.check.MinSuccessRate || c.HasMinSuccessRate != w.check.HasMinSuccessRate ||
			c.MaxFailures != w.check.MaxFailures || c.HasMaxFailures != w.check.HasMaxFailures {
			t.Errorf("expectation %d: %q %+v", i, e.Name, c)
		}
		if e.Always != w.always || e.HasBy != w.by || e.HasAt != w.at || e.From != w.from || e.Until != w.until ||
			(w.by && e.By != w.ts) || (w.at && e.At != w.ts) {
			t.Errorf("expectation %d timing: %+v", i, e)
		}
	}
}

func TestParseTrafficErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"shape", header + trafficObjects + `traffic:
  - {}
  - {name: Bad_Name, service: web, port: 80, rate: 1}
  - {name: x, service: web, port: 80, rate: 1, colour: red}
  - {name: x, service: web, port: 80, rate: 1}
  - name: y
`, []string{
			`t.yaml:23: traffic[0].name: missing required field`,
			`t.yaml:23: traffic[0].service: missing required field`,
			`t.yaml:23: traffic[0].port: missing required field`,
			`t.yaml:23: traffic[0].rate: missing required field`,
			`t.yaml:24: traffic[1].name: invalid traffic name "Bad_Name": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`t.yaml:25: traffic[2].colour: unknown field (want one of name, service, port, rate, from, until, client)`,
			`t.yaml:26: traffic[3].name: duplicate traffic name "x" (first at line 25)`,
			`t.yaml:27: traffic[4].service: missing required field`,
			`t.yaml:27: traffic[4].port: missing required field`,
			`t.yaml:27: traffic[4].rate: missing required field`}},
		{"not a list", header + "traffic: {name: x}\n", []string{
			`t.yaml:7: traffic: want a list, got a mapping`}},
		{"fields", header + trafficObjects + `traffic:
  - {name: a, service: a/b/c, port: 80, rate: 1}
  - {name: b, service: Web, port: 0, rate: 0}
  - {name: c, service: web, port: "80", rate: 20000}
  - {name: d, service: web, port: 80, rate: fast}
  - {name: e, service: web, port: [80], rate: 1, from: 5m, until: 4m}
  - {name: f, service: web, port: 80, rate: 1, from: 11m}
  - {name: g, service: web, port: 80, rate: 1, until: 10m, client: a-9}
  - {name: h, service: web, port: 80, rate: 1, from: 10m}
`, []string{
			`t.yaml:23: traffic[0].service: invalid service name "b/c": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
			`t.yaml:24: traffic[1].service: invalid service name "Web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
			`t.yaml:24: traffic[1].port: must be between 1 and 65535, got 0`,
			`t.yaml:24: traffic[1].rate: requests per second must be above 0 and at most 10000, got 0`,
			`t.yaml:25: traffic[2].port: invalid port name "80": must contain at least one letter (a-z)`,
			`t.yaml:25: traffic[2].rate: requests per second must be above 0 and at most 10000, got 20000`,
			`t.yaml:26: traffic[3].rate: want a number, got string "fast"`,
			`t.yaml:27: traffic[4].port: want a port number or name, got a list`,
			`t.yaml:27: traffic[4].from: from (5m) must be before until (4m)`,
			`t.yaml:28: traffic[5].from: 11m is after the end of the scenario (duration 10m)`,
			`t.yaml:29: traffic[6].client: unknown node "a-9" (nodes: a-0..a-2)`,
			`t.yaml:30: traffic[7].from: from (10m) must be before until (10m)`}},
		{"service and port", header + trafficObjects + `timeline:
  - at: 5m
    action: apply
    inline: |
      apiVersion: v1
      kind: Service
      metadata: {name: late}
      spec: {ports: [{port: 80}]}
traffic:
  - {name: a, service: nope, port: 80, rate: 1}
  - {name: b, service: web, port: 53, rate: 1}
  - {name: c, service: web, port: https, rate: 1}
  - {name: d, service: data/db, port: 5432, rate: 1}
  - {name: e, service: late, port: 80, rate: 1, until: 5m}
  - {name: f, service: late, port: 80, rate: 1, from: 5m}
`, []string{
			`t.yaml:31: traffic[0].service: service default/nope is not created by objects or by an apply before the traffic ends`,
			`t.yaml:32: traffic[1].port: service default/web has no TCP port 53 (ports: 80/TCP "http", 53/UDP "dns")`,
			`t.yaml:33: traffic[2].port: service default/web has no TCP port "https" (ports: 80/TCP "http", 53/UDP "dns")`,
			`t.yaml:34: traffic[3].service: service data/db is headless (clusterIP None): it has no virtual IP to send traffic to`,
			`t.yaml:35: traffic[4].service: service default/late is not created by objects or by an apply before the traffic ends`}},
		{"serviceAnswered", header + trafficObjects + `traffic:
  - {name: web-clients, service: web, port: 80, rate: 1}
expectations:
  - serviceAnswered: {traffic: nope}
  - serviceAnswered: {minSuccessRate: 1.5, maxFailures: -1}
  - serviceAnswered: {traffic: web-clients, minSuccessRate: high}
  - serviceAnswered: {traffic: web-clients, count: 3}
  - serviceAnswered: web-clients
`, []string{
			`t.yaml:25: expectations[0].serviceAnswered.traffic: unknown traffic "nope" (traffic: web-clients)`,
			`t.yaml:26: expectations[1].serviceAnswered.traffic: missing required field`,
			`t.yaml:26: expectations[1].serviceAnswered.minSuccessRate: must be between 0 and 1 (a fraction, e.g. 0.99), got 1.5`,
			`t.yaml:26: expectations[1].serviceAnswered.maxFailures: must be at least 0, got -1`,
			`t.yaml:27: expectations[2].serviceAnswered.minSuccessRate: want a number, got string "high"`,
			`t.yaml:28: expectations[3].serviceAnswered.count: unknown field (want one of traffic, minSuccessRate, maxFailures)`,
			`t.yaml:29: expectations[4].serviceAnswered: want a mapping, got string "web-clients"`}},
		{"serviceAnswered without traffic", header + `expectations:
  - serviceAnswered: {traffic: web}
`, []string{
			`t.yaml:8: expectations[0].serviceAnswered.traffic: unknown traffic "web" (the scenario has no traffic entries)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFS(testFS, "t.yaml", []byte(tc.src))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v, want Errors", err)
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
