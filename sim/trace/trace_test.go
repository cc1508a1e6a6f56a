package trace

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestLinesAreJSONAndHashIsStable(t *testing.T) {
	recs := []Record{
		{Kind: "api", Op: "ADDED", Rev: 7, Object: "Pod/default/web-abc", Node: "n1", Detail: "phase=Pending"},
		{Kind: "fault", Op: "crashNode", Node: "n1", Detail: `quote " and \ backslash`},
		{Kind: "action", Op: "scale"},
	}
	var a, b bytes.Buffer
	wa, wb := New(&a), New(&b)
	for i, r := range recs {
		wa.Add(time.Duration(i)*time.Second, r)
		wb.Add(time.Duration(i)*time.Second, r)
	}
	if wa.Hash() != wb.Hash() || a.String() != b.String() {
		t.Fatal("same records gave different traces")
	}
	lines := bytes.Split(bytes.TrimSpace(a.Bytes()), []byte("\n"))
	if len(lines) != len(recs) {
		t.Fatalf("got %d lines, want %d", len(lines), len(recs))
	}
	for i, l := range lines {
		var got Record
		if err := json.Unmarshal(l, &got); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		want := recs[i]
		want.T = int64(i) * 1000
		if got != want {
			t.Errorf("line %d = %+v, want %+v", i, got, want)
		}
	}
	wc := New(nil)
	wc.Add(0, Record{Kind: "api", Op: "ADDED", Rev: 8})
	if wc.Hash() == wa.Hash() {
		t.Error("different records gave the same hash")
	}
}

// TestAddAPIMatchesAdd checks that AddAPI writes exactly the line Add writes
// for the same fields, escaping included.
func TestAddAPIMatchesAdd(t *testing.T) {
	recs := []Record{
		{Kind: "api", Op: "ADDED", Rev: 7, Object: "Pod/default/web-abc", Node: "n1", Detail: "phase=Pending"},
		{Kind: "api", Op: "MODIFIED", Rev: 8, Object: "Lease/kube-node-lease/n1"},
		{Kind: "api", Op: "DELETED", Object: `Event/default/x"y`, Detail: "Killing: é \\ \n"},
		{Kind: "api", Op: "ADDED"},
	}
	var a, b bytes.Buffer
	wa, wb := New(&a), New(&b)
	for i, r := range recs {
		d := time.Duration(i) * 1500 * time.Millisecond
		wa.Add(d, r)
		wb.AddAPI(d, r.Kind, r.Op, r.Rev, []byte(r.Object), r.Node, []byte(r.Detail))
	}
	if a.String() != b.String() || wa.Hash() != wb.Hash() || wa.Lines() != wb.Lines() {
		t.Fatalf("AddAPI wrote\n%s\nAdd wrote\n%s", b.String(), a.String())
	}
}

// TestAppendJSONStringMatchesMarshal compares the escaper with
// encoding/json.Marshal on every single byte and on seeded random strings
// of control bytes, quotes, HTML characters, multi-byte, invalid and
// truncated UTF-8, and U+2028/U+2029.
func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	var cases []string
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	pieces := []string{"a", "Z", " ", `"`, `\`, "<", ">", "&", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "€", "😀", "\u2028", "\u2029", "\xff", "\xe2\x82", "\xf0\x9f", "\xc3", "Pulling image \"nginx:1.27\""}
	x := uint64(7)
	for n := 0; n < 2000; n++ {
		var s string
		for k := 0; k < int(n%9); k++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			s += pieces[x%uint64(len(pieces))]
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		if got := appendJSONString([]byte("x"), []byte(s)); string(got) != "x"+string(want) {
			t.Fatalf("%q as bytes: got %s, want x%s", s, got, want)
		}
	}
}
