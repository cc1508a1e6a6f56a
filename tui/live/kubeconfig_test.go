package live

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drydock-sim/drydock/tui"
)

// FromKubeconfig talks JSON to the server a kubeconfig names: a server
// that speaks nothing else (like drydock's) serves the dashboard.
func TestFromKubeconfigJSON(t *testing.T) {
	var mu sync.Mutex
	var accepts []string
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepts = append(accepts, r.Header.Get("Accept"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		kinds := map[string][2]string{"/api/v1/nodes": {"v1", "Node"}, "/api/v1/pods": {"v1", "Pod"}, "/api/v1/services": {"v1", "Service"},
			"/api/v1/events": {"v1", "Event"}, "/apis/apps/v1/deployments": {"apps/v1", "Deployment"}, "/apis/apps/v1/replicasets": {"apps/v1", "ReplicaSet"}}
		gk, ok := kinds[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		var items []string
		if gk[1] == "Node" {
			items = append(items, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","resourceVersion":"5"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
		}
		q := r.URL.Query()
		if q.Get("watch") != "true" {
			fmt.Fprintf(w, `{"kind":"%sList","apiVersion":%q,"metadata":{"resourceVersion":"5"},"items":[%s]}`, gk[1], gk[0], strings.Join(items, ","))
			return
		}
		// A watch list (client-go's default): the objects as ADDED, then the
		// bookmark that ends the initial events; then nothing until closed.
		if q.Get("sendInitialEvents") == "true" {
			for _, it := range items {
				fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", it)
			}
			fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"apiVersion":%q,"kind":%q,"metadata":{"resourceVersion":"5","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", gk[0], gk[1])
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer srv.Close()
	defer close(done)

	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, srv.URL)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := FromKubeconfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st := tui.NewState()
	waitFor(t, src, st, "the node", func() bool { return len(st.Nodes) == 1 })
	if st.Status.Name != srv.URL {
		t.Errorf("status name %q, want the server %q", st.Status.Name, srv.URL)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range accepts {
		if a != "application/json" {
			t.Errorf("request with Accept %q, want application/json only", a)
		}
	}
}

func TestFromKubeconfigMissing(t *testing.T) {
	if _, err := FromKubeconfig(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Fatalf("err %v", err)
	}
}
