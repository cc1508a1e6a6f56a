package containerd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	corev1 "k8s.io/api/core/v1"

	"github.com/drydock-sim/drydock/core/cri"
)

// maxProbeOutput caps what an exec probe's output keeps, as the kubelet does (10 KiB).
const maxProbeOutput = 10 * 1024

// Probe implements cri.Runtime. Exec probes run in the container
// (task.Exec); HTTP and TCP probes connect to the pod IP from inside the
// pod's network namespace, which works whether or not the node routes to
// the pod.
func (r *Runtime) Probe(id string, req *cri.ProbeRequest, done func(cri.ProbeResult)) {
	q := *req
	r.async(func() {
		res := r.probe(id, &q)
		r.cfg.Post(func() { done(res) })
	})
}

func fail(format string, a ...any) cri.ProbeResult {
	return cri.ProbeResult{Output: fmt.Sprintf(format, a...)}
}

func (r *Runtime) probe(id string, req *cri.ProbeRequest) cri.ProbeResult {
	r.mu.Lock()
	c := r.containers[id]
	var sb *sandbox
	var running bool
	if c != nil {
		sb = r.sandboxes[c.st.SandboxID]
		running = c.st.State == cri.ContainerRunning && c.task != nil
	}
	var ip, nsPath string
	if sb != nil {
		ip, nsPath = sb.st.IP, sb.netns
	}
	r.mu.Unlock()
	switch {
	case c == nil:
		return fail("container %s not found", id)
	case !running:
		return fail("container %s is not running", id)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	h := req.Handler
	switch {
	case h.Exec != nil:
		return r.execProbe(c, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		return httpProbe(ctx, nsPath, ip, req.Port, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		host := h.TCPSocket.Host
		if host == "" {
			host = ip
		}
		addr := net.JoinHostPort(host, strconv.Itoa(int(req.Port)))
		conn, err := dialIn(ctx, nsPath, addr)
		if err != nil {
			return fail("%v", err)
		}
		conn.Close()
		return cri.ProbeResult{Success: true}
	case h.GRPC != nil:
		return fail("gRPC probes are not supported by drydock's runtime")
	}
	return fail("probe has no handler")
}

// dialIn connects to addr over TCP from inside the network namespace at
// nsPath (from the node's namespace if nsPath is empty).
func dialIn(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	var d net.Dialer
	if nsPath == "" {
		return d.DialContext(ctx, "tcp", addr)
	}
	var conn net.Conn
	err := InNetns(nsPath, func() error {
		var err error
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return conn, err
}

func httpProbe(ctx context.Context, nsPath, ip string, port int32, g *corev1.HTTPGetAction, timeout time.Duration) cri.ProbeResult {
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := g.Host
	if host == "" {
		host = ip
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}
	if p, err := url.Parse(path); err == nil {
		u.Path, u.RawQuery = p.Path, p.RawQuery
	} else {
		u.Path = path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("User-Agent", "kube-probe/1.32")
	req.Header.Set("Accept", "*/*")
	for _, hd := range g.HTTPHeaders {
		if strings.EqualFold(hd.Name, "host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, addr string) (net.Conn, error) { return dialIn(ctx, nsPath, addr) },
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as the kubelet's prober
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: probeRedirect}
	resp, err := cl.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return cri.ProbeResult{Success: true, Output: string(body)}
	}
	return fail("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// probeRedirect is the kubelet prober's redirect policy: a redirect to the
// same host name is followed, at most 10 in a row, so the page it leads to
// decides; one to another host is not followed, and its 3xx answer counts
// as success (the kubelet's "Warning" result, which is a success).
func probeRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// lockedBuffer collects an exec's stdout and stderr, written from two goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxProbeOutput - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (r *Runtime) execProbe(c *container, cmd []string, timeout time.Duration) cri.ProbeResult {
	if len(cmd) == 0 {
		return fail("exec probe has no command")
	}
	ctx, cancel := r.opCtx()
	defer cancel()
	r.mu.Lock()
	task := c.task
	r.mu.Unlock()
	if task == nil {
		return fail("container %s is not running", c.st.ID)
	}
	spec, err := c.ctr.Spec(ctx)
	if err != nil {
		return fail("exec probe: %v", err)
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = false
	var out lockedBuffer
	execID := "probe-" + newID()[:16]
	p, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		return fail("exec probe: %v", err)
	}
	// With kill: when the runtime closes mid-probe the exec still runs, and a
	// plain Delete would fail, leaving it and its FIFOs behind.
	defer p.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
	statusC, err := p.Wait(ctx)
	if err != nil {
		return fail("exec probe: %v", err)
	}
	if err := p.Start(ctx); err != nil {
		return fail("exec probe: %v", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case st := <-statusC:
		code, _, err := st.Result()
		if err != nil {
			return fail("exec probe: %v", err)
		}
		p.Delete(ctx) // waits for the output to be copied (the deferred Delete then finds nothing)
		output := out.String()
		if code == 0 {
			return cri.ProbeResult{Success: true, Output: output}
		}
		if output == "" {
			output = fmt.Sprintf("command %q exited with code %d", strings.Join(cmd, " "), code)
		}
		return cri.ProbeResult{Output: output}
	case <-timer.C:
		_ = p.Kill(ctx, syscall.SIGKILL)
		<-statusC
		return fail("command %q timed out", strings.Join(cmd, " "))
	case <-ctx.Done():
		return fail("exec probe: %v", ctx.Err())
	}
}
