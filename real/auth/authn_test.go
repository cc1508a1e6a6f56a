package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// whoami answers the authenticated user as JSON, or 401.
func whoami(a Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := a.Authenticate(r)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				http.Error(w, err.Error(), 500)
				return
			}
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(u)
	})
}

// newTLSServer starts an httptest server with the PKI's server TLS config.
func newTLSServer(t *testing.T, p *ServerPKI, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = p.ServerTLSConfig()
	// Handshakes refused on purpose would fill the output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestAuthenticatorOverTLS(t *testing.T) {
	p, err := LoadOrCreateServerPKI(t.TempDir(), ServingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokenStore(t.TempDir())
	boot, err := tokens.Create(time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	authn := NewAuthenticator(AuthenticatorConfig{
		ClientCAs:    p.CA.Pool(),
		Tokens:       tokens,
		StaticTokens: map[string]User{"s3cr3t-admin-token": {Name: "token-admin", Groups: []string{GroupMasters}}},
	})
	srv := newTLSServer(t, p, whoami(authn))

	node, err := p.CA.IssueClient("system:node:node-a", []string{GroupNodes}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := mustCA(t)
	foreign, err := other.IssueClient("drydock-admin", []string{GroupMasters}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		cert       *KeyPair
		header     string
		wantStatus int
		wantUser   string
		wantGroups []string
		handshake  bool // the TLS handshake itself must fail
	}{
		{name: "no credential", wantStatus: 401},
		{name: "valid client cert", cert: node, wantStatus: 200, wantUser: "system:node:node-a", wantGroups: []string{GroupNodes, GroupAuthenticated}},
		{name: "cert of another CA", cert: foreign, handshake: true},
		{name: "bootstrap token", header: "Bearer " + boot.String(), wantStatus: 200, wantUser: "system:bootstrap:" + boot.ID, wantGroups: []string{GroupBootstrappers, GroupAuthenticated}},
		{name: "bootstrap token, scheme in lower case", header: "bearer " + boot.String(), wantStatus: 200, wantUser: "system:bootstrap:" + boot.ID},
		{name: "wrong bootstrap secret", header: "Bearer " + boot.ID + ".0000000000000000", wantStatus: 401},
		{name: "unknown token", header: "Bearer abc", wantStatus: 401},
		{name: "basic auth", header: "Basic YWxpY2U6cHc=", wantStatus: 401},
		{name: "empty bearer", header: "Bearer ", wantStatus: 401},
		{name: "static token", header: "Bearer s3cr3t-admin-token", wantStatus: 200, wantUser: "token-admin", wantGroups: []string{GroupMasters, GroupAuthenticated}},
		{name: "valid cert wins over a bad token", cert: node, header: "Bearer nope", wantStatus: 200, wantUser: "system:node:node-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ClientTLSConfig(p.CA.Pool(), nil)
			if tt.cert != nil {
				// Always send the certificate, also when the server's list of
				// acceptable CAs does not name its issuer (Go's client would
				// then send none).
				c := tt.cert.TLSCertificate()
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer client.CloseIdleConnections()
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := client.Do(req)
			if tt.handshake {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request with a foreign client cert got HTTP %d, want a failed TLS handshake", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if strings.Contains(string(body), "0000000000000000") {
					t.Fatalf("401 body echoes the secret: %s", body)
				}
				return
			}
			var u User
			if err := json.Unmarshal(body, &u); err != nil {
				t.Fatal(err)
			}
			if u.Name != tt.wantUser {
				t.Fatalf("user %q, want %q", u.Name, tt.wantUser)
			}
			if tt.wantGroups != nil && !slices.Equal(u.Groups, tt.wantGroups) {
				t.Fatalf("groups %v, want %v", u.Groups, tt.wantGroups)
			}
		})
	}
}

// The authenticator verifies certificates itself, also when the TLS layer
// only requested them (tls.RequestClientCert) and did not verify.
func TestAuthenticatorVerifiesCertsItself(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	good, _ := ca.IssueClient("alice", []string{"dev"}, time.Hour)
	foreign, _ := other.IssueClient("alice", []string{GroupMasters}, time.Hour)
	serving, _ := ca.IssueAPIServerServing(ServingOptions{})
	noCN, _ := ca.IssueKeyPair(CertSpec{CommonName: "x", Client: true})
	noCN.Cert.Subject.CommonName = "" // parsed copy: the signature check still passes on Raw
	expired, _ := ca.IssueClient("alice", nil, time.Minute)

	now := time.Now()
	tests := []struct {
		name string
		cert *x509.Certificate
		at   time.Time
		user string
	}{
		{"valid", good.Cert, now, "alice"},
		{"other CA", foreign.Cert, now, ""},
		{"serving cert used as client cert", serving.Cert, now, ""},
		{"expired", expired.Cert, now.Add(time.Hour), ""},
		{"no common name", noCN.Cert, now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthenticator(AuthenticatorConfig{ClientCAs: ca.Pool(), Now: func() time.Time { return tt.at }})
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tt.cert}}
			u, err := a.Authenticate(r)
			if tt.user == "" {
				if err == nil || !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("got %v, %v; want ErrUnauthenticated", u, err)
				}
				return
			}
			if err != nil || u.Name != tt.user {
				t.Fatalf("got %v, %v; want %s", u, err, tt.user)
			}
		})
	}
	// No client CAs configured: certificates are not accepted at all.
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Cert}}
	if _, err := NewAuthenticator(AuthenticatorConfig{}).Authenticate(r); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("without ClientCAs: err = %v", err)
	}
}

func TestRequireGroup(t *testing.T) {
	ca := mustCA(t)
	admin, _ := ca.IssueClient(APIServerUser, []string{GroupMasters}, time.Hour)
	node, _ := ca.IssueClient("system:node:n1", []string{GroupNodes}, time.Hour)
	h := RequireGroup(NewAuthenticator(AuthenticatorConfig{ClientCAs: ca.Pool()}), GroupMasters,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "logs") }))
	tests := []struct {
		name string
		cert *x509.Certificate
		code int
	}{
		{"api server", admin.Cert, 200},
		{"node", node.Cert, 403},
		{"anonymous", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/containerLogs/default/p/c", nil)
			if tt.cert != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tt.cert}}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("code %d (%s), want %d", w.Code, w.Body, tt.code)
			}
			if tt.code != 200 && !strings.Contains(w.Body.String(), `"kind":"Status"`) {
				t.Fatalf("error body is not a Status: %s", w.Body)
			}
		})
	}
}
