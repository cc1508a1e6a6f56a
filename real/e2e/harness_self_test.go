package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
)

// Tests of the harness itself, runnable without drydock's binaries.

func TestParseTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []map[string]string
	}{
		{
			name: "pods wide",
			in: "NAME                   READY   STATUS    RESTARTS      AGE   IP           NODE    NOMINATED NODE   READINESS GATES\n" +
				"web-6d4b9c7f5d-2xk8q   1/1     Running   0             12s   10.244.0.2   node0   <none>           <none>\n" +
				"web-6d4b9c7f5d-9zq7w   0/1     Running   1 (3s ago)    12s   10.244.1.2   node1   <none>           <none>\n",
			want: []map[string]string{
				{"NAME": "web-6d4b9c7f5d-2xk8q", "READY": "1/1", "STATUS": "Running", "RESTARTS": "0", "AGE": "12s",
					"IP": "10.244.0.2", "NODE": "node0", "NOMINATED NODE": "<none>", "READINESS GATES": "<none>"},
				{"NAME": "web-6d4b9c7f5d-9zq7w", "READY": "0/1", "STATUS": "Running", "RESTARTS": "1 (3s ago)", "AGE": "12s",
					"IP": "10.244.1.2", "NODE": "node1", "NOMINATED NODE": "<none>", "READINESS GATES": "<none>"},
			},
		},
		{
			name: "short last cell",
			in:   "NAME    STATUS     ROLES    AGE   VERSION\nnode0   NotReady   <none>   1m    v1.32.0\n",
			want: []map[string]string{{"NAME": "node0", "STATUS": "NotReady", "ROLES": "<none>", "AGE": "1m", "VERSION": "v1.32.0"}},
		},
		{name: "empty", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTable(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseTable:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	if _, err := parseTable("NAME   STATUS\nabcdefgh x\n"); err == nil {
		t.Error("parseTable accepted a row not aligned with its header")
	}
}

// TestHarnessProcess checks startProc in a host namespace: the process runs
// there (reachable at the host's address across the bridge), its output is
// logged, and Kill ends its whole group.
func TestHarnessProcess(t *testing.T) {
	requireRoot(t, "ip", "nsenter", "/bin/busybox")
	tp := newTopology(t, 1, "10.231.8")
	h := tp.Hosts[0]
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("hello from "+h.Name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A shell that starts httpd as a child: Kill must reach the child too.
	p := startProc(t, "httpd", dir, h.Name, nil,
		"/bin/busybox", "sh", "-c", "/bin/busybox httpd -f -v -p 8080 -h "+www+" & echo started; wait")
	url := "http://" + h.IP + ":8080/"
	got := eventually(t, "httpd in the host namespace answers", 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		out, err := cmdOutput(context.Background(), 5*time.Second, nil, "/bin/busybox", "wget", "-qO-", url)
		if err != nil {
			return false, err.Error()
		}
		return true, out
	})
	if got != "hello from "+h.Name+"\n" {
		t.Errorf("answer %q", got)
	}
	// The server is in the host's namespace, not the root one.
	if _, err := cmdOutput(context.Background(), 5*time.Second, nil, "/bin/busybox", "wget", "-qO-", "http://127.0.0.1:8080/"); err == nil {
		t.Error("httpd answers on the root namespace's loopback: not started in the host namespace")
	}
	eventually(t, "httpd logs the request", 5*time.Second, 50*time.Millisecond, func() (bool, string) {
		tail := p.Tail(10)
		return strings.Contains(tail, "response:200"), tail
	})
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if out, err := cmdOutput(context.Background(), 5*time.Second, nil, "/bin/busybox", "wget", "-qO-", url); err == nil {
		t.Errorf("httpd still answers after Kill: %q", out)
	}
	if out, _ := exec.Command("ip", "netns", "pids", h.Name).Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("processes left in %s after Kill: %s", h.Name, out)
	}
}

// TestHarnessContainerd checks the containerd helpers on a pod-like
// container of the test's own: podPID finds it by the runtime's labels,
// podWget runs in its network namespace, killTasks stops it, and the purge
// leaves no namespace, network namespace or cgroup behind.
func TestHarnessContainerd(t *testing.T) {
	requireRoot(t, "ip", "nsenter", "/bin/busybox", ctrtest.Socket)
	ns := ctrtest.RandomName("drydock-e2e-")
	netnsName := "drydock-" + ns + "-sandbox"
	t.Run("inside", func(t *testing.T) {
		d := newCtrd(t)
		ctx := namespaces.WithNamespace(context.Background(), ns)
		if err := d.c.NamespaceService().Create(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		d.purgeAtCleanup(t, ns)
		run(t, "ip", "netns", "add", netnsName)
		run(t, "ip", "netns", "exec", netnsName, "ip", "link", "set", "lo", "up")
		if _, err := images.EnsureBusybox(context.Background(), d.c, ns, ""); err != nil {
			t.Fatal(err)
		}
		img, err := d.c.GetImage(ctx, images.BusyboxRef)
		if err != nil {
			t.Fatal(err)
		}
		id := ctrtest.RandomName("c")
		ctr, err := d.c.NewContainer(ctx, id,
			client.WithSnapshotter(images.Snapshotter),
			client.WithNewSnapshot(id, img),
			client.WithNewSpec(oci.WithImageConfig(img),
				oci.WithProcessArgs("httpd", "-f", "-p", "8080", "-h", "/etc"),
				oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/var/run/netns/" + netnsName})),
			client.WithContainerLabels(map[string]string{
				"drydock.io/kind": "container", cri.LabelPodName: "web-0", cri.LabelPodNamespace: "default",
			}))
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pid, err := d.podPID(context.Background(), ns, "default", "web-0")
		if err != nil {
			t.Fatal(err)
		}
		if pid != task.Pid() {
			t.Errorf("podPID %d, task pid %d", pid, task.Pid())
		}
		if _, err := d.podPID(context.Background(), ns, "default", "web-1"); err == nil {
			t.Error("podPID found a task for a pod that has none")
		}
		eventually(t, "wget in the pod's namespace", 10*time.Second, 50*time.Millisecond, func() (bool, string) {
			out, err := podWget(pid, "http://127.0.0.1:8080/passwd")
			if err != nil {
				return false, err.Error()
			}
			return strings.Contains(out, "root:"), out
		})
		n, err := d.killTasks(context.Background(), ns)
		if err != nil || n != 1 {
			t.Fatalf("killTasks: %d, %v", n, err)
		}
		if _, err := d.podPID(context.Background(), ns, "default", "web-0"); err == nil {
			t.Error("podPID found a running task after killTasks")
		}
		if _, err := podWget(pid, "http://127.0.0.1:8080/passwd"); err == nil {
			t.Error("the killed container still answers")
		}
	})
	// After the inner test's cleanups: nothing of it is left.
	c, err := client.New(ctrtest.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nss, err := c.NamespaceService().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nss {
		if n == ns {
			t.Errorf("containerd namespace %s left behind", ns)
		}
	}
	if _, err := os.Stat("/var/run/netns/" + netnsName); err == nil {
		t.Errorf("network namespace %s left behind", netnsName)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/" + ns); len(left) > 0 {
		t.Errorf("cgroup folders left behind: %v", left)
	}
}
