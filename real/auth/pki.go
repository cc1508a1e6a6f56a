package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Validity periods, as kubeadm and kube-controller-manager use them.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour // kubeadm's CA: 10 years
	CertValidity   = 365 * 24 * time.Hour      // leaf certificates: 1 year
	renewThreshold = 30 * 24 * time.Hour       // reissue a stored leaf this close to expiry
	clockSkew      = 5 * time.Minute           // NotBefore is backdated by this much
)

// File names in a PKI directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// CA is the cluster certificate authority: a self-signed ECDSA P-256
// certificate and its key. The cluster CA signs the serving certificate of
// the API server and every client certificate; a second one signs kubelet
// serving certificates (see ServerPKI).
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	// Now is the clock used for validity periods (default time.Now).
	Now func() time.Time
}

// LoadOrCreateCA loads dir/ca.crt and dir/ca.key, or creates them (key file
// mode 0600, dir 0700) when neither exists. Exactly one of them existing is
// an error: the PKI directory is damaged and a new CA would silently
// invalidate every issued credential.
func LoadOrCreateCA(dir string) (*CA, error) {
	return loadOrCreateCA(dir, CACertFile, CAKeyFile, "drydock-ca")
}

func loadOrCreateCA(dir, certFile, keyFile, commonName string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return LoadCA(certPath, keyPath)
	case os.IsNotExist(certErr) && os.IsNotExist(keyErr):
	case certErr == nil:
		return nil, fmt.Errorf("%s exists but %s does not: refusing to create a new CA over a partial one", certPath, keyPath)
	case keyErr == nil:
		return nil, fmt.Errorf("%s exists but %s does not: refusing to create a new CA over a partial one", keyPath, certPath)
	default:
		if certErr != nil && !os.IsNotExist(certErr) {
			return nil, certErr
		}
		return nil, keyErr
	}
	ca, err := NewCA(commonName)
	if err != nil {
		return nil, err
	}
	keyPEM, err := EncodeKeyPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// LoadCA reads a CA certificate and key from PEM files.
func LoadCA(certPath, keyPath string) (*CA, error) {
	cert, certPEM, err := ReadCertFile(certPath)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: certificate %q is not a CA certificate", certPath, cert.Subject.CommonName)
	}
	key, err := ReadKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not hold the private key of %s", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

// NewCA creates a self-signed CA in memory.
func NewCA(commonName string) (*CA, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          mustSerial(),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: EncodeCertPEM(cert)}, nil
}

func (ca *CA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// Pool is a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Hash is the CA's public key pin in kubeadm's format: "sha256:" and the hex
// SHA-256 of the certificate's DER SubjectPublicKeyInfo (what
// --discovery-token-ca-cert-hash takes).
func (ca *CA) Hash() string { return CertHash(ca.Cert) }

// CertHash is a certificate's public key pin, "sha256:<hex>" (see CA.Hash).
func CertHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CertSpec describes a leaf certificate to issue.
type CertSpec struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	// Client and Server select the extended key usages (client auth, server
	// auth); at least one must be set.
	Client, Server bool
	// Validity defaults to CertValidity; it is capped at the CA's expiry.
	Validity time.Duration
}

// Issue signs a certificate for pub as described by spec.
func (ca *CA) Issue(spec CertSpec, pub crypto.PublicKey) (*x509.Certificate, error) {
	if spec.CommonName == "" {
		return nil, errors.New("certificate common name is empty")
	}
	if !spec.Client && !spec.Server {
		return nil, errors.New("certificate needs client or server usage")
	}
	validity := spec.Validity
	if validity <= 0 {
		validity = CertValidity
	}
	now := ca.now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          mustSerial(),
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		// RSA keys are also used for key encipherment in TLS 1.2 RSA kex.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if spec.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if spec.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", spec.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// KeyPair is an issued certificate with its private key, in both parsed and
// PEM form.
type KeyPair struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// TLSCertificate is the pair as a tls.Certificate (leaf first, then the CA
// when chain is given, so that clients pinning the CA's key can find it).
func (kp *KeyPair) TLSCertificate(chain ...*x509.Certificate) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
	for _, ch := range chain {
		c.Certificate = append(c.Certificate, ch.Raw)
	}
	return c
}

// IssueKeyPair creates a fresh ECDSA P-256 key and a certificate for it.
func (ca *CA) IssueKeyPair(spec CertSpec) (*KeyPair, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(spec, key.Public())
	if err != nil {
		return nil, err
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key, CertPEM: EncodeCertPEM(cert), KeyPEM: keyPEM}, nil
}

// IssueClient issues a client certificate for user: CN is the user name, O
// the groups, as Kubernetes' x509 authenticator reads them.
func (ca *CA) IssueClient(user string, groups []string, validity time.Duration) (*KeyPair, error) {
	return ca.IssueKeyPair(CertSpec{CommonName: user, Organization: groups, Client: true, Validity: validity})
}

// ServingOptions say which names the API server's serving certificate covers.
type ServingOptions struct {
	// Hosts are extra DNS names and IP addresses (as strings) the server is
	// reached at.
	Hosts []string
	// ServiceCIDR's first address is the "kubernetes" Service's ClusterIP
	// (default 10.96.0.0/12, i.e. 10.96.0.1).
	ServiceCIDR string
	Validity    time.Duration
}

// APIServerSANs lists the subject alternative names of the API server's
// serving certificate: the given hosts, localhost, 127.0.0.1 and ::1, the
// first Service IP, and the in-cluster names of the "kubernetes" Service
// (kubernetes, kubernetes.default, kubernetes.default.svc,
// kubernetes.default.svc.cluster.local), as kubeadm issues them.
func APIServerSANs(opts ServingOptions) (dns []string, ips []net.IP, err error) {
	cidr := opts.ServiceCIDR
	if cidr == "" {
		cidr = "10.96.0.0/12"
	}
	svcIP, err := FirstServiceIP(cidr)
	if err != nil {
		return nil, nil, err
	}
	dns = []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}
	ips = []net.IP{net.ParseIP("127.0.0.1").To4(), net.IPv6loopback, svcIP}
	for _, h := range opts.Hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			ips = append(ips, ip)
		} else {
			dns = append(dns, strings.ToLower(h))
		}
	}
	slices.Sort(dns)
	dns = slices.Compact(dns)
	slices.SortFunc(ips, func(a, b net.IP) int { return bytes.Compare(a, b) })
	ips = slices.CompactFunc(ips, func(a, b net.IP) bool { return a.Equal(b) })
	return dns, ips, nil
}

// FirstServiceIP is the first usable address of a Service CIDR: the
// ClusterIP of the "kubernetes" Service (10.96.0.1 for 10.96.0.0/12).
func FirstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	ip := slices.Clone(n.IP)
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	ip[len(ip)-1]++
	if !n.Contains(ip) {
		return nil, fmt.Errorf("service CIDR %q is too small", cidr)
	}
	return ip, nil
}

// IssueAPIServerServing issues the API server's serving certificate (CN
// "kube-apiserver", server auth, SANs from APIServerSANs).
func (ca *CA) IssueAPIServerServing(opts ServingOptions) (*KeyPair, error) {
	dns, ips, err := APIServerSANs(opts)
	if err != nil {
		return nil, err
	}
	return ca.IssueKeyPair(CertSpec{CommonName: "kube-apiserver", DNSNames: dns, IPs: ips, Server: true, Validity: opts.Validity})
}

// ServerTLSConfig is the TLS configuration of a server whose certificate is
// cert (with the CA appended to the chain it sends) and that accepts client
// certificates signed by clientCAs when a client presents one
// (tls.VerifyClientCertIfGiven): requests without a certificate still reach
// the handler, which authenticates them by token or answers 401.
func ServerTLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    clientCAs,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// ClientTLSConfig is the TLS configuration of a client that trusts only the
// servers certified by rootCAs, and presents cert when it is not nil.
func ClientTLSConfig(rootCAs *x509.CertPool, cert *tls.Certificate) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: rootCAs}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// LoadClientTLSConfig reads a client certificate, its key and a CA bundle
// from files and returns ClientTLSConfig for them.
func LoadClientTLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	pool, err := ReadCAPool(caFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s and %s: %w", certFile, keyFile, err)
	}
	return ClientTLSConfig(pool, &cert), nil
}

// ServerPKI holds what the API server process needs: the cluster CA, its
// serving certificate, the kubelet serving CA and its client certificate for
// kubelets.
//
// Kubelet serving certificates come from a CA of their own (Kubernetes'
// separate kubernetes.io/kubelet-serving signer): join issues them for names
// and addresses a node asks for, so were they signed by the cluster CA, a
// bootstrap token holder could obtain a certificate for the API server's own
// names and impersonate it to other nodes. Nodes trust only the cluster CA;
// the API server trusts only the kubelet serving CA when it dials kubelets,
// and only a node's own certificate for that node (KubeletHTTPClient).
type ServerPKI struct {
	Dir string
	CA  *CA
	// KubeletServingCA signs kubelet serving certificates (join).
	KubeletServingCA *CA
	// Serving: the API server's serving certificate.
	Serving *KeyPair
	// KubeletClient: the API server's client certificate towards kubelets
	// (CN drydock-apiserver, O system:masters).
	KubeletClient *KeyPair
}

// Files of a server PKI directory besides the CA.
const (
	KubeletCACertFile     = "kubelet-ca.crt"
	KubeletCAKeyFile      = "kubelet-ca.key"
	APIServerCertFile     = "apiserver.crt"
	APIServerKeyFile      = "apiserver.key"
	KubeletClientCertFile = "apiserver-kubelet-client.crt"
	KubeletClientKeyFile  = "apiserver-kubelet-client.key"
)

// LoadOrCreateServerPKI loads or creates the CA in dir and the API server's
// serving and kubelet-client certificates beside it. Stored leaf
// certificates are reused on restart unless they no longer chain to the CA,
// expire within 30 days, or (serving) miss a required name; then they are
// reissued with a new key.
func LoadOrCreateServerPKI(dir string, opts ServingOptions) (*ServerPKI, error) {
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	kca, err := loadOrCreateCA(dir, KubeletCACertFile, KubeletCAKeyFile, "drydock-kubelet-serving-ca")
	if err != nil {
		return nil, err
	}
	dns, ips, err := APIServerSANs(opts)
	if err != nil {
		return nil, err
	}
	serving, err := loadOrIssue(ca, filepath.Join(dir, APIServerCertFile), filepath.Join(dir, APIServerKeyFile),
		CertSpec{CommonName: "kube-apiserver", DNSNames: dns, IPs: ips, Server: true, Validity: opts.Validity},
		x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	kc, err := loadOrIssue(ca, filepath.Join(dir, KubeletClientCertFile), filepath.Join(dir, KubeletClientKeyFile),
		CertSpec{CommonName: APIServerUser, Organization: []string{GroupMasters}, Client: true},
		x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	return &ServerPKI{Dir: dir, CA: ca, KubeletServingCA: kca, Serving: serving, KubeletClient: kc}, nil
}

// ServerTLSConfig is the API server's TLS configuration: its serving
// certificate (chain: serving, CA) and client certificates checked against
// the CA when given.
func (p *ServerPKI) ServerTLSConfig() *tls.Config {
	return ServerTLSConfig(p.Serving.TLSCertificate(p.CA.Cert), p.CA.Pool())
}

// loadOrIssue reuses certPath/keyPath when they still fit spec, else issues
// and stores a new pair.
func loadOrIssue(ca *CA, certPath, keyPath string, spec CertSpec, usage x509.ExtKeyUsage) (*KeyPair, error) {
	if kp, err := ReadKeyPair(certPath, keyPath); err == nil && kp.fits(ca, spec, usage) {
		return kp, nil
	} else if err != nil && !os.IsNotExist(err) && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	kp, err := ca.IssueKeyPair(spec)
	if err != nil {
		return nil, err
	}
	if err := kp.Write(certPath, keyPath); err != nil {
		return nil, err
	}
	return kp, nil
}

func (kp *KeyPair) fits(ca *CA, spec CertSpec, usage x509.ExtKeyUsage) bool {
	now := ca.now()
	if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return false
	}
	if kp.Cert.NotAfter.Sub(now) < renewThreshold {
		return false
	}
	if kp.Cert.Subject.CommonName != spec.CommonName || !slices.Equal(kp.Cert.Subject.Organization, spec.Organization) {
		return false
	}
	for _, d := range spec.DNSNames {
		if !slices.Contains(kp.Cert.DNSNames, d) {
			return false
		}
	}
	for _, ip := range spec.IPs {
		if !slices.ContainsFunc(kp.Cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// Write stores the pair: the key with mode 0600, the certificate 0644.
func (kp *KeyPair) Write(certPath, keyPath string) error {
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, kp.KeyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certPath, kp.CertPEM, 0o644)
}

// ReadKeyPair reads a certificate and its private key from PEM files and
// checks that they belong together.
func ReadKeyPair(certPath, keyPath string) (*KeyPair, error) {
	cert, certPEM, err := ReadCertFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not hold the private key of %s", keyPath, certPath)
	}
	return &KeyPair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// NewKey generates an ECDSA P-256 private key.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodeCertPEM encodes a certificate as a PEM "CERTIFICATE" block.
func EncodeCertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// EncodeKeyPEM encodes a private key as a PEM "PRIVATE KEY" (PKCS #8) block.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM parses the first private key block (PKCS #8, EC or PKCS #1).
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no private key PEM block found")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
		return s, nil
	}
}

// ParseCertsPEM parses every CERTIFICATE block in data; it fails when there
// is none.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	return out, nil
}

// ReadCertFile reads the first certificate of a PEM file.
func ReadCertFile(path string) (*x509.Certificate, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs[0], data, nil
}

// ReadKeyFile reads a PEM private key file.
func ReadKeyFile(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadCAPool reads a PEM CA bundle into a certificate pool.
func ReadCAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

func mustSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return n.Add(n, big.NewInt(1))
}

// writeFileAtomic writes data to a temporary file beside path with mode
// perm, then renames it over path, so readers never see half a file and the
// final file never has wider permissions than perm.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// DefaultServingHosts are the names a server on this machine is reached at
// when none are configured: the host name and the addresses of the
// interfaces that are up (loopback is always in the serving certificate).
// Pass them as ServingOptions.Hosts so that nodes joining with
// --server https://<any of them>:PORT can verify the API server.
func DefaultServingHosts() []string {
	var hosts []string
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return hosts
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLoopback() {
				continue
			}
			hosts = append(hosts, ipn.IP.String())
		}
	}
	return hosts
}
