package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
	"github.com/drydock-sim/drydock/real/server"
)

func TestRealCommandsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"server: bad port", []string{"server", "--secure-port", "abc"}, `"--secure-port"`},
		{"server: port out of range", []string{"server", "--secure-port", "70000", "--data-dir", missing}, "--secure-port 70000"},
		{"server: bad cluster cidr", []string{"server", "--cluster-cidr", "banana", "--data-dir", missing}, "--cluster-cidr"},
		{"server: bad log level", []string{"server", "--log-level", "loud"}, "--log-level"},
		{"server: stray argument", []string{"server", "extra"}, "unknown command"},
		{"node: no server", []string{"node", "--name", "n1"}, "--server is required"},
		{"node: bad token", []string{"node", "--server", "https://10.0.0.1:6443", "--name", "n1", "--token", "x"}, "--token"},
		{"node: bad name", []string{"node", "--server", "https://10.0.0.1:6443", "--name", "N_1"}, "--name"},
		{"node: unknown flag", []string{"node", "--bogus"}, "unknown flag: --bogus"},
		{"node: stray argument", []string{"node", "extra"}, "unknown command"},
		{"node: bad log level", []string{"node", "--server", "https://10.0.0.1:6443", "--name", "n1", "--log-level", "loud"}, "--log-level"},
		{"image: no subcommand", []string{"image"}, "subcommand is required"},
		{"image import: no file argument", []string{"image", "import"}, "accepts 1 arg"},
		{"image import: missing file", []string{"image", "import", missing}, "no such file"},
		{"token: no subcommand", []string{"token"}, "subcommand is required"},
		{"token create: no data dir", []string{"token", "create", "--data-dir", missing}, "--data-dir"},
		{"token create: negative ttl", []string{"token", "create", "--ttl", "-1h"}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 naming %q", code, stderr, tc.want)
			}
		})
	}
}

func TestRealCommandsHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"server", "--help"}, []string{"--data-dir", "--etcd-servers", "--secure-port", "--insecure-port", "--cluster-cidr", "--service-cluster-ip-range", "admin.kubeconfig"}},
		{[]string{"node", "--help"}, []string{"--server", "--token", "--name", "--node-ip", "--ca-cert-hash", "--ca-file", "--containerd-namespace"}},
		{[]string{"image", "import", "--help"}, []string{"OCI", "--containerd-namespace"}},
		{[]string{"token", "create", "--help"}, []string{"--ttl", "--print-join-command"}},
	} {
		code, out, stderr := runCLI(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v help lacks %q", tc.args, w)
			}
		}
	}
}

func TestTokenCreateListDelete(t *testing.T) {
	dir := t.TempDir()
	pki, err := auth.LoadOrCreateServerPKI(filepath.Join(dir, server.PKIDir), auth.ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.WriteAdminKubeconfig(filepath.Join(dir, server.AdminKubeconfigFile), "https://192.0.2.10:6443", pki.CA, 0); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "token", "create", "--data-dir", dir, "--description", "for worker-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tok := strings.TrimSpace(out)
	if _, _, err := auth.ParseToken(tok); err != nil {
		t.Fatalf("printed %q: %v", out, err)
	}
	if _, ok, err := auth.NewTokenStore(dir).Validate(tok); err != nil || !ok {
		t.Fatalf("created token does not validate: %v %v", ok, err)
	}

	code, out, stderr = runCLI(t, "token", "create", "--data-dir", dir, "--print-join-command", "--ttl", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`^drydock-node --server https://192\.0\.2\.10:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash (sha256:[0-9a-f]{64}) --name NODE\n$`)
	m := re.FindStringSubmatch(out)
	if m == nil || m[1] != pki.CA.Hash() {
		t.Fatalf("join command %q (CA hash %s)", out, pki.CA.Hash())
	}

	code, out, _ = runCLI(t, "token", "list", "--data-dir", dir)
	id := tok[:6]
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "for worker-1") || !strings.Contains(out, "<forever>") ||
		strings.Contains(out, tok[7:]) {
		t.Fatalf("list (exit %d):\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "token", "delete", "--data-dir", dir, id); code != 0 {
		t.Fatalf("delete: exit %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "token", "delete", "--data-dir", dir, id); code != exitBadInput {
		t.Fatalf("second delete: exit %d, want 2", code)
	}
	if _, err := os.Stat(filepath.Join(dir, auth.TokensFile)); err != nil {
		t.Fatal(err)
	}
}

func TestImageImport(t *testing.T) {
	c, ns := ctrtest.Namespace(t) // skips without root and containerd (fails under CI=true)
	tarball, err := images.BusyboxTarball(images.DefaultBusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(path, tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "image", "import", "--containerd-namespace", ns, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "imported "+images.BusyboxRef+" sha256:") {
		t.Fatalf("output %q", out)
	}
	img, err := c.GetImage(namespaces.WithNamespace(context.Background(), ns), images.BusyboxRef)
	if err != nil {
		t.Fatalf("image not in containerd: %v", err)
	}
	if ok, err := img.IsUnpacked(namespaces.WithNamespace(context.Background(), ns), images.Snapshotter); err != nil || !ok {
		t.Fatalf("image not unpacked: %v %v", ok, err)
	}
	// A file that is not an image tarball fails with exit 1 and names it.
	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, []byte("not a tarball"), 0o644) //nolint:errcheck
	if code, _, stderr := runCLI(t, "image", "import", "--containerd-namespace", ns, bad); code != exitFailed || !strings.Contains(stderr, "bad.tar") {
		t.Fatalf("bad tarball: exit %d %s", code, stderr)
	}
}
