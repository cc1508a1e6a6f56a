package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// The API server's client towards kubelets.
//
// Join issues a kubelet serving certificate for whatever addresses a node
// asks for (Kubernetes leaves kubelet-serving CSRs to a human or an
// external approver for this reason), so a certificate that merely covers
// the dialled address proves nothing: node A may hold one for node B's IP
// or name. The client therefore checks who the kubelet is, not where it
// is: every connection must present a certificate chaining to the kubelet
// serving CA, valid for server auth, whose subject is the node's own
// identity (CN system:node:NAME, O system:nodes), which join only ever gives
// to NAME itself.
//
// A request names the node as its URL host (https://NAME:PORT/...), so
// http.Transport pools connections per node and a connection verified for
// one node never carries a request for another, and carries the address to
// dial in its context (WithKubeletAddress).

// Timeouts of a connection to a kubelet: the dial and the TLS handshake are
// not bounded by the request's context (http.Transport detaches dials from
// it so that another request may use the connection).
const (
	kubeletDialTimeout      = 30 * time.Second
	kubeletHandshakeTimeout = 10 * time.Second
)

type kubeletAddressKey struct{}

// WithKubeletAddress returns a context whose requests through a kubelet
// client (NewKubeletClient) dial addr ("host:port", e.g. the Node's
// InternalIP and kubelet port). The request's URL host is the node name.
func WithKubeletAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, kubeletAddressKey{}, addr)
}

// KubeletAddress is the address set by WithKubeletAddress.
func KubeletAddress(ctx context.Context) (string, bool) {
	a, ok := ctx.Value(kubeletAddressKey{}).(string)
	return a, ok && a != ""
}

// KubeletHTTPClient is the API server's client towards kubelets: its client
// certificate (KubeletClient), kubelet identities checked against the
// kubelet serving CA (see NewKubeletClient).
func (p *ServerPKI) KubeletHTTPClient() *http.Client {
	c := p.KubeletClient.TLSCertificate()
	return NewKubeletClient(p.KubeletServingCA.Pool(), &c)
}

// NewKubeletClient returns an HTTPS client for kubelets. A request's URL
// host is the node's name (https://NAME:PORT/path) and its context carries
// the address to dial (WithKubeletAddress); a request without one fails.
// The kubelet must present a certificate that chains to servingCAs, allows
// server auth and has the subject CN system:node:NAME with O system:nodes;
// its names and addresses are not consulted. cert, when not nil, is
// presented to the kubelet. HTTP/1.1 only; HTTPS only; redirects are
// refused.
func NewKubeletClient(servingCAs *x509.CertPool, cert *tls.Certificate) *http.Client {
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if cert != nil {
		base.Certificates = []tls.Certificate{*cert}
	}
	d := &kubeletDialer{base: base, roots: servingCAs, dialer: &net.Dialer{Timeout: kubeletDialTimeout, KeepAlive: 30 * time.Second}}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:          nil,
			DialTLSContext: d.dialTLS,
			// Every kubelet request is HTTPS through dialTLS; a plain one
			// would be dialled by name with no identity check.
			DialContext: func(_ context.Context, _, hostPort string) (net.Conn, error) {
				return nil, fmt.Errorf("kubelet client: %s: only HTTPS is used towards kubelets", hostPort)
			},
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConnsPerHost: 4,
		},
		// A kubelet's redirects are not followed, as kube-apiserver's
		// kubelet proxies refuse them (CVE-2020-8559): a redirect would
		// send the API server, its answer relayed to the user, wherever a
		// compromised node names.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errKubeletRedirect
		},
	}
}

// errKubeletRedirect is what a kubelet's redirect fails with.
var errKubeletRedirect = errors.New("kubelet client: redirects from a kubelet are not followed")

type kubeletDialer struct {
	base   *tls.Config
	roots  *x509.CertPool
	dialer *net.Dialer
}

// dialTLS is http.Transport's DialTLSContext: hostPort is the request URL's
// host, NAME:PORT; the address comes from the context.
func (d *kubeletDialer) dialTLS(ctx context.Context, network, hostPort string) (net.Conn, error) {
	node, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, fmt.Errorf("kubelet client: URL host %q: %w", hostPort, err)
	}
	addr, ok := KubeletAddress(ctx)
	if !ok {
		return nil, fmt.Errorf("kubelet client: no address to dial for node %q (the request context needs auth.WithKubeletAddress)", node)
	}
	raw, err := d.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := d.base.Clone()
	// ServerName is sent for SNI only; verification is VerifyConnection's.
	cfg.ServerName = node
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := VerifyKubeletCertificate(cs.PeerCertificates, d.roots, node); err != nil {
			return fmt.Errorf("kubelet at %s for node %q: %w", addr, node, err)
		}
		return nil
	}
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, kubeletHandshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// VerifyKubeletCertificate checks that chain (leaf first, as a TLS peer
// sends it) is node's kubelet serving certificate: the leaf chains to roots
// with the server auth usage and its subject is CN system:node:NODE with O
// system:nodes.
func VerifyKubeletCertificate(chain []*x509.Certificate, roots *x509.CertPool, node string) error {
	if len(chain) == 0 {
		return errors.New("no serving certificate presented")
	}
	if node == "" {
		return errors.New("no node name to verify the serving certificate against")
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	if want := NodeUserPrefix + node; leaf.Subject.CommonName != want || !slices.Contains(leaf.Subject.Organization, GroupNodes) {
		return fmt.Errorf("serving certificate is for CN=%s, O=%v, not CN=%s, O=%s", leaf.Subject.CommonName, leaf.Subject.Organization, want, GroupNodes)
	}
	return nil
}
