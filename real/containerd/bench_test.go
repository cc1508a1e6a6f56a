package containerd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
)

const benchPods = 10

// BenchmarkStartPods compares starting 10 busybox containers with bare
// containerd calls (container with a snapshot and spec, task, start; no
// network, no logs) against 10 pods through the runtime (netns sandbox with
// loopback network and pod files, container, start with CRI logs and exit
// watching), one after the other. Removal is not timed.
func BenchmarkStartPods(b *testing.B) {
	b.Run("bare-containerd", func(b *testing.B) {
		c, ns := ctrtest.Namespace(b)
		ctx := namespaces.WithNamespace(context.Background(), ns)
		if _, err := images.EnsureBusybox(context.Background(), c, ns, ""); err != nil {
			b.Fatal(err)
		}
		img, err := c.GetImage(ctx, images.BusyboxRef)
		if err != nil {
			b.Fatal(err)
		}
		var create, start time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var tasks []client.Task
			var ctrs []client.Container
			for p := 0; p < benchPods; p++ {
				id := fmt.Sprintf("bench-%d-%d", i, p)
				t0 := time.Now()
				ctr, err := c.NewContainer(ctx, id, client.WithSnapshotter("overlayfs"), client.WithNewSnapshot(id, img),
					client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "600")))
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				task, err := ctr.NewTask(ctx, cio.NullIO)
				if err != nil {
					b.Fatal(err)
				}
				if err := task.Start(ctx); err != nil {
					b.Fatal(err)
				}
				ctrs, tasks = append(ctrs, ctr), append(tasks, task)
				create, start = create+t1.Sub(t0), start+time.Since(t1)
			}
			b.StopTimer()
			for p := range tasks {
				tasks[p].Delete(ctx, client.WithProcessKill)
				ctrs[p].Delete(ctx, client.WithSnapshotCleanup)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*benchPods), "ms/pod")
		reportPhase(b, "create", create)
		reportPhase(b, "start", start)
	})
	b.Run("runtime", func(b *testing.B) {
		ctrtest.Require(b)
		f := &fixture{loop: newTestLoop(), logRoot: b.TempDir(), stateDir: b.TempDir(), net: &containerd.Loopback{}}
		f.c, f.ns = ctrtest.Namespace(b)
		if _, err := images.EnsureBusybox(context.Background(), f.c, f.ns, ""); err != nil {
			b.Fatal(err)
		}
		rt, err := containerd.New(context.Background(), containerd.Config{Client: f.c, Namespace: f.ns, Post: f.loop.Post,
			Network: f.net, LogRoot: f.logRoot, StateDir: f.stateDir, NetnsDir: ctrtest.NetnsDir})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rt.Close() })
		wait := func(what string, got *bool, err *error) {
			if !f.loop.Run(2*time.Minute, func() bool { return *got }) || *err != nil {
				b.Fatalf("%s: %v", what, *err)
			}
		}
		var sbx, create, start time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var sandboxes []string
			for p := 0; p < benchPods; p++ {
				sb, cc := podConfigs("sleep", "600")
				var st *cri.SandboxStatus
				var id string
				var err error
				got := false
				rt.RunPodSandbox(sb, func(x *cri.SandboxStatus, e error) { st, err, got = x, e, true })
				t0 := time.Now()
				wait("RunPodSandbox", &got, &err)
				t1 := time.Now()
				got = false
				rt.CreateContainer(st.ID, cc, sb, func(x string, e error) { id, err, got = x, e, true })
				wait("CreateContainer", &got, &err)
				t2 := time.Now()
				got = false
				rt.StartContainer(id, func(e error) { err, got = e, true })
				wait("StartContainer", &got, &err)
				sbx, create, start = sbx+t1.Sub(t0), create+t2.Sub(t1), start+time.Since(t2)
				sandboxes = append(sandboxes, st.ID)
			}
			b.StopTimer()
			for _, id := range sandboxes {
				var err error
				got := false
				rt.RemovePodSandbox(id, func(e error) { err, got = e, true })
				wait("RemovePodSandbox", &got, &err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*benchPods), "ms/pod")
		reportPhase(b, "sandbox", sbx)
		reportPhase(b, "create", create)
		reportPhase(b, "start", start)
	})
}

// reportPhase reports the mean time of one phase per pod.
func reportPhase(b *testing.B, name string, total time.Duration) {
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N*benchPods), name+"-ms/pod")
}
