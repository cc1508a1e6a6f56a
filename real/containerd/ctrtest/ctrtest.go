// Package ctrtest gives tests a containerd client and a fresh containerd
// namespace of their own, and removes everything made in it when the test
// ends: tasks, containers, snapshots, images (synchronously, so their
// content goes too), leases, the namespace, the network namespaces a runtime
// bind-mounted for it, and the cgroup folders runc leaves behind on cgroup v1.
package ctrtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Socket is containerd's default address.
const Socket = "/run/containerd/containerd.sock"

// NetnsDir is where tests ask runtimes to bind-mount network namespaces.
const NetnsDir = "/var/run/netns"

// Require skips the test when root or containerd is missing, unless CI is
// "true": there it fails, because CI has both.
func Require(t testing.TB) {
	t.Helper()
	var why string
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := os.Stat(Socket); err != nil {
		why = "needs containerd at " + Socket
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("real-mode test %s (CI=true, so this is a failure)", why)
	}
	t.Skip(why)
}

// RandomName is prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// Namespace connects to containerd and creates a unique namespace
// "drydock-test-<random>", removed with all it holds in t.Cleanup.
func Namespace(t testing.TB) (*client.Client, string) {
	t.Helper()
	Require(t)
	c, err := client.New(Socket)
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	ns := RandomName("drydock-test-")
	ctx := namespaces.WithNamespace(context.Background(), ns) // 1.6 needs the namespace in the context
	if err := c.NamespaceService().Create(ctx, ns, nil); err != nil {
		c.Close()
		t.Fatalf("create containerd namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		if err := Purge(c, ns); err != nil {
			t.Errorf("clean up containerd namespace %s: %v", ns, err)
		}
		c.Close()
	})
	return c, ns
}

// Purge removes containerd namespace ns and everything in it, the network
// namespaces named "drydock-<ns>-*" in NetnsDir, and the cgroup folders
// /sys/fs/cgroup/*/<ns>.
func Purge(c *client.Client, ns string) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 2*time.Minute)
	defer cancel()
	var errs []error
	ctrs, err := c.Containers(ctx)
	errs = append(errs, err)
	errs = append(errs, killTasks(ctx, ctrs))
	for _, ctr := range ctrs {
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	imgs, err := c.ImageService().List(ctx)
	errs = append(errs, err)
	for i, img := range imgs {
		opts := []images.DeleteOpt{}
		if i == len(imgs)-1 {
			opts = append(opts, images.SynchronousDelete()) // one synchronous GC at the end
		}
		if err := c.ImageService().Delete(ctx, img.Name, opts...); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	ls, err := c.LeasesService().List(ctx)
	errs = append(errs, err)
	for _, l := range ls {
		errs = append(errs, c.LeasesService().Delete(ctx, l, leases.SynchronousDelete))
	}
	errs = append(errs, removeSnapshots(ctx, c.SnapshotService("overlayfs")))
	if err := c.NamespaceService().Delete(ctx, ns); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	errs = append(errs, RemoveNetns(NetnsDir, "drydock-"+ns+"-"))
	errs = append(errs, RemoveCgroups(ns))
	return errors.Join(errs...)
}

// KillTasks kills and deletes every task in containerd namespace ns, and
// removes the FIFO folders of their output (as a reboot clears /run).
func KillTasks(c *client.Client, ns string) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), 2*time.Minute)
	defer cancel()
	ctrs, err := c.Containers(ctx)
	if err != nil {
		return err
	}
	return killTasks(ctx, ctrs)
}

func killTasks(ctx context.Context, ctrs []client.Container) error {
	var errs []error
	for _, ctr := range ctrs {
		var fifos string
		attach := func(fs *cio.FIFOSet) (cio.IO, error) {
			if fs.Stdout != "" {
				fifos = filepath.Dir(fs.Stdout)
			}
			return noIO{fs.Config}, nil
		}
		if task, err := ctr.Task(ctx, attach); err == nil {
			_, err := task.Delete(ctx, client.WithProcessKill)
			if err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
		if fifos != "" && strings.HasPrefix(fifos, "/run/containerd/fifo/") {
			errs = append(errs, os.RemoveAll(fifos)) // left by a runtime that let go of the task
		}
	}
	return errors.Join(errs...)
}

// noIO is a task IO that copies nothing.
type noIO struct{ cfg cio.Config }

func (n noIO) Config() cio.Config { return n.cfg }
func (noIO) Cancel()              {}
func (noIO) Wait()                {}
func (noIO) Close() error         { return nil }

// removeSnapshots removes every snapshot, children before parents.
func removeSnapshots(ctx context.Context, sn snapshots.Snapshotter) error {
	for round := 0; round < 64; round++ {
		parents := map[string]bool{}
		var all []string
		if err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			all = append(all, info.Name)
			if info.Parent != "" {
				parents[info.Parent] = true
			}
			return nil
		}); err != nil {
			return err
		}
		if len(all) == 0 {
			return nil
		}
		for _, name := range all {
			if !parents[name] {
				if err := sn.Remove(ctx, name); err != nil && !errdefs.IsNotFound(err) {
					return err
				}
			}
		}
	}
	return errors.New("snapshots left after 64 rounds")
}

// RemoveNetns unmounts and removes the files in dir whose names start with prefix.
func RemoveNetns(dir, prefix string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveCgroups removes the empty cgroup folders named ns under every
// hierarchy (cgroup v1: /sys/fs/cgroup/*/ns; v2: /sys/fs/cgroup/ns),
// deepest first. runc removes a container's own folder, not its parents.
func RemoveCgroups(ns string) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + ns)
	if _, err := os.Stat("/sys/fs/cgroup/" + ns); err == nil {
		roots = append(roots, "/sys/fs/cgroup/"+ns)
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
