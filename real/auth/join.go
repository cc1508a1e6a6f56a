package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Node join: drydock's deliberate stand-in for Kubernetes' TLS bootstrapping.
//
// In Kubernetes a joining kubelet authenticates with a bootstrap token,
// creates a CertificateSigningRequest object (signer
// kubernetes.io/kube-apiserver-client-kubelet), waits for the csrapprover
// controller to approve it and the csrsigning controller to sign it, and
// reads the certificate from the CSR's status; a serving certificate is a
// second CSR (signer kubernetes.io/kubelet-serving). drydock does not serve
// the certificates.k8s.io API: one call does the whole exchange. A node
// POSTs a JoinRequest (its name and PKCS #10 CSRs, whose signatures prove it
// holds the keys) to JoinPath with its bootstrap token; the server answers
// with a client certificate "system:node:NAME" in "system:nodes" (what the
// approver would approve for a bootstrapper), a kubelet serving certificate
// for the node's name and addresses (signed by a separate kubelet serving
// CA, see ServerPKI), and the CA bundle. A node may call join
// again with its own still-valid client certificate to renew it (Kubernetes'
// self-node-client approval).
const (
	JoinGroup    = "drydock.io"
	JoinVersion  = "v1"
	JoinResource = "join"
	JoinPath     = "/apis/" + JoinGroup + "/" + JoinVersion + "/" + JoinResource
)

// JoinRequest is the body of POST JoinPath.
type JoinRequest struct {
	metav1.TypeMeta `json:",inline"`
	// NodeName is the Node's name (a DNS-1123 subdomain).
	NodeName string `json:"nodeName"`
	// CSR is a PEM "CERTIFICATE REQUEST" for the client key; its subject, if
	// set, must be CN=system:node:NAME, O=system:nodes. Alternatively
	// PublicKey is a PEM "PUBLIC KEY" (no proof of possession).
	CSR       string `json:"csr,omitempty"`
	PublicKey string `json:"publicKey,omitempty"`
	// ServingCSR (optional) is a PEM CSR for the kubelet's serving key; the
	// certificate covers NodeName and Addresses.
	ServingCSR string   `json:"servingCsr,omitempty"`
	Addresses  []string `json:"addresses,omitempty"`
}

// JoinResponse is the answer to a successful join (201 Created).
type JoinResponse struct {
	metav1.TypeMeta `json:",inline"`
	// Certificate: PEM client certificate for the node.
	Certificate string `json:"certificate"`
	// ServingCertificate: PEM kubelet serving certificate (when asked for).
	ServingCertificate string `json:"servingCertificate,omitempty"`
	// CABundle: PEM cluster CA certificate(s).
	CABundle string `json:"caBundle"`
	// ServingCABundle: PEM kubelet serving CA (the issuer of
	// ServingCertificate), which the kubelet sends along its certificate.
	ServingCABundle string `json:"servingCaBundle,omitempty"`
}

// JoinHandlerConfig wires the join endpoint.
type JoinHandlerConfig struct {
	// CA signs node client certificates (the cluster CA).
	CA *CA
	// KubeletServingCA signs kubelet serving certificates; it must not be
	// the cluster CA (see ServerPKI).
	KubeletServingCA *CA
	Authenticator    Authenticator
	// Validity of issued certificates (default CertValidity).
	Validity time.Duration
}

// NewJoinHandler returns the http.Handler for POST JoinPath. It
// authenticates the request itself (bootstrap token, or the node's own
// client certificate for renewal) so that it is safe on its own; errors are
// Kubernetes Status objects.
func NewJoinHandler(cfg JoinHandlerConfig) (http.Handler, error) {
	if cfg.CA == nil || cfg.KubeletServingCA == nil || cfg.Authenticator == nil {
		return nil, errors.New("auth: JoinHandlerConfig needs CA, KubeletServingCA and Authenticator")
	}
	if cfg.KubeletServingCA.Cert.Equal(cfg.CA.Cert) {
		return nil, errors.New("auth: the kubelet serving CA must differ from the cluster CA")
	}
	return &joinHandler{cfg: cfg}, nil
}

type joinHandler struct{ cfg JoinHandlerConfig }

const maxJoinBody = 64 << 10

func (h *joinHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gr := joinGR()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, apierrors.NewMethodNotSupported(gr, r.Method))
		return
	}
	u, err := h.cfg.Authenticator.Authenticate(r)
	if err != nil {
		writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{
				Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
				Reason: metav1.StatusReasonUnsupportedMediaType, Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json (got %q)", ct),
			}})
			return
		}
	}
	var req JoinRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJoinBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("join request body: %v", err)))
		return
	}
	attrs := Attributes{User: u, Verb: "create", APIGroup: JoinGroup, Resource: JoinResource, Name: req.NodeName}
	nodeName, isNode := NodeIdentity(u)
	switch {
	case isNode && nodeName != "" && nodeName == req.NodeName:
		// renewal by the node itself
	case isNode:
		writeStatus(w, forbidden(attrs, fmt.Sprintf("node %q may only renew its own certificate", nodeName)))
		return
	case slices.Contains(u.Groups, GroupBootstrappers):
	default:
		writeStatus(w, forbidden(attrs, "only bootstrap tokens may join nodes"))
		return
	}
	resp, err := h.issue(&req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	resp.TypeMeta = metav1.TypeMeta{APIVersion: JoinGroup + "/" + JoinVersion, Kind: "JoinResponse"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(resp)
}

func joinGR() schema.GroupResource {
	return schema.GroupResource{Group: JoinGroup, Resource: JoinResource}
}

func (h *joinHandler) issue(req *JoinRequest) (*JoinResponse, error) {
	invalid := func(field, value, msg string) error {
		return apierrors.NewBadRequest(fmt.Sprintf("join request: %s %q: %s", field, value, msg))
	}
	if req.NodeName == "" {
		return nil, apierrors.NewBadRequest("join request: nodeName is required")
	}
	if errs := validation.IsDNS1123Subdomain(req.NodeName); len(errs) > 0 {
		return nil, invalid("nodeName", req.NodeName, errs[0])
	}
	user := NodeUserPrefix + req.NodeName
	var pub crypto.PublicKey
	switch {
	case req.CSR != "" && req.PublicKey != "":
		return nil, apierrors.NewBadRequest("join request: give csr or publicKey, not both")
	case req.CSR != "":
		csr, err := parseCSR(req.CSR)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: csr: %v", err))
		}
		if cn := csr.Subject.CommonName; cn != "" && (cn != user || !slices.Equal(csr.Subject.Organization, []string{GroupNodes})) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: csr: subject must be CN=%s, O=%s (got CN=%s, O=%v)", user, GroupNodes, cn, csr.Subject.Organization))
		}
		pub = csr.PublicKey
	case req.PublicKey != "":
		b, _ := pem.Decode([]byte(req.PublicKey))
		if b == nil || b.Type != "PUBLIC KEY" {
			return nil, apierrors.NewBadRequest("join request: publicKey: no PEM \"PUBLIC KEY\" block")
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: publicKey: %v", err))
		}
		pub = k
	default:
		return nil, apierrors.NewBadRequest("join request: csr (or publicKey) is required")
	}
	if err := checkKey(pub); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: client key: %v", err))
	}
	client, err := h.cfg.CA.Issue(CertSpec{CommonName: user, Organization: []string{GroupNodes}, Client: true, Validity: h.cfg.Validity}, pub)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	resp := &JoinResponse{Certificate: string(EncodeCertPEM(client)), CABundle: string(h.cfg.CA.CertPEM)}
	if req.ServingCSR != "" {
		csr, err := parseCSR(req.ServingCSR)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: servingCsr: %v", err))
		}
		if err := checkKey(csr.PublicKey); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("join request: serving key: %v", err))
		}
		dns := []string{req.NodeName}
		var ips []net.IP
		for _, a := range req.Addresses {
			if ip := net.ParseIP(a); ip != nil {
				if ip4 := ip.To4(); ip4 != nil {
					ip = ip4
				}
				ips = append(ips, ip)
				continue
			}
			if errs := validation.IsDNS1123Subdomain(a); len(errs) > 0 {
				return nil, invalid("addresses", a, "neither an IP address nor a DNS name: "+errs[0])
			}
			dns = append(dns, a)
		}
		serving, err := h.cfg.KubeletServingCA.Issue(CertSpec{CommonName: user, Organization: []string{GroupNodes}, DNSNames: dns, IPs: ips, Server: true, Validity: h.cfg.Validity}, csr.PublicKey)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		resp.ServingCertificate = string(EncodeCertPEM(serving))
		resp.ServingCABundle = string(h.cfg.KubeletServingCA.CertPEM)
	}
	return resp, nil
}

func parseCSR(p string) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("no PEM \"CERTIFICATE REQUEST\" block")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return csr, nil
}

// checkKey accepts ECDSA P-256/P-384/P-521, Ed25519 and RSA of 2048 bits or
// more.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return nil
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too short (minimum 2048)", k.N.BitLen())
		}
		return nil
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
}

// writeStatus writes a Kubernetes Status body for err (a status error, or an
// internal error otherwise) with its HTTP code.
func writeStatus(w http.ResponseWriter, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
