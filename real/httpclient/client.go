// Package httpclient is real mode's core/client.Interface: the Kubernetes REST
// API over HTTPS, in JSON. Errors the server answers with a Status come back
// as apimachinery StatusErrors, so apierrors.IsNotFound, IsConflict, ...
// behave as with the in-process client. Watch events are handed to the
// driver loop through Config.Post, in order.
//
// Every method except Watch's event delivery is synchronous: in real mode
// the core components call them on the loop goroutine, as they call the
// in-process API server in the simulator.
package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/client"
)

// Config says where the API server is and how to reach it.
type Config struct {
	// Server is the API server's base URL, e.g. https://10.0.0.1:6443.
	Server string
	// TLS is the client TLS configuration: the cluster CA as RootCAs and the
	// client certificate (from real/auth). Nil for plain HTTP servers.
	TLS *tls.Config
	// Transport, if set, replaces the transport built from TLS (tests).
	Transport http.RoundTripper
	// Post runs a function on the driver loop; watch events are delivered
	// through it. Required for Watch.
	Post func(func())
	// Timeout bounds each non-watch request (default 30s).
	Timeout time.Duration
	// UserAgent is sent with every request (default "drydock").
	UserAgent string
	// WatchTimeout is the timeoutSeconds asked for on each watch request,
	// after which the client re-watches from the last resourceVersion it
	// saw, as client-go's reflector does (default 5 to 10 minutes, spread).
	WatchTimeout func() time.Duration
	// RetryBackoff is the first pause before re-establishing a watch whose
	// connection failed; it doubles up to 30s (default 200ms).
	RetryBackoff time.Duration
	// OnWatchError, if set, hears connection failures of watches that are
	// being retried (for logs).
	OnWatchError func(r *api.Resource, err error)
}

// Client talks to one API server.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client // non-watch requests
	// watchHTTP has no overall timeout: watches are long-running.
	watchHTTP *http.Client
	transport http.RoundTripper

	mu      sync.Mutex
	closed  bool
	watches map[*watch]func()
}

var _ client.Interface = (*Client)(nil)

// New checks cfg and returns a client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	if cfg.Server == "" {
		return nil, errors.New("httpclient: Server is required")
	}
	u, err := url.Parse(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("httpclient: server URL %q: %w", cfg.Server, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("httpclient: server URL %q: scheme must be https or http", cfg.Server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("httpclient: server URL %q has no host", cfg.Server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "drydock"
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 200 * time.Millisecond
	}
	rt := cfg.Transport
	if rt == nil {
		tr := &http.Transport{
			Proxy:                 nil, // cluster traffic never goes through a proxy
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       cfg.TLS,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		rt = tr
	}
	return &Client{
		cfg:       cfg,
		base:      u,
		http:      &http.Client{Transport: rt},
		watchHTTP: &http.Client{Transport: rt},
		transport: rt,
		watches:   map[*watch]func(){},
	}, nil
}

// Close cancels every open watch (their callers get no more events) and
// releases idle connections. Other calls keep working.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	ws := c.watches
	c.watches = map[*watch]func(){}
	c.mu.Unlock()
	for _, cancel := range ws {
		cancel()
	}
	c.CloseIdleConnections()
}

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() {
	if t, ok := c.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// path builds /api/v1[/namespaces/ns]/resource[/name[/sub]].
func (c *Client) path(r *api.Resource, ns, name, sub string) string {
	var b strings.Builder
	b.WriteString(c.base.Path)
	if r.Group == "" {
		b.WriteString("/api/")
		b.WriteString(r.Version)
	} else {
		b.WriteString("/apis/")
		b.WriteString(r.Group)
		b.WriteString("/")
		b.WriteString(r.Version)
	}
	if r.Namespaced && ns != "" {
		b.WriteString("/namespaces/")
		b.WriteString(url.PathEscape(ns))
	}
	b.WriteString("/")
	b.WriteString(r.Name)
	if name != "" {
		b.WriteString("/")
		b.WriteString(url.PathEscape(name))
		if sub != "" {
			b.WriteString("/")
			b.WriteString(sub)
		}
	}
	return b.String()
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// request describes one call, for building it and for error messages.
type request struct {
	method      string
	r           *api.Resource
	ns, name    string
	sub         string
	query       url.Values
	body        []byte
	contentType string
}

// do sends req and returns the response body of a 2xx answer, or the
// error the server described.
func (c *Client) do(ctx context.Context, req request) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, c.url(c.path(req.r, req.ns, req.name, req.sub), req.query), body)
	if err != nil {
		return nil, 0, err
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.cfg.UserAgent)
	if req.body != nil {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: reading response: %w", req.method, hr.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, decodeError(resp, data, req)
	}
	return data, resp.StatusCode, nil
}

// decodeError turns a non-2xx answer into a StatusError. A body that is a
// Status is used as is, as client-go does; anything else becomes the
// generic error for the code.
func decodeError(resp *http.Response, data []byte, req request) error {
	if isJSON(resp.Header.Get("Content-Type")) {
		var st metav1.Status
		if err := json.Unmarshal(data, &st); err == nil && st.Kind == "Status" && st.Status == metav1.StatusFailure {
			if st.Code == 0 {
				st.Code = int32(resp.StatusCode)
			}
			return &apierrors.StatusError{ErrStatus: st}
		}
	}
	var gr schema.GroupResource
	if req.r != nil {
		gr = req.r.GroupResource()
	}
	verb := strings.ToLower(req.method)
	retry := 0
	if s := resp.Header.Get("Retry-After"); s != "" {
		retry, _ = strconv.Atoi(s)
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, verb, gr, req.name, strings.TrimSpace(string(data)), retry, true)
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// encode marshals obj as JSON with kind and apiVersion, without writing them
// into obj (callers' objects may be shared).
func encode(obj any, gvk schema.GroupVersionKind) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if gvk.Kind == "" || !bytes.HasPrefix(data, []byte("{")) {
		return data, nil
	}
	if bytes.HasPrefix(data, []byte(`{"kind":`)) || bytes.HasPrefix(data, []byte(`{"apiVersion":`)) {
		// TypeMeta is set already (its fields come first when present).
		return data, nil
	}
	head := fmt.Sprintf(`{"kind":%q,"apiVersion":%q`, gvk.Kind, gvk.GroupVersion().String())
	out := make([]byte, 0, len(head)+len(data)+1)
	out = append(out, head...)
	if len(data) > 2 {
		out = append(out, ',')
	}
	return append(out, data[1:]...), nil
}

func (c *Client) decodeObject(r *api.Resource, data []byte) (api.Object, error) {
	obj := r.New()
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", r.Kind, err)
	}
	return obj, nil
}

// Create posts obj to its collection.
func (c *Client) Create(ctx context.Context, obj api.Object, opts metav1.CreateOptions) (api.Object, error) {
	r, err := api.For(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	body, err := encode(obj, r.GVK())
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(opts.DryRun) > 0 {
		q["dryRun"] = opts.DryRun
	}
	if opts.FieldManager != "" {
		q.Set("fieldManager", opts.FieldManager)
	}
	if opts.FieldValidation != "" {
		q.Set("fieldValidation", opts.FieldValidation)
	}
	data, _, err := c.do(ctx, request{method: http.MethodPost, r: r, ns: obj.GetNamespace(), query: q, body: body})
	if err != nil {
		return nil, err
	}
	return c.decodeObject(r, data)
}

// Get reads one object.
func (c *Client) Get(ctx context.Context, r *api.Resource, ns, name string) (api.Object, error) {
	if name == "" {
		return nil, apierrors.NewBadRequest("name is required")
	}
	data, _, err := c.do(ctx, request{method: http.MethodGet, r: r, ns: ns, name: name})
	if err != nil {
		return nil, err
	}
	return c.decodeObject(r, data)
}

// listQuery carries ListOptions as Kubernetes' query parameters.
func listQuery(opts metav1.ListOptions) url.Values {
	q := url.Values{}
	if opts.LabelSelector != "" {
		q.Set("labelSelector", opts.LabelSelector)
	}
	if opts.FieldSelector != "" {
		q.Set("fieldSelector", opts.FieldSelector)
	}
	if opts.ResourceVersion != "" {
		q.Set("resourceVersion", opts.ResourceVersion)
	}
	if opts.ResourceVersionMatch != "" {
		q.Set("resourceVersionMatch", string(opts.ResourceVersionMatch))
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.FormatInt(opts.Limit, 10))
	}
	if opts.Continue != "" {
		q.Set("continue", opts.Continue)
	}
	if opts.TimeoutSeconds != nil {
		q.Set("timeoutSeconds", strconv.FormatInt(*opts.TimeoutSeconds, 10))
	}
	if opts.AllowWatchBookmarks {
		q.Set("allowWatchBookmarks", "true")
	}
	if opts.SendInitialEvents != nil {
		q.Set("sendInitialEvents", strconv.FormatBool(*opts.SendInitialEvents))
	}
	return q
}

// List reads a collection. Without a Limit in opts it follows continue
// tokens, so the caller always gets the whole collection, as from the
// in-process server.
func (c *Client) List(ctx context.Context, r *api.Resource, ns string, opts metav1.ListOptions) ([]api.Object, string, error) {
	var out []api.Object
	for {
		data, _, err := c.do(ctx, request{method: http.MethodGet, r: r, ns: ns, query: listQuery(opts)})
		if err != nil {
			return nil, "", err
		}
		list := r.NewList()
		if err := json.Unmarshal(data, list); err != nil {
			return nil, "", fmt.Errorf("decoding %s: %w", r.ListKind, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			o, ok := it.(api.Object)
			if !ok {
				return nil, "", fmt.Errorf("decoding %s: item %T is not an object", r.ListKind, it)
			}
			out = append(out, o)
		}
		lm, err := meta.ListAccessor(list)
		if err != nil {
			return nil, "", err
		}
		if lm.GetContinue() == "" || opts.Limit > 0 {
			return out, lm.GetResourceVersion(), nil
		}
		opts.Continue = lm.GetContinue()
		opts.ResourceVersion = ""
		opts.ResourceVersionMatch = ""
	}
}

// Update puts obj, or only its status when subresource is "status".
func (c *Client) Update(ctx context.Context, obj api.Object, subresource string) (api.Object, error) {
	r, err := api.For(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	body, err := encode(obj, r.GVK())
	if err != nil {
		return nil, err
	}
	data, _, err := c.do(ctx, request{method: http.MethodPut, r: r, ns: obj.GetNamespace(), name: obj.GetName(), sub: subresource, body: body})
	if err != nil {
		return nil, err
	}
	return c.decodeObject(r, data)
}

// Patch sends a patch of type pt.
func (c *Client) Patch(ctx context.Context, r *api.Resource, ns, name string, pt types.PatchType, data []byte, subresource string) (api.Object, error) {
	out, _, err := c.do(ctx, request{method: http.MethodPatch, r: r, ns: ns, name: name, sub: subresource, body: data, contentType: string(pt)})
	if err != nil {
		return nil, err
	}
	return c.decodeObject(r, out)
}

// Delete deletes an object and reports whether it is gone. A Kubernetes
// server answers a delete with the object either way (or with a Success
// Status); when the answer alone cannot tell (no finalizers left, a
// deletionTimestamp set), the client looks the object up.
func (c *Client) Delete(ctx context.Context, r *api.Resource, ns, name string, opts metav1.DeleteOptions) (api.Object, bool, error) {
	body, err := encode(&opts, metav1.SchemeGroupVersion.WithKind("DeleteOptions"))
	if err != nil {
		return nil, false, err
	}
	data, _, err := c.do(ctx, request{method: http.MethodDelete, r: r, ns: ns, name: name, body: body})
	if err != nil {
		return nil, false, err
	}
	var head metav1.TypeMeta
	_ = json.Unmarshal(data, &head)
	if head.Kind == "Status" {
		return nil, true, nil
	}
	obj, err := c.decodeObject(r, data)
	if err != nil {
		return nil, false, err
	}
	switch {
	case obj.GetDeletionTimestamp() == nil:
		// Nothing marks it for later deletion: it was removed at once.
		return obj, true, nil
	case len(obj.GetFinalizers()) > 0:
		return obj, false, nil
	}
	if n, ok := obj.(*corev1.Namespace); ok && len(n.Spec.Finalizers) > 0 {
		return obj, false, nil
	}
	cur, err := c.Get(ctx, r, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		return obj, true, nil
	case err != nil:
		return obj, false, nil
	case cur.GetUID() != obj.GetUID():
		return obj, true, nil
	}
	return cur, false, nil
}

// Bind posts a Binding to the pod's binding subresource.
func (c *Client) Bind(ctx context.Context, b *corev1.Binding) error {
	body, err := encode(b, corev1.SchemeGroupVersion.WithKind("Binding"))
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, request{method: http.MethodPost, r: api.Pods, ns: b.Namespace, name: b.Name, sub: "binding", body: body})
	return err
}

// Evict posts a policy/v1 Eviction to the pod's eviction subresource.
func (c *Client) Evict(ctx context.Context, e *policyv1.Eviction) error {
	body, err := encode(e, policyv1.SchemeGroupVersion.WithKind("Eviction"))
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, request{method: http.MethodPost, r: api.Pods, ns: e.Namespace, name: e.Name, sub: "eviction", body: body})
	return err
}
