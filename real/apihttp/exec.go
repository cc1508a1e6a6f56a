package apihttp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drydock-sim/drydock/real/auth"
)

// upgradeHeaders are the request headers an exec upgrade carries to the
// kubelet: the upgrade itself, the SPDY stream protocol negotiation and the
// WebSocket handshake. Nothing else is passed on (no credentials).
var upgradeHeaders = []string{"Connection", "Upgrade", "X-Stream-Protocol-Version",
	"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Origin"}

// queryBool reads a PodExecOptions boolean as Kubernetes' query conversion
// does: absent, "false" (any case) and "0" are false, anything else
// (also an empty value, ?stdin) true.
func queryBool(q url.Values, name string) bool {
	v := q[name]
	if len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// serveExec serves pods/{name}/exec (GET or POST with an upgrade to SPDY/3.1
// or WebSocket): authorised as "create" on pods/exec for both methods (as
// kube-apiserver authorises WebSocket GETs), the pod and container checked,
// then the upgraded connection is proxied to the kubelet's /exec on the
// pod's node through the kubelet client, which dials the Node's address and
// accepts only that node's serving certificate. The protocol (WebSocket
// v5.channel.k8s.io or SPDY v4.channel.k8s.io) is the client's and the
// kubelet's; this end only copies bytes once both sides have switched.
func (h *handler) serveExec(w http.ResponseWriter, req *http.Request, info *requestInfo, user *auth.User) error {
	if err := h.authorize(req.Context(), user, info, "create"); err != nil {
		return err
	}
	q := req.URL.Query()
	cmd := q["command"]
	stdin, stdout, stderr, tty := queryBool(q, "stdin"), queryBool(q, "stdout"), queryBool(q, "stderr"), queryBool(q, "tty")
	if len(cmd) == 0 {
		return apierrors.NewBadRequest("you must specify at least one command for the container")
	}
	if !stdin && !stdout && !stderr {
		return apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if !isUpgrade(req) {
		return apierrors.NewBadRequest("Upgrade request required")
	}
	pod, container, kubelet, err := h.containerOnNode(req.Context(), info, q.Get("container"), "pods/exec")
	if err != nil {
		return err
	}
	if p := pod.Status.Phase; p == corev1.PodSucceeded || p == corev1.PodFailed {
		return apierrors.NewBadRequest(fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", p))
	}
	// The kubelet's parameters, as kube-apiserver sends them.
	kq := url.Values{"command": cmd}
	for name, on := range map[string]bool{corev1.ExecStdinParam: stdin, corev1.ExecStdoutParam: stdout,
		corev1.ExecStderrParam: stderr && !tty, corev1.ExecTTYParam: tty} {
		if on {
			kq.Set(name, "1")
		}
	}
	u := url.URL{Scheme: "https", Host: kubelet.host,
		Path: "/exec/" + pod.Namespace + "/" + pod.Name + "/" + container, RawQuery: kq.Encode()}
	ctx, cancel := context.WithCancel(auth.WithKubeletAddress(req.Context(), kubelet.addr))
	defer cancel()
	kreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	for _, k := range upgradeHeaders {
		if v := req.Header.Values(k); len(v) > 0 {
			kreq.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	// Through the kubelet client, so the dial and the node's certificate
	// check are its own; a 101 answer's body is the connection.
	resp, err := h.cfg.KubeletClient.Do(kreq)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet of node %s did not answer: %v", kubelet.node, err))
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return kubeletError(resp, pod.Name)
	}
	backend, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return apierrors.NewInternalError(fmt.Errorf("the kubelet's upgraded connection is not writable"))
	}
	defer backend.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("pods/exec: %v", err))
	}
	defer conn.Close()
	if rw, ok := w.(*responseWriter); ok {
		rw.code, rw.wroteHeader = http.StatusSwitchingProtocols, true
	}
	// The kubelet's 101 answer, then both ways until either side ends.
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\n")
	resp.Header.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return nil
	}
	h.splice(conn, brw.Reader, backend)
	return nil
}

// splice copies between the client's connection (with what its reader has
// buffered) and the kubelet's until either direction ends or the server
// stops, then closes both.
func (h *handler) splice(client net.Conn, clientBuf *bufio.Reader, backend io.ReadWriteCloser) {
	closeBoth := func() {
		client.Close()
		backend.Close()
	}
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(backend, clientBuf)
		done <- struct{}{}
	}()
	go func() {
		io.Copy(client, backend)
		done <- struct{}{}
	}()
	ended := 0
	select {
	case <-done:
		ended = 1
	case <-h.cfg.Stop:
	}
	closeBoth()
	for ; ended < 2; ended++ {
		<-done
	}
}

// isUpgrade reports whether req asks for a protocol switch.
func isUpgrade(req *http.Request) bool {
	for _, v := range req.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return req.Header.Get("Upgrade") != ""
			}
		}
	}
	return false
}

// kubeletError turns a kubelet's refusal into a Status with its message.
func kubeletError(resp *http.Response, podName string) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	text := strings.TrimSpace(string(msg))
	if text == "" {
		text = resp.Status
	}
	code := resp.StatusCode
	if code < 400 {
		code = http.StatusInternalServerError
	}
	reason := metav1.StatusReasonInternalError
	switch code {
	case http.StatusBadRequest:
		reason = metav1.StatusReasonBadRequest
	case http.StatusNotFound:
		reason = metav1.StatusReasonNotFound
	case http.StatusForbidden:
		reason = metav1.StatusReasonForbidden
	case http.StatusUnauthorized:
		reason = metav1.StatusReasonUnauthorized
	case http.StatusServiceUnavailable:
		reason = metav1.StatusReasonServiceUnavailable
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: int32(code), Reason: reason,
		Message: text, Details: &metav1.StatusDetails{Name: podName, Kind: "pods"}}}
}
