package apihttp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/auth"
	"github.com/drydock-sim/drydock/real/kubeletserver"
)

// bearerAuth authenticates "Authorization: Bearer NAME": system:node:*
// names are nodes, "admin" is a system:masters member, anyone else only
// authenticated.
type bearerAuth struct{}

func (bearerAuth) Authenticate(r *http.Request) (*auth.User, error) {
	name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || name == "" {
		return nil, auth.ErrUnauthenticated
	}
	switch {
	case strings.HasPrefix(name, auth.NodeUserPrefix):
		return &auth.User{Name: name, Groups: []string{auth.GroupNodes, auth.GroupAuthenticated}}, nil
	case name == "admin":
		return &auth.User{Name: name, Groups: []string{auth.GroupMasters, auth.GroupAuthenticated}}, nil
	}
	return &auth.User{Name: name, Groups: []string{auth.GroupAuthenticated}}, nil
}

// recordingAuthorizer records what exec requests were authorised as.
type recordingAuthorizer struct {
	next  auth.Authorizer
	mu    sync.Mutex
	execs []string
}

func (r *recordingAuthorizer) Authorize(ctx context.Context, a auth.Attributes) error {
	if a.Subresource == "exec" {
		r.mu.Lock()
		r.execs = append(r.execs, a.Verb+" "+a.Resource+"/"+a.Subresource)
		r.mu.Unlock()
	}
	return r.next.Authorize(ctx, a)
}

// execKubelet runs commands for pod default/one container c; container b
// of pod two is not running.
type execKubelet struct{}

func (execKubelet) CheckExec(ns, pod, ctr string) error {
	switch {
	case ns == "default" && pod == "one" && ctr == "c":
		return nil
	case ns == "default" && pod == "two" && ctr == "b":
		return fmt.Errorf("container %q is not running: %w", ctr, kubeletserver.ErrNotRunning)
	}
	return fmt.Errorf("container %q in pod %q: %w", ctr, pod, cri.ErrNotFound)
}

func (execKubelet) ExecInContainer(_ context.Context, _, _, _ string, cmd []string, eio kubeletserver.ExecIO) (int, error) {
	switch cmd[0] {
	case "outerr":
		io.WriteString(eio.Stdout, "out\n")
		io.WriteString(eio.Stderr, "err\n")
		return 3, nil
	case "cat":
		_, err := io.Copy(eio.Stdout, eio.Stdin)
		return 0, err
	}
	return 0, nil
}

// execEnv is an API server whose kubelet client reaches node n1's kubelet
// server (the real kubeletserver with a fake runtime), which accepts only
// the API server's client certificate from the cluster CA.
type execEnv struct {
	*env
	az *recordingAuthorizer
	// hits counts requests that reached the kubelet; header is the last
	// one's headers.
	hits   atomic.Int32
	mu     sync.Mutex
	header http.Header
}

func newExecEnv(t *testing.T) *execEnv {
	t.Helper()
	servingCA, err := auth.NewCA("kubelet-serving-ca")
	if err != nil {
		t.Fatal(err)
	}
	clusterCA, err := auth.NewCA("cluster-ca")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := clusterCA.IssueKeyPair(auth.CertSpec{CommonName: kubeletserver.APIServerCN, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	clientCert := kp.TLSCertificate(clusterCA.Cert)
	x := &execEnv{}
	ks := kubeletserver.New(kubeletserver.Config{Exec: execKubelet{}})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.hits.Add(1)
		x.mu.Lock()
		x.header = r.Header.Clone()
		x.mu.Unlock()
		ks.Handler().ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{servingCert(t, servingCA, "n1")}, ClientCAs: clusterCA.Pool(),
		ClientAuth: tls.RequireAndVerifyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	kc := auth.NewKubeletClient(servingCA.Pool(), &clientCert)
	t.Cleanup(kc.CloseIdleConnections)

	var e *env
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Get: func(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
		return e.api.Get(ctx, r, ns, name)
	}})
	if err != nil {
		t.Fatal(err)
	}
	x.az = &recordingAuthorizer{next: az}
	e = newEnv(t, apihttp.Config{KubeletClient: kc, Authenticator: bearerAuth{}, Authorizer: x.az}, 0)
	x.env = e
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	e.createNode("n1", port)
	// n2's address is n1's kubelet, whose certificate is n1's.
	e.createNode("n2", port)
	for _, p := range []*corev1.Pod{testPod("one"), testPod("two", "a", "b"), testPod("pending"), testPod("done"), testPod("elsewhere")} {
		e.create(p)
	}
	e.bind("one", "n1")
	e.bind("two", "n1")
	e.bind("done", "n1")
	e.bind("elsewhere", "n2")
	obj, err := e.api.Get(context.Background(), api.Pods, "default", "done")
	if err != nil {
		t.Fatal(err)
	}
	done := obj.(*corev1.Pod).DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	if _, err := e.api.Update(context.Background(), done, "status"); err != nil {
		t.Fatal(err)
	}
	return x
}

func execPath(pod string, q url.Values) string {
	return "/api/v1/namespaces/default/pods/" + pod + "/exec?" + q.Encode()
}

// TestPodExecProxied runs kubectl's executors (WebSocket v5 first, SPDY
// v4) against the API server, which proxies them to the kubelet.
func TestPodExecProxied(t *testing.T) {
	x := newExecEnv(t)
	cfg := &rest.Config{Host: x.srv.URL, BearerToken: "admin"}
	executors := map[string]func(u *url.URL) (remotecommand.Executor, error){
		"websocket v5": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		},
		"spdy v4": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, "POST", u)
		},
	}
	cases := []struct {
		name             string
		cmd              []string
		stdin            string
		wantOut, wantErr string
		wantCode         int
	}{
		{name: "stdout, stderr, exit code", cmd: []string{"outerr"}, wantOut: "out\n", wantErr: "err\n", wantCode: 3},
		{name: "stdin", cmd: []string{"cat"}, stdin: "a\nb\n", wantOut: "a\nb\n"},
	}
	for proto, newExec := range executors {
		for _, tc := range cases {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				q := url.Values{"command": tc.cmd, "stdout": {"true"}, "stderr": {"true"}}
				if tc.stdin != "" {
					q.Set("stdin", "true")
				}
				u, _ := url.Parse(x.srv.URL + execPath("one", q))
				ex, err := newExec(u)
				if err != nil {
					t.Fatal(err)
				}
				var out, errb bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &out, Stderr: &errb}
				if tc.stdin != "" {
					opts.Stdin = strings.NewReader(tc.stdin)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = ex.StreamWithContext(ctx, opts)
				if tc.wantCode != 0 {
					var ce utilexec.CodeExitError
					if !errors.As(err, &ce) || ce.Code != tc.wantCode {
						t.Fatalf("err = %v, want exit code %d", err, tc.wantCode)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if out.String() != tc.wantOut || errb.String() != tc.wantErr {
					t.Errorf("stdout %q stderr %q, want %q %q", out.String(), errb.String(), tc.wantOut, tc.wantErr)
				}
				x.mu.Lock()
				h := x.header
				x.mu.Unlock()
				if h.Get("Authorization") != "" {
					t.Errorf("the user's credentials reached the kubelet: %v", h)
				}
			})
		}
	}
	x.az.mu.Lock()
	defer x.az.mu.Unlock()
	for _, a := range x.az.execs {
		if a != "create pods/exec" {
			t.Errorf("exec authorised as %q, want create pods/exec", a)
		}
	}
	if len(x.az.execs) != 4 {
		t.Errorf("%d exec authorisations, want 4", len(x.az.execs))
	}
}

// TestPodExecRefusals: what is answered as a Status before any upgrade.
func TestPodExecRefusals(t *testing.T) {
	x := newExecEnv(t)
	upgrade := []string{"Connection", "Upgrade", "Upgrade", "SPDY/3.1", "X-Stream-Protocol-Version", "v4.channel.k8s.io"}
	ls := url.Values{"command": {"ls"}, "stdout": {"true"}}
	cases := []struct {
		name, user, method, pod string
		q                       url.Values
		noUpgrade               bool
		code                    int
		contains                string
		reachesKubelet          bool
	}{
		{name: "a node may not exec", user: "system:node:n1", pod: "one", q: ls, code: 403, contains: `cannot create resource \"pods/exec\"`},
		{name: "a user without rights may not", user: "viewer", method: "GET", pod: "one", q: ls, code: 403, contains: "pods/exec"},
		{name: "no credentials", pod: "one", q: ls, code: 401},
		{name: "missing pod", pod: "nope", q: ls, code: 404, contains: `pods \"nope\" not found`},
		{name: "unknown container", pod: "two", q: url.Values{"command": {"ls"}, "stdout": {"1"}, "container": {"z"}}, code: 400,
			contains: "container z is not valid for pod two"},
		{name: "container required", pod: "two", q: ls, code: 400, contains: "a container name must be specified for pod two"},
		{name: "not scheduled", pod: "pending", q: ls, code: 400, contains: "pod pending does not have a host assigned"},
		{name: "completed pod", pod: "done", q: ls, code: 400, contains: "completed pod; current phase is Succeeded"},
		{name: "no command", pod: "one", q: url.Values{"stdout": {"true"}}, code: 400, contains: "at least one command"},
		{name: "no stream", pod: "one", q: url.Values{"command": {"ls"}, "stdout": {"false"}}, code: 400, contains: "at least 1 of stdin, stdout, stderr"},
		{name: "not an upgrade", pod: "one", q: ls, noUpgrade: true, code: 400, contains: "Upgrade request required"},
		{name: "kubelet: container not running", pod: "two", q: url.Values{"command": {"ls"}, "stdout": {"true"}, "container": {"b"}},
			code: 400, contains: "not running", reachesKubelet: true},
		{name: "another node's certificate at the Node's address", pod: "elsewhere", q: ls, code: 503, contains: "node n2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.user == "" && tc.code != 401 {
				tc.user = "admin"
			}
			if tc.method == "" {
				tc.method = "POST"
			}
			var hdr []string
			if tc.user != "" {
				hdr = append(hdr, "Authorization", "Bearer "+tc.user)
			}
			if !tc.noUpgrade {
				hdr = append(hdr, upgrade...)
			}
			before := x.hits.Load()
			r := x.do(tc.method, execPath(tc.pod, tc.q), "", hdr...)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.contains) {
				t.Fatalf("%d %s, want %d containing %q", r.code, r.body, tc.code, tc.contains)
			}
			if st := r.status(t); st.Kind != "Status" || st.Code != int32(tc.code) {
				t.Errorf("not a Status with code %d: %s", tc.code, r.body)
			}
			if reached := x.hits.Load() != before; reached != tc.reachesKubelet {
				t.Errorf("reached the kubelet: %v, want %v", reached, tc.reachesKubelet)
			}
		})
	}
}

func TestPodExecNoKubeletClient(t *testing.T) {
	e := logEnv(t, nil)
	r := e.do("POST", execPath("one", url.Values{"command": {"ls"}, "stdout": {"true"}}), "",
		"Connection", "Upgrade", "Upgrade", "SPDY/3.1")
	if r.code != 503 {
		t.Fatalf("%d %s", r.code, r.body)
	}
}
