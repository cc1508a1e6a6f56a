package apihttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	restwatch "k8s.io/client-go/rest/watch"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/apihttp"
)

func TestWatchFromZeroAndLive(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	w := e.watch("/api/v1/namespaces/default/pods?watch=true")
	if w.code != 200 {
		t.Fatalf("code %d", w.code)
	}
	ev := w.next()
	kind, av, name, rv := objMeta(t, ev.Object)
	if ev.Type != "ADDED" || kind != "Pod" || av != "v1" || name != "p1" || rv == "" {
		t.Fatalf("initial event %s %s %s %s %s", ev.Type, kind, av, name, rv)
	}
	e.create(testPod("p2"))
	if ev := w.next(); ev.Type != "ADDED" {
		t.Fatalf("%s", ev.Type)
	} else if _, _, name, _ := objMeta(t, ev.Object); name != "p2" {
		t.Fatalf("name %s", name)
	}
	if r := e.do("PATCH", "/api/v1/namespaces/default/pods/p2", `{"metadata":{"labels":{"x":"y"}}}`, "Content-Type", "application/merge-patch+json"); r.code != 200 {
		t.Fatal(r.code)
	}
	if ev := w.next(); ev.Type != "MODIFIED" {
		t.Fatalf("%s", ev.Type)
	}
	if r := e.do("DELETE", "/api/v1/namespaces/default/pods/p2", ""); r.code != 200 {
		t.Fatal(r.code)
	}
	if ev := w.next(); ev.Type != "DELETED" {
		t.Fatalf("%s", ev.Type)
	}
	// Another namespace's pod is not seen; the next event is ours.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	e.create(ns)
	p := testPod("x")
	p.Namespace = "other"
	e.create(p)
	e.create(testPod("p3"))
	if ev := w.next(); ev.Type != "ADDED" {
		t.Fatalf("%s", ev.Type)
	} else if _, _, name, _ := objMeta(t, ev.Object); name != "p3" {
		t.Fatalf("saw %s", name)
	}
}

func TestWatchFromResourceVersion(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	r := e.do("GET", "/api/v1/namespaces/default/pods", "")
	var l corev1.PodList
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	e.create(testPod("p2")) // after the list: must be replayed
	w := e.watch("/api/v1/namespaces/default/pods?watch=1&resourceVersion=" + l.ResourceVersion)
	ev := w.next()
	if _, _, name, _ := objMeta(t, ev.Object); ev.Type != "ADDED" || name != "p2" {
		t.Fatalf("%s %s", ev.Type, name)
	}
}

func TestWatchExpiredIs410Event(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 2)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.create(testPod(n))
	}
	w := e.watch("/api/v1/namespaces/default/pods?watch=true&resourceVersion=1")
	if w.code != 200 {
		t.Fatalf("code %d", w.code)
	}
	ev := w.next()
	var st metav1.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "ERROR" || st.Code != 410 || st.Reason != metav1.StatusReasonExpired || st.Kind != "Status" || st.APIVersion != "v1" {
		t.Fatalf("%s %s", ev.Type, ev.Object)
	}
	if !w.ends() {
		t.Error("stream did not end after the ERROR event")
	}
}

func TestWatchSendInitialEvents(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	e.create(testPod("p2"))
	w := e.watch("/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	for _, want := range []string{"p1", "p2"} {
		ev := w.next()
		if _, _, name, _ := objMeta(t, ev.Object); ev.Type != "ADDED" || name != want {
			t.Fatalf("%s %s", ev.Type, name)
		}
	}
	ev := w.next()
	var bm corev1.Pod
	if err := json.Unmarshal(ev.Object, &bm); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "BOOKMARK" || bm.Annotations[api.InitialEventsEndAnnotation] != "true" || bm.ResourceVersion == "" || bm.Kind != "Pod" {
		t.Fatalf("%s %s", ev.Type, ev.Object)
	}

	// Without initial events: only what happens next.
	w2 := e.watch("/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	e.create(testPod("p3"))
	if ev := w2.next(); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	} else if _, _, name, _ := objMeta(t, ev.Object); name != "p3" {
		t.Fatalf("got %s", name)
	}
}

func TestWatchOptionErrors(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	for _, q := range []string{
		"watch=true&sendInitialEvents=true",
		"watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
		"watch=true&resourceVersionMatch=NotOlderThan",
	} {
		r := e.do("GET", "/api/v1/pods?"+q, "")
		if r.code != 422 {
			t.Errorf("%s: %d %s", q, r.code, r.body)
			continue
		}
		if st := r.status(t); st.Reason != metav1.StatusReasonInvalid || len(st.Details.Causes) == 0 {
			t.Errorf("%s: %s", q, r.body)
		}
	}
	for _, q := range []string{"watch=true&resourceVersion=abc", "watch=true&fieldSelector=spec.nope%3D1", "watch=true&timeoutSeconds=x"} {
		if r := e.do("GET", "/api/v1/pods?"+q, ""); r.code != 400 {
			t.Errorf("%s: %d %s", q, r.code, r.body)
		}
	}
}

func TestWatchTimeoutEndsStream(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	w := e.watch("/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1")
	start := time.Now()
	if !w.ends() {
		t.Fatal("watch did not end")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ended after %v", d)
	}
}

func TestWatchSelectorsAndLegacyPath(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	e.create(testPod("p2"))
	w := e.watch("/api/v1/watch/namespaces/default/pods/p2")
	ev := w.next()
	if _, _, name, _ := objMeta(t, ev.Object); name != "p2" {
		t.Fatalf("legacy watch saw %s", name)
	}
	lw := e.watch("/api/v1/pods?watch=true&labelSelector=app%3Dweb")
	lw.next()
	lw.next()
	// p1 stops matching: DELETED for this watch.
	e.do("PATCH", "/api/v1/namespaces/default/pods/p1", `{"metadata":{"labels":{"app":"db"}}}`, "Content-Type", "application/merge-patch+json")
	if ev := lw.next(); ev.Type != "DELETED" {
		t.Fatalf("%s", ev.Type)
	}
}

func TestWatchPeriodicBookmark(t *testing.T) {
	e := newEnv(t, apihttp.Config{BookmarkInterval: 20 * time.Millisecond}, 0)
	w := e.watch("/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true")
	created := e.create(testPod("p1"))
	if ev := w.next(); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	}
	ev := w.next()
	kind, _, _, rv := objMeta(t, ev.Object)
	if ev.Type != "BOOKMARK" || kind != "Pod" || rv != created.GetResourceVersion() {
		t.Fatalf("%s %s", ev.Type, ev.Object)
	}
	// Without allowWatchBookmarks none come.
	w2 := e.watch("/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1")
	if ev := w2.next(); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	}
	if !w2.ends() {
		t.Error("expected only the ADDED event and then the end of the stream")
	}
}

func TestWatchTable(t *testing.T) {
	e := newEnv(t, apihttp.Config{Table: fakeTable}, 0)
	e.create(testPod("p1"))
	w := e.watch("/api/v1/namespaces/default/pods?watch=true", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	first := w.next()
	var t1 metav1.Table
	if err := json.Unmarshal(first.Object, &t1); err != nil {
		t.Fatal(err)
	}
	if first.Type != "ADDED" || t1.Kind != "Table" || t1.APIVersion != "meta.k8s.io/v1" || len(t1.ColumnDefinitions) != 1 ||
		len(t1.Rows) != 1 || t1.Rows[0].Cells[0] != "p1" || t1.ResourceVersion == "" {
		t.Fatalf("%s", first.Object)
	}
	e.create(testPod("p2"))
	second := w.next()
	var t2 metav1.Table
	if err := json.Unmarshal(second.Object, &t2); err != nil {
		t.Fatal(err)
	}
	if len(t2.ColumnDefinitions) != 0 || len(t2.Rows) != 1 || t2.Rows[0].Cells[0] != "p2" {
		t.Fatalf("%s", second.Object)
	}
}

func TestWatchCancelledByClient(t *testing.T) {
	done := make(chan apihttp.RequestLog, 1)
	e := newEnv(t, apihttp.Config{Log: func(l apihttp.RequestLog) { done <- l }}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/v1/pods?watch=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	res.Body.Close()
	select {
	case l := <-done:
		if l.Verb != "watch" || l.Code != 200 {
			t.Errorf("%+v", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch handler did not return after the client left")
	}
}

// TestWatchUnderConcurrentWrites checks, under -race, that concurrent
// writers through HTTP and two watchers agree: every write is seen once, in
// increasing resourceVersion order.
func TestWatchUnderConcurrentWrites(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	r := e.do("GET", "/api/v1/namespaces/default/pods", "")
	var l corev1.PodList
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	watchers := []*watchStream{
		e.watch("/api/v1/namespaces/default/pods?watch=true&resourceVersion=" + l.ResourceVersion),
		e.watch("/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=" + l.ResourceVersion),
	}
	const writers, perWriter = 4, 10
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < perWriter; i++ {
				name := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				body, _ := json.Marshal(testPod(name))
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/namespaces/default/pods", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				res, err := e.srv.Client().Do(req)
				if err != nil {
					errs <- err
					return
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					errs <- fmt.Errorf("create %s: %d", name, res.StatusCode)
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range watchers {
		seen := map[string]bool{}
		last := int64(0)
		for len(seen) < writers*perWriter {
			ev := w.next()
			if ev.Type == "BOOKMARK" {
				continue
			}
			_, _, name, rv := objMeta(t, ev.Object)
			n, _ := strconv.ParseInt(rv, 10, 64)
			if ev.Type != "ADDED" || seen[name] || n <= last {
				t.Fatalf("watcher %d: %s %s rv %d after %d (seen before: %v)", i, ev.Type, name, n, last, seen[name])
			}
			seen[name], last = true, n
		}
	}
}

func TestStopEndsWatchesAndFollowedLogs(t *testing.T) {
	stop := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	e := logEnvWith(t, fakeKubelet(t, release), apihttp.Config{Stop: stop})
	w := e.watch("/api/v1/namespaces/default/pods?watch=true&resourceVersion=" + strconv.FormatInt(e.api.Store().Revision(), 10))
	res, err := e.srv.Client().Get(e.srv.URL + "/api/v1/namespaces/default/pods/one/log?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	close(stop)
	if !w.ends() {
		t.Error("watch still open after Stop")
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(res.Body)
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("followed log still open after Stop")
	}
}

// TestWatchProtobuf decodes a protobuf watch stream the way client-go does.
func TestWatchProtobuf(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	e.create(testPod("p1"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/v1/namespaces/default/pods?watch=true", nil)
	req.Header.Set("Accept", "application/vnd.kubernetes.protobuf;stream=watch")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.kubernetes.protobuf;stream=watch" {
		t.Fatalf("content type %q", ct)
	}
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), "application/vnd.kubernetes.protobuf")
	if !ok || info.StreamSerializer == nil {
		t.Fatal("no protobuf stream serializer")
	}
	dec := restwatch.NewDecoder(streaming.NewDecoder(info.StreamSerializer.Framer.NewFrameReader(res.Body), info.StreamSerializer.Serializer), info.Serializer)
	defer dec.Close()
	type result struct {
		t   watch.EventType
		obj runtime.Object
		err error
	}
	next := func() result {
		ch := make(chan result, 1)
		go func() {
			et, obj, err := dec.Decode()
			ch <- result{et, obj, err}
		}()
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no protobuf watch event")
		}
		return result{}
	}
	r := next()
	if p, ok := r.obj.(*corev1.Pod); r.err != nil || r.t != watch.Added || !ok || p.Name != "p1" {
		t.Fatalf("%v %s %#v", r.err, r.t, r.obj)
	}
	e.create(testPod("p2"))
	r = next()
	if p, ok := r.obj.(*corev1.Pod); r.err != nil || r.t != watch.Added || !ok || p.Name != "p2" {
		t.Fatalf("%v %s %#v", r.err, r.t, r.obj)
	}
}

// TestWatchOverHTTP2 checks that events are flushed per event on HTTP/2
// (real mode serves HTTPS, where Go negotiates HTTP/2).
func TestWatchOverHTTP2(t *testing.T) {
	e := newEnv(t, apihttp.Config{}, 0)
	h2 := httptest.NewUnstartedServer(e.srv.Config.Handler)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	e.srv = h2
	w := e.watch("/api/v1/namespaces/default/pods?watch=true")
	e.create(testPod("p1"))
	if ev := w.next(); ev.Type != "ADDED" {
		t.Fatal(ev.Type)
	}
	r := e.do("GET", "/api/v1/namespaces/default/pods/p1", "")
	if r.code != 200 {
		t.Fatal(r.code)
	}
	res, err := h2.Client().Get(h2.URL + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("served over %s, want HTTP/2", res.Proto)
	}
}
