package main

import (
	"bytes"
	"testing"

	"github.com/drydock-sim/drydock/sim"
)

func TestPrintTraffic(t *testing.T) {
	for _, tc := range []struct {
		res  sim.TrafficResult
		want string
	}{
		{sim.TrafficResult{Name: "web-clients", Service: "default/web:80", Client: "worker-4", Sent: 10800, OK: 10639, Failed: 161,
			Failures: map[string]int{"unreachable": 160, "clientDown": 1}},
			"traffic    web-clients -> default/web:80 from worker-4: 10639 of 10800 answered (98.50%); 161 failed: clientDown 1, unreachable 160\n"},
		{sim.TrafficResult{Name: "x", Service: "ns/api:http", Client: "a-0", Sent: 30000, OK: 29999, Failed: 1, Failures: map[string]int{"noRule": 1}},
			"traffic    x -> ns/api:http from a-0: 29999 of 30000 answered (99.99%); 1 failed: noRule 1\n"},
		{sim.TrafficResult{Name: "idle", Service: "default/web:80", Client: "a-0"},
			"traffic    idle -> default/web:80 from a-0: 0 of 0 answered\n"},
	} {
		var b bytes.Buffer
		printTraffic(&b, tc.res)
		if b.String() != tc.want {
			t.Errorf("got  %q\nwant %q", b.String(), tc.want)
		}
	}
}
