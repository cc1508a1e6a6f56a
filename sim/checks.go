package sim

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/informer"
	"github.com/drydock-sim/drydock/core/store"
	"github.com/drydock-sim/drydock/sim/expect"
)

// checker connects the scenario's expectations to the simulated API state.
// Its caches are fed synchronously from the store, so a sample sees exactly
// what the API holds at that instant. A cache is built on first use: a run
// that never samples a resource (a benchmark without expectations samples
// once, at the end) does not mirror every one of its writes.
type checker struct {
	w      *World
	exp    *expect.Checker
	caches map[*api.Resource]*informer.Informer
	final  []ExpectationResult
}

func newChecker(w *World) *checker {
	return &checker{w: w, exp: expect.New(w.sc, Epoch), caches: map[*api.Resource]*informer.Informer{}}
}

// cache returns the mirror of r, listing it from the API the first time.
func (c *checker) cache(r *api.Resource) *informer.Informer {
	inf := c.caches[r]
	if inf == nil {
		inf = informer.New(r)
		objs, rv, _ := c.w.api.List(bg, r, "", listAll)
		inf.Replace(objs, rv)
		c.caches[r] = inf
	}
	return inf
}

// observe folds one committed change into the caches.
func (c *checker) observe(ev store.Event) {
	inf := c.caches[api.MustFor(ev.Object)]
	if inf == nil {
		return
	}
	t := api.WatchModified
	if ev.Type == store.Deleted {
		t = api.WatchDeleted
	}
	inf.Apply(api.WatchEvent{Type: t, Object: ev.Object, Revision: ev.Revision})
}

// runUntil runs the world to until, stopping at every moment the checker
// wants to sample, after all events of that moment.
func (c *checker) runUntil(until time.Time) {
	for {
		t, ok := c.exp.Next()
		if !ok || t.After(until) {
			break
		}
		c.w.clock.RunUntil(t)
		c.exp.Observe(c)
	}
	c.w.clock.RunUntil(until)
}

// results finishes the checks (once) and returns their verdicts.
func (c *checker) results() []ExpectationResult {
	if c.final == nil {
		c.final = []ExpectationResult{}
		for _, r := range c.exp.Finish(c) {
			c.final = append(c.final, ExpectationResult{Name: r.Name, Passed: r.Passed, Detail: r.Detail})
		}
	}
	return c.final
}

// The expect.View implementation.

func (c *checker) Now() time.Time { return c.w.clock.Now() }

func (c *checker) Pods() []*corev1.Pod {
	objs := c.cache(api.Pods).List()
	out := make([]*corev1.Pod, len(objs))
	for i, o := range objs {
		out[i] = o.(*corev1.Pod)
	}
	return out
}

func (c *checker) Nodes() []*corev1.Node {
	objs := c.cache(api.Nodes).List()
	out := make([]*corev1.Node, len(objs))
	for i, o := range objs {
		out[i] = o.(*corev1.Node)
	}
	return out
}

func (c *checker) Deployment(ns, name string) *appsv1.Deployment {
	if o, ok := c.cache(api.Deployments).Get(ns, name); ok {
		return o.(*appsv1.Deployment)
	}
	return nil
}

func (c *checker) Events() []*corev1.Event {
	objs := c.cache(api.Events).List()
	out := make([]*corev1.Event, len(objs))
	for i, o := range objs {
		out[i] = o.(*corev1.Event)
	}
	return out
}

var _ expect.View = (*checker)(nil)
