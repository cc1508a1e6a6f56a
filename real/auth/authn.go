package auth

import (
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AuthenticatorConfig selects the credentials a RequestAuthenticator accepts.
type AuthenticatorConfig struct {
	// ClientCAs verifies TLS client certificates (CN = user, O = groups).
	// nil: certificates are not accepted.
	ClientCAs *x509.CertPool
	// Tokens holds the bootstrap tokens. nil: none are accepted.
	Tokens *TokenStore
	// StaticTokens maps bearer tokens to users (e.g. an admin token given on
	// the command line), like kube-apiserver's --token-auth-file.
	StaticTokens map[string]User
	// Now is the clock for certificate and token expiry (default time.Now).
	Now func() time.Time
}

// RequestAuthenticator implements Authenticator the way kube-apiserver's
// union of authenticators does: a verified client certificate, then a
// static token, then a bootstrap token; the first that succeeds names the
// user, and every authenticated user is also in system:authenticated.
type RequestAuthenticator struct {
	cfg AuthenticatorConfig
}

var _ Authenticator = (*RequestAuthenticator)(nil)

// NewAuthenticator returns an authenticator for cfg.
func NewAuthenticator(cfg AuthenticatorConfig) *RequestAuthenticator {
	return &RequestAuthenticator{cfg: cfg}
}

func (a *RequestAuthenticator) now() time.Time {
	if a.cfg.Now != nil {
		return a.cfg.Now()
	}
	return time.Now()
}

// Authenticate implements Authenticator. Failures wrap ErrUnauthenticated
// and say which credential was rejected (never echoing a secret).
func (a *RequestAuthenticator) Authenticate(r *http.Request) (*User, error) {
	var reasons []string
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		u, err := a.authenticateCert(r.TLS.PeerCertificates)
		if err == nil {
			return withAuthenticated(u), nil
		}
		reasons = append(reasons, err.Error())
	}
	if token, ok := bearerToken(r); ok {
		u, err := a.authenticateToken(token)
		if err != nil {
			return nil, err
		}
		if u != nil {
			return withAuthenticated(u), nil
		}
		reasons = append(reasons, "invalid bearer token")
	}
	if len(reasons) == 0 {
		return nil, fmt.Errorf("%w: no client certificate or bearer token", ErrUnauthenticated)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, strings.Join(reasons, "; "))
}

// authenticateCert verifies the presented chain against the client CAs for
// client authentication, as kube-apiserver's x509 authenticator does, even
// when the TLS layer already did (it may have been configured to only
// request certificates).
func (a *RequestAuthenticator) authenticateCert(chain []*x509.Certificate) (*User, error) {
	if a.cfg.ClientCAs == nil {
		return nil, errors.New("client certificates are not accepted")
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         a.cfg.ClientCAs,
		Intermediates: inter,
		CurrentTime:   a.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("verifying certificate %s failed: %v", certDescription(leaf), err)
	}
	if leaf.Subject.CommonName == "" {
		return nil, errors.New("client certificate has no common name")
	}
	return &User{Name: leaf.Subject.CommonName, Groups: slices.Clone(leaf.Subject.Organization)}, nil
}

func certDescription(c *x509.Certificate) string {
	return fmt.Sprintf("SN=%s, CN=%q, issuer=%q", c.SerialNumber, c.Subject.CommonName, c.Issuer.CommonName)
}

// authenticateToken returns (nil, nil) for a token no authenticator knows.
func (a *RequestAuthenticator) authenticateToken(token string) (*User, error) {
	// Compare against every static token in constant time.
	var found *User
	for t, u := range a.cfg.StaticTokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			found = &User{Name: u.Name, Groups: slices.Clone(u.Groups)}
		}
	}
	if found != nil {
		return found, nil
	}
	if a.cfg.Tokens != nil && tokenRE.MatchString(token) {
		t, ok, err := a.cfg.Tokens.Validate(token)
		if err != nil {
			// The token file is broken: a server-side fault, not the client's.
			return nil, fmt.Errorf("%w: bootstrap tokens unavailable: %v", ErrUnauthenticated, err)
		}
		if ok {
			return &User{Name: BootstrapUserPrefix + t.ID, Groups: []string{GroupBootstrappers}}, nil
		}
	}
	return nil, nil
}

// bearerToken reads "Authorization: Bearer <token>" as kube-apiserver does
// (scheme case-insensitive, empty token ignored).
func bearerToken(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.Contains(token, " ") {
		return "", false
	}
	return token, true
}

func withAuthenticated(u *User) *User {
	if !slices.Contains(u.Groups, GroupAuthenticated) {
		u.Groups = append(u.Groups, GroupAuthenticated)
	}
	return u
}
