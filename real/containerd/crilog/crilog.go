// Package crilog writes and reads container log files in Kubernetes' CRI
// log format, one line per record:
//
//	2016-10-06T00:17:09.669794202Z stdout F log line
//
// a timestamp (RFC 3339 with nanoseconds), the stream (stdout or stderr), a
// tag (F for a full line, P for part of a line too long for one record,
// continued by the next records of the stream up to an F) and the content
// without its newline. This is what containerd's CRI plugin writes and
// the kubelet reads for `kubectl logs`.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Streams.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Tags.
const (
	TagFull    = "F"
	TagPartial = "P"
)

// MaxLineSize is the longest content one record holds; longer lines are
// split into P records, as containerd does (16 KiB).
const MaxLineSize = 16 * 1024

// TimeFormat is the fixed-width timestamp format of a record.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Writer turns the stdout and stderr of one container into CRI records on
// one file. Use Stream for each stream's io.WriteCloser; the file is
// written under a lock, whole records at a time. A record that cannot be
// written is dropped and its error returned; later records are tried
// again, as containerd goes on after a failed line.
type Writer struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

// NewWriter writes records to out, timestamped with now (time.Now if nil).
func NewWriter(out io.Writer, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{out: out, now: now}
}

func (w *Writer) record(stream, tag string, content []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := make([]byte, 0, len(TimeFormat)+len(stream)+len(content)+8)
	buf = w.now().UTC().AppendFormat(buf, TimeFormat)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, content...)
	buf = append(buf, '\n')
	_, err := w.out.Write(buf)
	return err
}

// Stream returns the writer for one stream (Stdout or Stderr). It keeps an
// unfinished line until its newline arrives, the line reaches MaxLineSize
// (then a P record is written) or Close (then the rest is written as F).
// On a failed record, the rest of that Write is dropped with it.
func (w *Writer) Stream(stream string) io.WriteCloser {
	return &streamWriter{w: w, stream: stream}
}

type streamWriter struct {
	w      *Writer
	stream string
	mu     sync.Mutex
	line   []byte
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.line = append(s.line, p...)
			p = nil
		} else {
			s.line = append(s.line, p[:i]...)
			p = p[i+1:]
		}
		for len(s.line) >= MaxLineSize && (i < 0 || len(s.line) > MaxLineSize) {
			if err := s.w.record(s.stream, TagPartial, s.line[:MaxLineSize]); err != nil {
				s.line = s.line[:0]
				return 0, err
			}
			s.line = append(s.line[:0], s.line[MaxLineSize:]...)
		}
		if i >= 0 {
			err := s.w.record(s.stream, TagFull, s.line)
			s.line = s.line[:0]
			if err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// Close writes an unfinished line as a full record.
func (s *streamWriter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.line) == 0 {
		return nil
	}
	err := s.w.record(s.stream, TagFull, s.line)
	s.line = nil
	return err
}

// Record is one parsed line of a CRI log file.
type Record struct {
	Time    time.Time
	Stream  string
	Partial bool // tag P: the content continues in the stream's next record
	Content []byte
}

// ErrFormat reports a line that is not a CRI log record.
var ErrFormat = errors.New("not a CRI log record")

// Parse parses one line, with or without its newline.
func Parse(line []byte) (Record, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var r Record
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return r, fmt.Errorf("%w: %q", ErrFormat, line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return r, fmt.Errorf("%w: timestamp: %v", ErrFormat, err)
	}
	r.Time = t
	line = line[i+1:]
	j := bytes.IndexByte(line, ' ')
	if j < 0 {
		return r, fmt.Errorf("%w: no stream", ErrFormat)
	}
	r.Stream = string(line[:j])
	if r.Stream != Stdout && r.Stream != Stderr {
		return r, fmt.Errorf("%w: stream %q", ErrFormat, r.Stream)
	}
	line = line[j+1:]
	// The tag field may carry more tags after ':' (CRI allows it); the
	// first says full or partial.
	k := bytes.IndexByte(line, ' ')
	tag := line
	if k >= 0 {
		tag, r.Content = line[:k], line[k+1:]
	}
	if c := bytes.IndexByte(tag, ':'); c >= 0 {
		tag = tag[:c]
	}
	switch string(tag) {
	case TagFull:
	case TagPartial:
		r.Partial = true
	default:
		return r, fmt.Errorf("%w: tag %q", ErrFormat, tag)
	}
	return r, nil
}
