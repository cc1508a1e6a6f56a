package apihttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/real/auth"
)

// eventQueue buffers a watch's events between the core, which calls push
// synchronously on its write path and must never block, and the goroutine
// writing the HTTP stream. A watch whose client falls more than limit events
// behind is closed (the client re-watches), as kube-apiserver drops slow
// watchers.
type eventQueue struct {
	mu       sync.Mutex
	items    []api.WatchEvent
	limit    int // 0: unlimited (initial events)
	overflow bool
	signal   chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{signal: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev api.WatchEvent) {
	q.mu.Lock()
	switch {
	case q.overflow:
	case q.limit > 0 && len(q.items) >= q.limit:
		q.overflow, q.items = true, nil
	default:
		q.items = append(q.items, ev)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) setLimit(n int) {
	q.mu.Lock()
	q.limit = n
	q.mu.Unlock()
}

// take returns the queued events and whether the queue overflowed.
func (q *eventQueue) take() ([]api.WatchEvent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items, q.overflow
}

// wireEvent is one line of a watch stream.
type wireEvent struct {
	Type   api.WatchEventType `json:"type"`
	Object any                `json:"object"`
}

func (h *handler) watch(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "watch"); err != nil {
		return err
	}
	opts, err := listOptions(req)
	if err != nil {
		return err
	}
	if info.name != "" {
		// Legacy /watch/.../{name}: a watch of one object.
		sel := "metadata.name=" + info.name
		if opts.FieldSelector != "" {
			sel += "," + opts.FieldSelector
		}
		opts.FieldSelector = sel
	}
	var errs field.ErrorList
	if opts.SendInitialEvents != nil {
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"),
				"sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
		}
		if !opts.AllowWatchBookmarks {
			errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"),
				"sendInitialEvents requires setting allowWatchBookmarks to true"))
		}
	} else if opts.ResourceVersionMatch != "" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"),
			"resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
	}
	if len(errs) > 0 {
		return invalidListOptions(errs)
	}
	if opts.SendInitialEvents != nil && !*opts.SendInitialEvents {
		// No initial state: start at the newest revision (or the one given).
		if opts.ResourceVersion == "" || opts.ResourceVersion == "0" {
			opts.ResourceVersion = strconv.FormatInt(h.cfg.Server.Store().Revision(), 10)
		}
		opts.SendInitialEvents = nil
	}
	out, err := h.negotiate(req, false)
	if err != nil {
		return err
	}
	timeout := h.cfg.DefaultWatchTimeout
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}

	q := newEventQueue()
	cancel, werr := h.cfg.Server.Watch(req.Context(), info.r, info.ns, opts, q.push)
	if werr != nil && !apierrors.IsResourceExpired(werr) && !apierrors.IsGone(werr) {
		return werr
	}
	if cancel != nil {
		defer cancel()
	}
	q.setLimit(h.cfg.MaxWatchBacklog)

	proto := out.proto && out.as == ""
	if proto {
		w.Header().Set("Content-Type", mediaProtobuf+";stream=watch")
	} else {
		w.Header().Set("Content-Type", mediaJSON)
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	flush()
	enc := newWatchEncoder(w, proto)
	if werr != nil {
		// A too-old resourceVersion: kube-apiserver's watch cache answers
		// 200 and one ERROR event carrying the 410 Status.
		_ = enc.encode(api.WatchError, statusOf(werr))
		flush()
		return nil
	}

	var lastRV, bookmarkedRV int64
	if rv, err := strconv.ParseInt(opts.ResourceVersion, 10, 64); err == nil {
		lastRV = rv
	}
	sentColumns := false
	send := func(ev api.WatchEvent) error {
		if ev.Type == api.WatchBookmark && !opts.AllowWatchBookmarks {
			return nil
		}
		if ev.Revision > lastRV {
			lastRV = ev.Revision
		}
		var obj any = withTypeMeta(ev.Object)
		switch {
		case ev.Type == api.WatchError:
		case out.as == "Table" && ev.Type == api.WatchBookmark:
			m, _ := ev.Object.(api.Object)
			t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/" + out.asVersion}}
			if m != nil {
				t.ResourceVersion = m.GetResourceVersion()
			}
			obj = t
		case out.as == "Table":
			t, err := h.table(req, info.r, []api.Object{ev.Object.(api.Object)}, out)
			if err != nil {
				return err
			}
			t.ResourceVersion = ev.Object.(api.Object).GetResourceVersion()
			// Like kube-apiserver, only the first event carries the
			// column definitions.
			if sentColumns {
				t.ColumnDefinitions = nil
			}
			sentColumns = true
			obj = t
		case out.as == "PartialObjectMetadata":
			obj = partial(ev.Object.(api.Object), out.asVersion)
		}
		if err := enc.encode(ev.Type, obj); err != nil {
			return err
		}
		flush()
		return nil
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var tick <-chan time.Time
	if opts.AllowWatchBookmarks {
		t := time.NewTicker(h.cfg.BookmarkInterval)
		defer t.Stop()
		tick = t.C
	}
	ctx := req.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.cfg.Stop:
			return nil
		case <-timer.C:
			return nil
		case <-tick:
			if lastRV > 0 && lastRV != bookmarkedRV {
				bm := info.r.New()
				api.SetTypeMeta(bm)
				bm.SetResourceVersion(strconv.FormatInt(lastRV, 10))
				if err := send(api.WatchEvent{Type: api.WatchBookmark, Object: bm}); err != nil {
					return nil
				}
				bookmarkedRV = lastRV
			}
		case <-q.signal:
			events, overflow := q.take()
			for _, ev := range events {
				if err := send(ev); err != nil {
					return nil
				}
			}
			if overflow {
				return nil
			}
		}
	}
}

// watchEncoder writes watch events as JSON lines or, for protobuf clients,
// as length-delimited protobuf WatchEvent frames whose objects are enveloped
// protobuf (kube-apiserver's ;stream=watch format).
type watchEncoder struct {
	w     io.Writer
	json  *json.Encoder
	frame io.Writer
}

var rawProto = protobuf.NewRawSerializer(scheme.Scheme, scheme.Scheme)

func newWatchEncoder(w io.Writer, proto bool) *watchEncoder {
	if proto {
		return &watchEncoder{w: w, frame: protobuf.LengthDelimitedFramer.NewFrameWriter(w)}
	}
	return &watchEncoder{w: w, json: json.NewEncoder(w)}
}

func (e *watchEncoder) encode(t api.WatchEventType, obj any) error {
	if e.json != nil {
		return e.json.Encode(wireEvent{Type: t, Object: obj})
	}
	ro, ok := obj.(runtime.Object)
	if !ok {
		return fmt.Errorf("watch: %T is not an API object", obj)
	}
	var inner bytes.Buffer
	if err := protoSer.Encode(ro, &inner); err != nil {
		return err
	}
	var outer bytes.Buffer
	if err := rawProto.Encode(&metav1.WatchEvent{Type: string(t), Object: runtime.RawExtension{Raw: inner.Bytes()}}, &outer); err != nil {
		return err
	}
	_, err := e.frame.Write(outer.Bytes())
	return err
}
