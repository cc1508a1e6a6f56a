package apihttp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/auth"
)

// testKubelet is a fake kubelet and the API server's kubelet client (as
// the server builds it) trusting the CA that signed its serving certificate.
type testKubelet struct {
	srv    *httptest.Server
	client *http.Client
	ca     *auth.CA
	// hits counts the requests that reached the kubelet.
	hits atomic.Int32
}

// fakeKubelet serves /containerLogs like the node agent of node n1 (its
// serving certificate is what join issues n1): it echoes the path and
// query, and with follow=true writes "more" after release is closed.
func fakeKubelet(t *testing.T, release chan struct{}) *testKubelet {
	t.Helper()
	ca, err := auth.NewCA("kubelet-serving-ca")
	if err != nil {
		t.Fatal(err)
	}
	k := &testKubelet{ca: ca}
	k.srv = startKubelet(t, k, servingCert(t, ca, "n1"), release)
	k.client = auth.NewKubeletClient(ca.Pool(), nil)
	t.Cleanup(k.client.CloseIdleConnections)
	return k
}

// servingCert issues node's kubelet serving certificate as join does, also
// naming 127.0.0.1 and n1.
func servingCert(t *testing.T, ca *auth.CA, node string) tls.Certificate {
	t.Helper()
	kp, err := ca.IssueKeyPair(auth.CertSpec{CommonName: auth.NodeUserPrefix + node, Organization: []string{auth.GroupNodes},
		DNSNames: []string{node, "n1"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	return kp.TLSCertificate(ca.Cert)
}

func startKubelet(t *testing.T, k *testKubelet, cert tls.Certificate, release chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.hits.Add(1)
		if !strings.HasPrefix(r.URL.Path, "/containerLogs/") {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/gone") {
			http.Error(w, "container gone not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "path=%s query=%s\n", r.URL.Path, r.URL.RawQuery)
		if r.URL.Query().Get("follow") == "true" {
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			fmt.Fprintln(w, "more")
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Handshakes refused on purpose would fill the output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func logEnv(t *testing.T, kubelet *testKubelet) *env {
	return logEnvWith(t, kubelet, apihttp.Config{})
}

func logEnvWith(t *testing.T, kubelet *testKubelet, cfg apihttp.Config) *env {
	if kubelet != nil {
		cfg.KubeletClient = kubelet.client
	}
	e := newEnv(t, cfg, 0)
	port := 10250
	if kubelet != nil {
		port = kubelet.srv.Listener.Addr().(*net.TCPAddr).Port
	}
	e.createNode("n1", port)
	for _, p := range []*corev1.Pod{testPod("one"), testPod("two", "a", "b"), testPod("pending")} {
		e.create(p)
		if p.Name != "pending" {
			e.bind(p.Name, "n1")
		}
	}
	return e
}

// createNode creates a Node at 127.0.0.1 whose kubelet listens on port.
func (e *env) createNode(name string, port int) {
	e.t.Helper()
	e.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	n, err := e.api.Get(context.Background(), api.Nodes, "", name)
	if err != nil {
		e.t.Fatal(err)
	}
	node := n.(*corev1.Node).DeepCopy()
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := e.api.Update(context.Background(), node, "status"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) bind(pod, node string) {
	e.t.Helper()
	if err := e.api.Bind(context.Background(), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "default"},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}}); err != nil {
		e.t.Fatal(err)
	}
}

func TestPodLog(t *testing.T) {
	e := logEnv(t, fakeKubelet(t, nil))
	tests := []struct {
		name, path string
		code       int
		contains   string
	}{
		{"default container", "/api/v1/namespaces/default/pods/one/log?tailLines=5&timestamps=true&sinceSeconds=10&previous=false",
			200, "path=/containerLogs/default/one/c query=previous=false&sinceSeconds=10&tailLines=5&timestamps=true"},
		{"named container", "/api/v1/namespaces/default/pods/two/log?container=b", 200, "path=/containerLogs/default/two/b query=\n"},
		{"container required", "/api/v1/namespaces/default/pods/two/log", 400,
			"a container name must be specified for pod two, choose one of: [a b]"},
		{"bad container", "/api/v1/namespaces/default/pods/two/log?container=z", 400, "container z is not valid for pod two"},
		{"not scheduled", "/api/v1/namespaces/default/pods/pending/log", 400, "pod pending does not have a host assigned"},
		{"missing pod", "/api/v1/namespaces/default/pods/nope/log", 404, `pods \"nope\" not found`},
		{"bad tailLines", "/api/v1/namespaces/default/pods/one/log?tailLines=x", 400, "tailLines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, "")
			if r.code != tc.code || !strings.Contains(string(r.body), tc.contains) {
				t.Fatalf("%d %q, want %d containing %q", r.code, r.body, tc.code, tc.contains)
			}
			if r.code == 200 && r.header.Get("Content-Type") != "text/plain" {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestPodLogKubeletErrorStatus(t *testing.T) {
	e := logEnv(t, fakeKubelet(t, nil))
	e.create(testPod("gone", "gone", "other"))
	e.bind("gone", "n1")
	r := e.do("GET", "/api/v1/namespaces/default/pods/gone/log?container=gone", "")
	if r.code != 404 || !strings.Contains(r.status(t).Message, "container gone not found") {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestPodLogNoKubeletClient(t *testing.T) {
	e := logEnv(t, nil)
	if r := e.do("GET", "/api/v1/namespaces/default/pods/one/log", ""); r.code != 503 {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

func TestPodLogFollowStreams(t *testing.T) {
	release := make(chan struct{})
	e := logEnv(t, fakeKubelet(t, release))
	res, err := e.srv.Client().Get(e.srv.URL + "/api/v1/namespaces/default/pods/one/log?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	lineCh := make(chan string, 2)
	go func() {
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				close(lineCh)
				return
			}
			lineCh <- l
		}
	}()
	select {
	case l := <-lineCh:
		// The first line arrives while the kubelet still holds the stream open.
		if !strings.Contains(l, "follow=true") {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first log line not flushed while following")
	}
	close(release)
	select {
	case l := <-lineCh:
		if l != "more\n" {
			t.Fatalf("second line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second line missing")
	}
}

// TestPodLogKubeletIdentity: the API server reaches a node's kubelet only if
// the kubelet answering at the node's address proves to be that node's.
func TestPodLogKubeletIdentity(t *testing.T) {
	// n1's kubelet; n2's Node names n1's address and port.
	k := fakeKubelet(t, nil)
	e := logEnv(t, k)
	e.createNode("n2", k.srv.Listener.Addr().(*net.TCPAddr).Port)
	e.create(testPod("on-n2"))
	e.bind("on-n2", "n2")
	// n3's address is a kubelet with n2's certificate (which, as join may
	// issue it, also names n1 and 127.0.0.1).
	impostor := &testKubelet{}
	impostor.srv = startKubelet(t, impostor, servingCert(t, k.ca, "n2"), nil)
	e.createNode("n3", impostor.srv.Listener.Addr().(*net.TCPAddr).Port)
	e.create(testPod("on-n3"))
	e.bind("on-n3", "n3")
	// n4's kubelet has n4's name from another CA.
	otherCA, err := auth.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	foreign := &testKubelet{}
	foreign.srv = startKubelet(t, foreign, servingCert(t, otherCA, "n4"), nil)
	e.createNode("n4", foreign.srv.Listener.Addr().(*net.TCPAddr).Port)
	e.create(testPod("on-n4"))
	e.bind("on-n4", "n4")

	tests := []struct {
		name, pod string
		code      int
		contains  []string
	}{
		{"the node's kubelet", "one", 200, []string{"path=/containerLogs/default/one/c"}},
		// n1's connection is idle in the pool now: it must not carry n2's
		// request.
		{"another node's kubelet at the node's address", "on-n2", 503,
			[]string{"the kubelet of node n2 did not answer", `node "n2"`, "CN=system:node:n1"}},
		{"a certificate for another node", "on-n3", 503, []string{"the kubelet of node n3 did not answer", "CN=system:node:n2"}},
		{"the node's name from another CA", "on-n4", 503, []string{"the kubelet of node n4 did not answer", "unknown authority"}},
		{"the node's kubelet again", "one", 200, []string{"path=/containerLogs/default/one/c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/namespaces/default/pods/"+tc.pod+"/log", "")
			if r.code != tc.code {
				t.Fatalf("%d %s, want %d", r.code, r.body, tc.code)
			}
			msg := string(r.body)
			if r.code != 200 {
				msg = r.status(t).Message
				t.Log(msg)
			}
			for _, c := range tc.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("%q does not contain %q", msg, c)
				}
			}
		})
	}
	if k.hits.Load() != 2 || impostor.hits.Load() != 0 || foreign.hits.Load() != 0 {
		t.Fatalf("requests received: n1's kubelet %d (want 2), impostor %d, foreign %d (want 0)",
			k.hits.Load(), impostor.hits.Load(), foreign.hits.Load())
	}
}
