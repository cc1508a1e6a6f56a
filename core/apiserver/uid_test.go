package apiserver

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
