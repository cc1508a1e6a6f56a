package apiserver

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/drydock-sim/drydock/core/api"
)

func TestFormatUUID(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := [][16]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 1000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cases = append(cases, b)
	}
	for _, b := range cases {
		want := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		if got := formatUUID(&b); got != want {
			t.Fatalf("formatUUID(%x) = %s, want %s", b, got, want)
		}
	}
}

// TestIdentity: the shared key, name and UID are what r.Key, generateName
// plus the random suffix and a UUID from the same draws give.
func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		r                  *api.Resource
		ns, name, generate string
		generated          bool
		wantKeyNS          string
	}{
		{api.Pods, "default", "p1", "", false, "default"},
		{api.Pods, "default", "", "web-", true, "default"},
		{api.Pods, "default", "named", "web-", false, "default"},
		{api.Nodes, "", "n1", "", false, ""},
		{api.Events, "kube-system", "e.17", "", false, "kube-system"},
		{api.Pods, "default", "", "", false, "default"},
	} {
		s := &Server{rand: rand.New(rand.NewPCG(1, 2))}
		old := rand.New(rand.NewPCG(1, 2))
		wantName := tc.name
		if tc.generated {
			b := make([]byte, 5)
			for i := range b {
				b[i] = nameAlphabet[old.IntN(len(nameAlphabet))]
			}
			wantName = tc.generate + string(b)
		}
		var u [16]byte
		for i := 0; i < 16; i += 8 {
			v := old.Uint64()
			for j := 0; j < 8; j++ {
				u[i+j] = byte(v >> (8 * j))
			}
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		key, name, uid := s.identity(tc.r, tc.ns, tc.name, tc.generate, tc.generated)
		if name != wantName || key != tc.r.Key(tc.wantKeyNS, wantName) || string(uid) != formatUUID(&u) {
			t.Errorf("%s %q %q: got key %q name %q uid %q; want key %q name %q uid %q", tc.r.Name, tc.name, tc.generate,
				key, name, uid, tc.r.Key(tc.wantKeyNS, wantName), wantName, formatUUID(&u))
		}
	}
}
