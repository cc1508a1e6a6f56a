// Package trace writes the simulator's event trace: one JSON object per line
// for every committed API change, fault and timeline action, in the order
// they happened, and a running SHA-256 of the lines so two runs can be
// compared by one hash.
package trace

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Record is one trace line. Fields are omitted when empty.
type Record struct {
	// T is simulated time since the start, in milliseconds.
	T      int64  `json:"t"`
	Kind   string `json:"kind"`           // "api", "fault", "action", "expect"
	Op     string `json:"op"`             // ADDED/MODIFIED/DELETED, crashNode, ...
	Rev    int64  `json:"rev,omitempty"`  // store revision for API records
	Object string `json:"obj,omitempty"`  // Kind/namespace/name
	Node   string `json:"node,omitempty"` // node involved
	Detail string `json:"detail,omitempty"`
}

// Writer appends records. It is not safe for concurrent use (the simulator
// is single-threaded).
type Writer struct {
	out   io.Writer
	h     hash.Hash
	buf   []byte
	lines int64
	err   error
}

// New returns a writer that hashes every line and, if out is non-nil, also
// writes it there.
func New(out io.Writer) *Writer { return &Writer{out: out, h: sha256.New()} }

// Add appends one record at simulated offset t.
func (w *Writer) Add(t time.Duration, r Record) {
	r.T = t.Milliseconds()
	w.buf = appendRecord(w.buf[:0], &r)
	w.h.Write(w.buf)
	w.lines++
	if w.out != nil && w.err == nil {
		_, w.err = w.out.Write(w.buf)
	}
}

// AddAPI appends the record Add would for Record{Kind: kind, Op: op, Rev:
// rev, Object: string(object), Node: node, Detail: string(detail)}, without
// the caller building those strings: the simulator writes one for every API
// change, and the strings were a tenth of its allocations.
func (w *Writer) AddAPI(t time.Duration, kind, op string, rev int64, object []byte, node string, detail []byte) {
	b := append(w.buf[:0], `{"t":`...)
	b = strconv.AppendInt(b, t.Milliseconds(), 10)
	b = appendField(b, "kind", kind)
	b = appendField(b, "op", op)
	if rev != 0 {
		b = append(b, `,"rev":`...)
		b = strconv.AppendInt(b, rev, 10)
	}
	b = appendField(b, "obj", object)
	b = appendField(b, "node", node)
	b = appendField(b, "detail", detail)
	w.buf = append(b, '}', '\n')
	w.h.Write(w.buf)
	w.lines++
	if w.out != nil && w.err == nil {
		_, w.err = w.out.Write(w.buf)
	}
}

// appendRecord encodes r as one JSON line with a fixed field order; it is
// hand-rolled because the trace is written for every API change and
// encoding/json's reflection showed up in profiles.
func appendRecord(b []byte, r *Record) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, r.T, 10)
	b = appendField(b, "kind", r.Kind)
	b = appendField(b, "op", r.Op)
	if r.Rev != 0 {
		b = append(b, `,"rev":`...)
		b = strconv.AppendInt(b, r.Rev, 10)
	}
	b = appendField(b, "obj", r.Object)
	b = appendField(b, "node", r.Node)
	b = appendField(b, "detail", r.Detail)
	return append(b, '}', '\n')
}

func appendField[S string | []byte](b []byte, name string, v S) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if safeASCII(v) {
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"')
	}
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends v quoted exactly as encoding/json.Marshal quotes
// a string (HTML characters, control bytes, invalid UTF-8, U+2028/U+2029),
// without Marshal's allocations: kubelet event messages quote image names,
// so this runs for most Event records. TestAppendJSONStringMatchesMarshal
// checks the equality.
func appendJSONString[S string | []byte](b []byte, v S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(v); {
		if c := v[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, v[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(v[i:min(i+utf8.UTFMax, len(v))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, v[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, v[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, v[start:]...)
	return append(b, '"')
}

func safeASCII[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Hash is the hex SHA-256 of every line so far.
func (w *Writer) Hash() string { return hex.EncodeToString(w.h.Sum(nil)) }

// Lines is the number of records written.
func (w *Writer) Lines() int64 { return w.lines }

// Err is the first error writing to the output, if any.
func (w *Writer) Err() error { return w.err }
