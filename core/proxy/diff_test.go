package proxy

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	a := ServicePort{Name: ServicePortName{"ns", "a", "", tcp}, ClusterIP: "10.96.0.1", Port: 80, Endpoints: []Endpoint{{IP: "10.0.0.1", Port: 80}}}
	b := ServicePort{Name: ServicePortName{"ns", "b", "", tcp}, ClusterIP: "10.96.0.2", Port: 80}
	c := ServicePort{Name: ServicePortName{"ns", "c", "", tcp}, ClusterIP: "10.96.0.3", Port: 80}
	a2 := a
	a2.Endpoints = []Endpoint{{IP: "10.0.0.2", Port: 80}}
	b2 := b
	b2.NodePort = 30000
	set := func(ps ...ServicePort) RuleSet { return RuleSet{Ports: ps} }

	tests := []struct {
		name     string
		old, cur RuleSet
		want     Changes
	}{
		{name: "both empty", want: Changes{}},
		{name: "identical", old: set(a, b), cur: set(a, b), want: Changes{}},
		{name: "all added", cur: set(a, b), want: Changes{Added: []ServicePort{a, b}}},
		{name: "all removed", old: set(a, b), want: Changes{Removed: []ServicePort{a, b}}},
		{name: "mixed", old: set(a, b), cur: set(a2, c),
			want: Changes{Added: []ServicePort{c}, Removed: []ServicePort{b}, Updated: []Update{{Old: a, New: a2}}}},
		{name: "field change", old: set(a, b, c), cur: set(a, b2, c), want: Changes{Updated: []Update{{Old: b, New: b2}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(tc.old, tc.cur)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff:\n got %+v\nwant %+v", got, tc.want)
			}
			if got.Empty() != tc.old.Equal(tc.cur) {
				t.Errorf("Empty()=%v but Equal()=%v", got.Empty(), tc.old.Equal(tc.cur))
			}
		})
	}
}
