// Package auth is real mode's security: the cluster CA and certificates, who
// a request comes from (authentication) and what they may do (authorisation),
// node join with bootstrap tokens, and admin kubeconfig files.
//
// The HTTP API layer (real/apihttp) depends only on the types in this file;
// the implementations live beside them.
package auth

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
)

// Well-known identities, as in Kubernetes.
const (
	GroupMasters        = "system:masters"
	GroupNodes          = "system:nodes"
	GroupBootstrappers  = "system:bootstrappers"
	GroupAuthenticated  = "system:authenticated"
	NodeUserPrefix      = "system:node:"
	BootstrapUserPrefix = "system:bootstrap:"
	AdminUser           = "drydock-admin"
	APIServerUser       = "drydock-apiserver"
)

// User is an authenticated identity.
type User struct {
	Name   string
	Groups []string
}

// Authenticator tells who sent a request. It returns ErrUnauthenticated
// (wrapped) when the request carries no valid credential; the API layer
// answers 401.
type Authenticator interface {
	Authenticate(r *http.Request) (*User, error)
}

// Attributes describe one API request for authorisation, as Kubernetes'
// authorizer.Attributes do.
type Attributes struct {
	User *User
	// Verb: get, list, watch, create, update, patch, delete, deletecollection.
	Verb        string
	APIGroup    string // "" for core
	Resource    string // plural: "pods", "nodes", ...
	Subresource string // "status", "binding", "log", "eviction", "scale", ...
	Namespace   string
	Name        string
	// Object is the decoded request body for create/update (nil otherwise,
	// and for patch: the authoriser looks up the stored object when it
	// needs one).
	Object runtime.Object
	// Path is the URL path of a non-resource request (Resource empty), such
	// as /version, /api, /apis, /healthz or /openapi/v3: every authenticated
	// user may get the discovery and health paths, as Kubernetes'
	// system:discovery and system:public-info-viewer roles allow.
	Path string
}

// Authorizer decides whether a request may proceed. It returns nil to allow,
// or an error (a Kubernetes Forbidden status error) saying why not.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) error
}

// ErrUnauthenticated: the request has no valid credential.
var ErrUnauthenticated = errUnauthenticated{}

type errUnauthenticated struct{}

func (errUnauthenticated) Error() string { return "unauthenticated" }
