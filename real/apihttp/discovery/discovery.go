// Package discovery serves the Kubernetes discovery and OpenAPI endpoints of the
// real-mode API server: /version, /api, /apis (plain and aggregated), the
// per-group-version resource lists and /openapi/v2 and /openapi/v3. Everything is
// generated from core/api's registry, so adding a resource there updates discovery.
package discovery

import (
	"net/http"
)

// Options configures the discovery handler.
type Options struct {
	// GitVersion reported by /version; default "v1.32.0-drydock". Its minor
	// version decides which bundled kubectl /usr/bin/kubectl dispatches to.
	GitVersion string
	// GitCommit, BuildDate reported by /version (optional).
	GitCommit string
	BuildDate string
}

// Handler serves GET /version, /api, /api/v1, /apis, /apis/{group},
// /apis/{group}/{version}, /openapi/v2 and /openapi/v3[/...]. Other paths get 404.
func Handler(opts Options) http.Handler {
	return http.NotFoundHandler()
}
