package kubeletserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/drydock-sim/drydock/core/cri"
)

// fakeExec runs a few canned commands; pod "ns/p" has a running container
// "c" and a stopped one "stopped".
type fakeExec struct {
	mu    sync.Mutex
	calls []string
	// started is closed when an exec starts (for the cancellation case).
	started chan struct{}
	// ended receives the error an exec's context ended with.
	ended chan error
}

func (f *fakeExec) CheckExec(ns, pod, ctr string) error {
	switch {
	case ns != "ns" || pod != "p":
		return fmt.Errorf("pod %s/%s: %w", ns, pod, cri.ErrNotFound)
	case ctr == "stopped":
		return fmt.Errorf("container %q: %w", ctr, ErrNotRunning)
	case ctr != "c":
		return fmt.Errorf("container %q: %w", ctr, cri.ErrNotFound)
	}
	return nil
}

func (f *fakeExec) ExecInContainer(ctx context.Context, ns, pod, ctr string, cmd []string, eio ExecIO) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%s/%s %q tty=%v stdin=%v stdout=%v stderr=%v", ns, pod, ctr, cmd,
		eio.TTY, eio.Stdin != nil, eio.Stdout != nil, eio.Stderr != nil))
	f.mu.Unlock()
	switch cmd[0] {
	case "outerr":
		io.WriteString(eio.Stdout, "out\n")
		io.WriteString(eio.Stderr, "err\n")
		return 3, nil
	case "cat":
		_, err := io.Copy(eio.Stdout, eio.Stdin)
		return 0, err
	case "tty":
		sz, ok := <-eio.Resize
		fmt.Fprintf(eio.Stdout, "tty=%v size=%dx%d open=%v\n", eio.TTY, sz.Width, sz.Height, ok)
		return 0, nil
	case "block":
		close(f.started)
		<-ctx.Done()
		f.ended <- ctx.Err()
		return 0, ctx.Err()
	case "fail":
		return 0, errors.New("no such binary")
	}
	return 0, nil
}

// restConfig is a client-go config presenting cert to the test server.
func (e *env) restConfig(cert tls.Certificate) *rest.Config {
	e.t.Helper()
	return restConfig(e.t, e.pki, e.srv.URL, cert)
}

func restConfig(t *testing.T, p *pki, host string, cert tls.Certificate) *rest.Config {
	t.Helper()
	key, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: host, TLSClientConfig: rest.TLSClientConfig{
		CAData:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Raw}),
		CertData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		KeyData:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key}),
	}}
}

func newExecEnv(t *testing.T) (*env, *fakeExec) {
	p := newPKI(t)
	e := &env{t: t, pki: p, dir: t.TempDir(), logs: &fakeLogs{paths: map[string]string{}, exited: map[string]chan struct{}{}}}
	fe := &fakeExec{started: make(chan struct{}), ended: make(chan error, 1)}
	s := New(Config{Logs: e.logs, Exec: fe})
	e.srv = httptest.NewUnstartedServer(s.Handler())
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.cert(t, "node", nil, true)}, ClientCAs: p.pool,
		ClientAuth: tls.VerifyClientCertIfGiven}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.admin = e.client(p.cert(t, APIServerCN, []string{MastersGroup}, false))
	return e, fe
}

// execURL is the kubelet's exec URL with kube-apiserver's parameters.
func execURL(base, path string, cmd []string, stdin, stdout, stderr, tty bool) string {
	q := url.Values{"command": cmd}
	for name, on := range map[string]bool{"input": stdin, "output": stdout, "error": stderr, "tty": tty} {
		if on {
			q.Set(name, "1")
		}
	}
	return base + path + "?" + q.Encode()
}

type sizeQueue struct {
	sizes chan remotecommand.TerminalSize
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q.sizes
	if !ok {
		return nil
	}
	return &s
}

func TestExecProtocols(t *testing.T) {
	e, fe := newExecEnv(t)
	cfg := e.restConfig(e.pki.cert(t, APIServerCN, nil, false))
	executors := map[string]func(u string) (remotecommand.Executor, error){
		"websocket v5": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, "GET", u)
		},
		"spdy v4": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, "POST", mustURL(t, u))
		},
	}
	cases := []struct {
		name              string
		cmd               []string
		stdin             string
		tty               bool
		wantOut, wantErr  string
		wantCode          int
		wantInternalError string
	}{
		{name: "stdout stderr and exit code", cmd: []string{"outerr", "x"}, wantOut: "out\n", wantErr: "err\n", wantCode: 3},
		{name: "stdin to stdout", cmd: []string{"cat"}, stdin: "line one\nline two\n", wantOut: "line one\nline two\n"},
		{name: "tty with a size", cmd: []string{"tty"}, tty: true, wantOut: "tty=true size=120x40 open=true\n"},
		{name: "runtime error", cmd: []string{"fail"}, wantInternalError: "no such binary"},
	}
	for proto, newExec := range executors {
		for _, tc := range cases {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				u := execURL(e.srv.URL, "/exec/ns/p/c", tc.cmd, tc.stdin != "", true, !tc.tty, tc.tty)
				ex, err := newExec(u)
				if err != nil {
					t.Fatal(err)
				}
				var out, errb bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &out, Tty: tc.tty}
				if !tc.tty {
					opts.Stderr = &errb
				}
				if tc.stdin != "" {
					opts.Stdin = strings.NewReader(tc.stdin)
				}
				if tc.tty {
					q := &sizeQueue{sizes: make(chan remotecommand.TerminalSize, 1)}
					q.sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
					close(q.sizes)
					opts.TerminalSizeQueue = q
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = ex.StreamWithContext(ctx, opts)
				switch {
				case tc.wantCode != 0:
					var ce utilexec.CodeExitError
					if !errors.As(err, &ce) || ce.Code != tc.wantCode {
						t.Fatalf("err = %v (%T), want exit code %d", err, err, tc.wantCode)
					}
				case tc.wantInternalError != "":
					if err == nil || !strings.Contains(err.Error(), tc.wantInternalError) {
						t.Fatalf("err = %v, want one containing %q", err, tc.wantInternalError)
					}
				case err != nil:
					t.Fatalf("exec: %v", err)
				}
				if out.String() != tc.wantOut || errb.String() != tc.wantErr {
					t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errb.String(), tc.wantOut, tc.wantErr)
				}
			})
		}
	}
	fe.mu.Lock()
	defer fe.mu.Unlock()
	want := `ns/p/c ["outerr" "x"] tty=false stdin=false stdout=true stderr=true`
	found := false
	for _, c := range fe.calls {
		found = found || c == want
	}
	if !found {
		t.Errorf("calls %q lack %q", fe.calls, want)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestExecRefusals: who may exec and what is answered before any upgrade.
func TestExecRefusals(t *testing.T) {
	e, fe := newExecEnv(t)
	cases := []struct {
		name     string
		client   *http.Client
		method   string
		path     string
		cmd      []string
		params   string
		wantCode int
		wantBody string
	}{
		{name: "no client certificate", client: e.client(), path: "/exec/ns/p/c", cmd: []string{"ls"}, wantCode: 401},
		{name: "a node's certificate", client: e.client(e.pki.cert(t, "system:node:n1", []string{"system:nodes"}, false)),
			path: "/exec/ns/p/c", cmd: []string{"ls"}, wantCode: 403, wantBody: "Forbidden (user=system:node:n1"},
		{name: "certificate of another CA", client: e.client(newPKI(t).cert(t, APIServerCN, nil, false)),
			path: "/exec/ns/p/c", cmd: []string{"ls"}, wantBody: "unknown certificate authority"},
		{name: "no command", path: "/exec/ns/p/c", wantCode: 400, wantBody: "at least one command"},
		{name: "no stream", path: "/exec/ns/p/c", cmd: []string{"ls"}, params: "none", wantCode: 400, wantBody: "at least 1 of stdin, stdout, stderr"},
		{name: "unknown pod", path: "/exec/ns/q/c", cmd: []string{"ls"}, wantCode: 404, wantBody: "not found"},
		{name: "unknown container", path: "/exec/ns/p/d", cmd: []string{"ls"}, wantCode: 404, wantBody: "not found"},
		{name: "container not running", path: "/exec/ns/p/stopped", cmd: []string{"ls"}, wantCode: 400, wantBody: "not running"},
		{name: "POST is served too", method: "POST", path: "/exec/ns/q/c", cmd: []string{"ls"}, wantCode: 404},
		{name: "PUT is not", method: "PUT", path: "/exec/ns/p/c", cmd: []string{"ls"}, wantCode: 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := tc.client
			if cl == nil {
				cl = e.admin
			}
			if tc.method == "" {
				tc.method = "GET"
			}
			u := execURL(e.srv.URL, tc.path, tc.cmd, false, tc.params != "none", false, false)
			req, _ := http.NewRequest(tc.method, u, nil)
			resp, err := cl.Do(req)
			if tc.wantCode == 0 {
				// Refused in the TLS handshake.
				if err == nil || !strings.Contains(err.Error(), tc.wantBody) {
					t.Errorf("err = %v, want a handshake error containing %q", err, tc.wantBody)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
		})
	}
	if len(fe.calls) != 0 {
		t.Errorf("the executor ran: %q", fe.calls)
	}
}

// TestExecContextEndsWithServer: stopping the server ends a running exec's
// context (the process is killed), although the connection is hijacked.
func TestExecContextEndsWithServer(t *testing.T) {
	p := newPKI(t)
	fe := &fakeExec{started: make(chan struct{}), ended: make(chan error, 1)}
	s := New(Config{Logs: &fakeLogs{}, Exec: fe,
		TLS: &tls.Config{Certificates: []tls.Certificate{p.cert(t, "node", nil, true)}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { stop(); <-done }()
	base := "https://" + ln.Addr().String()
	ex, err := remotecommand.NewSPDYExecutor(restConfig(t, p, base, p.cert(t, APIServerCN, nil, false)), "POST",
		mustURL(t, execURL(base, "/exec/ns/p/c", []string{"block"}, false, true, false, false)))
	if err != nil {
		t.Fatal(err)
	}
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
	}()
	deadline := time.After(30 * time.Second)
	select {
	case <-fe.started:
	case err := <-streamDone:
		t.Fatalf("stream ended before the exec started: %v", err)
	case <-deadline:
		t.Fatal("the exec did not start")
	}
	stop()
	select {
	case err := <-fe.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("exec context ended with %v", err)
		}
	case <-deadline:
		t.Fatal("stopping the server did not end the exec's context")
	}
	select {
	case <-streamDone:
	case <-deadline:
		t.Fatal("the client's stream did not end")
	}
}
