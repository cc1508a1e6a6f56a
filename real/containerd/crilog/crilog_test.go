package crilog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWriter(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 4, 5, 6000, time.FixedZone("X", 3600))
	ts := "2026-12-06T02:04:05.000006000Z"
	long := strings.Repeat("a", MaxLineSize)
	for _, tc := range []struct {
		name   string
		writes []string // "o:" or "e:" prefix picks the stream
		want   []string
	}{
		{"one line", []string{"o:hello\n"}, []string{ts + " stdout F hello"}},
		{"split writes", []string{"o:hel", "o:lo\nwor", "o:ld\n"}, []string{ts + " stdout F hello", ts + " stdout F world"}},
		{"streams apart", []string{"o:out", "e:err\n", "o:put\n"}, []string{ts + " stderr F err", ts + " stdout F output"}},
		{"empty line", []string{"e:\n"}, []string{ts + " stderr F "}},
		{"unfinished line at close", []string{"o:tail"}, []string{ts + " stdout F tail"}},
		{"exactly max", []string{"o:" + long + "\n"}, []string{ts + " stdout F " + long}},
		{"over max", []string{"o:" + long + "bc\n"}, []string{ts + " stdout P " + long, ts + " stdout F bc"}},
		{"max without newline yet", []string{"o:" + long, "o:\n"}, []string{ts + " stdout P " + long, ts + " stdout F "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, func() time.Time { return at })
			out, errw := w.Stream(Stdout), w.Stream(Stderr)
			for _, s := range tc.writes {
				dst := out
				if s[0] == 'e' {
					dst = errw
				}
				if n, err := dst.Write([]byte(s[2:])); err != nil || n != len(s)-2 {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			out.Close()
			errw.Close()
			got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, line := range got {
				if _, err := Parse([]byte(line)); err != nil {
					t.Errorf("Parse(%q): %v", line, err)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    Record
		wantErr bool
	}{
		{line: "2016-10-06T00:17:09.669794202Z stdout F log line\n",
			want: Record{Time: time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC), Stream: Stdout, Content: []byte("log line")}},
		{line: "2016-10-06T00:17:09.669794202Z stderr P part",
			want: Record{Time: time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC), Stream: Stderr, Partial: true, Content: []byte("part")}},
		{line: "2016-10-06T00:17:09Z stdout F:x  two spaces",
			want: Record{Time: time.Date(2016, 10, 6, 0, 17, 9, 0, time.UTC), Stream: Stdout, Content: []byte(" two spaces")}},
		{line: "2016-10-06T00:17:09Z stdout F",
			want: Record{Time: time.Date(2016, 10, 6, 0, 17, 9, 0, time.UTC), Stream: Stdout}},
		{line: "plain text", wantErr: true},
		{line: "2016-10-06T00:17:09Z stdin F x", wantErr: true},
		{line: "2016-10-06T00:17:09Z stdout Q x", wantErr: true},
		{line: "yesterday stdout F x", wantErr: true},
	} {
		got, err := Parse([]byte(tc.line))
		if tc.wantErr {
			if !errors.Is(err, ErrFormat) {
				t.Errorf("Parse(%q) error %v, want ErrFormat", tc.line, err)
			}
			continue
		}
		if err != nil || !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial || string(got.Content) != string(tc.want.Content) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

// flakyOut fails writes while down is set.
type flakyOut struct {
	down bool
	buf  bytes.Buffer
}

func (f *flakyOut) Write(p []byte) (int, error) {
	if f.down {
		return 0, errors.New("no space left on device")
	}
	return f.buf.Write(p)
}

// TestWriterAfterWriteError: records that cannot be written are dropped
// (the stream keeps no growing backlog of them), and writing works again
// once the file does, as containerd goes on writing after a failed line.
func TestWriterAfterWriteError(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC)
	out := &flakyOut{down: true}
	w := NewWriter(out, func() time.Time { return at })
	s := w.Stream(Stdout)
	for i := 0; i < 100; i++ {
		if _, err := s.Write([]byte(strings.Repeat("x", 1000) + "\n")); err == nil {
			t.Fatal("Write succeeded while the file fails")
		}
	}
	if n := len(s.(*streamWriter).line); n != 0 {
		t.Errorf("stream keeps %d bytes of records it could not write", n)
	}
	out.down = false
	if _, err := s.Write([]byte("back\n")); err != nil {
		t.Fatalf("Write after the file recovered: %v", err)
	}
	if got, want := out.buf.String(), "2026-12-06T03:04:05.000000000Z stdout F back\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
}
