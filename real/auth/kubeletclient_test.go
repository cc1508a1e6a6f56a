package auth

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// kubeletEnv is a kubelet serving CA and the API server's client towards
// kubelets trusting it, with a client certificate from a cluster CA.
type kubeletEnv struct {
	servingCA, clusterCA *CA
	client               *http.Client
}

func newKubeletEnv(t *testing.T) *kubeletEnv {
	t.Helper()
	e := &kubeletEnv{servingCA: mustCA(t), clusterCA: mustCA(t)}
	kp, err := e.clusterCA.IssueClient(APIServerUser, []string{GroupMasters}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert := kp.TLSCertificate()
	e.client = NewKubeletClient(e.servingCA.Pool(), &cert)
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

// servingCert issues a kubelet serving certificate as join does (CN
// system:node:NAME, O system:nodes, DNS SAN NAME) plus the extra names and
// 127.0.0.1, signed by ca.
func servingCert(t *testing.T, ca *CA, spec CertSpec) tls.Certificate {
	t.Helper()
	kp, err := ca.IssueKeyPair(spec)
	if err != nil {
		t.Fatal(err)
	}
	return kp.TLSCertificate(ca.Cert)
}

func nodeServing(t *testing.T, ca *CA, node string, extraDNS ...string) tls.Certificate {
	return servingCert(t, ca, CertSpec{CommonName: NodeUserPrefix + node, Organization: []string{GroupNodes},
		DNSNames: append([]string{node}, extraDNS...), IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
}

// fakeKubelet is an HTTPS server presenting the certificate getCert picks;
// it records every request that reaches it.
type fakeKubelet struct {
	srv  *httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	// seen: per request, the Host header, the SNI name and the remote
	// address (one per connection).
	seen []seenRequest
}

type seenRequest struct{ host, sni, remote, clientCN string }

func startFakeKubelet(t *testing.T, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *fakeKubelet {
	t.Helper()
	k := &fakeKubelet{}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.hits.Add(1)
		s := seenRequest{host: r.Host, sni: r.TLS.ServerName, remote: r.RemoteAddr}
		if len(r.TLS.PeerCertificates) > 0 {
			s.clientCN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		k.mu.Lock()
		k.seen = append(k.seen, s)
		k.mu.Unlock()
		io.WriteString(w, "log of "+r.URL.Path)
	}))
	k.srv.TLS = &tls.Config{GetCertificate: getCert, ClientAuth: tls.RequestClientCert}
	// Handshakes refused on purpose would fill the output.
	k.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	k.srv.StartTLS()
	t.Cleanup(k.srv.Close)
	return k
}

func staticCert(c tls.Certificate) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &c, nil }
}

// get asks node's kubelet at k's address for a log, as the pods/log proxy
// does: the URL names the node, the context the address.
func (e *kubeletEnv) get(k *fakeKubelet, node string) (string, error) {
	addr := k.srv.Listener.Addr().(*net.TCPAddr)
	u := "https://" + net.JoinHostPort(node, strconv.Itoa(addr.Port)) + "/containerLogs/default/p/c"
	req, err := http.NewRequestWithContext(WithKubeletAddress(context.Background(), addr.String()), http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func TestKubeletClientChecksNodeIdentity(t *testing.T) {
	e := newKubeletEnv(t)
	otherCA := mustCA(t)
	tests := []struct {
		name    string
		cert    tls.Certificate
		wantErr []string // "" : the request reaches the kubelet
	}{
		{"the node's own certificate", nodeServing(t, e.servingCA, "n1"), nil},
		{"another node's certificate covering n1's name and address", nodeServing(t, e.servingCA, "n2", "n1"),
			[]string{`node "n1"`, "CN=system:node:n2"}},
		{"the node's name from another CA", nodeServing(t, otherCA, "n1"),
			[]string{`node "n1"`, "certificate signed by unknown authority"}},
		{"not in system:nodes", servingCert(t, e.servingCA, CertSpec{CommonName: "system:node:n1", DNSNames: []string{"n1"}, Server: true}),
			[]string{`node "n1"`, "O=[]"}},
		{"CN without the node prefix", servingCert(t, e.servingCA, CertSpec{CommonName: "n1", Organization: []string{GroupNodes}, DNSNames: []string{"n1"}, Server: true}),
			[]string{`node "n1"`, "CN=n1,"}},
		{"client usage only", servingCert(t, e.servingCA, CertSpec{CommonName: "system:node:n1", Organization: []string{GroupNodes}, Client: true}),
			[]string{`node "n1"`, "incompatible key usage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := startFakeKubelet(t, staticCert(tt.cert))
			body, err := e.get(k, "n1")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if body != "log of /containerLogs/default/p/c" {
					t.Fatalf("body %q", body)
				}
				k.mu.Lock()
				defer k.mu.Unlock()
				if s := k.seen[0]; s.sni != "n1" || s.clientCN != APIServerUser {
					t.Fatalf("kubelet saw SNI %q and client %q, want n1 and %s", s.sni, s.clientCN, APIServerUser)
				}
				return
			}
			if err == nil {
				t.Fatalf("request reached the kubelet: %q", body)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := k.hits.Load(); n != 0 {
				t.Fatalf("the kubelet received %d requests", n)
			}
		})
	}
}

func TestKubeletClientNeedsAddress(t *testing.T) {
	e := newKubeletEnv(t)
	k := startFakeKubelet(t, staticCert(nodeServing(t, e.servingCA, "n1")))
	_, port, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	for _, ctx := range []context.Context{context.Background(), WithKubeletAddress(context.Background(), "")} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://n1:"+port+"/containerLogs/default/p/c", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a request without an address was sent")
		}
		if !strings.Contains(err.Error(), `no address to dial for node "n1"`) {
			t.Fatalf("error %q", err)
		}
	}
	if k.hits.Load() != 0 {
		t.Fatal("the kubelet received a request")
	}
}

// TestKubeletClientConnectionsPerNode: connections are pooled per node, so
// one verified for n1 is not reused for n2 at the same address, whether
// the address serves only n1 (the request for n2 fails) or both.
func TestKubeletClientConnectionsPerNode(t *testing.T) {
	t.Run("address serving only n1", func(t *testing.T) {
		e := newKubeletEnv(t)
		k := startFakeKubelet(t, staticCert(nodeServing(t, e.servingCA, "n1", "n2")))
		if _, err := e.get(k, "n1"); err != nil {
			t.Fatal(err)
		}
		// The connection verified for n1 is idle in the pool now.
		if _, err := e.get(k, "n2"); err == nil || !strings.Contains(err.Error(), `node "n2"`) {
			t.Fatalf("request for n2 over n1's address: err = %v", err)
		}
		if _, err := e.get(k, "n1"); err != nil {
			t.Fatal(err)
		}
		if n := k.hits.Load(); n != 2 {
			t.Fatalf("kubelet received %d requests, want n1's 2", n)
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, s := range k.seen {
			if s.sni != "n1" {
				t.Fatalf("request %+v", s)
			}
		}
		if k.seen[0].remote != k.seen[1].remote {
			t.Errorf("n1's second request used a new connection (%s, %s)", k.seen[0].remote, k.seen[1].remote)
		}
	})
	t.Run("address serving n1 and n2", func(t *testing.T) {
		e := newKubeletEnv(t)
		certs := map[string]tls.Certificate{"n1": nodeServing(t, e.servingCA, "n1"), "n2": nodeServing(t, e.servingCA, "n2")}
		k := startFakeKubelet(t, func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := certs[hello.ServerName]
			return &c, nil
		})
		for _, node := range []string{"n1", "n2", "n1", "n2"} {
			if _, err := e.get(k, node); err != nil {
				t.Fatal(err)
			}
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		conns := map[string]string{} // remote address -> node
		for _, s := range k.seen {
			node, _, _ := net.SplitHostPort(s.host)
			if s.sni != node {
				t.Errorf("request for %s over a connection to %s", node, s.sni)
			}
			if prev, ok := conns[s.remote]; ok && prev != node {
				t.Errorf("connection %s carried requests for %s and %s", s.remote, prev, node)
			}
			conns[s.remote] = node
		}
		if len(k.seen) != 4 || len(conns) != 2 {
			t.Fatalf("%d requests over %d connections, want 4 over 2 (one per node, reused)", len(k.seen), len(conns))
		}
	})
}

// TestKubeletClientRefusesRedirects: a kubelet's redirect is not followed
// (kube-apiserver's kubelet proxies refuse them: CVE-2020-8559), neither to
// plain HTTP elsewhere (dialled by name, with no address from the context
// and no certificate check at all) nor back to the node itself.
func TestKubeletClientRefusesRedirects(t *testing.T) {
	e := newKubeletEnv(t)
	var elsewhere atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		io.WriteString(w, "internal secret")
	}))
	t.Cleanup(plain.Close)
	for _, tc := range []struct {
		name, location string
	}{
		{"plain HTTP elsewhere", plain.URL + "/internal"},
		{"the node itself", "/containerLogs/kube-system/other/c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var followed atomic.Int32
			cert := nodeServing(t, e.servingCA, "n1")
			k := &fakeKubelet{}
			k.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/containerLogs/default/p/c" {
					followed.Add(1)
					io.WriteString(w, "followed")
					return
				}
				http.Redirect(w, r, tc.location, http.StatusFound)
			}))
			k.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			k.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			k.srv.StartTLS()
			t.Cleanup(k.srv.Close)
			elsewhere.Store(0)
			body, err := e.get(k, "n1")
			if err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("got %q, %v; want an error refusing the redirect", body, err)
			}
			if n := elsewhere.Load() + followed.Load(); n != 0 {
				t.Errorf("the redirect was followed (%d requests reached its target)", n)
			}
		})
	}
}
