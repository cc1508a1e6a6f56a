package kubeletserver

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
)

// fakeLogs locates logs in a map: "ns/pod/container" and, for previous
// instances, "ns/pod/container/previous".
type fakeLogs struct {
	mu     sync.Mutex
	paths  map[string]string
	exited map[string]chan struct{}
}

func (f *fakeLogs) LocateLog(ns, pod, ctr string, previous bool) (string, <-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := ns + "/" + pod + "/" + ctr
	if previous {
		key += "/previous"
	}
	p, ok := f.paths[key]
	if !ok {
		return "", nil, fmt.Errorf("container %q in pod %q: %w", ctr, pod, cri.ErrNotFound)
	}
	return p, f.exited[key], nil
}

// pki is a test CA and certificates signed by it.
type pki struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &pki{ca: ca, caKey: key, pool: pool}
}

var serial int64 = 1

func (p *pki) cert(t *testing.T, cn string, orgs []string, server bool) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: orgs},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type env struct {
	t     *testing.T
	logs  *fakeLogs
	dir   string
	srv   *httptest.Server
	pki   *pki
	admin *http.Client
	now   time.Time
}

func newEnv(t *testing.T) *env {
	p := newPKI(t)
	e := &env{t: t, pki: p, dir: t.TempDir(), logs: &fakeLogs{paths: map[string]string{}, exited: map[string]chan struct{}{}},
		now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	s := New(Config{Logs: e.logs, PollInterval: 5 * time.Millisecond, Now: func() time.Time { return e.now }})
	e.srv = httptest.NewUnstartedServer(s.Handler())
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.cert(t, "node", nil, true)}, ClientCAs: p.pool,
		ClientAuth: tls.VerifyClientCertIfGiven}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.admin = e.client(p.cert(t, APIServerCN, []string{MastersGroup}, false))
	return e
}

func (e *env) client(certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pki.pool, Certificates: certs}}}
}

// addLog writes a CRI log file for key and registers it.
func (e *env) addLog(key, content string) (path string, exited chan struct{}) {
	path = filepath.Join(e.dir, strings.ReplaceAll(key, "/", "_")+".log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	exited = make(chan struct{})
	e.logs.mu.Lock()
	e.logs.paths[key], e.logs.exited[key] = path, exited
	e.logs.mu.Unlock()
	return path, exited
}

func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const sample = `2026-12-06T09:00:00.000000001Z stdout F first
2026-12-06T09:30:00.5Z stderr F second
not a record
2026-12-06T09:59:00Z stdout P par
2026-12-06T09:59:00.1Z stdout P ti
2026-12-06T09:59:01Z stdout F al
2026-12-06T09:59:30Z stdout F last
`

func TestContainerLogs(t *testing.T) {
	e := newEnv(t)
	e.addLog("default/web/app", sample)
	e.addLog("default/web/app/previous", "2026-12-06T08:00:00Z stdout F old\n")
	for _, tc := range []struct {
		name, query string
		code        int
		want        string
	}{
		{"all", "", 200, "first\nsecond\npartial\nlast\n"},
		{"timestamps", "?timestamps=true", 200, "2026-12-06T09:00:00.000000001Z first\n2026-12-06T09:30:00.5Z second\n" +
			"2026-12-06T09:59:00Z par2026-12-06T09:59:00.1Z ti2026-12-06T09:59:01Z al\n2026-12-06T09:59:30Z last\n"},
		{"tail 1", "?tailLines=1", 200, "last\n"},
		{"tail 3 counts records", "?tailLines=3", 200, "ti" + "al\nlast\n"},
		{"tail 0", "?tailLines=0", 200, ""},
		{"tail more than there are", "?tailLines=100", 200, "first\nsecond\npartial\nlast\n"},
		{"since seconds", "?sinceSeconds=120", 200, "partial\nlast\n"},
		{"since time", "?sinceTime=2026-12-06T09:30:00Z", 200, "second\npartial\nlast\n"},
		{"limit bytes", "?limitBytes=8", 200, "first\nse"},
		{"previous", "?previous=true", 200, "old\n"},
		{"bad tail", "?tailLines=-1", 400, "tailLines"},
		{"bad bool", "?follow=maybe", 400, "follow"},
		{"since both", "?sinceSeconds=1&sinceTime=2026-12-06T09:30:00Z", 400, "at most one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.get(e.admin, "/containerLogs/default/web/app"+tc.query)
			if code != tc.code || (code == 200 && body != tc.want) || (code != 200 && !strings.Contains(body, tc.want)) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.code, tc.want)
			}
		})
	}
	if code, body := e.get(e.admin, "/containerLogs/default/web/nope"); code != 404 || !strings.Contains(body, "nope") {
		t.Errorf("unknown container: %d %q, want 404 naming it", code, body)
	}
	if code, body := e.get(e.admin, "/containerLogs/default/web/nope?previous=true"); code != 400 || !strings.Contains(body, "nope") {
		t.Errorf("no previous instance: %d %q, want 400 as the kubelet answers", code, body)
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	e.addLog("default/web/app", sample)
	other := newPKI(t)
	for _, tc := range []struct {
		name   string
		client *http.Client
		code   int
	}{
		{"api server", e.client(e.pki.cert(t, APIServerCN, nil, false)), 200},
		{"masters group", e.client(e.pki.cert(t, "drydock-admin", []string{MastersGroup}, false)), 200},
		{"a node", e.client(e.pki.cert(t, "system:node:n1", []string{"system:nodes"}, false)), 403},
		{"anonymous", e.client(), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.get(tc.client, "/containerLogs/default/web/app"); code != tc.code {
				t.Errorf("got %d %q, want %d", code, body, tc.code)
			}
		})
	}
	// A certificate from another CA does not get through the handshake.
	c := e.client(other.cert(t, APIServerCN, []string{MastersGroup}, false))
	if resp, err := c.Get(e.srv.URL + "/containerLogs/default/web/app"); err == nil {
		resp.Body.Close()
		t.Errorf("a client certificate from another CA was accepted: %d", resp.StatusCode)
	}
	if code, body := e.get(e.client(), "/healthz"); code != 200 || body != "ok" {
		t.Errorf("healthz: %d %q", code, body)
	}
}

// TestFollow streams a log while lines are appended, and ends when the
// container has exited and the file is read.
func TestFollow(t *testing.T) {
	e := newEnv(t)
	path, exited := e.addLog("default/web/app", "2026-12-06T09:00:00Z stdout F one\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/containerLogs/default/web/app?follow=true&tailLines=1", nil)
	resp, err := e.admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	expect := func(want string) {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	expect("one\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A record written in two pieces comes out whole.
	f.WriteString("2026-12-06T09:00:01Z stdout F tw")
	f.WriteString("o\n")
	expect("two\n")
	f.WriteString("2026-12-06T09:00:02Z stderr F three\n")
	expect("three\n")
	f.WriteString("2026-12-06T09:00:03Z stdout F four\n")
	close(exited)
	expect("four\n")
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the container exited: %q, %v; want the end of the stream", rest, err)
	}
}

// TestFollowClientGoes checks that a follow ends when the client leaves.
func TestFollowClientGoes(t *testing.T) {
	e := newEnv(t)
	e.addLog("default/web/app", "2026-12-06T09:00:00Z stdout F one\n")
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	path := e.logs.paths["default/web/app"]
	go func() {
		done <- ReadLogs(ctx, path, ReadOptions{Follow: true, TailLines: -1}, nil, time.Millisecond, pw, nil)
	}()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if line != "one\n" {
		t.Fatalf("read %q", line)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ReadLogs still following after its client left")
	}
}

// TestFollowRotation follows a log that is rotated (renamed, a new file
// started) and one that does not exist yet when the follow starts.
func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	exited := make(chan struct{})
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ReadLogs(context.Background(), path, ReadOptions{Follow: true, TailLines: -1}, exited, time.Millisecond, pw, nil)
		pw.Close()
		done <- err
	}()
	br := bufio.NewReader(pr)
	expect := func(want string) {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	appendTo(path, "2026-12-06T09:00:00Z stdout F one\n")
	expect("one\n")
	appendTo(path, "2026-12-06T09:00:01Z stdout F two\n")
	if err := os.Rename(path, path+".20261206-090001"); err != nil {
		t.Fatal(err)
	}
	appendTo(path, "2026-12-06T09:00:02Z stdout F three\n")
	expect("two\n")
	expect("three\n")
	close(exited)
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after exit: %q, %v", rest, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
