// Package bench holds real mode's end-to-end benchmarks (issue 3): pod
// startup latency (create → Running) of a batch of 10 pods on one node next
// to bare containerd create+start of the same image in the same run, and the
// resident memory of `drydock server` and of the node agent, each a
// separate process, with one node and 100 pods running.
//
// The benchmarks live in bench_test.go and run only with -bench, as root with
// containerd, iptables, nsenter and the CNI plugins (they skip without them,
// and fail under CI=true):
//
//	go test ./real/bench -run '^$' -bench . -benchtime 3x
//
// They build cmd/drydock (or use the binary DRYDOCK_BENCH_BINARY names),
// start the server in the root network namespace on one end of a veth pair
// and the node agent with `nsenter --net` in a network namespace of its own
// on the other end, and remove everything when done: processes, the
// containerd namespaces with their containers, snapshots and images, the
// pods' network namespaces and cgroup folders, the veth pair and network
// namespace (with the agent's bridge and iptables chains in it), temp dirs.
//
// BenchmarkMemory runs the agent both as `drydock node` and as drydock-node
// (cmd/drydock-node: the same command without the server side linked in,
// which DRYDOCK_BENCH_NODE_BINARY may name prebuilt), and logs the agent's
// heap profile. DRYDOCK_BENCH_REQUEST_LOG=1 makes BenchmarkPodStartup
// summarise the API requests of each batch from the server's request log;
// DRYDOCK_BENCH_PROFILE_DIR keeps the heap profiles. Figures and their
// conditions: docs/BENCHMARKS.md, "Real mode: pod startup and memory".
//
// This file has the small measuring helpers the plain `go test` run checks.
package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of samples:
// the smallest sample with at least p% of the samples at or below it. With
// fewer than 100 samples p99 is therefore the maximum. It returns 0 for no
// samples.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

// ProcMemory is the memory of one process as /proc/PID/status reports it,
// in bytes.
type ProcMemory struct {
	VmRSS   int64 // resident set now
	VmHWM   int64 // peak resident set ("high water mark")
	RssAnon int64 // resident anonymous memory (heap, stacks)
	RssFile int64 // resident file mappings (the binary's text, shared)
}

// ParseProcStatus reads the memory fields of a /proc/PID/status text. Every
// field must be present (kernels since 4.5 have them all).
func ParseProcStatus(r io.Reader) (ProcMemory, error) {
	var m ProcMemory
	fields := map[string]*int64{"VmRSS": &m.VmRSS, "VmHWM": &m.VmHWM, "RssAnon": &m.RssAnon, "RssFile": &m.RssFile}
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		dst, want := fields[name]
		if !ok || !want {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("status field %s: %q, want \"<n> kB\"", name, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("status field %s: %w", name, err)
		}
		*dst = kb * 1024
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if seen != len(fields) {
		return m, fmt.Errorf("status: %d of the fields VmRSS, VmHWM, RssAnon, RssFile found", seen)
	}
	return m, nil
}

// ReadProcMemory reads /proc/PID/status.
func ReadProcMemory(pid int) (ProcMemory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMemory{}, err
	}
	defer f.Close()
	m, err := ParseProcStatus(f)
	if err != nil {
		return m, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return m, nil
}

// gcLine matches a GODEBUG=gctrace=1 line's CPU and heap figures: the CPU
// times of its phases (stop-the-world sweep termination, assist /
// background / idle marking, mark termination), the heap at GC start ->
// at GC end -> live, the goal, and the goroutine stacks.
var gcLine = regexp.MustCompile(`([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, (\d+) MB stacks`)

// GCStats is what the GODEBUG=gctrace=1 lines of a log say.
type GCStats struct {
	Cycles   int           // gc lines in the log
	CPU      time.Duration // CPU time of all the cycles, idle-time marking included
	LiveMB   int           // heap marked live by the last cycle
	GoalMB   int           // heap goal of the last cycle
	StacksMB int           // goroutine stacks scanned by the last cycle
}

// LastGC reads the GODEBUG=gctrace=1 lines of log: their number and CPU
// time, and the last one's heap figures. ok is false when there is none.
func LastGC(log string) (st GCStats, ok bool) {
	all := gcLine.FindAllStringSubmatch(log, -1)
	if len(all) == 0 {
		return st, false
	}
	var ms float64
	for _, m := range all {
		for _, f := range m[1:6] {
			v, _ := strconv.ParseFloat(f, 64)
			ms += v
		}
	}
	last := all[len(all)-1]
	st.Cycles = len(all)
	st.CPU = time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond)
	st.LiveMB, _ = strconv.Atoi(last[8])
	st.GoalMB, _ = strconv.Atoi(last[9])
	st.StacksMB, _ = strconv.Atoi(last[10])
	return st, true
}

// MiB formats bytes as mebibytes with one decimal.
func MiB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// Mapping is the resident memory of the mappings of one file (or of the
// anonymous ones) with one set of permissions, from /proc/PID/smaps.
type Mapping struct {
	Name  string // path, "[heap]", "[stack]", ... or "[anon]"
	Perms string // e.g. r-xp
	Rss   int64  // bytes
}

// ParseSmaps sums the Rss of a /proc/PID/smaps text per (name, permissions)
// and returns the groups, largest first.
func ParseSmaps(r io.Reader) ([]Mapping, error) {
	type key struct{ name, perms string }
	sums := map[key]int64{}
	var cur *key
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			k := key{name: "[anon]", perms: f[1]}
			if len(f) >= 6 {
				k.name = strings.Join(f[5:], " ")
			}
			cur = &k
			continue
		}
		if len(f) == 3 && f[0] == "Rss:" {
			if cur == nil {
				return nil, errors.New("smaps: Rss before any mapping")
			}
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || f[2] != "kB" {
				return nil, fmt.Errorf("smaps: bad Rss line %q", line)
			}
			sums[*cur] += kb * 1024
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]Mapping, 0, len(sums))
	for k, v := range sums {
		out = append(out, Mapping{Name: k.name, Perms: k.perms, Rss: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rss != out[j].Rss {
			return out[i].Rss > out[j].Rss
		}
		return out[i].Name+out[i].Perms < out[j].Name+out[j].Perms
	})
	return out, nil
}

// ReadSmaps reads /proc/PID/smaps.
func ReadSmaps(pid int) ([]Mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseSmaps(f)
}

// FormatMappings lists the first n mappings as "name perms size" lines.
func FormatMappings(ms []Mapping, n int) string {
	var b strings.Builder
	for i, m := range ms {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "  %10s  %s %s\n", MiB(m.Rss), m.Perms, m.Name)
	}
	return b.String()
}

// Request is one line of `drydock server --log-requests` output.
type Request struct {
	End      time.Time // when it was logged (the request's end)
	Method   string
	Kind     string // resource[/subresource], e.g. "pods/status", "events"
	User     string
	Code     int
	Duration time.Duration // as the server measured it
	Watch    bool
}

// requestLine matches a request log line; slog quotes the URI when it has
// characters such as '=' (a query).
var requestLine = regexp.MustCompile(`time=(\S+) level=\S+ msg=request method=(\S+) uri=("(?:[^"\\]|\\.)*"|\S+) user=(\S+) code=(\d+) remote=\S+ duration=(\S+)`)

// ParseRequests reads the request lines of a server log; other lines are
// skipped.
func ParseRequests(log string) ([]Request, error) {
	var out []Request
	for _, m := range requestLine.FindAllStringSubmatch(log, -1) {
		end, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return nil, fmt.Errorf("request log time %q: %w", m[1], err)
		}
		d, err := time.ParseDuration(m[6])
		if err != nil {
			return nil, fmt.Errorf("request log duration %q: %w", m[6], err)
		}
		code, _ := strconv.Atoi(m[5])
		uri := m[3]
		if strings.HasPrefix(uri, `"`) {
			if u, err := strconv.Unquote(uri); err == nil {
				uri = u
			}
		}
		path, query, _ := strings.Cut(uri, "?")
		out = append(out, Request{End: end, Method: m[2], Kind: resourceKind(path), User: m[4], Code: code, Duration: d,
			Watch: strings.Contains(query, "watch=true") || strings.Contains(query, "watch=1")})
	}
	return out, nil
}

// resourceKind is the resource (and subresource) a request path names:
// /api/v1/namespaces/default/pods/p/status → "pods/status".
func resourceKind(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		seg = seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		seg = seg[3:]
	default:
		return path
	}
	if len(seg) >= 2 && seg[0] == "namespaces" && len(seg) != 2 {
		seg = seg[2:]
	}
	switch len(seg) {
	case 0:
		return path
	case 1, 2:
		return seg[0]
	default:
		return seg[0] + "/" + seg[2]
	}
}

// RequestSummary is the count and server time of one kind of request.
type RequestSummary struct {
	Key   string // "METHOD kind user-class"
	Count int
	Total time.Duration
	Max   time.Duration
}

// SummarizeRequests groups the non-watch requests that ended in [from, to]
// by method, kind and user class (node, admin or the user name), largest
// total first.
func SummarizeRequests(reqs []Request, from, to time.Time) []RequestSummary {
	by := map[string]*RequestSummary{}
	for _, r := range reqs {
		if r.Watch || r.End.Before(from) || r.End.After(to) {
			continue
		}
		user := r.User
		if strings.HasPrefix(user, "system:node:") {
			user = "node"
		} else if user == "drydock-admin" {
			user = "admin"
		}
		key := r.Method + " " + r.Kind + " " + user
		s := by[key]
		if s == nil {
			s = &RequestSummary{Key: key}
			by[key] = s
		}
		s.Count++
		s.Total += r.Duration
		if r.Duration > s.Max {
			s.Max = r.Duration
		}
	}
	out := make([]RequestSummary, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// CPUTimes is a process's CPU use from /proc/PID/stat: its own (user +
// system) and that of its waited-for children (CNI plugins, iptables).
type CPUTimes struct {
	Self, Children time.Duration
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// ParseStat reads utime, stime, cutime and cstime from a /proc/PID/stat
// line.
func ParseStat(line string) (CPUTimes, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return CPUTimes{}, fmt.Errorf("stat: no command name in %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return CPUTimes{}, fmt.Errorf("stat: %d fields after the command name, want at least 15", len(f))
	}
	var v [4]int64
	for k := range v {
		n, err := strconv.ParseInt(f[11+k], 10, 64)
		if err != nil {
			return CPUTimes{}, fmt.Errorf("stat field %d: %w", 14+k, err)
		}
		v[k] = n
	}
	return CPUTimes{Self: time.Duration(v[0]+v[1]) * clockTick, Children: time.Duration(v[2]+v[3]) * clockTick}, nil
}

// ReadCPU reads /proc/PID/stat.
func ReadCPU(pid int) (CPUTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPUTimes{}, err
	}
	return ParseStat(string(b))
}

// memStatNames are the runtime.MemStats fields MemStatsLines shows, in the
// order of a heap profile's text form.
var memStatNames = []string{"Sys", "HeapSys", "HeapIdle", "HeapInuse", "HeapReleased", "Stack", "MSpan", "MCache",
	"BuckHashSys", "GCSys", "OtherSys", "NextGC"}

// MemStatsLines reads the runtime.MemStats a text heap profile
// (pprof debug=1) ends with and lists the fields that make up the Go
// runtime's memory, in MiB ("in use / obtained" for Stack, MSpan and
// MCache), and Sys − HeapReleased: what the runtime holds from the
// operating system, the most of the process's anonymous memory it can
// account for. It returns "" if the text has no MemStats.
func MemStatsLines(profile string) string {
	_, stats, ok := strings.Cut(profile, "# runtime.MemStats\n")
	if !ok {
		return ""
	}
	vals := map[string][]int64{}
	for _, line := range strings.Split(stats, "\n") {
		name, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok {
			continue
		}
		var nums []int64
		for _, f := range strings.Split(val, " / ") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				nums = nil
				break
			}
			nums = append(nums, n)
		}
		if nums != nil {
			vals[name] = nums
		}
	}
	var b strings.Builder
	for _, name := range memStatNames {
		v, ok := vals[name]
		if !ok {
			continue
		}
		parts := make([]string, len(v))
		for i, n := range v {
			parts[i] = MiB(n)
		}
		fmt.Fprintf(&b, "  %-13s %s\n", name, strings.Join(parts, " / "))
	}
	if sys, rel := vals["Sys"], vals["HeapReleased"]; len(sys) == 1 && len(rel) == 1 {
		fmt.Fprintf(&b, "  %-13s %s\n", "Sys-Released", MiB(sys[0]-rel[0]))
	}
	return b.String()
}
