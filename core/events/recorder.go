// Package events records Kubernetes Events about objects, aggregating repeats
// (same object, reason and message) into one Event with a count, as
// client-go's event recorder does.
package events

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
	"github.com/drydock-sim/drydock/core/clock"
)

// Recorder records events about objects.
type Recorder interface {
	Event(obj api.Object, eventType, reason, message string)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(obj api.Object, eventType, reason, message string)

// Event calls f.
func (f RecorderFunc) Event(obj api.Object, eventType, reason, message string) {
	f(obj, eventType, reason, message)
}

// Discard drops events.
var Discard Recorder = RecorderFunc(func(api.Object, string, string, string) {})

// APIRecorder writes events through the API.
type APIRecorder struct {
	Client    client.Interface
	Clock     clock.Clock
	Component string // source.component, e.g. "default-scheduler"
	Host      string // source.host, e.g. the node name for kubelets
	// Tap, if set, sees every event as recorded (the simulator's trace).
	Tap      func(ev *corev1.Event)
	seen     map[seenKey]*corev1.Event
	lastName int64
	instance string // reportingInstance, built once
}

// seenKey is what makes two occurrences the same Event. Its strings are the
// ones the recorded Event holds, so remembering it costs no copies.
type seenKey struct {
	uid                         types.UID
	kind, name, reason, message string
}

// maxSeen bounds the aggregation cache, like client-go's 4096-entry LRU.
const maxSeen = 4096

// Event records one occurrence. Failures to write are dropped, as in
// Kubernetes: events are best effort.
func (r *APIRecorder) Event(obj api.Object, eventType, reason, message string) {
	if r.seen == nil || len(r.seen) >= maxSeen {
		r.seen = map[seenKey]*corev1.Event{}
	}
	ref := Reference(obj)
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.NewTime(r.Clock.Now().Truncate(time.Second))
	key := seenKey{uid: ref.UID, kind: ref.Kind, name: ref.Name, reason: reason, message: message}
	ctx := context.Background()
	if prev, ok := r.seen[key]; ok {
		// A shallow copy: only top-level fields change, and the API server
		// copies what it is given.
		cp := *prev
		ev := &cp
		ev.Count++
		ev.LastTimestamp = now
		ev.ResourceVersion = ""
		if r.Tap != nil {
			r.Tap(ev)
		}
		if out, err := r.Client.Update(ctx, ev, ""); err == nil {
			delete(r.seen, key)
			r.remember(out.(*corev1.Event))
			return
		}
		delete(r.seen, key)
	}
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, r.nameStamp()), Namespace: ns},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             message,
		Type:                eventType,
		Source:              corev1.EventSource{Component: r.Component, Host: r.Host},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: r.Component,
		ReportingInstance:   r.reportingInstance(),
	}
	if r.Tap != nil {
		r.Tap(ev)
	}
	out, err := r.Client.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		return
	}
	r.remember(out.(*corev1.Event))
}

// remember keys the stored Event by its own strings, not the caller's, so
// the entry keeps nothing alive that the Event does not.
func (r *APIRecorder) remember(stored *corev1.Event) {
	r.seen[seenKey{uid: stored.InvolvedObject.UID, kind: stored.InvolvedObject.Kind, name: stored.InvolvedObject.Name,
		reason: stored.Reason, message: stored.Message}] = stored
}

func (r *APIRecorder) reportingInstance() string {
	if r.instance == "" {
		r.instance = r.Component + "-" + r.Host
	}
	return r.instance
}

// Reference builds an ObjectReference to obj.
func Reference(obj api.Object) corev1.ObjectReference {
	ref := corev1.ObjectReference{Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion()}
	if r, err := api.For(obj); err == nil {
		ref.Kind = r.Kind
		ref.APIVersion = r.APIVersion()
	}
	return ref
}

// nameStamp is the event name suffix: the time in nanoseconds as Kubernetes
// uses, made unique when several events share one (virtual) instant.
func (r *APIRecorder) nameStamp() int64 {
	n := r.Clock.Now().UnixNano()
	if n <= r.lastName {
		n = r.lastName + 1
	}
	r.lastName = n
	return n
}
