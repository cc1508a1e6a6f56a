package httpclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/store/memstore"
	"github.com/drydock-sim/drydock/real/apihttp"
	"github.com/drydock-sim/drydock/real/loop"
)

// forEachServer runs a test against the fake REST front and against
// real/apihttp, the real API server's HTTP layer.
func forEachServer(t *testing.T, test func(t *testing.T, f *fakeServer)) {
	t.Run("fake", func(t *testing.T) { test(t, newFakeServer(t)) })
	t.Run("apihttp", func(t *testing.T) { test(t, newAPIHTTPServer(t)) })
}

// newAPIHTTPServer serves core/apiserver over memstore through real/apihttp
// (no authentication: every request is an admin), recording requests like
// the fake does. cutWatches and watchFail are not available.
func newAPIHTTPServer(t *testing.T) *fakeServer {
	t.Helper()
	l := loop.New()
	srv, err := apiserver.New(apiserver.Config{Store: memstore.New(), Clock: l, Rand: rng.Stream(1, "apiserver"), WatchWindow: 50})
	if err != nil {
		t.Fatal(err)
	}
	// Frequent bookmarks: every watch test also checks that they are not
	// passed on unless asked for.
	h, err := apihttp.New(apihttp.Config{Server: srv, BookmarkInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, api: srv, cut: make(chan struct{}), closing: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		srv.Close()
	})
	return f
}

// Bookmarks reach the caller only when it asked for them, and move the
// resume point either way.
func TestBookmarksForwardedOnlyWhenAsked(t *testing.T) {
	f := newAPIHTTPServer(t)
	c, l := f.client(t, nil)
	ctx := context.Background()
	_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	with, without := &recorder{}, &recorder{}
	l.Do(func() {
		if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}, with.fn); err != nil {
			t.Error(err)
		}
		if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, without.fn); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.Create(ctx, pod("a", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, l, "a bookmark after the event", func() bool {
		n := len(with.evs)
		return n >= 2 && with.evs[n-1].Type == api.WatchBookmark && len(without.evs) == 1
	})
	l.Do(func() {
		for _, ev := range without.evs {
			if ev.Type == api.WatchBookmark {
				t.Fatal("bookmark passed to a watch that did not ask for them")
			}
		}
	})
}

// Close ends every watch: no more events, no more requests.
func TestCloseEndsWatches(t *testing.T) {
	f := newAPIHTTPServer(t)
	c, l := f.client(t, func(c *Config) { c.WatchTimeout = func() time.Duration { return time.Second } })
	ctx := context.Background()
	_, rv, _ := c.List(ctx, api.Pods, "default", metav1.ListOptions{})
	rec := &recorder{}
	l.Do(func() {
		if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn); err != nil {
			t.Error(err)
		}
	})
	c.Close()
	watches := func() int {
		n := 0
		for _, r := range f.log() {
			if strings.Contains(r, "watch=true") {
				n++
			}
		}
		return n
	}
	before := watches()
	if _, err := c.Create(ctx, pod("after-close", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Long enough for a 1s server timeout and a re-watch, had the watch lived.
	time.Sleep(1500 * time.Millisecond)
	l.Do(func() {
		if len(rec.evs) != 0 {
			t.Fatalf("events after Close: %v", rec.names())
		}
	})
	if n := watches(); n != before {
		t.Fatalf("%d watch requests after Close", n-before)
	}
	if _, err := c.Watch(ctx, api.Pods, "default", metav1.ListOptions{ResourceVersion: rv}, rec.fn); err == nil {
		t.Fatal("Watch after Close succeeded")
	}
}
