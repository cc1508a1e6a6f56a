package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// joinCluster is a TLS server with the join endpoint and a whoami endpoint
// behind the same authenticator.
type joinCluster struct {
	pki   *ServerPKI
	token BootstrapToken
	srv   *httptest.Server
	authn *RequestAuthenticator
}

func newJoinCluster(t *testing.T) *joinCluster {
	t.Helper()
	p, err := LoadOrCreateServerPKI(t.TempDir(), ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokenStore(t.TempDir())
	tok, err := tokens.Create(time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	authn := NewAuthenticator(AuthenticatorConfig{ClientCAs: p.CA.Pool(), Tokens: tokens})
	jh, err := NewJoinHandler(JoinHandlerConfig{CA: p.CA, KubeletServingCA: p.KubeletServingCA, Authenticator: authn})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(JoinPath, jh)
	mux.Handle("/whoami", whoami(authn))
	return &joinCluster{pki: p, token: tok, srv: newTLSServer(t, p, mux), authn: authn}
}

func (c *joinCluster) opts(dir string) JoinOptions {
	return JoinOptions{Server: c.srv.URL, Token: c.token.String(), NodeName: "node-a", Dir: dir,
		CACertHashes: []string{c.pki.CA.Hash()}, Addresses: []string{"127.0.0.1", "node-a.example"}}
}

// whoamiWith calls /whoami with the node's client TLS config.
func whoamiWith(t *testing.T, url string, cfg *tls.Config) (int, User) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url + "/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u User
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, u
}

func TestJoinEndToEnd(t *testing.T) {
	c := newJoinCluster(t)
	dir := filepath.Join(t.TempDir(), "node")
	ctx := context.Background()

	creds, err := Join(ctx, c.opts(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !creds.Joined {
		t.Fatal("first join reports reused credentials")
	}
	if got := creds.Client.Cert.Subject; got.CommonName != "system:node:node-a" || len(got.Organization) != 1 || got.Organization[0] != GroupNodes {
		t.Fatalf("client subject = %v", got)
	}
	if !creds.CA.Equal(c.pki.CA.Cert) {
		t.Fatal("stored CA is not the cluster CA")
	}
	for _, f := range []string{NodeKeyFile, KubeletKeyFile} {
		if got := fileMode(t, filepath.Join(dir, f)); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", f, got)
		}
	}
	if got := fileMode(t, dir); got != 0o700 {
		t.Errorf("credentials dir mode = %o, want 700", got)
	}
	for _, host := range []string{"node-a", "node-a.example", "127.0.0.1"} {
		if err := creds.Serving.Cert.VerifyHostname(host); err != nil {
			t.Errorf("kubelet serving cert: %v", err)
		}
	}

	// The kubelet serving certificate is not trusted by the cluster CA, so
	// it cannot pass for the API server.
	if _, err := creds.Serving.Cert.Verify(x509.VerifyOptions{Roots: c.pki.CA.Pool(), DNSName: "127.0.0.1"}); err == nil {
		t.Fatal("a kubelet serving certificate verifies against the cluster CA")
	}
	testKubeletServer(t, c, creds)

	// The node credential authenticates as the node.
	code, u := whoamiWith(t, c.srv.URL, creds.ClientTLSConfig())
	if code != 200 || u.Name != "system:node:node-a" {
		t.Fatalf("whoami with node cert: %d %v", code, u)
	}

	// Restart: the stored credentials are reused, no token needed.
	o := c.opts(dir)
	o.Token = ""
	again, err := Join(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Joined || !again.Client.Cert.Equal(creds.Client.Cert) {
		t.Fatal("restart did not reuse the stored credentials")
	}
	// Restart without any trust option: the CA stored at the first join
	// is the anchor.
	bare := JoinOptions{Server: c.srv.URL, NodeName: "node-a", Dir: dir}
	if again, err := Join(ctx, bare); err != nil || again.Joined {
		t.Fatalf("restart without trust options: %v (joined %v)", err, again != nil && again.Joined)
	}
	// A pin of another CA does not reuse them (and, without a token,
	// cannot join).
	wrong := c.opts(dir)
	wrong.Token = ""
	wrong.CACertHashes = []string{mustCA(t).Hash()}
	if _, err := Join(ctx, wrong); err == nil {
		t.Fatal("stored credentials were reused although they do not chain to the pinned CA")
	}

	// Close to expiry: renewed with the node's own certificate, no token,
	// trusting the stored CA.
	o = bare
	o.Now = func() time.Time { return time.Now().Add(CertValidity - renewThreshold/2) }
	c.pki.CA.Now = o.Now
	c.pki.KubeletServingCA.Now = o.Now
	c.authn.cfg.Now = o.Now
	renewed, err := Join(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Joined || renewed.Client.Cert.Equal(creds.Client.Cert) {
		t.Fatal("credentials close to expiry were not renewed")
	}
	if renewed.Client.Cert.NotAfter.Before(creds.Client.Cert.NotAfter) {
		t.Fatal("renewed certificate expires earlier")
	}
}

func TestJoinTrust(t *testing.T) {
	c := newJoinCluster(t)
	other := mustCA(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		mut     func(*JoinOptions)
		wantErr string
	}{
		{"CA hash pin", func(o *JoinOptions) {}, ""},
		{"CA hash pin in upper case", func(o *JoinOptions) {
			o.CACertHashes = []string{strings.ToUpper(c.pki.CA.Hash()[7:])}
			o.CACertHashes[0] = "sha256:" + o.CACertHashes[0]
		}, ""},
		{"CA bundle", func(o *JoinOptions) { o.CACertHashes = nil; o.CABundle = c.pki.CA.CertPEM }, ""},
		{"explicit insecure", func(o *JoinOptions) { o.CACertHashes = nil; o.Insecure = true }, ""},
		{"no trust option", func(o *JoinOptions) { o.CACertHashes = nil }, "no way to trust the server"},
		{"wrong pin", func(o *JoinOptions) { o.CACertHashes = []string{other.Hash()} }, "no CA matching the CA certificate hash"},
		{"malformed pin", func(o *JoinOptions) { o.CACertHashes = []string{"md5:abc"} }, "want sha256:<64 hex digits>"},
		{"wrong CA bundle", func(o *JoinOptions) { o.CACertHashes = nil; o.CABundle = other.CertPEM }, "certificate signed by unknown authority"},
		{"wrong token", func(o *JoinOptions) { o.Token = c.token.ID + ".0000000000000000" }, "Unauthorized (HTTP 401)"},
		{"unknown token", func(o *JoinOptions) { o.Token = "zzzzzz.0123456789abcdef" }, "HTTP 401"},
		{"malformed token", func(o *JoinOptions) { o.Token = "secret" }, "does not match the format"},
		{"no token", func(o *JoinOptions) { o.Token = "" }, "bootstrap token is required"},
		{"plain http", func(o *JoinOptions) { o.Server = strings.Replace(o.Server, "https", "http", 1) }, "want https://"},
		{"bad node name", func(o *JoinOptions) { o.NodeName = "Node_A" }, `nodeName "Node_A"`},
		{"bad address", func(o *JoinOptions) { o.Addresses = []string{"not an address"} }, `addresses "not an address"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := c.opts(t.TempDir())
			tt.mut(&o)
			creds, err := Join(ctx, o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if entries, _ := os.ReadDir(o.Dir); len(entries) != 0 {
					t.Fatalf("a failed join left files behind: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !creds.CA.Equal(c.pki.CA.Cert) {
				t.Fatal("stored CA is not the cluster CA")
			}
		})
	}
}

// Stored credentials of another cluster (another CA) are not reused: the
// node joins again.
func TestJoinReplacesForeignCredentials(t *testing.T) {
	c1, c2 := newJoinCluster(t), newJoinCluster(t)
	dir := t.TempDir()
	if _, err := Join(context.Background(), c1.opts(dir)); err != nil {
		t.Fatal(err)
	}
	creds, err := Join(context.Background(), c2.opts(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !creds.Joined || !creds.CA.Equal(c2.pki.CA.Cert) {
		t.Fatal("credentials of the first cluster were reused for the second")
	}
}

func postJoin(t *testing.T, c *joinCluster, auth string, cert *KeyPair, body []byte) (int, string) {
	t.Helper()
	cfg := ClientTLSConfig(c.pki.CA.Pool(), nil)
	if cert != nil {
		tc := cert.TLSCertificate()
		cfg.Certificates = []tls.Certificate{tc}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("POST", c.srv.URL+JoinPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func csrPEM(t *testing.T, cn string, org ...string) string {
	t.Helper()
	k, _ := NewKey()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: org}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestJoinHandler(t *testing.T) {
	c := newJoinCluster(t)
	nodeB, _ := c.pki.CA.IssueClient("system:node:node-b", []string{GroupNodes}, time.Hour)
	admin, _ := c.pki.CA.IssueClient(AdminUser, []string{GroupMasters}, time.Hour)
	body := func(r JoinRequest) []byte { b, _ := json.Marshal(r); return b }
	good := JoinRequest{NodeName: "node-a", CSR: csrPEM(t, "system:node:node-a", GroupNodes)}
	k, _ := NewKey()
	pubDER, _ := x509.MarshalPKIXPublicKey(k.Public())
	tampered := []byte(strings.Replace(good.CSR, "M", "N", 3))

	tests := []struct {
		name   string
		auth   string
		cert   *KeyPair
		body   []byte
		code   int
		reason string
	}{
		{"bootstrap token", c.token.String(), nil, body(good), 201, ""},
		{"public key instead of CSR", c.token.String(), nil, body(JoinRequest{NodeName: "node-a", PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}), 201, ""},
		{"CSR without subject", c.token.String(), nil, body(JoinRequest{NodeName: "node-a", CSR: csrPEM(t, "")}), 201, ""},
		{"anonymous", "", nil, body(good), 401, "Unauthorized"},
		{"node renews its own", "", nodeB, body(JoinRequest{NodeName: "node-b", CSR: csrPEM(t, "")}), 201, ""},
		{"node asks for another node", "", nodeB, body(good), 403, "Forbidden"},
		{"admin is not a bootstrapper", "", admin, body(good), 403, "Forbidden"},
		{"CSR for another identity", c.token.String(), nil, body(JoinRequest{NodeName: "node-a", CSR: csrPEM(t, "drydock-admin", GroupMasters)}), 400, "BadRequest"},
		{"tampered CSR", c.token.String(), nil, body(JoinRequest{NodeName: "node-a", CSR: string(tampered)}), 400, "BadRequest"},
		{"no key", c.token.String(), nil, body(JoinRequest{NodeName: "node-a"}), 400, "BadRequest"},
		{"unknown field", c.token.String(), nil, []byte(`{"nodeName":"node-a","admin":true}`), 400, "BadRequest"},
		{"not JSON", c.token.String(), nil, []byte(`nodeName=node-a`), 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := postJoin(t, c, tt.auth, tt.cert, tt.body)
			if code != tt.code {
				t.Fatalf("code %d (%s), want %d", code, resp, tt.code)
			}
			if tt.code != 201 {
				var st metav1.Status
				if err := json.Unmarshal([]byte(resp), &st); err != nil || st.Kind != "Status" || string(st.Reason) != tt.reason {
					t.Fatalf("error body %s: want a Status with reason %s", resp, tt.reason)
				}
				return
			}
			var jr JoinResponse
			if err := json.Unmarshal([]byte(resp), &jr); err != nil {
				t.Fatal(err)
			}
			cert, err := parseOneCert(jr.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: c.pki.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cert.Subject.CommonName, NodeUserPrefix) || cert.Subject.Organization[0] != GroupNodes {
				t.Fatalf("subject %v", cert.Subject)
			}
			if jr.CABundle != string(c.pki.CA.CertPEM) || jr.Kind != "JoinResponse" {
				t.Fatalf("response %+v", jr)
			}
		})
	}

	// Only POST.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ClientTLSConfig(c.pki.CA.Pool(), nil)}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(c.srv.URL + JoinPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET join: %d", resp.StatusCode)
	}
}

// startKubeletServer runs a kubelet-like HTTPS server with the node's
// credentials, answering "log line" to the API server only; it counts the
// requests that reach its handler.
func startKubeletServer(t *testing.T, creds *NodeCredentials) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(RequireGroup(NewAuthenticator(AuthenticatorConfig{ClientCAs: creds.CAPool()}), GroupMasters,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			io.WriteString(w, "log line")
		})))
	srv.TLS = creds.KubeletServerTLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &hits
}

// kubeletGet asks node's kubelet at srv for a log through client (the API
// server's kubelet client).
func kubeletGet(client *http.Client, srv *httptest.Server, node string) (*http.Response, error) {
	addr := srv.Listener.Addr().(*net.TCPAddr)
	u := "https://" + net.JoinHostPort(node, strconv.Itoa(addr.Port)) + "/containerLogs/default/p/c"
	req, err := http.NewRequestWithContext(WithKubeletAddress(context.Background(), addr.String()), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// testKubeletServer runs a kubelet-like HTTPS server with the node's
// credentials: the API server reaches it with its kubelet client; nodes and
// anonymous clients do not get through.
func testKubeletServer(t *testing.T, c *joinCluster, creds *NodeCredentials) {
	t.Helper()
	srv, _ := startKubeletServer(t, creds)
	kubeletRoots := x509.NewCertPool()
	kubeletRoots.AddCert(creds.ServingCA)
	nodeCert := creds.Client.TLSCertificate()
	plain := func(cfg *tls.Config) func() (*http.Response, error) {
		return func() (*http.Response, error) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer client.CloseIdleConnections()
			return client.Get(srv.URL + "/containerLogs/default/p/c")
		}
	}
	apiServer := c.pki.KubeletHTTPClient()
	defer apiServer.CloseIdleConnections()
	tests := []struct {
		name string
		get  func() (*http.Response, error)
		code int // 0: the TLS handshake fails
	}{
		{"api server", func() (*http.Response, error) { return kubeletGet(apiServer, srv, creds.NodeName) }, 200},
		{"another node's cert", plain(ClientTLSConfig(kubeletRoots, &nodeCert)), 403},
		{"no client cert", plain(ClientTLSConfig(kubeletRoots, nil)), 0},
		{"client trusting only the cluster CA", plain(ClientTLSConfig(c.pki.CA.Pool(), &nodeCert)), 0},
	}
	for _, tt := range tests {
		t.Run("kubelet server/"+tt.name, func(t *testing.T) {
			resp, err := tt.get()
			if tt.code == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got HTTP %d, want a failed TLS handshake", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("HTTP %d (%s), want %d", resp.StatusCode, body, tt.code)
			}
			if tt.code == 200 && string(body) != "log line" {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// TestJoinedNodeCannotPoseAsAnother: a node that joined asking for another
// node's name and address in its serving certificate gets them, but the API
// server's kubelet client does not take it for that node.
func TestJoinedNodeCannotPoseAsAnother(t *testing.T) {
	c := newJoinCluster(t)
	o := c.opts(filepath.Join(t.TempDir(), "node-b"))
	o.NodeName = "node-b"
	o.Addresses = []string{"127.0.0.1", "node-a", "node-a.example"}
	creds, err := Join(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"node-a", "127.0.0.1"} {
		if err := creds.Serving.Cert.VerifyHostname(host); err != nil {
			t.Fatalf("join did not issue node-b a serving certificate for %s: %v", host, err)
		}
	}
	srv, hits := startKubeletServer(t, creds)
	client := c.pki.KubeletHTTPClient()
	defer client.CloseIdleConnections()

	resp, err := kubeletGet(client, srv, "node-a")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("node-b's kubelet answered HTTP %d as node-a", resp.StatusCode)
	}
	if !strings.Contains(err.Error(), `"node-a"`) || !strings.Contains(err.Error(), "system:node:node-b") {
		t.Fatalf("error %q does not name the node asked for and the certificate's", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the impostor received %d requests", n)
	}
	resp, err = kubeletGet(client, srv, "node-b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || hits.Load() != 1 {
		t.Fatalf("node-b as itself: HTTP %d, %d requests", resp.StatusCode, hits.Load())
	}
}

func TestNewJoinHandlerConfig(t *testing.T) {
	ca, kca := mustCA(t), mustCA(t)
	authn := NewAuthenticator(AuthenticatorConfig{})
	tests := []struct {
		name string
		cfg  JoinHandlerConfig
		ok   bool
	}{
		{"complete", JoinHandlerConfig{CA: ca, KubeletServingCA: kca, Authenticator: authn}, true},
		{"no kubelet serving CA", JoinHandlerConfig{CA: ca, Authenticator: authn}, false},
		{"kubelet serving CA is the cluster CA", JoinHandlerConfig{CA: ca, KubeletServingCA: ca, Authenticator: authn}, false},
		{"no authenticator", JoinHandlerConfig{CA: ca, KubeletServingCA: kca}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewJoinHandler(tt.cfg); (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
