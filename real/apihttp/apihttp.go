// Package apihttp is the HTTP layer of drydock's real-mode API server: it
// serves the Kubernetes REST paths (/api/v1/..., /apis/{group}/{version}/...)
// over the transport-free core/apiserver.Server, with authentication and
// authorisation, content negotiation (JSON, YAML and protobuf request bodies;
// JSON, YAML, protobuf, Table and PartialObjectMetadata responses), watch
// streams (JSON lines or length-delimited protobuf), the scale, binding,
// eviction, log and exec subresources (exec proxied to the kubelet as an
// upgraded connection), and Kubernetes Status errors. Discovery and OpenAPI are served by the Discovery handler of the
// Config, Tables by its Table function.
package apihttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/core/api"
	"github.com/drydock-sim/drydock/core/apiserver"
	"github.com/drydock-sim/drydock/real/apihttp/tables"
	"github.com/drydock-sim/drydock/real/auth"
)

// TableFunc renders objects of one resource as a meta.k8s.io Table
// (tables.Table has this signature).
type TableFunc func(r *api.Resource, objs []api.Object, opts tables.Options) (*metav1.Table, error)

// Config wires the HTTP layer.
type Config struct {
	// Server is the API server the requests go to (required).
	Server *apiserver.Server
	// Authenticator tells who sent a request. Nil makes every request an
	// anonymous admin (AnonymousAdmin): only for tests and an explicitly
	// insecure loopback mode.
	Authenticator auth.Authenticator
	// Authorizer decides whether a request may proceed; nil allows all.
	Authorizer auth.Authorizer
	// KubeletClient is the client pods/log is proxied through: one from
	// auth.NewKubeletClient or ServerPKI.KubeletHTTPClient, which takes the
	// node name as URL host and the address to dial from the request's
	// context, and accepts only that node's serving certificate (a plain
	// http.Client would try to resolve the node name). Nil: pods/log
	// answers 503.
	KubeletClient *http.Client
	// Discovery serves /version, /api, /api/v1, /apis, /apis/{g}[/{v}] and
	// /openapi/...; nil answers 404 there.
	Discovery http.Handler
	// Table renders Table responses (kubectl get). Nil: no Tables; clients
	// that also accept plain JSON (kubectl does) get the object or list,
	// others 406.
	Table TableFunc
	// Extra mounts more handlers on exact paths or path prefixes (ending in
	// "/"), served after authentication (UserFrom gives the user) but
	// without authorisation, e.g. the node join endpoint.
	Extra map[string]http.Handler
	// Log, when set, is called once per request after it completes.
	Log func(RequestLog)
	// Now is the clock Table ages are computed against (default time.Now).
	Now func() time.Time
	// BookmarkInterval is how often a watch that allows bookmarks gets one
	// (default 1 minute, as kube-apiserver).
	BookmarkInterval time.Duration
	// DefaultWatchTimeout bounds watches without timeoutSeconds (default 30
	// minutes, kube-apiserver's minimum request timeout).
	DefaultWatchTimeout time.Duration
	// Stop, when closed, ends open watches and followed logs (long-running
	// requests that would keep http.Server.Shutdown waiting); close it just
	// before calling Shutdown.
	Stop <-chan struct{}
	// MaxWatchBacklog is how many undelivered events a watch may queue
	// before it is closed as too slow (default 10000); the client re-watches.
	MaxWatchBacklog int
}

// RequestLog describes one served request.
type RequestLog struct {
	Start      time.Time
	Method     string
	URI        string
	RemoteAddr string
	UserAgent  string
	User       string // "" when authentication failed
	// Verb, Resource, Subresource, Namespace, Name: set for resource requests.
	Verb, APIGroup, Resource, Subresource, Namespace, Name string
	Code                                                   int
	Duration                                               time.Duration
	// Panic holds the recovered panic value and stack, if the handler panicked.
	Panic string
}

// AnonymousAdmin is the identity every request gets when Config has no
// Authenticator.
var AnonymousAdmin = &auth.User{Name: "system:anonymous", Groups: []string{auth.GroupMasters, auth.GroupAuthenticated}}

type ctxKey int

const userKey ctxKey = 1

// UserFrom returns the authenticated user of a request's context (nil if
// none).
func UserFrom(ctx context.Context) *auth.User {
	u, _ := ctx.Value(userKey).(*auth.User)
	return u
}

// WithUser returns ctx carrying u (for handlers mounted elsewhere and tests).
func WithUser(ctx context.Context, u *auth.User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

type handler struct {
	cfg Config
}

// New returns the API server's HTTP handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Server == nil {
		return nil, errors.New("apihttp: Config.Server is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BookmarkInterval <= 0 {
		cfg.BookmarkInterval = time.Minute
	}
	if cfg.DefaultWatchTimeout <= 0 {
		cfg.DefaultWatchTimeout = 30 * time.Minute
	}
	if cfg.MaxWatchBacklog <= 0 {
		cfg.MaxWatchBacklog = 10000
	}
	for p := range cfg.Extra {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("apihttp: Extra path %q must start with /", p)
		}
	}
	return &handler{cfg: cfg}, nil
}

// ServeHTTP runs the middleware chain: logging and panic recovery,
// authentication, then routing.
func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rw := &responseWriter{ResponseWriter: w}
	entry := RequestLog{Start: time.Now(), Method: req.Method, URI: req.RequestURI, RemoteAddr: req.RemoteAddr, UserAgent: req.UserAgent()}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				h.log(&entry, rw)
				panic(v)
			}
			entry.Panic = fmt.Sprintf("%v\n%s", v, debug.Stack())
			if !rw.wroteHeader {
				writeError(rw, req, apierrors.NewInternalError(fmt.Errorf("panic: %v", v)))
			}
		}
		h.log(&entry, rw)
	}()
	h.serve(rw, req, &entry)
}

func (h *handler) log(entry *RequestLog, rw *responseWriter) {
	if h.cfg.Log == nil {
		return
	}
	entry.Code = rw.code
	if entry.Code == 0 {
		entry.Code = http.StatusOK
	}
	entry.Duration = time.Since(entry.Start)
	h.cfg.Log(*entry)
}

func (h *handler) serve(w http.ResponseWriter, req *http.Request, entry *RequestLog) {
	user := AnonymousAdmin
	if h.cfg.Authenticator != nil {
		u, err := h.cfg.Authenticator.Authenticate(req)
		if err != nil || u == nil {
			writeError(w, req, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		user = u
	}
	entry.User = user.Name
	req = req.WithContext(WithUser(req.Context(), user))

	if hd := h.extra(req.URL.Path); hd != nil {
		hd.ServeHTTP(w, req)
		return
	}
	info, err := parseRequest(req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	if info == nil {
		entry.Verb = strings.ToLower(req.Method)
		if err := h.authorizeNonResource(req, user); err != nil {
			writeError(w, req, err)
			return
		}
		h.serveNonResource(w, req)
		return
	}
	entry.Verb, entry.APIGroup, entry.Resource, entry.Subresource = info.verb, info.r.Group, info.r.Name, info.sub
	entry.Namespace, entry.Name = info.ns, info.name
	h.serveResource(w, req, info, user)
}

func (h *handler) extra(path string) http.Handler {
	if hd, ok := h.cfg.Extra[path]; ok {
		return hd
	}
	best := ""
	for p := range h.cfg.Extra {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return nil
	}
	return h.cfg.Extra[best]
}

// authorizeNonResource authorises a request for a path that is not a
// resource (discovery, OpenAPI, health): verb is the lower-case method and
// Attributes.Path the URL path, as Kubernetes' non-resource attributes.
func (h *handler) authorizeNonResource(req *http.Request, user *auth.User) error {
	if h.cfg.Authorizer == nil {
		return nil
	}
	a := auth.Attributes{User: user, Verb: strings.ToLower(req.Method), Path: req.URL.Path}
	if err := h.cfg.Authorizer.Authorize(req.Context(), a); err != nil {
		if apierrors.IsForbidden(err) {
			return err
		}
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden,
			Reason: metav1.StatusReasonForbidden, Message: fmt.Sprintf("forbidden: User %q cannot %s path %q: %v", user.Name, a.Verb, a.Path, err)}}
	}
	return nil
}

// serveNonResource serves the health checks, and discovery and OpenAPI
// paths through cfg.Discovery.
func (h *handler) serveNonResource(w http.ResponseWriter, req *http.Request) {
	p := req.URL.Path
	switch p {
	case "/healthz", "/livez", "/readyz":
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			writeError(w, req, methodNotAllowed(req.Method))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
		return
	}
	isDiscovery := p == "/version" || p == "/api" || p == "/apis" || strings.HasPrefix(p, "/api/") ||
		strings.HasPrefix(p, "/apis/") || p == "/openapi/v2" || strings.HasPrefix(p, "/openapi/")
	if !isDiscovery || h.cfg.Discovery == nil {
		writeError(w, req, notFoundPath())
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, req, methodNotAllowed(req.Method))
		return
	}
	h.cfg.Discovery.ServeHTTP(w, req)
}

// authorize calls the Authorizer (if any) with the request's attributes.
func (h *handler) authorize(ctx context.Context, user *auth.User, info *requestInfo, verb string) error {
	if h.cfg.Authorizer == nil {
		return nil
	}
	a := auth.Attributes{User: user, Verb: verb, APIGroup: info.r.Group, Resource: info.r.Name,
		Subresource: info.sub, Namespace: info.ns, Name: info.name}
	if err := h.cfg.Authorizer.Authorize(ctx, a); err != nil {
		// A status error is the authoriser's answer as it stands (Forbidden,
		// or NotFound for a pod a node asked about that does not exist, as
		// Kubernetes answers); anything else is a refusal with a reason.
		if _, ok := err.(apierrors.APIStatus); ok {
			return err
		}
		return apierrors.NewForbidden(info.r.GroupResource(), info.name, err)
	}
	return nil
}

// responseWriter records the status code for logging and passes Flush and
// Unwrap through for streaming.
type responseWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
