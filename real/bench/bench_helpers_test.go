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
	if want := (GCStats{Cycles: 2, LiveMB: 37, GoalMB: 52, StacksMB: 3}); !ok || st != want {
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
