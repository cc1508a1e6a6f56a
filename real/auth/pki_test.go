package auth

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestLoadOrCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA {
		t.Fatal("CA certificate is not a CA")
	}
	if got := fileMode(t, filepath.Join(dir, CAKeyFile)); got != 0o600 {
		t.Errorf("ca.key mode = %o, want 600", got)
	}
	if got := fileMode(t, dir); got != 0o700 {
		t.Errorf("pki dir mode = %o, want 700", got)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) || !publicKeysEqual(again.Key.Public(), ca.Key.Public()) {
		t.Fatal("second LoadOrCreateCA created a different CA instead of loading the stored one")
	}
	if again.Hash() != ca.Hash() || !validPin(ca.Hash()) {
		t.Fatalf("hash %q / %q", again.Hash(), ca.Hash())
	}

	// A partial PKI directory is refused, naming the file.
	if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), CAKeyFile) {
		t.Fatalf("partial CA dir: err = %v, want an error naming %s", err, CAKeyFile)
	}
	// A key that does not match the certificate is refused.
	other := mustCA(t)
	keyPEM, _ := EncodeKeyPEM(other.Key)
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "does not hold the private key") {
		t.Fatalf("mismatched CA key: err = %v", err)
	}
}

func TestCertChainVerification(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	client, err := ca.IssueClient("alice", []string{"dev", "ops"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueClient("alice", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueAPIServerServing(ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cert  *x509.Certificate
		roots *CA
		usage x509.ExtKeyUsage
		at    time.Time
		ok    bool
	}{
		{"client cert for client auth", client.Cert, ca, x509.ExtKeyUsageClientAuth, time.Now(), true},
		{"client cert not for server auth", client.Cert, ca, x509.ExtKeyUsageServerAuth, time.Now(), false},
		{"client cert of another CA", foreign.Cert, ca, x509.ExtKeyUsageClientAuth, time.Now(), false},
		{"client cert after its validity", client.Cert, ca, x509.ExtKeyUsageClientAuth, time.Now().Add(2 * time.Hour), false},
		{"serving cert for server auth", serving.Cert, ca, x509.ExtKeyUsageServerAuth, time.Now(), true},
		{"serving cert not for client auth", serving.Cert, ca, x509.ExtKeyUsageClientAuth, time.Now(), false},
		{"serving cert against another CA", serving.Cert, other, x509.ExtKeyUsageServerAuth, time.Now(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cert.Verify(x509.VerifyOptions{Roots: tt.roots.Pool(), KeyUsages: []x509.ExtKeyUsage{tt.usage}, CurrentTime: tt.at})
			if (err == nil) != tt.ok {
				t.Fatalf("verify err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if client.Cert.Subject.CommonName != "alice" || strings.Join(client.Cert.Subject.Organization, ",") != "dev,ops" {
		t.Errorf("client subject = %v", client.Cert.Subject)
	}
	if got := client.Cert.NotAfter.Sub(client.Cert.NotBefore); got != time.Hour+clockSkew {
		t.Errorf("client validity = %v, want 1h (+%v backdating)", got, clockSkew)
	}
}

func TestServingCertSANs(t *testing.T) {
	ca := mustCA(t)
	kp, err := ca.IssueAPIServerServing(ServingOptions{Hosts: []string{"Master.Example", "192.0.2.10", "", "2001:db8::1"}, ServiceCIDR: "10.100.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		ok   bool
	}{
		{"kubernetes", true},
		{"kubernetes.default", true},
		{"kubernetes.default.svc", true},
		{"kubernetes.default.svc.cluster.local", true},
		{"localhost", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"10.100.0.1", true}, // first Service IP of the given CIDR
		{"master.example", true},
		{"192.0.2.10", true},
		{"2001:db8::1", true},
		{"10.96.0.1", false}, // the default CIDR's, not this cluster's
		{"evil.example", false},
		{"192.0.2.11", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			_, err := kp.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if (err == nil) != tt.ok {
				t.Fatalf("verify for %q: err = %v, want ok=%v", tt.host, err, tt.ok)
			}
		})
	}
}

func TestFirstServiceIP(t *testing.T) {
	tests := []struct {
		cidr, want string
		wantErr    bool
	}{
		{"10.96.0.0/12", "10.96.0.1", false},
		{"10.0.0.0/24", "10.0.0.1", false},
		{"10.0.0.77/24", "10.0.0.1", false},
		{"fd00::/108", "fd00::1", false},
		{"10.0.0.0/32", "", true},
		{"10.0.0.0", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			ip, err := FirstServiceIP(tt.cidr)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want error", ip)
				}
				return
			}
			if err != nil || !ip.Equal(net.ParseIP(tt.want)) {
				t.Fatalf("got %v, %v; want %s", ip, err, tt.want)
			}
		})
	}
}

func TestLoadOrCreateServerPKI(t *testing.T) {
	dir := t.TempDir()
	p1, err := LoadOrCreateServerPKI(dir, ServingOptions{Hosts: []string{"node-a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{CAKeyFile, KubeletCAKeyFile, APIServerKeyFile, KubeletClientKeyFile} {
		if got := fileMode(t, filepath.Join(dir, f)); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", f, got)
		}
	}
	if p1.KubeletClient.Cert.Subject.CommonName != APIServerUser || p1.KubeletClient.Cert.Subject.Organization[0] != GroupMasters {
		t.Errorf("kubelet client subject = %v", p1.KubeletClient.Cert.Subject)
	}
	tests := []struct {
		name     string
		opts     ServingOptions
		sameSrv  bool
		checkSAN string
	}{
		{"restart with the same names reuses", ServingOptions{Hosts: []string{"node-a"}}, true, "node-a"},
		{"restart with fewer names reuses", ServingOptions{}, true, "node-a"},
		{"a new host name reissues", ServingOptions{Hosts: []string{"node-a", "api.example"}}, false, "api.example"},
	}
	prev := p1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := LoadOrCreateServerPKI(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !p.CA.Cert.Equal(p1.CA.Cert) {
				t.Fatal("CA changed")
			}
			if same := p.Serving.Cert.Equal(prev.Serving.Cert); same != tt.sameSrv {
				t.Fatalf("serving cert reused = %v, want %v", same, tt.sameSrv)
			}
			if !p.KubeletClient.Cert.Equal(p1.KubeletClient.Cert) {
				t.Fatal("kubelet client cert reissued without reason")
			}
			if err := p.Serving.Cert.VerifyHostname(tt.checkSAN); err != nil {
				t.Fatal(err)
			}
			prev = p
		})
	}
	// Close to expiry: reissued.
	ca, _ := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	ca.Now = func() time.Time { return time.Now().Add(CertValidity - renewThreshold/2) }
	spec := CertSpec{CommonName: APIServerUser, Organization: []string{GroupMasters}, Client: true}
	kp, err := loadOrIssue(ca, filepath.Join(dir, KubeletClientCertFile), filepath.Join(dir, KubeletClientKeyFile), spec, x509.ExtKeyUsageClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	if kp.Cert.Equal(p1.KubeletClient.Cert) {
		t.Fatal("a certificate close to expiry was reused")
	}
}

func TestServerAndClientTLSConfig(t *testing.T) {
	p, err := LoadOrCreateServerPKI(t.TempDir(), ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.ServerTLSConfig()
	if c.ClientAuth.String() != "VerifyClientCertIfGiven" || c.ClientCAs == nil {
		t.Fatalf("server ClientAuth = %v", c.ClientAuth)
	}
	if n := len(c.Certificates[0].Certificate); n != 2 {
		t.Fatalf("server chain has %d certificates, want serving + CA", n)
	}
}

func TestDefaultServingHosts(t *testing.T) {
	hosts := DefaultServingHosts()
	name, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	if len(hosts) == 0 || hosts[0] != name {
		t.Fatalf("hosts %v do not start with the host name %q", hosts, name)
	}
	for _, h := range hosts[1:] {
		ip := net.ParseIP(h)
		if ip == nil || ip.IsLoopback() {
			t.Fatalf("host %q is not a non-loopback IP", h)
		}
	}
	// They all make it into the serving certificate.
	kp, err := mustCA(t).IssueAPIServerServing(ServingOptions{Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if err := kp.Cert.VerifyHostname(h); err != nil {
			t.Error(err)
		}
	}
}
