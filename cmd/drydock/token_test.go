package main

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/server"
)

// The join command is printed as it is, even when the server URL holds a
// '%' (an IPv6 zone is written %25 in a URL).
func TestTokenJoinCommandWithPercentInURL(t *testing.T) {
	dir := t.TempDir()
	pki, err := auth.LoadOrCreateServerPKI(filepath.Join(dir, server.PKIDir), auth.ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://[fe80::1%25eth0]:6443"
	if err := auth.WriteAdminKubeconfig(filepath.Join(dir, server.AdminKubeconfigFile), url, pki.CA, 0); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "token", "create", "--data-dir", dir, "--print-join-command")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`^drydock-node --server https://\[fe80::1%25eth0\]:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --ca-cert-hash sha256:[0-9a-f]{64} --name NODE\n$`)
	if !re.MatchString(out) {
		t.Fatalf("join command %q", out)
	}
}
