package apihttp

import (
	"net/url"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestQueryBoolAsKubernetes: pods/exec's boolean options read as
// apimachinery's query conversion reads them (only absence, "0" and
// "false" in any case are false; an empty value is true).
func TestQueryBoolAsKubernetes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
	}{
		{"absent", ""},
		{"empty", "stdout="},
		{"bare", "stdout"},
		{"one", "stdout=1"},
		{"zero", "stdout=0"},
		{"true", "stdout=true"},
		{"false", "stdout=false"},
		{"FALSE", "stdout=FALSE"},
		{"other", "stdout=yes"},
		{"first wins", "stdout=0&stdout=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			in := q["stdout"]
			var want bool
			if err := runtime.Convert_Slice_string_To_bool(&in, &want, nil); err != nil {
				t.Fatal(err)
			}
			if got := queryBool(q, "stdout"); got != want {
				t.Errorf("queryBool(%q) = %v, Kubernetes reads %v", tc.query, got, want)
			}
		})
	}
}
