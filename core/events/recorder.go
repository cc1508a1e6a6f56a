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
	// ev is valid only during the call: copy what you keep.
	Tap      func(ev *corev1.Event)
	seen     map[seenKey]*corev1.Event
	lastName int64
	instance string // reportingInstance, built once
	// scratch is the Event handed to the API: the client copies what it is
	// given (client.Interface), so one object serves every call instead of
	// a new ~650-byte Event per occurrence. inUse guards against a call
	// that records again before the API returns.
	scratch corev1.Event
	inUse   bool
}

// newEvent returns the object to send for one call and a release func.
func (r *APIRecorder) newEvent() (*corev1.Event, func()) {
	if r.inUse {
		return &corev1.Event{}, func() {}
	}
	r.inUse = true
	return &r.scratch, r.release
}

func (r *APIRecorder) release() {
	r.scratch = corev1.Event{} // keep nothing alive
	r.inUse = false
}

// seenKey identifies what makes two occurrences the same Event (object UID,
// kind and name, reason, message) by a 128-bit FNV-1a hash of those fields:
// a kubelet remembers every Event it recorded in the last hour, and keying
// by the fields themselves cost 80 bytes a entry. Two different keys would
// have to collide in 128 bits to be taken for a repeat.
type seenKey [2]uint64

func keyOf(uid types.UID, kind, name, reason, message string) seenKey {
	// Two FNV-1a style lanes with different offset bases and multipliers.
	const p0, p1 = 1099511628211, 0x9e3779b97f4a7c15
	h := seenKey{14695981039346656037, 9650029242287828579}
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h[0] = (h[0] ^ uint64(s[i])) * p0
			h[1] = (h[1] ^ uint64(s[i])) * p1
		}
		// 0xff never occurs in UTF-8 text: ("ab","c") stays apart from ("a","bc").
		h[0] = (h[0] ^ 0xff) * p0
		h[1] = (h[1] ^ 0xff) * p1
	}
	add(string(uid))
	add(kind)
	add(name)
	add(reason)
	add(message)
	return h
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
	key := keyOf(ref.UID, ref.Kind, ref.Name, reason, message)
	ctx := context.Background()
	if prev, ok := r.seen[key]; ok {
		// A shallow copy: only top-level fields change, and the API server
		// copies what it is given.
		ev, done := r.newEvent()
		*ev = *prev
		ev.Count++
		ev.LastTimestamp = now
		ev.ResourceVersion = ""
		if r.Tap != nil {
			r.Tap(ev)
		}
		out, err := r.Client.Update(ctx, ev, "")
		delete(r.seen, key)
		if err == nil {
			r.rememberAs(key, ev, out.(*corev1.Event))
			done()
			return
		}
		done()
	}
	ev, done := r.newEvent()
	defer done()
	*ev = corev1.Event{
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
	r.rememberAs(key, ev, out.(*corev1.Event))
}

// rememberAs files the stored Event under key, the key of the Event sent,
// when the API kept the fields the key covers (it does not change them);
// otherwise under the stored Event's own key.
func (r *APIRecorder) rememberAs(key seenKey, sent, stored *corev1.Event) {
	a, b := &sent.InvolvedObject, &stored.InvolvedObject
	if a.UID == b.UID && a.Kind == b.Kind && a.Name == b.Name && sent.Reason == stored.Reason && sent.Message == stored.Message {
		r.seen[key] = stored
		return
	}
	r.remember(stored)
}

// remember files the stored Event under its key.
func (r *APIRecorder) remember(stored *corev1.Event) {
	io := &stored.InvolvedObject
	r.seen[keyOf(io.UID, io.Kind, io.Name, stored.Reason, stored.Message)] = stored
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
