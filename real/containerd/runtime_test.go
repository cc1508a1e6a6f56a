package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/core/cri/critest"
	"github.com/drydock-sim/drydock/real/containerd"
	"github.com/drydock-sim/drydock/real/containerd/crilog"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
	"github.com/drydock-sim/drydock/real/kubeletserver"
)

// testLoop stands in for real/loop: posted funcs run, in order, on the
// test goroutine while Run drives it.
type testLoop struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
}

func newTestLoop() *testLoop { return &testLoop{wake: make(chan struct{}, 1)} }

func (l *testLoop) Post(f func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *testLoop) drain() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		f := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		f()
	}
}

// Run runs posted funcs until cond holds or d has passed.
func (l *testLoop) Run(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		l.drain()
		if cond() {
			return true
		}
		select {
		case <-l.wake:
		case <-deadline.C:
			l.drain()
			return cond()
		}
	}
}

// await calls f with a done callback and drives the loop until it is called.
func await[T any](t *testing.T, l *testLoop, what string, f func(done func(T, error))) (T, error) {
	t.Helper()
	var v T
	var err error
	got := false
	f(func(x T, e error) { v, err, got = x, e, true })
	if !l.Run(2*time.Minute, func() bool { return got }) {
		t.Fatalf("%s: no answer", what)
	}
	return v, err
}

func await0(t *testing.T, l *testLoop, what string, f func(done func(error))) error {
	t.Helper()
	_, err := await(t, l, what, func(done func(struct{}, error)) { f(func(e error) { done(struct{}{}, e) }) })
	return err
}

type fixture struct {
	c        *client.Client
	ns       string
	loop     *testLoop
	rt       *containerd.Runtime
	logRoot  string
	stateDir string
	net      *containerd.Loopback
}

func (f *fixture) newRuntime(t *testing.T) *containerd.Runtime {
	t.Helper()
	rt, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
		Network: f.net, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// newFixture makes a containerd namespace with the busybox image and a runtime over it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctrtest.Require(t)
	f := &fixture{loop: newTestLoop(), logRoot: t.TempDir(), stateDir: t.TempDir(), net: &containerd.Loopback{}}
	f.c, f.ns = ctrtest.Namespace(t) // cleaned up before the temp dirs go
	if _, err := images.EnsureBusybox(context.Background(), f.c, f.ns, ""); err != nil {
		t.Fatalf("EnsureBusybox: %v", err)
	}
	f.rt = f.newRuntime(t)
	return f
}

func secs(d time.Duration) string { return fmt.Sprintf("%g", d.Seconds()) }

// script is a busybox shell script that behaves as w asks: it serves
// /ready over HTTP on 8080 (busybox httpd) from ReadyAfter on, keeps
// /tmp/live until FailLivenessAfter, and exits or waits for signals.
func script(w critest.Workload) string {
	var b strings.Builder
	if w.IgnoreTERM {
		b.WriteString("trap '' TERM; ")
	} else {
		b.WriteString("trap 'exit 143' TERM; ")
	}
	b.WriteString("mkdir -p /www; httpd -p 8080 -h /www; ")
	if w.ReadyAfter > 0 {
		fmt.Fprintf(&b, "(sleep %s; touch /www/ready) & ", secs(w.ReadyAfter))
	} else {
		b.WriteString("touch /www/ready; ")
	}
	b.WriteString("touch /tmp/live; ")
	if w.FailsLiveness {
		fmt.Fprintf(&b, "(sleep %s; rm -f /tmp/live) & ", secs(w.FailLivenessAfter))
	}
	if w.Exits {
		fmt.Fprintf(&b, "sleep %s; exit %d", secs(w.ExitAfter), w.ExitCode)
	} else {
		b.WriteString("while :; do sleep 1 & wait $!; done")
	}
	return b.String()
}

var podSeq struct {
	sync.Mutex
	n int
}

func podConfigs(cmd ...string) (*cri.SandboxConfig, *cri.ContainerConfig) {
	podSeq.Lock()
	podSeq.n++
	n := podSeq.n
	podSeq.Unlock()
	name, uid := fmt.Sprintf("pod-%d", n), ctrtest.RandomName("uid-")
	labels := map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: "default", cri.LabelPodUID: uid, "app": "test"}
	sb := &cri.SandboxConfig{Name: name, Namespace: "default", UID: uid, Labels: labels, Annotations: map[string]string{"note": "x"}}
	cl := map[string]string{cri.LabelPodName: name, cri.LabelPodNamespace: "default", cri.LabelPodUID: uid, cri.LabelContainerName: "main"}
	return sb, &cri.ContainerConfig{Name: "main", Command: cmd, Labels: cl, Image: "busybox"}
}

func TestCRISuite(t *testing.T) {
	ready := cri.ProbeRequest{Kind: cri.ProbeReadiness, Port: 8080, Timeout: 2 * time.Second,
		Handler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}}
	live := cri.ProbeRequest{Kind: cri.ProbeLiveness, Timeout: 5 * time.Second,
		Handler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/live"}}}}
	critest.Run(t, func(t *testing.T) *critest.Env {
		f := newFixture(t)
		return &critest.Env{
			Runtime:      f.rt,
			Image:        "busybox",
			MissingImage: "example.invalid/drydock/no-such-image:1",
			Now:          time.Now,
			Run:          f.loop.Run,
			Pod: func(w critest.Workload) (*cri.SandboxConfig, *cri.ContainerConfig) {
				return podConfigs("sh", "-c", script(w))
			},
			Readiness: ready,
			Liveness:  live,
			Slack:     time.Second,
		}
	})
}

// start runs a sandbox and a started container and returns their IDs.
func (f *fixture) start(t *testing.T, sb *cri.SandboxConfig, cc *cri.ContainerConfig) (*cri.SandboxStatus, string) {
	t.Helper()
	st, err := await(t, f.loop, "RunPodSandbox", func(done func(*cri.SandboxStatus, error)) { f.rt.RunPodSandbox(sb, done) })
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	id, err := await(t, f.loop, "CreateContainer", func(done func(string, error)) { f.rt.CreateContainer(st.ID, cc, sb, done) })
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := await0(t, f.loop, "StartContainer", func(done func(error)) { f.rt.StartContainer(id, done) }); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return st, id
}

// waitExited drives the loop until the container has exited.
func (f *fixture) waitExited(t *testing.T, id string) *cri.ContainerStatus {
	t.Helper()
	var st *cri.ContainerStatus
	ok := f.loop.Run(time.Minute, func() bool {
		var err error
		st, err = await(t, f.loop, "ContainerStatus", func(done func(*cri.ContainerStatus, error)) { f.rt.ContainerStatus(id, done) })
		return err == nil && st.State == cri.ContainerExited
	})
	if !ok {
		t.Fatalf("container %s did not exit: %+v", id, st)
	}
	return st
}

func TestMissingImage(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("true")
	cc.Image = "example.invalid/none:1"
	st, err := await(t, f.loop, "RunPodSandbox", func(done func(*cri.SandboxStatus, error)) { f.rt.RunPodSandbox(sb, done) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = await(t, f.loop, "PullImage", func(done func(*cri.Image, error)) { f.rt.PullImage(cc.Image, sb, done) })
	if !errors.Is(err, cri.ErrImageNotFound) || !strings.Contains(err.Error(), "example.invalid/none:1") {
		t.Errorf("PullImage error %v, want cri.ErrImageNotFound naming the image", err)
	}
	_, err = await(t, f.loop, "CreateContainer", func(done func(string, error)) { f.rt.CreateContainer(st.ID, cc, sb, done) })
	if !errors.Is(err, cri.ErrImageNotFound) {
		t.Errorf("CreateContainer error %v, want cri.ErrImageNotFound", err)
	}
}

// TestContainerSpec checks the process a pod spec asks for: args, env,
// working dir, hostname, the pod files, and the CRI log on disk.
func TestContainerSpec(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs()
	sb.Hostname = "web-0"
	cc.Command = nil // no command: the image has no entrypoint, so args are the command
	cc.Args = []string{"sh", "-c", `echo "out $GREETING"; echo "err" >&2; pwd; hostname; cat /etc/hostname; grep web-0 /etc/hosts; echo "HOSTNAME=$HOSTNAME"; printf partial`}
	cc.Env = []cri.KeyValue{{Key: "GREETING", Value: "hello world"}}
	cc.WorkingDir = "/tmp"
	cc.Attempt = 2
	st, id := f.start(t, sb, cc)
	cst := f.waitExited(t, id)
	if cst.ExitCode != 0 || cst.Reason != cri.ReasonCompleted {
		t.Fatalf("exit %d %s", cst.ExitCode, cst.Reason)
	}
	path, exited, err := f.rt.LocateLog("default", sb.Name, "main", false)
	if err != nil {
		t.Fatalf("LocateLog: %v", err)
	}
	want := filepath.Join(f.logRoot, "default_"+sb.Name+"_"+sb.UID, "main", "2.log")
	if path != want {
		t.Errorf("log path %s, want %s", path, want)
	}
	select {
	case <-exited:
	default:
		t.Error("LocateLog's channel of an exited container is open")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		rec, err := crilog.Parse([]byte(line))
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Stream == crilog.Stdout {
			stdout = append(stdout, string(rec.Content))
		} else {
			stderr = append(stderr, string(rec.Content))
		}
	}
	wantOut := []string{"out hello world", "/tmp", "web-0", "web-0", st.IP + "\tweb-0", "HOSTNAME=web-0", "partial"}
	if strings.Join(stdout, "|") != strings.Join(wantOut, "|") || strings.Join(stderr, "|") != "err" {
		t.Errorf("stdout %q stderr %q, want %q and [err]", stdout, stderr, wantOut)
	}
	if _, _, err := f.rt.LocateLog("default", sb.Name, "main", true); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("LocateLog previous of a first instance: %v, want cri.ErrNotFound", err)
	}
	if _, _, err := f.rt.LocateLog("default", "nope", "main", false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("LocateLog of an unknown pod: %v, want cri.ErrNotFound", err)
	}
	// A container name is a DNS label: one that climbs out of the pod's
	// log folder (the kubelet server passes on the URL's unescaped
	// segment) finds nothing.
	other := filepath.Join(f.logRoot, "other", "x")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "7.log"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, prev := range []bool{false, true} {
		if p, _, err := f.rt.LocateLog("default", sb.Name, "../other/x", prev); !errors.Is(err, cri.ErrNotFound) {
			t.Errorf("LocateLog of container ../other/x (previous %v) = %q, %v; want cri.ErrNotFound", prev, p, err)
		}
	}
}

// TestContainerConfinement pins what a container may do with the default
// OCI spec the runtime builds on (containerd's, as Kubernetes' runtime
// default for an unprivileged container): the default capability set only
// (no CAP_SYS_ADMIN, so no mounts), /proc/sys read-only, /proc/kcore
// masked, and the node's own devices not visible.
func TestContainerConfinement(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sh", "-c", `grep CapEff /proc/self/status
(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo sys-rw || echo sys-ro
mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo no-mount
[ -s /proc/kcore ] && echo kcore-readable || echo kcore-masked
ls /dev | tr '\n' ' '; echo`)
	_, id := f.start(t, sb, cc)
	f.waitExited(t, id)
	path, _, err := f.rt.LocateLog("default", sb.Name, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		rec, err := crilog.Parse([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(string(rec.Content)))
	}
	// The default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW
	// SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
	want := []string{"CapEff:\t00000000a80425fb", "sys-ro", "no-mount", "kcore-masked"}
	if len(lines) != 5 || strings.Join(lines[:4], "|") != strings.Join(want, "|") {
		t.Fatalf("container saw %q, want %q then /dev", lines, want)
	}
	for _, d := range strings.Fields(lines[4]) {
		switch d {
		case "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero":
		default:
			t.Errorf("/dev/%s is visible in the container (want only the OCI default devices)", d)
		}
	}
}

// TestResources checks the cgroup limits and the OOMKilled reason.
func TestResources(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sleep", "600")
	cc.CPUMillis, cc.MemoryBytes = 500, 64<<20
	_, id := f.start(t, sb, cc)
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("cgroup file: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	cg := "/" + f.ns + "/" + id
	if _, err := os.Stat("/sys/fs/cgroup/cpu" + cg); err == nil { // cgroup v1
		got := []string{read("/sys/fs/cgroup/cpu" + cg + "/cpu.cfs_quota_us"), read("/sys/fs/cgroup/cpu" + cg + "/cpu.cfs_period_us"),
			read("/sys/fs/cgroup/cpu" + cg + "/cpu.shares"), read("/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes")}
		if want := []string{"50000", "100000", "512", fmt.Sprint(64 << 20)}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("cgroup v1 quota, period, shares, memory %q, want %q", got, want)
		}
	} else {
		got := []string{read("/sys/fs/cgroup" + cg + "/cpu.max"), read("/sys/fs/cgroup" + cg + "/memory.max")}
		if want := []string{"50000 100000", fmt.Sprint(64 << 20)}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("cgroup v2 cpu.max, memory.max %q, want %q", got, want)
		}
	}
	if err := await0(t, f.loop, "StopContainer", func(done func(error)) { f.rt.StopContainer(id, 0, done) }); err != nil {
		t.Fatal(err)
	}

	sb, cc = podConfigs("sh", "-c", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`)
	cc.MemoryBytes = 16 << 20
	var events []cri.ContainerEvent
	f.rt.SetEventHandler(func(ev cri.ContainerEvent) { events = append(events, ev) })
	_, id = f.start(t, sb, cc)
	st := f.waitExited(t, id)
	if st.Reason != cri.ReasonOOMKilled || st.ExitCode != 137 {
		t.Errorf("container over its memory limit exited %d %q, want 137 OOMKilled", st.ExitCode, st.Reason)
	}
	f.loop.Run(time.Minute, func() bool { return len(events) > 0 })
	if len(events) != 1 || events[0].Reason != cri.ReasonOOMKilled || events[0].ContainerID != id {
		t.Errorf("events %+v, want one OOMKilled exit of %s", events, id)
	}
}

func TestTCPProbe(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sh", "-c", "mkdir -p /www; httpd -f -p 8080 -h /www")
	_, id := f.start(t, sb, cc)
	probe := func(port int32) cri.ProbeResult {
		req := &cri.ProbeRequest{Kind: cri.ProbeLiveness, Port: port, Timeout: time.Second,
			Handler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}}
		res, _ := await(t, f.loop, "Probe", func(done func(cri.ProbeResult, error)) {
			f.rt.Probe(id, req, func(r cri.ProbeResult) { done(r, nil) })
		})
		return res
	}
	// httpd may take a moment to listen.
	if !f.loop.Run(30*time.Second, func() bool { return probe(8080).Success }) {
		t.Fatalf("TCP probe of a listening port failed: %s", probe(8080).Output)
	}
	if r := probe(8081); r.Success || !strings.Contains(r.Output, "refused") {
		t.Errorf("TCP probe of a closed port: %+v, want a refused connection", r)
	}
}

// TestRestartedRuntime checks that a new runtime over the namespace finds
// what the old one made, from containerd's labels, and watches its exits.
func TestRestartedRuntime(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sh", "-c", "trap 'echo bye; exit 143' TERM; echo started; while :; do sleep 1 & wait $!; done")
	st, id := f.start(t, sb, cc)
	sb2, cc2 := podConfigs("sh", "-c", "sleep 2; exit 7")
	_, id2 := f.start(t, sb2, cc2)
	f.rt.Close()

	// id2 exits while no runtime watches.
	f.rt = f.newRuntime(t)
	var events []cri.ContainerEvent
	f.rt.SetEventHandler(func(ev cri.ContainerEvent) { events = append(events, ev) })
	sbs, err := await(t, f.loop, "ListPodSandboxes", func(done func([]*cri.SandboxStatus, error)) { f.rt.ListPodSandboxes(done) })
	if err != nil || len(sbs) != 2 {
		t.Fatalf("ListPodSandboxes after restart: %v, %d sandboxes", err, len(sbs))
	}
	if sbs[0].ID != st.ID || sbs[0].IP != st.IP || sbs[0].State != cri.SandboxReady || sbs[0].Labels["app"] != "test" || sbs[0].Annotations["note"] != "x" {
		t.Errorf("sandbox after restart %+v, want %+v", sbs[0], st)
	}
	ctrs, err := await(t, f.loop, "ListContainers", func(done func([]*cri.ContainerStatus, error)) { f.rt.ListContainers(done) })
	if err != nil || len(ctrs) != 2 || ctrs[0].ID != id || ctrs[0].State != cri.ContainerRunning || ctrs[0].Labels[cri.LabelContainerName] != "main" || ctrs[0].StartedAt.IsZero() {
		t.Fatalf("ListContainers after restart: %v %+v", err, ctrs)
	}
	if st := f.waitExited(t, id2); st.ExitCode != 7 || st.Reason != cri.ReasonError {
		t.Errorf("container that exited across the restart: %d %s, want 7 Error", st.ExitCode, st.Reason)
	}
	// The FIFOs the first runtime made, which the second attached to.
	ctx := namespaces.WithNamespace(context.Background(), f.ns)
	ctr, err := f.c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var fifoDir string
	if _, err := ctr.Task(ctx, func(fs *cio.FIFOSet) (cio.IO, error) {
		fifoDir = filepath.Dir(fs.Stdout)
		return nil, errors.New("only looking")
	}); fifoDir == "" {
		t.Fatalf("no FIFOs found for the running container: %v", err)
	}
	if err := await0(t, f.loop, "StopContainer", func(done func(error)) { f.rt.StopContainer(id, 10*time.Second, done) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fifoDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FIFO folder %s of the reattached container after its exit: %v, want it removed", fifoDir, err)
	}
	var got *cri.ContainerEvent
	for i := range events {
		if events[i].ContainerID == id {
			got = &events[i]
		}
	}
	if got == nil || got.ExitCode != 143 {
		t.Errorf("exit event after restart %+v, want code 143", got)
	}
	path, _, _ := f.rt.LocateLog("default", sb.Name, "main", false)
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), " stdout F started\n") || !strings.Contains(string(data), " stdout F bye\n") {
		t.Errorf("log across the restart lacks output from before or after it:\n%s", data)
	}
}

var _ kubeletserver.LogLocator = (*containerd.Runtime)(nil)

// TestFollowLogUntilExit reads a running container's log as the kubelet
// server does with follow=true: the lines come as they are written and the
// read ends once the container has exited.
func TestFollowLogUntilExit(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done; echo done >&2")
	_, _ = f.start(t, sb, cc)
	path, exited, err := f.rt.LocateLog("default", sb.Name, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kubeletserver.ReadLogs(ctx, path, kubeletserver.ReadOptions{Follow: true, TailLines: -1}, exited, 10*time.Millisecond, &out, nil); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("follow did not end when the container exited")
	}
	if got := out.String(); got != "line 1\nline 2\nline 3\ndone\n" {
		t.Errorf("followed log %q", got)
	}
}

// TestPreviousLogs follows the kubelet's restarts: each new instance
// replaces (removes) the one before, whose log stays for --previous; logs
// older than the previous instance are pruned.
func TestPreviousLogs(t *testing.T) {
	f := newFixture(t)
	sb, _ := podConfigs()
	st, err := await(t, f.loop, "RunPodSandbox", func(done func(*cri.SandboxStatus, error)) { f.rt.RunPodSandbox(sb, done) })
	if err != nil {
		t.Fatal(err)
	}
	content := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			return err.Error()
		}
		rec, err := crilog.Parse(data)
		if err != nil {
			return err.Error()
		}
		return string(rec.Content)
	}
	prev := ""
	for attempt := uint32(0); attempt < 3; attempt++ {
		_, cc := podConfigs("echo", fmt.Sprint("instance ", attempt))
		cc.Labels = map[string]string{cri.LabelPodName: sb.Name, cri.LabelPodNamespace: "default", cri.LabelPodUID: sb.UID, cri.LabelContainerName: "main"}
		cc.Attempt = attempt
		id, err := await(t, f.loop, "CreateContainer", func(done func(string, error)) { f.rt.CreateContainer(st.ID, cc, sb, done) })
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := await0(t, f.loop, "RemoveContainer", func(done func(error)) { f.rt.RemoveContainer(prev, done) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := await0(t, f.loop, "StartContainer", func(done func(error)) { f.rt.StartContainer(id, done) }); err != nil {
			t.Fatal(err)
		}
		f.waitExited(t, id)
		prev = id
		cur, _, err := f.rt.LocateLog("default", sb.Name, "main", false)
		if got := content(cur); err != nil || got != fmt.Sprint("instance ", attempt) {
			t.Errorf("attempt %d: current log %q, %v", attempt, got, err)
		}
		p, exited, err := f.rt.LocateLog("default", sb.Name, "main", true)
		if attempt == 0 {
			if !errors.Is(err, cri.ErrNotFound) {
				t.Errorf("previous log of the first instance: %v, want cri.ErrNotFound", err)
			}
			continue
		}
		if got := content(p); err != nil || got != fmt.Sprint("instance ", attempt-1) {
			t.Errorf("attempt %d: previous log %q, %v", attempt, got, err)
		}
		select {
		case <-exited:
		default:
			t.Error("previous instance reported running")
		}
	}
	dir := filepath.Join(f.logRoot, "default_"+sb.Name+"_"+sb.UID, "main")
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("log files %v, want the current and previous instances' (1.log, 2.log)", entries)
	}
	if err := await0(t, f.loop, "RemovePodSandbox", func(done func(error)) { f.rt.RemovePodSandbox(st.ID, done) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod log folder left after the pod's last sandbox was removed: %v", err)
	}
}

// recordingNet is a Loopback that counts tear-downs.
type recordingNet struct {
	containerd.Loopback
	mu        sync.Mutex
	teardowns []string
}

func (n *recordingNet) TearDown(ctx context.Context, id, path string, sb *cri.SandboxConfig) error {
	n.mu.Lock()
	n.teardowns = append(n.teardowns, id)
	n.mu.Unlock()
	return n.Loopback.TearDown(ctx, id, path, sb)
}

// TestRebootedNode: processes and network namespaces are gone when the
// runtime starts again; containers are exited 255 Unknown, sandboxes not
// ready with their network torn down (releasing addresses).
func TestRebootedNode(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sleep", "600")
	st, id := f.start(t, sb, cc)
	f.rt.Close()
	// The "reboot": every task and network namespace of the node goes.
	if err := ctrtest.KillTasks(f.c, f.ns); err != nil {
		t.Fatal(err)
	}
	if err := ctrtest.RemoveNetns(ctrtest.NetnsDir, "drydock-"+f.ns+"-"); err != nil {
		t.Fatal(err)
	}
	net := &recordingNet{}
	rt, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
		Network: net, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	f.rt = rt
	sbs, err := await(t, f.loop, "ListPodSandboxes", func(done func([]*cri.SandboxStatus, error)) { rt.ListPodSandboxes(done) })
	if err != nil || len(sbs) != 1 || sbs[0].ID != st.ID || sbs[0].State != cri.SandboxNotReady {
		t.Errorf("sandboxes after reboot %+v, %v; want %s not ready", sbs, err, st.ID)
	}
	if len(net.teardowns) != 1 || net.teardowns[0] != st.ID {
		t.Errorf("network tear-downs %v, want one of %s", net.teardowns, st.ID)
	}
	cs, err := await(t, f.loop, "ContainerStatus", func(done func(*cri.ContainerStatus, error)) { rt.ContainerStatus(id, done) })
	if err != nil || cs.State != cri.ContainerExited || cs.ExitCode != 255 || cs.Reason != cri.ReasonUnknown {
		t.Errorf("container after reboot %+v, %v; want exited 255 Unknown", cs, err)
	}
	if err := await0(t, f.loop, "RemovePodSandbox", func(done func(error)) { rt.RemovePodSandbox(st.ID, done) }); err != nil {
		t.Errorf("RemovePodSandbox after reboot: %v", err)
	}
}

// stuckNet is a network whose SetUp hangs until released, then fails: a
// node agent that dies while it sets up a sandbox's network.
type stuckNet struct {
	recordingNet
	started chan string // the netns path of each SetUp
	release chan struct{}
}

func (n *stuckNet) SetUp(_ context.Context, _, path string, _ *cri.SandboxConfig) (string, error) {
	n.started <- path
	<-n.release
	return "", errors.New("the agent died here")
}

// TestDiedDuringSandboxSetUp: a runtime that stops (here: hangs; in life:
// is killed) while it sets up a sandbox leaves a network namespace and a
// network allocation no later runtime would know of, unless the sandbox is
// recorded first. The next runtime tears such a sandbox down and forgets it.
func TestDiedDuringSandboxSetUp(t *testing.T) {
	f := newFixture(t)
	stuck := &stuckNet{started: make(chan string, 1), release: make(chan struct{})}
	old, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
		Network: stuck, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir})
	if err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			close(stuck.release)
		}
	}
	t.Cleanup(func() { release(); old.Close() })
	sb, _ := podConfigs()
	old.RunPodSandbox(sb, func(*cri.SandboxStatus, error) {})
	var nsPath string
	select {
	case nsPath = <-stuck.started:
	case <-time.After(time.Minute):
		t.Fatal("SetUp not called")
	}
	// The next runtime, while the old one is stuck in SetUp.
	net := &recordingNet{}
	rt, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
		Network: net, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if _, err := os.Stat(nsPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("netns %s of the abandoned sandbox: %v, want it removed", nsPath, err)
	}
	net.mu.Lock()
	teardowns := len(net.teardowns)
	net.mu.Unlock()
	if teardowns != 1 {
		t.Errorf("%d network tear-downs, want 1 for the abandoned sandbox", teardowns)
	}
	sbs, err := await(t, f.loop, "ListPodSandboxes", func(done func([]*cri.SandboxStatus, error)) { rt.ListPodSandboxes(done) })
	if err != nil || len(sbs) != 0 {
		t.Errorf("sandboxes %+v, %v; want none (the abandoned one is forgotten)", sbs, err)
	}
	release()
}

// TestProbeAndStartErrors: an exec probe that outlives its timeout fails
// at the timeout; a command that does not exist fails StartContainer and
// leaves the container exited 128 StartError, as containerd reports it.
func TestProbeAndStartErrors(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sleep", "600")
	_, id := f.start(t, sb, cc)
	req := &cri.ProbeRequest{Kind: cri.ProbeLiveness, Timeout: time.Second,
		Handler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "30"}}}}
	begin := time.Now()
	res, _ := await(t, f.loop, "Probe", func(done func(cri.ProbeResult, error)) {
		f.rt.Probe(id, req, func(r cri.ProbeResult) { done(r, nil) })
	})
	took := time.Since(begin)
	t.Logf("exec probe time-out answered after %v", took)
	if res.Success || !strings.Contains(res.Output, "timed out") || took > 10*time.Second {
		t.Errorf("exec probe past its timeout: %+v after %v, want a time-out failure after about 1s", res, took)
	}
	req.Handler.Exec.Command = []string{"sh", "-c", "echo not ready; exit 1"}
	res, _ = await(t, f.loop, "Probe", func(done func(cri.ProbeResult, error)) {
		f.rt.Probe(id, req, func(r cri.ProbeResult) { done(r, nil) })
	})
	if res.Success || res.Output != "not ready\n" {
		t.Errorf("failing exec probe: %+v, want its output", res)
	}
	// A command that leaves a child holding its output (exiting, or timing
	// out) is answered within about its timeout, not when the child ends.
	for _, cmd := range []string{"echo ok; sleep 30 & exit 0", "sleep 30 & sleep 20"} {
		req.Handler.Exec.Command = []string{"sh", "-c", cmd}
		begin = time.Now()
		res, _ = await(t, f.loop, "Probe", func(done func(cri.ProbeResult, error)) {
			f.rt.Probe(id, req, func(r cri.ProbeResult) { done(r, nil) })
		})
		if took := time.Since(begin); took > 10*time.Second {
			t.Errorf("exec probe %q answered after %v (%+v), want about its 1s timeout", cmd, took, res)
		}
	}

	sb, cc = podConfigs("/no/such/binary")
	st, err := await(t, f.loop, "RunPodSandbox", func(done func(*cri.SandboxStatus, error)) { f.rt.RunPodSandbox(sb, done) })
	if err != nil {
		t.Fatal(err)
	}
	id, err = await(t, f.loop, "CreateContainer", func(done func(string, error)) { f.rt.CreateContainer(st.ID, cc, sb, done) })
	if err != nil {
		t.Fatal(err)
	}
	err = await0(t, f.loop, "StartContainer", func(done func(error)) { f.rt.StartContainer(id, done) })
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("StartContainer of a missing binary: %v, want an error naming it", err)
	}
	cs, err := await(t, f.loop, "ContainerStatus", func(done func(*cri.ContainerStatus, error)) { f.rt.ContainerStatus(id, done) })
	if err != nil || cs.State != cri.ContainerExited || cs.ExitCode != 128 || cs.Reason != containerd.ReasonStartError || cs.Message == "" {
		t.Errorf("status after a failed start %+v, %v; want exited 128 StartError with a message", cs, err)
	}
}

// TestLogRotation: a container writing past LogMaxSize has its log rotated,
// keeping LogMaxFiles files, each of whole records.
func TestLogRotation(t *testing.T) {
	f := newFixture(t)
	f.rt.Close()
	rt, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
		Network: f.net, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir, LogMaxSize: 2048, LogMaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	f.rt = rt
	sb, cc := podConfigs("sh", "-c", `i=0; while [ $i -lt 200 ]; do echo "line $i $(printf '%060d' 0)"; i=$((i+1)); done`)
	_, id := f.start(t, sb, cc)
	f.waitExited(t, id)
	path, _, err := rt.LocateLog("default", sb.Name, "main", false)
	if err != nil {
		t.Fatal(err)
	}
	files := append(crilog.Rotated(path), path)
	if len(files) != 3 {
		t.Fatalf("log files %v, want 3 (2 rotated and the current)", files)
	}
	last := ""
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 2048 {
			t.Errorf("%s has %d bytes, over the 2048 limit", p, len(data))
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			rec, err := crilog.Parse([]byte(line))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			last = string(rec.Content)
		}
	}
	if !strings.HasPrefix(last, "line 199 ") {
		t.Errorf("last record %q, want line 199", last)
	}
}

// TestUnreadableRecordSkipped: a containerd container that carries the
// runtime's kind label but not its metadata does not stop the runtime.
func TestUnreadableRecordSkipped(t *testing.T) {
	f := newFixture(t)
	ctx := namespaces.WithNamespace(context.Background(), f.ns)
	if _, err := f.c.NewContainer(ctx, "stray", client.WithRuntime("io.containerd.runc.v2", nil),
		client.WithSpec(&oci.Spec{}), client.WithContainerLabels(map[string]string{"drydock.io/kind": "container"})); err != nil {
		t.Fatal(err)
	}
	rt := f.newRuntime(t)
	list, err := await(t, f.loop, "ListContainers", func(done func([]*cri.ContainerStatus, error)) { rt.ListContainers(done) })
	if err != nil || len(list) != 0 {
		t.Errorf("ListContainers = %+v, %v; want none", list, err)
	}
}

// TestImageConfig: the image's entrypoint, cmd, env, working dir and stop
// signal combine with the pod spec as in Kubernetes.
func TestImageConfig(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	if err := images.WriteBusyboxImage(&buf, images.DefaultBusyboxPath, "example.com/variant:1", ocispec.ImageConfig{
		Entrypoint: []string{"echo", "from-entrypoint"}, Cmd: []string{"default-cmd"}, Env: []string{"FOO=image", "BAR=image"},
		WorkingDir: "/tmp", StopSignal: "SIGUSR1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := images.Import(context.Background(), f.c, f.ns, &buf); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		command, args []string
		want          string
	}{
		{"image entrypoint and cmd", nil, nil, "from-entrypoint default-cmd"},
		{"args replace cmd", nil, []string{"x", "y"}, "from-entrypoint x y"},
		{"command replaces both", []string{"sh", "-c", `echo "$FOO $BAR $(pwd)"`}, nil, "pod image /tmp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, cc := podConfigs(tc.command...)
			cc.Image, cc.Args = "example.com/variant:1", tc.args
			cc.Env = []cri.KeyValue{{Key: "FOO", Value: "pod"}}
			_, id := f.start(t, sb, cc)
			f.waitExited(t, id)
			path, _, _ := f.rt.LocateLog("default", sb.Name, "main", false)
			data, _ := os.ReadFile(path)
			rec, err := crilog.Parse(data)
			if err != nil || string(rec.Content) != tc.want {
				t.Errorf("output %q (%v), want %q", rec.Content, err, tc.want)
			}
		})
	}
	sb, cc := podConfigs("sh", "-c", "trap 'exit 42' USR1; trap '' TERM; while :; do sleep 1 & wait $!; done")
	cc.Image = "example.com/variant:1"
	_, id := f.start(t, sb, cc)
	if err := await0(t, f.loop, "StopContainer", func(done func(error)) { f.rt.StopContainer(id, time.Minute, done) }); err != nil {
		t.Fatal(err)
	}
	if st := f.waitExited(t, id); st.ExitCode != 42 {
		t.Errorf("stopped with exit code %d, want 42 from the image's STOPSIGNAL (SIGUSR1) handler", st.ExitCode)
	}
}
