// Package kubeletserver is the node agent's HTTPS server: what the API
// server reaches on a node's kubelet port (Node.status.daemonEndpoints) to
// serve pods/log, as the kubelet's /containerLogs endpoint does.
//
//	GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&timestamps=&tailLines=&sinceSeconds=&sinceTime=&limitBytes=
//	GET /healthz
//
// Logs are read from the container's log file in the CRI format and written
// back as plain lines. Exec streams are WebSocket (v5.channel.k8s.io) or
// SPDY/3.1 (v4.channel.k8s.io and older) connections (see exec.go). Only
// clients with a client certificate verified by the server's TLS config
// (the cluster CA) whose subject is CN "drydock-apiserver" or in group (O)
// "system:masters" may read logs or exec;
// /healthz answers any client the TLS config lets in (with
// RequireAndVerifyClientCert, as the node agent configures it, only
// holders of a cluster certificate).
package kubeletserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/containerd/crilog"
)

// LogLocator finds container log files. The containerd runtime implements it.
type LogLocator interface {
	// LocateLog returns the CRI log file of the newest instance of a pod's
	// container (previous: the instance before it) and a channel closed
	// once that instance has exited. Unknown pods or containers give an
	// error wrapping cri.ErrNotFound.
	LocateLog(namespace, pod, container string, previous bool) (path string, exited <-chan struct{}, err error)
}

// Identities allowed to read logs.
const (
	APIServerCN  = "drydock-apiserver"
	MastersGroup = "system:masters"
)

// DefaultPollInterval is how often a followed log is checked for new lines.
const DefaultPollInterval = 100 * time.Millisecond

// Config sets up a Server.
type Config struct {
	// Logs finds log files. Required.
	Logs LogLocator
	// Exec runs commands in containers; nil answers /exec with 501.
	Exec Executor
	// StreamIdleTimeout ends an exec stream idle that long
	// (DefaultStreamIdleTimeout if zero); StreamCreationTimeout bounds the
	// wait for a SPDY client's streams (DefaultStreamCreationTimeout).
	StreamIdleTimeout, StreamCreationTimeout time.Duration
	// TLS is the server's TLS config: its certificate, and ClientCAs with
	// ClientAuth VerifyClientCertIfGiven or RequireAndVerifyClientCert so
	// that client certificates are verified against the cluster CA.
	TLS *tls.Config
	// PollInterval: see DefaultPollInterval.
	PollInterval time.Duration
	// Now is the clock for sinceSeconds (time.Now if nil).
	Now func() time.Time
}

// Server serves the kubelet endpoints. Use New.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// New returns a server; Handler, Serve or ListenAndServe run it.
func New(cfg Config) *Server {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if cfg.StreamCreationTimeout <= 0 {
		cfg.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	})
	s.mux.Handle("GET /containerLogs/{namespace}/{pod}/{container}", requireIdentity(http.HandlerFunc(s.containerLogs)))
	s.mux.Handle("GET /exec/{namespace}/{pod}/{container}", requireIdentity(http.HandlerFunc(s.exec)))
	s.mux.Handle("POST /exec/{namespace}/{pod}/{container}", requireIdentity(http.HandlerFunc(s.exec)))
	return s
}

// Handler is the server's HTTP handler (the identity check reads r.TLS).
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves HTTPS on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("kubelet server: no TLS config")
	}
	srv := &http.Server{Handler: s.mux, TLSConfig: s.cfg.TLS, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	defer stop()
	err := srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on addr (e.g. ":10250") and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kubelet server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// requireIdentity lets through only verified client certificates of the API
// server or of a system:masters member. (The kubelet's message names the
// nodes/proxy subresource for every endpoint, as here.)
func requireIdentity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "Unauthorized: a client certificate signed by the cluster CA is required", http.StatusUnauthorized)
			return
		}
		subj := r.TLS.VerifiedChains[0][0].Subject
		if subj.CommonName != APIServerCN && !slices.Contains(subj.Organization, MastersGroup) {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=get, resource=nodes, subresource=proxy)", subj.CommonName), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logOptions are the query parameters of /containerLogs, as PodLogOptions.
type logOptions struct {
	follow, previous, timestamps bool
	tailLines                    int64 // -1: all
	since                        time.Time
	limitBytes                   int64 // 0: no limit
}

func parseBool(q map[string][]string, name string) (bool, error) {
	v := q[name]
	if len(v) == 0 || v[0] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, fmt.Errorf("%s: invalid boolean %q", name, v[0])
	}
	return b, nil
}

func parseInt(q map[string][]string, name string, min int64) (int64, bool, error) {
	v := q[name]
	if len(v) == 0 || v[0] == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < min {
		return 0, false, fmt.Errorf("%s: must be an integer of at least %d, got %q", name, min, v[0])
	}
	return n, true, nil
}

func (s *Server) parseOptions(r *http.Request) (logOptions, error) {
	q := r.URL.Query()
	o := logOptions{tailLines: -1}
	var err error
	if o.follow, err = parseBool(q, "follow"); err != nil {
		return o, err
	}
	if o.previous, err = parseBool(q, "previous"); err != nil {
		return o, err
	}
	if o.timestamps, err = parseBool(q, "timestamps"); err != nil {
		return o, err
	}
	if n, ok, err := parseInt(q, "tailLines", 0); err != nil {
		return o, err
	} else if ok {
		o.tailLines = n
	}
	if o.limitBytes, _, err = parseInt(q, "limitBytes", 1); err != nil {
		return o, err
	}
	secs, hasSecs, err := parseInt(q, "sinceSeconds", 1)
	if err != nil {
		return o, err
	}
	if t := q.Get("sinceTime"); t != "" {
		if hasSecs {
			return o, errors.New("at most one of sinceTime or sinceSeconds may be specified")
		}
		if o.since, err = time.Parse(time.RFC3339, t); err != nil {
			return o, fmt.Errorf("sinceTime: %v", err)
		}
	}
	if hasSecs {
		o.since = s.cfg.Now().Add(-time.Duration(secs) * time.Second)
	}
	return o, nil
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := s.parseOptions(r)
	if err != nil {
		http.Error(w, "invalid log options: "+err.Error(), http.StatusBadRequest)
		return
	}
	path, exited, err := s.cfg.Logs.LocateLog(ns, pod, ctr, opts.previous)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, cri.ErrNotFound) && opts.previous:
			// As the kubelet: kubectl shows "Error from server
			// (BadRequest): previous terminated container ... not found".
			code = http.StatusBadRequest
		case errors.Is(err, cri.ErrNotFound):
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	if _, err := os.Stat(path); err != nil && (!opts.follow || !errors.Is(err, os.ErrNotExist)) {
		code := http.StatusInternalServerError
		if errors.Is(err, os.ErrNotExist) {
			code = http.StatusNotFound
		}
		http.Error(w, fmt.Sprintf("log of container %q in pod %q: %v", ctr, pod, err), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	flush(flusher)
	_ = ReadLogs(r.Context(), path, opts.toReadOptions(), exited, s.cfg.PollInterval, w, flusher)
}

func (o logOptions) toReadOptions() ReadOptions {
	return ReadOptions{Follow: o.follow, Timestamps: o.timestamps, TailLines: o.tailLines, Since: o.since, LimitBytes: o.limitBytes}
}

// ReadOptions say what part of a log to read and how to print it.
type ReadOptions struct {
	Follow     bool
	Timestamps bool      // prefix each record with its RFC 3339 timestamp and a space
	TailLines  int64     // the last N records only; -1 for all
	Since      time.Time // records from then on only (zero: all)
	LimitBytes int64     // stop after this many bytes (0: no limit)
}

// errLimit ends a read at LimitBytes.
var errLimit = errors.New("limit reached")

type limitWriter struct {
	w    io.Writer
	left int64 // -1: none
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left < 0 {
		return l.w.Write(p)
	}
	if int64(len(p)) > l.left {
		n, err := l.w.Write(p[:l.left])
		l.left -= int64(n)
		if err == nil {
			err = errLimit
		}
		return n, err
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// ReadLogs copies the CRI log file at path to w as plain lines (partial
// records joined), as the kubelet does. With Follow it keeps reading new
// records, checking every poll, until ctx ends or exited is closed and the
// file is read to its end; it waits for a file not written yet, and goes on
// in the new file when the log is rotated. flusher (may be nil) is flushed
// after each batch.
func ReadLogs(ctx context.Context, path string, o ReadOptions, exited <-chan struct{}, poll time.Duration, w io.Writer, flusher http.Flusher) error {
	var ticker *time.Ticker
	tick := func() <-chan time.Time {
		if ticker == nil {
			ticker = time.NewTicker(poll)
		}
		return ticker.C
	}
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	f, err := os.Open(path)
	for o.Follow && errors.Is(err, os.ErrNotExist) {
		select {
		case <-ctx.Done():
			return nil
		case <-exited:
			if f, err = os.Open(path); err != nil {
				return nil // exited without writing a line
			}
		case <-tick():
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	if o.TailLines >= 0 {
		off, err := tailOffset(f, o.TailLines)
		if err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return err
		}
	}
	lw := &limitWriter{w: w, left: -1}
	if o.LimitBytes > 0 {
		lw.left = o.LimitBytes
	}
	br := bufio.NewReaderSize(f, 64*1024)
	var pending []byte // a record whose newline has not been written yet
	var out []byte
	ts := make([]byte, 0, 40)
	rotated := false // the file at path is a new one; finish this one first
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			pending = append(pending, line...)
			continue
		}
		if err == nil {
			if len(pending) > 0 {
				line = append(pending, line...)
				pending = pending[:0]
			}
			rec, perr := crilog.Parse(line)
			if perr != nil || (!o.Since.IsZero() && rec.Time.Before(o.Since)) {
				continue // not a record (skipped, as the kubelet logs and skips it) or too old
			}
			out = out[:0]
			if o.Timestamps {
				ts = rec.Time.AppendFormat(ts[:0], time.RFC3339Nano)
				out = append(append(out, ts...), ' ')
			}
			out = append(out, rec.Content...)
			if !rec.Partial {
				out = append(out, '\n')
			}
			if _, err := lw.Write(out); err != nil {
				if errors.Is(err, errLimit) {
					err = nil
				}
				flush(flusher)
				return err
			}
			continue
		}
		if err != io.EOF {
			return err
		}
		pending = append(pending, line...)
		// At the end of what is written so far.
		flush(flusher)
		if !o.Follow {
			return nil
		}
		if rotated {
			// This file is done: go on in the new one from its start.
			nf, err := os.Open(path)
			if err != nil {
				return err
			}
			f.Close()
			f, rotated, pending = nf, false, pending[:0]
			br.Reset(f)
			continue
		}
		if isRotated(f, path) {
			rotated = true
			continue // read what was written before the rotation
		}
		select {
		case <-exited:
			// The writer is gone: read what it left, then stop.
			if more, _ := hasMore(f, br); more {
				continue
			}
			return nil
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick():
		case <-exited:
		}
	}
}

// isRotated reports whether path names another file than f now.
func isRotated(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && !os.SameFile(a, b)
}

// hasMore reports whether the file has bytes past what br has read.
func hasMore(f *os.File, br *bufio.Reader) (bool, error) {
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, err
	}
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	return st.Size() > pos || br.Buffered() > 0, nil
}

func flush(f http.Flusher) {
	if f != nil {
		f.Flush()
	}
}

// tailOffset is where the last n lines of f start.
func tailOffset(f *os.File, n int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if n == 0 {
		return size, nil
	}
	const block = 32 * 1024
	buf := make([]byte, block)
	end := size
	var count int64
	first := true
	for end > 0 {
		start := end - block
		if start < 0 {
			start = 0
		}
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			if first && start+int64(i) == size-1 {
				continue // the newline ending the last line
			}
			count++
			if count == n {
				return start + int64(i) + 1, nil
			}
		}
		first = false
		end = start
	}
	return 0, nil
}
