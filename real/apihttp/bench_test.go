package apihttp_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/drydock-sim/drydock/real/apihttp"
)

// BenchmarkListPods measures a LIST of 1000 pods through HTTP, per format.
func BenchmarkListPods(b *testing.B) {
	for _, accept := range []string{"application/json", "application/vnd.kubernetes.protobuf",
		"application/json;as=Table;v=v1;g=meta.k8s.io"} {
		b.Run(accept, func(b *testing.B) {
			e := newEnv(b, apihttp.Config{Table: fakeTable}, 0)
			for i := 0; i < 1000; i++ {
				e.create(testPod(fmt.Sprintf("p%04d", i)))
			}
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/namespaces/default/pods", nil)
			req.Header.Set("Accept", accept)
			var n int64
			for b.Loop() {
				res, err := e.srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			b.ReportMetric(float64(n), "bytes/list")
		})
	}
}
