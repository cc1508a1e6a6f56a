package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
)

// Watch streams changes of r in ns to fn, on the loop (through Config.Post),
// in order. It opens the stream before returning, so a resourceVersion the
// server no longer has fails here with 410 Expired, exactly as the
// in-process server's Watch does.
//
// When the stream ends (the server's timeoutSeconds, a lost connection) the
// client opens it again from the last resourceVersion it saw, so the caller
// sees one uninterrupted watch, as with the in-process server. When that is
// no longer possible (410 Expired after a long disconnection, a stream cut
// while the initial state of a resourceVersion "0" or sendInitialEvents
// watch was still coming, or any other error the server answers) fn gets
// an ERROR event carrying the Status and the watch ends; core/informer's
// Reflector then lists again. Connection
// failures and 429/5xx answers are retried with backoff until cancel.
//
// Bookmarks are always asked for, to keep the resume point fresh, but are
// passed on only if opts.AllowWatchBookmarks is set.
func (c *Client) Watch(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions, fn func(api.WatchEvent)) (func(), error) {
	if c.cfg.Post == nil {
		return nil, errors.New("httpclient: Watch needs Config.Post")
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &watch{c: c, r: r, ns: ns, fn: fn, forwardBookmarks: opts.AllowWatchBookmarks, lastRV: opts.ResourceVersion}
	// The server first sends the current state with resourceVersion "" or
	// "0" (unless sendInitialEvents=false), and always with
	// sendInitialEvents=true.
	if opts.SendInitialEvents != nil {
		w.initial, w.initialEndMarked = *opts.SendInitialEvents, true
	} else {
		w.initial = opts.ResourceVersion == "" || opts.ResourceVersion == "0"
	}
	body, err := w.open(ctx, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	// After the first stream, never ask for initial events again.
	w.resume = opts
	w.resume.SendInitialEvents = nil
	w.resume.ResourceVersionMatch = ""
	w.done = make(chan struct{})
	stop := func() {
		w.stopped.Store(true)
		cancel()
		c.mu.Lock()
		delete(c.watches, w)
		c.mu.Unlock()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		body.Close()
		stop()
		return nil, errors.New("httpclient: client closed")
	}
	c.watches[w] = stop
	c.mu.Unlock()
	go w.run(ctx, body)
	return stop, nil
}

type watch struct {
	c                *Client
	r                *api.Resource
	ns               string
	fn               func(api.WatchEvent)
	forwardBookmarks bool
	resume           metav1.ListOptions
	stopped          atomic.Bool
	done             chan struct{}

	// Touched only by the stream goroutine.
	lastRV    string
	lastRVNum int64
	// initial: the stream is still sending the state the watch began with
	// (resuming from the newest revision seen would skip the objects not
	// yet sent). It ends with the bookmark annotated
	// k8s.io/initial-events-end when initialEndMarked (sendInitialEvents),
	// else with the first bookmark or non-ADDED event.
	initial          bool
	initialEndMarked bool
}

func (w *watch) deliver(ev api.WatchEvent) {
	w.c.cfg.Post(func() {
		if !w.stopped.Load() {
			w.fn(ev)
		}
	})
}

// open sends the watch request and returns the event stream. The response
// headers must arrive within the client's Timeout; the stream itself is
// long-running.
func (w *watch) open(ctx context.Context, opts metav1.ListOptions) (io.ReadCloser, error) {
	q := listQuery(opts)
	q.Set("watch", "true")
	q.Set("allowWatchBookmarks", "true")
	timeout := 5*time.Minute + rand.N(5*time.Minute)
	if w.c.cfg.WatchTimeout != nil {
		timeout = w.c.cfg.WatchTimeout()
	}
	if opts.TimeoutSeconds == nil {
		q.Set("timeoutSeconds", strconv.FormatInt(int64(max(timeout/time.Second, 1)), 10))
	}
	req := request{method: http.MethodGet, r: w.r, ns: w.ns, query: q}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, w.c.url(w.c.path(w.r, w.ns, "", ""), q), nil)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", w.c.cfg.UserAgent)
	headersIn := make(chan struct{})
	var timedOut atomic.Bool
	reqCtx, reqCancel := context.WithCancel(ctx)
	hr = hr.WithContext(reqCtx)
	t := time.AfterFunc(w.c.cfg.Timeout, func() {
		select {
		case <-headersIn:
		default:
			timedOut.Store(true)
			reqCancel()
		}
	})
	resp, err := w.c.watchHTTP.Do(hr)
	close(headersIn)
	t.Stop()
	if err != nil {
		reqCancel()
		if timedOut.Load() {
			return nil, fmt.Errorf("watch %s: no answer within %s", w.r.Name, w.c.cfg.Timeout)
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer reqCancel()
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeError(resp, data, req)
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: reqCancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// wireEvent is one line of a watch stream.
type wireEvent struct {
	Type   api.WatchEventType `json:"type"`
	Object json.RawMessage    `json:"object"`
}

// run reads streams until the watch is cancelled or can no longer resume.
func (w *watch) run(ctx context.Context, body io.ReadCloser) {
	defer close(w.done)
	backoff := w.c.cfg.RetryBackoff
	for {
		ended, err := w.stream(body)
		body.Close()
		if ended || w.stopped.Load() || ctx.Err() != nil {
			return
		}
		if err != nil {
			w.report(err)
		}
		for {
			if w.initial || w.lastRV == "" || w.lastRV == "0" {
				// The stream ended while sending the state the watch began
				// with, or before any resourceVersion was seen: there is
				// nothing complete to resume from.
				w.deliver(errorEvent(apierrors.NewResourceExpired(
					"watch closed before its initial state was complete; list again")))
				return
			}
			opts := w.resume
			opts.ResourceVersion = w.lastRV
			b, err := w.open(ctx, opts)
			if err == nil {
				body = b
				backoff = w.c.cfg.RetryBackoff
				break
			}
			if ctx.Err() != nil || w.stopped.Load() {
				return
			}
			var se apierrors.APIStatus
			if errors.As(err, &se) && !retriable(int(se.Status().Code)) {
				w.deliver(errorEvent(err))
				return
			}
			w.report(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}

func (w *watch) report(err error) {
	if w.c.cfg.OnWatchError != nil && !w.stopped.Load() {
		w.c.cfg.OnWatchError(w.r, err)
	}
}

func retriable(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// stream delivers the events of one response. It reports ended when the
// server sent an ERROR event (the watch is over for the caller), and the
// read error that ended the stream otherwise (nil for a clean end).
func (w *watch) stream(body io.Reader) (ended bool, err error) {
	dec := json.NewDecoder(body)
	for {
		var we wireEvent
		if err := dec.Decode(&we); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		switch we.Type {
		case api.WatchError:
			var st metav1.Status
			if err := json.Unmarshal(we.Object, &st); err != nil {
				st = metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
					Reason: metav1.StatusReasonInternalError, Message: "undecodable watch error: " + string(we.Object)}
			}
			w.deliver(api.WatchEvent{Type: api.WatchError, Object: &st})
			return true, nil
		case api.WatchAdded, api.WatchModified, api.WatchDeleted, api.WatchBookmark:
		default:
			return false, fmt.Errorf("watch %s: unknown event type %q", w.r.Name, we.Type)
		}
		obj := w.r.New()
		if err := json.Unmarshal(we.Object, obj); err != nil {
			return false, fmt.Errorf("watch %s: decoding %s event: %w", w.r.Name, we.Type, err)
		}
		rv := obj.GetResourceVersion()
		rev, _ := strconv.ParseInt(rv, 10, 64)
		// Initial events come in key order, not revision order: resume from
		// the newest revision seen.
		if rev == 0 || rev >= w.lastRVNum {
			if rv != "" {
				w.lastRV = rv
				w.lastRVNum = rev
			}
		}
		if w.initial {
			switch {
			case we.Type == api.WatchBookmark && w.initialEndMarked:
				w.initial = obj.GetAnnotations()[api.InitialEventsEndAnnotation] != "true"
			case we.Type != api.WatchAdded:
				w.initial = false
			}
		}
		if we.Type == api.WatchBookmark && !w.forwardBookmarks {
			continue
		}
		w.deliver(api.WatchEvent{Type: we.Type, Object: obj, Revision: rev})
	}
}

func errorEvent(err error) api.WatchEvent {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		st.Kind, st.APIVersion = "Status", "v1"
		return api.WatchEvent{Type: api.WatchError, Object: &st}
	}
	return api.WatchEvent{Type: api.WatchError, Object: &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: http.StatusInternalServerError,
		Reason: metav1.StatusReasonInternalError, Message: err.Error()}}
}
