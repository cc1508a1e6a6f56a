// Package harness is the recording test harness for control-plane components:
// a real API server over the in-memory store, a manual clock, and an
// in-process client, with no servers, goroutines or sleeps. Tests create
// objects, run the clock, and assert on what the API holds and what was
// recorded.
package harness

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock/fakeclock"
	"github.com/drydock-sim/drydock/core/events"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/rng"
	"github.com/drydock-sim/drydock/core/store/memstore"
)

// Epoch is the harness's start time.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Harness holds the pieces a component test needs.
type Harness struct {
	T      testing.TB
	Clock  *fakeclock.Clock
	Store  *memstore.Store
	API    *apiserver.Server
	Client *client.Loopback
	// Events are every event recorded through Recorder, in order.
	Events []*corev1.Event
}

// New builds a harness; seed fixes names and UIDs.
func New(t testing.TB) *Harness {
	t.Helper()
	clk := fakeclock.New(Epoch)
	st := memstore.New()
	srv, err := apiserver.New(apiserver.Config{Store: st, Clock: clk, Rand: rng.Stream(1, "apiserver")})
	if err != nil {
		t.Fatalf("apiserver: %v", err)
	}
	return &Harness{T: t, Clock: clk, Store: st, API: srv, Client: &client.Loopback{Server: srv, Clock: clk}}
}

// Recorder returns an event recorder for component that writes through the
// API and appends to h.Events.
func (h *Harness) Recorder(component string) events.Recorder {
	return &events.APIRecorder{Client: h.Client, Clock: h.Clock, Component: component,
		Tap: func(ev *corev1.Event) { h.Events = append(h.Events, ev.DeepCopy()) }}
}

// Informer starts a reflector-fed informer for r (all namespaces).
func (h *Harness) Informer(r *api.Resource) *informer.Informer {
	inf := informer.New(r)
	ref := &informer.Reflector{Client: h.Client, Informer: inf, Clock: h.Clock}
	ref.Start(context.Background())
	return inf
}

// Settle runs all work that is due now, without moving time.
func (h *Harness) Settle() { h.Clock.Settle() }

// Advance moves time forward by d, running everything due.
func (h *Harness) Advance(d time.Duration) { h.Clock.Advance(d) }

// Create creates obj or fails the test.
func (h *Harness) Create(obj api.Object) api.Object {
	h.T.Helper()
	out, err := h.API.Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		h.T.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	return out
}

// Get returns the stored object or nil if absent.
func (h *Harness) Get(r *api.Resource, ns, name string) api.Object {
	o, err := h.API.Get(context.Background(), r, ns, name)
	if err != nil {
		return nil
	}
	return o
}

// List returns the objects of r in ns matching a label selector.
func (h *Harness) List(r *api.Resource, ns, selector string) []api.Object {
	h.T.Helper()
	out, _, err := h.API.List(context.Background(), r, ns, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		h.T.Fatalf("list %s: %v", r.Name, err)
	}
	return out
}

// EventReasons lists the reasons of recorded events, in order.
func (h *Harness) EventReasons() []string {
	out := make([]string, len(h.Events))
	for i, e := range h.Events {
		out[i] = e.Reason
	}
	return out
}
