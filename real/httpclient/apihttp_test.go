package httpclient

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
	h, err := apihttp.New(apihttp.Config{Server: srv})
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
