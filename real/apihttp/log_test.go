package apihttp_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
)

// fakeKubelet serves /containerLogs like the node agent: it echoes the path
// and query, and with follow=true writes "more" after release is closed.
func fakeKubelet(t *testing.T, release chan struct{}) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	t.Cleanup(srv.Close)
	return srv
}

func logEnv(t *testing.T, kubelet *httptest.Server) *env {
	return logEnvWith(t, kubelet, apihttp.Config{})
}

func logEnvWith(t *testing.T, kubelet *httptest.Server, cfg apihttp.Config) *env {
	if kubelet != nil {
		cfg.KubeletClient = kubelet.Client()
	}
	e := newEnv(t, cfg, 0)
	port := 10250
	if kubelet != nil {
		u, _ := url.Parse(kubelet.URL)
		_, p, _ := net.SplitHostPort(u.Host)
		port, _ = strconv.Atoi(p)
	}
	e.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	n, err := e.api.Get(context.Background(), api.Nodes, "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	node := n.(*corev1.Node).DeepCopy()
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := e.api.Update(context.Background(), node, "status"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{testPod("one"), testPod("two", "a", "b"), testPod("pending")} {
		e.create(p)
		if p.Name != "pending" {
			if err := e.api.Bind(context.Background(), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: "default"},
				Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
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
	p := testPod("gone", "gone", "other")
	e.create(p)
	if err := e.api.Bind(context.Background(), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default"},
		Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
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
