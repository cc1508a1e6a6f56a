package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 10 is the 5th", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 50, 5 * time.Millisecond},
		{"p99 of 10 is the max", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 99, 10 * time.Millisecond},
		{"p90 of 10 is the 9th", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 90, 9 * time.Millisecond},
		{"p50 of 3 is the median", ms(30, 10, 20), 50, 20 * time.Millisecond},
		{"p100 is the max", ms(3, 1, 2), 100, 3 * time.Millisecond},
		{"tiny p is the min", ms(3, 1, 2), 0.1, 1 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tc.samples...)
			if got := Percentile(tc.samples, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.samples, tc.p, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.samples[i] {
					t.Fatalf("Percentile reordered its input: %v", tc.samples)
				}
			}
		})
	}
}

const statusSample = `Name:	drydock
Umask:	0022
State:	S (sleeping)
VmPeak:	 2455124 kB
VmHWM:	   98312 kB
VmRSS:	   91200 kB
RssAnon:	   60100 kB
RssFile:	   31100 kB
RssShmem:	       0 kB
Threads:	14
`

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ProcMemory
		wantErr string
	}{
		{"all fields", statusSample, ProcMemory{VmRSS: 91200 << 10, VmHWM: 98312 << 10, RssAnon: 60100 << 10, RssFile: 31100 << 10}, ""},
		{"missing field", strings.Replace(statusSample, "RssFile:", "RssFoo:", 1), ProcMemory{}, "3 of the fields"},
		{"bad unit", strings.Replace(statusSample, "91200 kB", "91200 MB", 1), ProcMemory{}, "VmRSS"},
		{"bad number", strings.Replace(statusSample, "98312", "9x312", 1), ProcMemory{}, "VmHWM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProcStatus(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The running test process has a status file the parser understands, with
// a peak at least as large as the current resident set.
func TestReadProcMemorySelf(t *testing.T) {
	m, err := ReadProcMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.VmRSS <= 0 || m.VmHWM < m.VmRSS || m.RssAnon+m.RssFile > m.VmRSS+(1<<20) {
		t.Fatalf("implausible %+v", m)
	}
	if _, err := ReadProcMemory(-1); err == nil {
		t.Fatal("no error for pid -1")
	}
}

func TestLastGC(t *testing.T) {
	log := `gc 1 @0.012s 2%: 0.024+2.2+0.005 ms clock, 0.048+0.52/0.41/0.31+0.010 ms cpu, 3->4->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
time=x level=INFO msg=hello
gc 2 @0.022s 5%: 0.019+9.9+0.004 ms clock, 0.039+2.4/0.68/0.27+0.009 ms cpu, 40->51->37 MB, 52 MB goal, 3 MB stacks, 0 MB globals, 2 P
`
	st, ok := LastGC(log)
	// CPU: 0.048+0.52+0.41+0.31+0.010 + 0.039+2.4+0.68+0.27+0.009 ms.
	if want := (GCStats{Cycles: 2, CPU: 4696 * time.Microsecond, LiveMB: 37, GoalMB: 52, StacksMB: 3}); !ok || st != want {
		t.Fatalf("LastGC = %+v, %v; want %+v, true", st, ok, want)
	}
	if _, ok := LastGC("no gc here"); ok {
		t.Fatal("ok without gc lines")
	}
}

func TestMiB(t *testing.T) {
	if got := MiB(3 << 19); got != "1.5 MiB" {
		t.Fatalf("MiB = %q", got)
	}
}

const smapsSample = `00400000-01c00000 r-xp 00000000 08:02 173521                             /tmp/x/drydock
Size:              24576 kB
Rss:               20000 kB
Pss:               20000 kB
01c00000-03000000 r--p 01800000 08:02 173521                             /tmp/x/drydock
Rss:                9000 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Rss:               30000 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
Rss:                1000 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Rss:                  12 kB
VmFlags: rd wr mr mw me gd ac
`

func TestParseSmaps(t *testing.T) {
	got, err := ParseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{"[anon]", "rw-p", 31000 << 10},
		{"/tmp/x/drydock", "r-xp", 20000 << 10},
		{"/tmp/x/drydock", "r--p", 9000 << 10},
		{"[stack]", "rw-p", 12 << 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("group %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := FormatMappings(got, 2); strings.Count(s, "\n") != 2 || !strings.Contains(s, "30.3 MiB  rw-p [anon]") {
		t.Fatalf("FormatMappings:\n%s", s)
	}
	if _, err := ParseSmaps(strings.NewReader("Rss: 5 kB\n")); err == nil {
		t.Fatal("no error for Rss before a mapping")
	}
	if _, err := ReadSmaps(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestResourceKind(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/namespaces/default/pods/p-1/status":                        "pods/status",
		"/api/v1/namespaces/default/pods/p-1":                               "pods",
		"/api/v1/namespaces/default/pods":                                   "pods",
		"/api/v1/namespaces/default/events":                                 "events",
		"/api/v1/namespaces/kube-node-lease":                                "namespaces",
		"/api/v1/nodes/n1/status":                                           "nodes/status",
		"/api/v1/pods":                                                      "pods",
		"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1": "leases",
		"/version": "/version",
	} {
		if got := resourceKind(path); got != want {
			t.Errorf("resourceKind(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseAndSummarizeRequests(t *testing.T) {
	log := `time=2026-12-06T04:20:00.100Z level=INFO msg=request method=PUT uri=/api/v1/namespaces/default/pods/a/status user=system:node:n1 code=200 remote=10.0.0.2:5000 duration=3.5ms
time=2026-12-06T04:20:00.200Z level=INFO msg=request method=POST uri=/api/v1/namespaces/default/events user=system:node:n1 code=201 remote=10.0.0.2:5000 duration=800µs
time=2026-12-06T04:20:00.300Z level=INFO msg=request method=PUT uri=/api/v1/namespaces/default/pods/b/status user=system:node:n1 code=200 remote=10.0.0.2:5000 duration=6.5ms
time=2026-12-06T04:20:00.400Z level=INFO msg=request method=GET uri="/api/v1/namespaces/default/pods?labelSelector=a%3Db&watch=true" user=drydock-admin code=200 remote=10.0.0.1:5000 duration=2s
time=2026-12-06T04:20:00.500Z level=INFO msg=something else
time=2026-12-06T04:20:09.000Z level=INFO msg=request method=POST uri=/api/v1/namespaces/default/pods user=drydock-admin code=201 remote=10.0.0.1:5000 duration=9ms
`
	reqs, err := ParseRequests(log)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 5 || !reqs[3].Watch || reqs[3].Kind != "pods" || reqs[1].Duration != 800*time.Microsecond || reqs[0].Code != 200 {
		t.Fatalf("parsed %+v", reqs)
	}
	from, _ := time.Parse(time.RFC3339, "2026-12-06T04:20:00Z")
	got := SummarizeRequests(reqs, from, from.Add(time.Second))
	want := []RequestSummary{
		{Key: "PUT pods/status node", Count: 2, Total: 10 * time.Millisecond, Max: 6500 * time.Microsecond},
		{Key: "POST events node", Count: 1, Total: 800 * time.Microsecond, Max: 800 * time.Microsecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("summary %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := ParseRequests("time=yesterday level=INFO msg=request method=GET uri=/ user=u code=200 remote=r duration=1ms"); err == nil {
		t.Fatal("no error for a bad time")
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (drydock node) S 1 4242 4242 0 -1 4194560 9000 100 0 0 150 50 7 3 20 0 14 0 1234 2455124 22800 18446744073709551615\n"
	got, err := ParseStat(line)
	if err != nil || got != (CPUTimes{Self: 2 * time.Second, Children: 100 * time.Millisecond}) {
		t.Fatalf("ParseStat = %+v, %v", got, err)
	}
	for _, bad := range []string{"4242 drydock S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 9000 100 0 0 1x0 50 7 3 20"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
	if c, err := ReadCPU(os.Getpid()); err != nil || c.Self < 0 {
		t.Fatalf("ReadCPU(self) = %+v, %v", c, err)
	}
}

func TestMemStatsLines(t *testing.T) {
	const profile = "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n\n" +
		"# runtime.MemStats\n# Alloc = 1048576\n# Sys = 31457280\n# HeapSys = 20971520\n# HeapIdle = 8388608\n" +
		"# HeapInuse = 12582912\n# HeapReleased = 4194304\n# Stack = 2097152 / 2097152\n# MSpan = 524288 / 655360\n" +
		"# GCSys = 3145728\n# PauseNs = [1 2 3]\n# NumGC = 7\n"
	want := "  Sys           30.0 MiB\n  HeapSys       20.0 MiB\n  HeapIdle      8.0 MiB\n  HeapInuse     12.0 MiB\n" +
		"  HeapReleased  4.0 MiB\n  Stack         2.0 MiB / 2.0 MiB\n  MSpan         0.5 MiB / 0.6 MiB\n  GCSys         3.0 MiB\n" +
		"  Sys-Released  26.0 MiB\n"
	if got := MemStatsLines(profile); got != want {
		t.Errorf("MemStatsLines:\n%s\nwant:\n%s", got, want)
	}
	if got := MemStatsLines("heap profile: 0: 0 [0: 0] @ heap/1\n"); got != "" {
		t.Errorf("no MemStats: %q", got)
	}
}
