package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultClusterName is the cluster, and context, name in drydock's
// kubeconfig files.
const DefaultClusterName = "drydock"

// KubeconfigFor builds a kubeconfig with one cluster (server URL, embedded
// CA), one user (embedded client certificate and key) and one context,
// which is current.
func KubeconfigFor(clusterName, serverURL string, caPEM []byte, user string, kp *KeyPair) (*clientcmdapi.Config, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("kubeconfig: server URL %q: want https://HOST[:PORT]", serverURL)
	}
	if clusterName == "" {
		clusterName = DefaultClusterName
	}
	ctxName := user + "@" + clusterName
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.CertPEM, ClientKeyData: kp.KeyPEM}
	cfg.Contexts[ctxName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = ctxName
	return cfg, nil
}

// WriteAdminKubeconfig issues an admin client certificate (CN drydock-admin,
// O system:masters, valid for validity, default 1 year) and writes a
// kubeconfig for serverURL to path with mode 0600, so that
// `kubectl --kubeconfig PATH get nodes` works.
func WriteAdminKubeconfig(path, serverURL string, ca *CA, validity time.Duration) error {
	kp, err := ca.IssueClient(AdminUser, []string{GroupMasters}, validity)
	if err != nil {
		return err
	}
	cfg, err := KubeconfigFor(DefaultClusterName, serverURL, ca.CertPEM, AdminUser, kp)
	if err != nil {
		return err
	}
	return WriteKubeconfig(path, cfg)
}

// WriteKubeconfig writes cfg to path atomically with mode 0600 (it holds a
// private key), creating the directory (0700) if needed.
func WriteKubeconfig(path string, cfg *clientcmdapi.Config) error {
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o600)
}

// RequireGroup wraps next so that only requests authenticated by authn as
// members of group get through: 401 without a valid credential, 403 for
// other users (Kubernetes Status bodies). The kubelet's HTTPS server uses it
// with GroupMasters: only the API server (drydock-apiserver in
// system:masters) and admins may read container logs.
func RequireGroup(authn Authenticator, group string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := authn.Authenticate(r)
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
			} else {
				writeStatus(w, err)
			}
			return
		}
		if !slices.Contains(u.Groups, group) {
			// The kubelet authorises its API as the nodes/proxy subresource.
			writeStatus(w, forbidden(Attributes{User: u, Verb: verbOf(r), Resource: "nodes", Subresource: "proxy"}, ""))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func verbOf(r *http.Request) string {
	switch r.Method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	default:
		return "get"
	}
}
