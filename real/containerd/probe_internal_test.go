package containerd

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestHTTPProbeRedirects follows the kubelet's prober: redirects to the
// same host are followed (up to 10), and what they lead to decides; a
// redirect to another host is not followed and counts as success.
func TestHTTPProbeRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-bad":
			http.Redirect(w, r, "/bad", http.StatusFound)
		case "/to-ok":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/elsewhere":
			// Another host name for the same server: not followed.
			http.Redirect(w, r, "http://localhost:"+r.URL.Port()+"/bad", http.StatusFound)
		case "/ok":
			w.Write([]byte("fine"))
		default:
			http.Error(w, "broken", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/ok", true},
		{"/bad", false},
		{"/to-bad", false},
		{"/to-ok", true},
		{"/loop", false},
		{"/elsewhere", true},
	} {
		res := httpProbe(context.Background(), "", host, int32(port), &corev1.HTTPGetAction{Path: tc.path}, 5*time.Second)
		if res.Success != tc.ok {
			t.Errorf("probe of %s: success %v (%q), want %v", tc.path, res.Success, res.Output, tc.ok)
		}
	}
}
