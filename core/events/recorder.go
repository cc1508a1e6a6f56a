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
	seen     map[string]*corev1.Event
	lastName int64
}

// maxSeen bounds the aggregation cache, like client-go's 4096-entry LRU.
const maxSeen = 4096

// Event records one occurrence. Failures to write are dropped, as in
// Kubernetes: events are best effort.
func (r *APIRecorder) Event(obj api.Object, eventType, reason, message string) {
	if r.seen == nil || len(r.seen) >= maxSeen {
		r.seen = map[string]*corev1.Event{}
	}
	ref := Reference(obj)
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.NewTime(r.Clock.Now().Truncate(time.Second))
	key := string(ref.UID) + "\x00" + ref.Kind + "\x00" + ref.Name + "\x00" + reason + "\x00" + message
	ctx := context.Background()
	if prev, ok := r.seen[key]; ok {
		ev := prev.DeepCopy()
		ev.Count++
		ev.LastTimestamp = now
		ev.ResourceVersion = ""
		if r.Tap != nil {
			r.Tap(ev)
		}
		if out, err := r.Client.Update(ctx, ev, ""); err == nil {
			r.seen[key] = out.(*corev1.Event)
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
		ReportingInstance:   r.Component + "-" + r.Host,
	}
	if r.Tap != nil {
		r.Tap(ev)
	}
	out, err := r.Client.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		return
	}
	r.seen[key] = out.(*corev1.Event)
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
