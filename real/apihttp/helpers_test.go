package apihttp_test

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/clock"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/real/apihttp"
)

// wallClock is the wall clock (real mode's clock without a loop: the API
// server only reads it).
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return time.AfterFunc(d, f)
}

// env is an API server over a memory store behind the HTTP layer.
type env struct {
	t   testing.TB
	api *apiserver.Server
	srv *httptest.Server
	mu  sync.Mutex
	log []apihttp.RequestLog
}

func newEnv(t testing.TB, cfg apihttp.Config, window int) *env {
	t.Helper()
	s, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: wallClock{}, Rand: rand.New(rand.NewPCG(1, 2)), WatchWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e := &env{t: t, api: s}
	cfg.Server = s
	if cfg.Log == nil {
		cfg.Log = func(l apihttp.RequestLog) {
			e.mu.Lock()
			e.log = append(e.log, l)
			e.mu.Unlock()
		}
	}
	h, err := apihttp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) status(t *testing.T) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("not a Status: %v: %s", err, r.body)
	}
	return st
}

// do sends a request; hdr are header name/value pairs.
func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

func (e *env) create(obj api.Object) api.Object {
	e.t.Helper()
	out, err := e.api.Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testPod(name string, containers ...string) *corev1.Pod {
	if len(containers) == 0 {
		containers = []string{"c"}
	}
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
	}
	return p
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	l := map[string]string{"app": name}
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
}

// lines reads a watch stream's JSON lines until n are read or the deadline.
type watchStream struct {
	t    testing.TB
	body io.ReadCloser
	dec  *json.Decoder
	code int
}

type wireEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

func (e *env) watch(path string, hdr ...string) *watchStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return &watchStream{t: e.t, body: res.Body, dec: json.NewDecoder(res.Body), code: res.StatusCode}
}

// next reads one event, failing the test after 10 s.
func (w *watchStream) next() wireEvent {
	w.t.Helper()
	type result struct {
		ev  wireEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var ev wireEvent
		err := w.dec.Decode(&ev)
		ch <- result{ev, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			w.t.Fatalf("watch stream: %v", r.err)
		}
		return r.ev
	case <-time.After(10 * time.Second):
		w.t.Fatal("no watch event within 10s")
	}
	return wireEvent{}
}

// closed reports whether the stream ends (EOF) within 10 s.
func (w *watchStream) ends() bool {
	ch := make(chan error, 1)
	go func() {
		var ev wireEvent
		ch <- w.dec.Decode(&ev)
	}()
	select {
	case err := <-ch:
		return err == io.EOF
	case <-time.After(10 * time.Second):
		return false
	}
}

func objMeta(t *testing.T, raw []byte) (kind, apiVersion, name, rv string) {
	t.Helper()
	var o struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Metadata   struct {
			Name            string `json:"name"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return o.Kind, o.APIVersion, o.Metadata.Name, o.Metadata.ResourceVersion
}
