package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
)

// batchSize is the number of pods (and bare containers) started at once.
const batchSize = 10

// BenchmarkPodStartup: each iteration creates 10 busybox pods at once (10
// concurrent POSTs, no nodeName: the scheduler binds them) and measures,
// per pod, from just before its create request to the watch event that
// shows it Running; then, in the same iteration, starts 10 bare containerd
// containers of the same image at once (NewContainer with an overlayfs
// snapshot and the image's spec, NewTask without IO, Start; no network, no
// logs) and measures each from its first call to Start's return. Deleting
// the pods and containers between iterations is not timed. Reported: p50
// and p99 (nearest rank) over all iterations of each.
//
//	go test ./real/bench -run '^$' -bench PodStartup -benchtime 3x
func BenchmarkPodStartup(b *testing.B) {
	c := startCluster(b, drydockNode)
	bare := newBareContainerd(b)
	b.Logf("load average at start: %s", loadAvg())
	var podLat, bindLat, bareLat, bareCreate []time.Duration
	phaseLat := make([][]time.Duration, len(phaseNames))
	type window struct{ from, to time.Time }
	var windows []window
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		agent0, srv0 := c.cpu(b)
		from := time.Now()
		run, bound, marks := c.podBatch(b, i)
		to := time.Now()
		podLat, bindLat = append(podLat, run...), append(bindLat, bound...)
		b.StopTimer()
		for ph, d := range c.phases(b, marks) {
			phaseLat[ph] = append(phaseLat[ph], d...)
		}
		windows = append(windows, window{from, to})
		agent1, srv1 := c.cpu(b)
		b.Logf("batch %d: %s wall; CPU: agent %s (+ %s in its child processes), server %s", i, to.Sub(from).Round(time.Millisecond),
			agent1.Self-agent0.Self, agent1.Children-agent0.Children, srv1.Self-srv0.Self)
		c.deletePods(b, "bench-batch="+strconv.Itoa(i), 2*time.Minute)
		b.StartTimer()
		lat, create := bare.batch(b, i)
		bareLat, bareCreate = append(bareLat, lat...), append(bareCreate, create...)
		b.StopTimer()
		bare.clean(b)
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("load average at end: %s", loadAvg())
	b.Logf("pods create→Running (ms): %v", msList(podLat))
	b.Logf("pods create→bound   (ms): %v", msList(bindLat))
	b.Logf("bare containerd     (ms): %v", msList(bareLat))
	b.Logf("bare NewContainer   (ms): %v", msList(bareCreate))
	for ph, name := range phaseNames {
		b.Logf("phase %-48s p50 %4d ms, p99 %4d ms", name, Percentile(phaseLat[ph], 50).Milliseconds(), Percentile(phaseLat[ph], 99).Milliseconds())
	}
	if os.Getenv(requestLogEnv) != "" {
		reqs, err := ParseRequests(c.server.log())
		if err != nil {
			b.Fatal(err)
		}
		for i, w := range windows {
			var lines strings.Builder
			for _, r := range SummarizeRequests(reqs, w.from, w.to) {
				fmt.Fprintf(&lines, "  %-40s %4d requests, %8s in the server (max %s)\n", r.Key, r.Count,
					r.Total.Round(100*time.Microsecond), r.Max.Round(100*time.Microsecond))
			}
			b.Logf("batch %d API requests (non-watch, server-side time):\n%s", i, lines.String())
		}
	}
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"pod", podLat}, {"bound", bindLat}, {"bare", bareLat}} {
		b.ReportMetric(ms(Percentile(r.d, 50)), r.name+"-p50-ms")
		b.ReportMetric(ms(Percentile(r.d, 99)), r.name+"-p99-ms")
	}
}

// cpu reads the agent's and the server's CPU times.
func (c *cluster) cpu(b *testing.B) (agent, server CPUTimes) {
	b.Helper()
	agent, err := ReadCPU(c.agent.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	server, err = ReadCPU(c.server.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return agent, server
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msList(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Milliseconds()
	}
	return out
}

// podMarks are the moments of one pod's start seen from the benchmark.
type podMarks struct {
	name                    string
	created, bound, running time.Time
}

// phaseNames name the steps of a pod's start, between the moments the
// benchmark sees (create request, first watch event with a nodeName, watch
// event with phase Running) and those containerd records for the node
// agent's runtime (the sandbox record's last update, which marks it ready
// once the pod's network namespace, CNI network and pod files exist; the
// container record; the container's started-at label, set after its task
// started).
var phaseNames = []string{
	"create → bound (API, scheduler, watch)",
	"bound → sandbox recorded (agent watch, kubelet sync, netns, CNI)",
	"sandbox → container recorded (create)",
	"container recorded → started (task create + start)",
	"started → Running seen (status write, watch)",
}

// phases reads the node's containerd records of the batch's pods and
// returns, per phase of phaseNames, the durations of the pods.
func (c *cluster) phases(b *testing.B, marks []podMarks) [][]time.Duration {
	b.Helper()
	ctx := namespaces.WithNamespace(context.Background(), c.ctrNS)
	ctrs, err := c.ctr.Containers(ctx)
	if err != nil {
		b.Fatal(err)
	}
	type rec struct{ sandbox, container, started time.Time }
	recs := map[string]*rec{}
	for _, ctr := range ctrs {
		info, err := ctr.Info(ctx, client.WithoutRefreshedMetadata)
		if err != nil {
			b.Fatal(err)
		}
		pod := info.Labels["io.kubernetes.pod.name"]
		r := recs[pod]
		if r == nil {
			r = &rec{}
			recs[pod] = r
		}
		switch info.Labels["drydock.io/kind"] {
		case "sandbox":
			r.sandbox = info.UpdatedAt // the record is made first, then marked ready
		case "container":
			r.container = info.CreatedAt
			r.started, _ = time.Parse(time.RFC3339Nano, info.Labels["drydock.io/started-at"])
		}
	}
	out := make([][]time.Duration, len(phaseNames))
	for _, m := range marks {
		r := recs[m.name]
		if r == nil || r.sandbox.IsZero() || r.container.IsZero() || r.started.IsZero() {
			b.Fatalf("pod %s: containerd records incomplete: %+v", m.name, r)
		}
		for ph, d := range []time.Duration{m.bound.Sub(m.created), r.sandbox.Sub(m.bound), r.container.Sub(r.sandbox),
			r.started.Sub(r.container), m.running.Sub(r.started)} {
			out[ph] = append(out[ph], d)
		}
	}
	return out
}

// podBatch creates batchSize pods at once and returns, per pod, the time
// from its create request to the watch event with phase Running, and to the
// first watch event with a nodeName, and the moments themselves.
func (c *cluster) podBatch(b *testing.B, iter int) (running, bound []time.Duration, marks []podMarks) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	label := strconv.Itoa(iter)
	w, err := c.cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "bench-batch=" + label})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	created := make([]time.Time, batchSize)
	errs := make([]error, batchSize)
	var wg sync.WaitGroup
	for p := 0; p < batchSize; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pod := podSpec(fmt.Sprintf("bench-%s-%d", label, p), map[string]string{"bench-batch": label})
			created[p] = time.Now()
			_, errs[p] = c.cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		}()
	}

	runAt := map[string]time.Time{}
	boundAt := map[string]time.Time{}
	last := map[string]string{}
	for len(runAt) < batchSize {
		select {
		case ev, ok := <-w.ResultChan():
			now := time.Now()
			if !ok {
				b.Fatalf("watch closed with %d of %d pods Running; last states %v", len(runAt), batchSize, last)
			}
			if ev.Type == watch.Error {
				b.Fatalf("watch error: %v", ev.Object)
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || ev.Type == watch.Deleted {
				continue
			}
			last[pod.Name] = string(pod.Status.Phase)
			if _, seen := boundAt[pod.Name]; !seen && pod.Spec.NodeName != "" {
				boundAt[pod.Name] = now
			}
			if _, seen := runAt[pod.Name]; !seen && pod.Status.Phase == corev1.PodRunning {
				runAt[pod.Name] = now
			}
		case <-ctx.Done():
			b.Fatalf("%d of %d pods Running after 2 minutes; last states %v", len(runAt), batchSize, last)
		}
	}
	wg.Wait()
	for p := 0; p < batchSize; p++ {
		if errs[p] != nil {
			b.Fatalf("create pod %d: %v", p, errs[p])
		}
		name := fmt.Sprintf("bench-%s-%d", label, p)
		running = append(running, runAt[name].Sub(created[p]))
		bound = append(bound, boundAt[name].Sub(created[p]))
		marks = append(marks, podMarks{name: name, created: created[p], bound: boundAt[name], running: runAt[name]})
	}
	return running, bound, marks
}

// bareContainerd starts containers with the containerd client alone, in a
// containerd namespace of its own holding the same busybox image.
type bareContainerd struct {
	c     *client.Client
	ctx   context.Context
	img   client.Image
	ctrs  []client.Container
	tasks []client.Task
}

func newBareContainerd(b *testing.B) *bareContainerd {
	c, ns := ctrtest.Namespace(b)
	if _, err := images.EnsureBusybox(context.Background(), c, ns, ""); err != nil {
		b.Fatal(err)
	}
	ctx := namespaces.WithNamespace(context.Background(), ns)
	img, err := c.GetImage(ctx, images.BusyboxRef)
	if err != nil {
		b.Fatal(err)
	}
	bc := &bareContainerd{c: c, ctx: ctx, img: img}
	b.Cleanup(func() { bc.clean(b) }) // before ctrtest's purge
	return bc
}

// batch starts batchSize containers at once and returns each one's time
// from its first call to Start's return, and to NewContainer's return.
func (bc *bareContainerd) batch(b *testing.B, iter int) (lat, create []time.Duration) {
	b.Helper()
	lat = make([]time.Duration, batchSize)
	create = make([]time.Duration, batchSize)
	ctrs := make([]client.Container, batchSize)
	tasks := make([]client.Task, batchSize)
	errs := make([]error, batchSize)
	var wg sync.WaitGroup
	for p := 0; p < batchSize; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("bare-%d-%d", iter, p)
			t0 := time.Now()
			ctr, err := bc.c.NewContainer(bc.ctx, id, client.WithSnapshotter(images.Snapshotter), client.WithNewSnapshot(id, bc.img),
				client.WithNewSpec(oci.WithImageConfig(bc.img), oci.WithProcessArgs("sleep", "3600")))
			if err != nil {
				errs[p] = err
				return
			}
			ctrs[p] = ctr
			create[p] = time.Since(t0)
			task, err := ctr.NewTask(bc.ctx, cio.NullIO)
			if err != nil {
				errs[p] = err
				return
			}
			tasks[p] = task
			errs[p] = task.Start(bc.ctx)
			lat[p] = time.Since(t0)
		}()
	}
	wg.Wait()
	for _, ctr := range ctrs {
		if ctr != nil {
			bc.ctrs = append(bc.ctrs, ctr)
		}
	}
	for _, t := range tasks {
		if t != nil {
			bc.tasks = append(bc.tasks, t)
		}
	}
	for p, err := range errs {
		if err != nil {
			b.Fatalf("bare container %d: %v", p, err)
		}
	}
	return lat, create
}

// clean kills and deletes the bare containers started so far.
func (bc *bareContainerd) clean(b *testing.B) {
	for _, t := range bc.tasks {
		if _, err := t.Delete(bc.ctx, client.WithProcessKill); err != nil {
			b.Errorf("delete task %s: %v", t.ID(), err)
		}
	}
	for _, ctr := range bc.ctrs {
		if err := ctr.Delete(bc.ctx, client.WithSnapshotCleanup); err != nil {
			b.Errorf("delete container %s: %v", ctr.ID(), err)
		}
	}
	bc.tasks, bc.ctrs = nil, nil
}

// memPods is the number of pods running while memory is measured.
const memPods = 100

// BenchmarkMemory measures the resident memory of the `drydock server`
// process (API server, embedded etcd, scheduler, controllers) and of the
// node agent process, idle with one Ready node and then with 100 busybox
// pods Running on it. Each iteration creates the 100 pods (10 requests in
// flight), waits for all to be Running, samples both processes'
// /proc/PID/status every 500 ms for 10 s, then deletes the pods (not
// measured). Reported: the largest VmRSS seen in the sampling window and
// VmHWM (the peak since the process started, pod startup included); logged:
// the largest mappings from /proc/PID/smaps and the Go heap after the last
// GC (GODEBUG=gctrace=1).
//
// agent=drydock runs `drydock node`; agent=drydock-node runs drydock-node,
// the same command (real/node/nodecmd) in the node-only binary, which is
// what deploy/systemd runs on workers. Both log the agent's heap profile's
// largest in-use allocations (--heap-profile, SIGUSR1).
//
//	go test ./real/bench -run '^$' -bench Memory -benchtime 1x
func BenchmarkMemory(b *testing.B) {
	b.Run("agent=drydock", func(b *testing.B) { benchMemory(b, drydockNode) })
	b.Run("agent=drydock-node", func(b *testing.B) { benchMemory(b, nodeOnly) })
}

func benchMemory(b *testing.B, kind agentKind) {
	c := startCluster(b, kind)
	b.Logf("load average at start: %s", loadAvg())
	idleS, idleN := c.sample(b, 5*time.Second)
	b.Logf("idle, 1 node, 0 pods: server VmRSS %s (VmHWM %s, anon %s, file %s); node VmRSS %s (VmHWM %s, anon %s, file %s)",
		MiB(idleS.VmRSS), MiB(idleS.VmHWM), MiB(idleS.RssAnon), MiB(idleS.RssFile),
		MiB(idleN.VmRSS), MiB(idleN.VmHWM), MiB(idleN.RssAnon), MiB(idleN.RssFile))
	var srv, node ProcMemory
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		label := "mem-" + strconv.Itoa(i)
		start := time.Now()
		c.createPods(b, label, memPods)
		c.waitRunning(b, label, memPods, 3*time.Minute)
		b.StopTimer()
		b.Logf("%d pods Running %s after the first create", memPods, time.Since(start).Round(time.Millisecond))
		s, n := c.sample(b, 10*time.Second)
		srv, node = maxMem(srv, s), maxMem(node, n)
		if i == b.N-1 {
			c.logMappings(b)
			c.logHeapProfile(b)
		}
		c.deletePods(b, "bench-batch="+label, 3*time.Minute)
		b.StartTimer()
	}
	b.StopTimer()
	agentCPU, srvCPU := c.cpu(b)
	b.Logf("CPU since start: node %s (+ %s in its child processes), server %s", agentCPU.Self, agentCPU.Children, srvCPU.Self)
	b.Logf("load average at end: %s", loadAvg())
	b.Logf("1 node, %d pods: server VmRSS %s (VmHWM %s, anon %s, file %s); node VmRSS %s (VmHWM %s, anon %s, file %s)", memPods,
		MiB(srv.VmRSS), MiB(srv.VmHWM), MiB(srv.RssAnon), MiB(srv.RssFile),
		MiB(node.VmRSS), MiB(node.VmHWM), MiB(node.RssAnon), MiB(node.RssFile))
	for _, p := range []*proc{c.server, c.agent} {
		if st, ok := LastGC(p.log()); ok {
			b.Logf("%s: %d GC cycles, %s of CPU; the last: live heap %d MB, goal %d MB, goroutine stacks %d MB", p.name, st.Cycles,
				st.CPU.Round(time.Millisecond), st.LiveMB, st.GoalMB, st.StacksMB)
		}
	}
	b.ReportMetric(float64(srv.VmRSS)/(1<<20), "server-rss-MiB")
	b.ReportMetric(float64(srv.VmHWM)/(1<<20), "server-hwm-MiB")
	b.ReportMetric(float64(node.VmRSS)/(1<<20), "node-rss-MiB")
	b.ReportMetric(float64(node.VmHWM)/(1<<20), "node-hwm-MiB")
}

// logMappings logs each process's thread count and largest mappings.
func (c *cluster) logMappings(b *testing.B) {
	for _, p := range []*proc{c.server, c.agent} {
		ms, err := ReadSmaps(p.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("%s: %v", p.name, err)
		}
		threads := "?"
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)); err == nil {
			if _, rest, ok := strings.Cut(string(st), "\nThreads:"); ok {
				threads, _, _ = strings.Cut(strings.TrimSpace(rest), "\n")
			}
		}
		b.Logf("%s: %s threads; largest resident mappings:\n%s", p.name, threads, FormatMappings(ms, 8))
	}
}

// logHeapProfile has the agent write a heap profile and logs its
// largest in-use allocations (go tool pprof -top).
func (c *cluster) logHeapProfile(b *testing.B) {
	os.Remove(c.heapProfile)
	if err := c.agent.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		b.Fatal(err)
	}
	testsync.Until(b, "heap profile", 30*time.Second, func() (bool, string) {
		return strings.Contains(c.agent.log(), "heap profile written"), ""
	})
	if dir := os.Getenv("DRYDOCK_BENCH_PROFILE_DIR"); dir != "" {
		if data, err := os.ReadFile(c.heapProfile); err == nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(c.agentBin)+"-agent-heap.pprof"), data, 0o644) //nolint:errcheck
		}
	}
	if data, err := os.ReadFile(c.heapProfile); err == nil {
		b.Logf("%s agent runtime memory statistics:\n%s", filepath.Base(c.agentBin), MemStatsLines(string(data)))
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=20", "-sample_index=inuse_space", c.agentBin, c.heapProfile).CombinedOutput()
	if err != nil {
		b.Logf("go tool pprof: %v\n%s", err, out)
		return
	}
	b.Logf("%s agent heap profile (inuse_space):\n%s", filepath.Base(c.agentBin), out)
}

func maxMem(a, b ProcMemory) ProcMemory {
	if b.VmRSS > a.VmRSS {
		a.VmRSS, a.RssAnon, a.RssFile = b.VmRSS, b.RssAnon, b.RssFile
	}
	if b.VmHWM > a.VmHWM {
		a.VmHWM = b.VmHWM
	}
	return a
}

// sample reads both processes' memory every 500 ms for d and returns, per
// process, the sample with the largest VmRSS (with the last VmHWM).
func (c *cluster) sample(b *testing.B, d time.Duration) (srv, node ProcMemory) {
	b.Helper()
	end := time.Now().Add(d)
	for {
		s, err := ReadProcMemory(c.server.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("server: %v", err)
		}
		n, err := ReadProcMemory(c.agent.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("node agent: %v", err)
		}
		srv, node = maxMem(srv, s), maxMem(node, n)
		if time.Now().After(end) {
			return srv, node
		}
		time.Sleep(500 * time.Millisecond) // a sampling interval, not a wait for a condition
	}
}

// createPods creates n pods labelled bench-batch=label, 10 requests at a time.
func (c *cluster) createPods(b *testing.B, label string, n int) {
	b.Helper()
	ctx := context.Background()
	errs := make(chan error, n)
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for p := 0; p < n; p++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pod := podSpec(fmt.Sprintf("bench-%s-%d", label, p), map[string]string{"bench-batch": label})
			if _, err := c.cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				errs <- fmt.Errorf("create %s: %w", pod.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// waitRunning waits until n pods labelled bench-batch=label are Running.
func (c *cluster) waitRunning(b *testing.B, label string, n int, timeout time.Duration) {
	b.Helper()
	ctx := context.Background()
	testsync.Until(b, fmt.Sprintf("%d pods Running", n), timeout, func() (bool, string) {
		if c.agent.exited() || c.server.exited() {
			b.Fatalf("a drydock process exited (server: %v, agent: %v)", c.server.err, c.agent.err)
		}
		l, err := c.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "bench-batch=" + label})
		if err != nil {
			return false, err.Error()
		}
		phases := map[corev1.PodPhase]int{}
		for _, p := range l.Items {
			phases[p.Status.Phase]++
		}
		return phases[corev1.PodRunning] == n, fmt.Sprint(phases)
	})
}
