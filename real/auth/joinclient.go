package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Files a node keeps in its credentials directory.
const (
	NodeCertFile    = "node.crt"    // client certificate system:node:NAME
	NodeKeyFile     = "node.key"    // its key (0600)
	KubeletCertFile = "kubelet.crt" // kubelet serving certificate
	KubeletKeyFile  = "kubelet.key" // its key (0600)
	NodeCAFile      = "ca.crt"      // the cluster CA
	// KubeletCAFile: the kubelet serving CA, sent along the serving
	// certificate.
	KubeletCAFile = "kubelet-ca.crt"
)

// JoinOptions configure the node side of join.
type JoinOptions struct {
	// Server is the API server's base URL, https://HOST:PORT.
	Server string
	// Token is the bootstrap token "<id>.<secret>". Needed for the first
	// join; a node with a still-valid certificate renews with it instead.
	Token    string
	NodeName string
	// Dir holds the node's credentials (created 0700).
	Dir string
	// How the node trusts the server on first contact; one of them is
	// required for the first join (secure by default; later the CA stored
	// then is trusted when none is given):
	//   CACertHashes: pins of the CA's public key, "sha256:<hex>" as kubeadm's
	//     --discovery-token-ca-cert-hash (see CA.Hash). The server must
	//     present a CA certificate with a pinned key in its TLS chain, and
	//     its serving certificate must chain to that CA.
	//   CABundle: PEM CA certificates (e.g. a copy of the server's ca.crt).
	//   Insecure: trust whatever server answers and the CA it returns
	//     (only with an explicit --insecure flag).
	CACertHashes []string
	CABundle     []byte
	Insecure     bool
	// Addresses (IPs, DNS names) the kubelet serving certificate covers
	// besides NodeName.
	Addresses []string
	// Timeout of the join call (default 30 s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NodeCredentials are a node's stored credentials.
type NodeCredentials struct {
	Dir      string
	NodeName string
	CA       *x509.Certificate
	CAPEM    []byte
	Client   *KeyPair
	// Serving is the kubelet's serving certificate, issued by ServingCA.
	Serving      *KeyPair
	ServingCA    *x509.Certificate
	ServingCAPEM []byte
	// Joined: this call obtained new certificates (false: reused from Dir).
	Joined bool
}

// CAPool is a pool holding the cluster CA.
func (c *NodeCredentials) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.CA)
	return p
}

// ClientTLSConfig is the node's TLS configuration towards the API server.
func (c *NodeCredentials) ClientTLSConfig() *tls.Config {
	cert := c.Client.TLSCertificate()
	return ClientTLSConfig(c.CAPool(), &cert)
}

// KubeletServerTLSConfig is the TLS configuration of the kubelet's HTTPS
// server: the serving certificate, and client certificates required and
// verified against the cluster CA (the API server authenticates with its
// own; authorise the user with RequireGroup(..., GroupMasters, ...)).
func (c *NodeCredentials) KubeletServerTLSConfig() *tls.Config {
	cfg := ServerTLSConfig(c.Serving.TLSCertificate(c.ServingCA), c.CAPool())
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg
}

// Join obtains the node's credentials: it reuses those stored in opts.Dir
// when they are valid for opts.NodeName, chain to the trusted CA (or to the
// stored CA when no trust option is given: it was trusted at the first join)
// and are not about to expire; renews them with the node's own certificate when they are
// about to expire; otherwise it creates keys and CSRs, calls the server's
// join endpoint with the bootstrap token, checks the answer and stores
// node.crt, node.key, kubelet.crt, kubelet.key, kubelet-ca.crt and ca.crt in
// opts.Dir.
func Join(ctx context.Context, opts JoinOptions) (*NodeCredentials, error) {
	if opts.NodeName == "" {
		return nil, errors.New("join: node name is required")
	}
	if opts.Dir == "" {
		return nil, errors.New("join: credentials directory is required")
	}
	for _, h := range opts.CACertHashes {
		if !validPin(h) {
			return nil, fmt.Errorf("join: CA certificate hash %q: want sha256:<64 hex digits>", h)
		}
	}
	var bundle []*x509.Certificate
	if len(opts.CABundle) > 0 {
		var err error
		if bundle, err = ParseCertsPEM(opts.CABundle); err != nil {
			return nil, fmt.Errorf("join: CA bundle: %w", err)
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	noTrustOption := len(opts.CACertHashes) == 0 && len(bundle) == 0 && !opts.Insecure
	stored, storedErr := LoadNodeCredentials(opts.Dir, opts.NodeName, now())
	if storedErr == nil && (noTrustOption || trusted(stored.CA, opts.CACertHashes, bundle, opts.Insecure)) {
		if stored.Client.Cert.NotAfter.Sub(now()) >= renewThreshold {
			return stored, nil
		}
		// Renew with the node's own certificate (falls back to the token).
		if creds, err := joinOnce(ctx, opts, now, bundle, stored); err == nil {
			return creds, nil
		} else if opts.Token == "" {
			return nil, err
		}
		if noTrustOption {
			// The CA stored at the first join is the trust anchor.
			bundle = []*x509.Certificate{stored.CA}
			noTrustOption = false
		}
	}
	if noTrustOption {
		return nil, errors.New("join: no way to trust the server: give the CA certificate hash (sha256:...), a CA file, or explicitly --insecure")
	}
	if opts.Token == "" {
		if storedErr != nil && !errors.Is(storedErr, os.ErrNotExist) {
			return nil, fmt.Errorf("join: stored credentials unusable (%v) and no bootstrap token given", storedErr)
		}
		return nil, errors.New("join: a bootstrap token is required to join")
	}
	if _, _, err := ParseToken(opts.Token); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	return joinOnce(ctx, opts, now, bundle, nil)
}

func validPin(h string) bool {
	hexPart, ok := strings.CutPrefix(strings.ToLower(h), "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range hexPart {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func pinned(c *x509.Certificate, pins []string) bool {
	h := CertHash(c)
	return slices.ContainsFunc(pins, func(p string) bool { return strings.EqualFold(p, h) })
}

// trusted: the stored CA is the one the options designate.
func trusted(ca *x509.Certificate, pins []string, bundle []*x509.Certificate, insecure bool) bool {
	if len(pins) > 0 && !pinned(ca, pins) {
		return false
	}
	if len(bundle) > 0 && !slices.ContainsFunc(bundle, ca.Equal) {
		return false
	}
	return len(pins) > 0 || len(bundle) > 0 || insecure
}

// LoadNodeCredentials reads and checks the credentials stored in dir: the
// client certificate must be for system:node:nodeName, chain to ca.crt for
// client auth and be valid at now; the serving certificate must chain to
// ca.crt for server auth.
func LoadNodeCredentials(dir, nodeName string, now time.Time) (*NodeCredentials, error) {
	ca, caPEM, err := ReadCertFile(filepath.Join(dir, NodeCAFile))
	if err != nil {
		return nil, err
	}
	client, err := ReadKeyPair(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile))
	if err != nil {
		return nil, err
	}
	serving, err := ReadKeyPair(filepath.Join(dir, KubeletCertFile), filepath.Join(dir, KubeletKeyFile))
	if err != nil {
		return nil, err
	}
	servingCA, servingCAPEM, err := ReadCertFile(filepath.Join(dir, KubeletCAFile))
	if err != nil {
		return nil, err
	}
	creds := &NodeCredentials{Dir: dir, NodeName: nodeName, CA: ca, CAPEM: caPEM, Client: client,
		Serving: serving, ServingCA: servingCA, ServingCAPEM: servingCAPEM}
	if err := creds.check(now); err != nil {
		return nil, err
	}
	return creds, nil
}

func (c *NodeCredentials) check(now time.Time) error {
	pool := c.CAPool()
	if _, err := c.Client.Cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("node client certificate: %w", err)
	}
	if want := NodeUserPrefix + c.NodeName; c.Client.Cert.Subject.CommonName != want || !slices.Equal(c.Client.Cert.Subject.Organization, []string{GroupNodes}) {
		return fmt.Errorf("node client certificate is for CN=%s, O=%v, not CN=%s, O=%s", c.Client.Cert.Subject.CommonName, c.Client.Cert.Subject.Organization, want, GroupNodes)
	}
	if c.ServingCA.Equal(c.CA) {
		return errors.New("the kubelet serving CA is the cluster CA")
	}
	servingPool := x509.NewCertPool()
	servingPool.AddCert(c.ServingCA)
	if _, err := c.Serving.Cert.Verify(x509.VerifyOptions{Roots: servingPool, CurrentTime: now, DNSName: c.NodeName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("kubelet serving certificate: %w", err)
	}
	return nil
}

// joinOnce performs one join call; with renew set it authenticates with the
// stored client certificate instead of the token.
func joinOnce(ctx context.Context, opts JoinOptions, now func() time.Time, bundle []*x509.Certificate, renew *NodeCredentials) (*NodeCredentials, error) {
	u, err := url.Parse(opts.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("join: server URL %q: want https://HOST[:PORT]", opts.Server)
	}
	clientKey, err := NewKey()
	if err != nil {
		return nil, err
	}
	servingKey, err := NewKey()
	if err != nil {
		return nil, err
	}
	user := NodeUserPrefix + opts.NodeName
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: user, Organization: []string{GroupNodes}},
	}, clientKey)
	if err != nil {
		return nil, err
	}
	servingCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: user, Organization: []string{GroupNodes}},
	}, servingKey)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(JoinRequest{
		TypeMeta:   metav1.TypeMeta{APIVersion: JoinGroup + "/" + JoinVersion, Kind: "JoinRequest"},
		NodeName:   opts.NodeName,
		CSR:        string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
		ServingCSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: servingCSR})),
		Addresses:  opts.Addresses,
	})
	if err != nil {
		return nil, err
	}

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	var pinnedCA *x509.Certificate
	switch {
	case renew != nil:
		tlsCfg.RootCAs = renew.CAPool()
		cert := renew.Client.TLSCertificate()
		tlsCfg.Certificates = []tls.Certificate{cert}
	case len(bundle) > 0:
		tlsCfg.RootCAs = x509.NewCertPool()
		for _, c := range bundle {
			tlsCfg.RootCAs.AddCert(c)
		}
	case len(opts.CACertHashes) > 0:
		// Verify by hand: find the pinned CA in the presented chain, then
		// verify the serving certificate against it (host name included).
		tlsCfg.InsecureSkipVerify = true
		tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
			ca, err := verifyPinned(cs.PeerCertificates, opts.CACertHashes, u.Hostname(), now())
			if err != nil {
				return err
			}
			pinnedCA = ca
			return nil
		}
	default: // opts.Insecure
		tlsCfg.InsecureSkipVerify = true
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(opts.Server, "/")+JoinPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if renew == nil {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", opts.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", opts.Server, err)
	}
	if resp.StatusCode != http.StatusCreated {
		var st metav1.Status
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			return nil, fmt.Errorf("join %s: %s (HTTP %d)", opts.Server, st.Message, resp.StatusCode)
		}
		return nil, fmt.Errorf("join %s: HTTP %d: %s", opts.Server, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	var jr JoinResponse
	if err := json.Unmarshal(data, &jr); err != nil {
		return nil, fmt.Errorf("join %s: response: %w", opts.Server, err)
	}

	// Which CA to keep: the trusted one, never merely the one returned
	// (except with Insecure, where the returned CA is taken on first use).
	returned, err := ParseCertsPEM([]byte(jr.CABundle))
	if err != nil {
		return nil, fmt.Errorf("join %s: response caBundle: %w", opts.Server, err)
	}
	var ca *x509.Certificate
	switch {
	case renew != nil:
		ca = renew.CA
	case len(bundle) > 0:
		for _, c := range returned {
			if slices.ContainsFunc(bundle, c.Equal) {
				ca = c
				break
			}
		}
		if ca == nil {
			return nil, fmt.Errorf("join %s: the server's CA bundle does not contain the given CA", opts.Server)
		}
	case len(opts.CACertHashes) > 0:
		if pinnedCA == nil {
			return nil, fmt.Errorf("join %s: server certificate was not checked against the pinned CA", opts.Server)
		}
		if !slices.ContainsFunc(returned, pinnedCA.Equal) {
			return nil, fmt.Errorf("join %s: the server's CA bundle does not contain the pinned CA", opts.Server)
		}
		ca = pinnedCA
	default:
		if len(returned) != 1 {
			return nil, fmt.Errorf("join %s: --insecure needs a CA bundle of exactly one certificate, got %d", opts.Server, len(returned))
		}
		ca = returned[0]
	}

	clientCert, err := parseOneCert(jr.Certificate)
	if err != nil {
		return nil, fmt.Errorf("join %s: response certificate: %w", opts.Server, err)
	}
	servingCert, err := parseOneCert(jr.ServingCertificate)
	if err != nil {
		return nil, fmt.Errorf("join %s: response servingCertificate: %w", opts.Server, err)
	}
	if !publicKeysEqual(clientCert.PublicKey, clientKey.Public()) || !publicKeysEqual(servingCert.PublicKey, servingKey.Public()) {
		return nil, fmt.Errorf("join %s: the returned certificates are not for the keys sent", opts.Server)
	}
	clientKP, err := keyPairOf(clientCert, clientKey)
	if err != nil {
		return nil, err
	}
	servingKP, err := keyPairOf(servingCert, servingKey)
	if err != nil {
		return nil, err
	}
	servingCA, err := parseOneCert(jr.ServingCABundle)
	if err != nil {
		return nil, fmt.Errorf("join %s: response servingCaBundle: %w", opts.Server, err)
	}
	creds := &NodeCredentials{Dir: opts.Dir, NodeName: opts.NodeName, CA: ca, CAPEM: EncodeCertPEM(ca), Client: clientKP,
		Serving: servingKP, ServingCA: servingCA, ServingCAPEM: EncodeCertPEM(servingCA), Joined: true}
	if err := creds.check(now()); err != nil {
		return nil, fmt.Errorf("join %s: %w", opts.Server, err)
	}
	if err := creds.write(); err != nil {
		return nil, err
	}
	return creds, nil
}

// verifyPinned finds a CA certificate with a pinned key among the presented
// certificates and verifies the leaf against it for server auth and host.
func verifyPinned(chain []*x509.Certificate, pins []string, host string, now time.Time) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("server presented no certificate")
	}
	var ca *x509.Certificate
	for _, c := range chain[1:] {
		if c.IsCA && pinned(c, pins) {
			ca = c
			break
		}
	}
	if ca == nil {
		return nil, errors.New("the server's certificate chain holds no CA matching the CA certificate hash")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if !c.Equal(ca) {
			inter.AddCert(c)
		}
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("server certificate against the pinned CA: %w", err)
	}
	return ca, nil
}

func parseOneCert(p string) (*x509.Certificate, error) {
	certs, err := ParseCertsPEM([]byte(p))
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

func keyPairOf(cert *x509.Certificate, key crypto.Signer) (*KeyPair, error) {
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key, CertPEM: EncodeCertPEM(cert), KeyPEM: keyPEM}, nil
}

func (c *NodeCredentials) write() error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if err := c.Serving.Write(filepath.Join(c.Dir, KubeletCertFile), filepath.Join(c.Dir, KubeletKeyFile)); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.Dir, KubeletCAFile), c.ServingCAPEM, 0o644); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.Dir, NodeCAFile), c.CAPEM, 0o644); err != nil {
		return err
	}
	// The client pair last: its presence marks a complete join.
	return c.Client.Write(filepath.Join(c.Dir, NodeCertFile), filepath.Join(c.Dir, NodeKeyFile))
}
