package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
)

// ctrd is the test's view of the host's containerd: it finds the tasks of a
// pod, kills a node's tasks, and removes a node's containerd namespace with
// all it holds.
type ctrd struct {
	c *client.Client
}

// newCtrd connects to containerd; the connection closes in t.Cleanup, so
// it must be created before anything whose cleanup uses it.
func newCtrd(t *testing.T) *ctrd {
	t.Helper()
	c, err := client.New(ctrtest.Socket)
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &ctrd{c: c}
}

// purgeAtCleanup registers the removal of containerd namespace ns (tasks,
// containers, images synchronously, leases, snapshots, the namespace), of
// the pod network namespaces a runtime mounted for it and of its cgroup
// folders.
func (d *ctrd) purgeAtCleanup(t *testing.T, ns string) {
	t.Cleanup(func() {
		if err := ctrtest.Purge(d.c, ns); err != nil {
			t.Errorf("clean up containerd namespace %s: %v", ns, err)
		}
	})
}

// podContainers lists the containers of pod podNS/pod in containerd
// namespace ns, by the labels the runtime puts on them.
func (d *ctrd) podContainers(ctx context.Context, ns, podNS, pod string) ([]client.Container, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	filter := fmt.Sprintf(`labels."%s"==%s,labels."%s"==%s,labels."drydock.io/kind"==container`,
		cri.LabelPodName, pod, cri.LabelPodNamespace, podNS)
	return d.c.Containers(ctx, filter)
}

// podPID is the pid of a running task of pod podNS/pod in containerd
// namespace ns: its /proc/PID/ns/net is the pod's network namespace.
func (d *ctrd) podPID(ctx context.Context, ns, podNS, pod string) (uint32, error) {
	ctrs, err := d.podContainers(ctx, ns, podNS, pod)
	if err != nil {
		return 0, err
	}
	nctx := namespaces.WithNamespace(ctx, ns)
	var seen []string
	for _, c := range ctrs {
		task, err := c.Task(nctx, nil)
		if err != nil {
			seen = append(seen, c.ID()[:12]+": "+err.Error())
			continue
		}
		st, err := task.Status(nctx)
		if err != nil {
			seen = append(seen, c.ID()[:12]+": "+err.Error())
			continue
		}
		if st.Status == client.Running {
			return task.Pid(), nil
		}
		seen = append(seen, fmt.Sprintf("%s: %s", c.ID()[:12], st.Status))
	}
	return 0, fmt.Errorf("no running task of pod %s/%s in containerd namespace %s (%d containers: %s)",
		podNS, pod, ns, len(ctrs), strings.Join(seen, "; "))
}

// killTasks sends SIGKILL to every task in containerd namespace ns and
// waits until each has stopped, leaving containers and tasks in place as a
// dead machine would (Purge removes them later). It returns how many it
// killed.
func (d *ctrd) killTasks(ctx context.Context, ns string) (int, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	ctrs, err := d.c.Containers(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range ctrs {
		task, err := c.Task(ctx, nil)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return n, err
		}
		st, err := task.Status(ctx)
		if err != nil {
			return n, err
		}
		if st.Status == client.Stopped {
			continue
		}
		if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return n, fmt.Errorf("kill task %s: %w", c.ID(), err)
		}
		n++
		if _, err := poll(20*time.Second, 50*time.Millisecond, func() (bool, string) {
			st, err := task.Status(ctx)
			if err != nil {
				return errdefs.IsNotFound(err), err.Error()
			}
			return st.Status == client.Stopped, string(st.Status)
		}); err != nil {
			return n, fmt.Errorf("task %s after SIGKILL: %w", c.ID(), err)
		}
	}
	return n, nil
}
