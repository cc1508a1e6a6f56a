package kubeletserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"

	"github.com/drydock-sim/drydock/core/cri"
)

// ErrNotRunning is what an Executor's errors wrap when the container exists
// but is not running (answered 400 Bad Request).
var ErrNotRunning = errors.New("container is not running")

// TerminalSize is a terminal's width and height in characters.
type TerminalSize = remotecommand.TerminalSize

// ExecIO are an exec's streams; nil ones are not attached.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize delivers terminal size changes (TTY only); it is closed when
	// the client's resize stream ends.
	Resize <-chan TerminalSize
}

// Executor runs commands in containers. The containerd runtime implements
// it (through the node agent's adapter).
type Executor interface {
	// CheckExec reports whether a pod's container can be exec'd into: nil,
	// or an error wrapping cri.ErrNotFound or ErrNotRunning.
	CheckExec(namespace, pod, container string) error
	// ExecInContainer runs cmd in a pod's running container with the given
	// streams and returns its exit code once its output is copied. The
	// process is killed when ctx ends.
	ExecInContainer(ctx context.Context, namespace, pod, container string, cmd []string, eio ExecIO) (exitCode int, err error)
}

// Exec streaming settings: the kubelet's defaults
// (--streaming-connection-idle-timeout, and the stream creation timeout).
const (
	DefaultStreamIdleTimeout     = 4 * time.Hour
	DefaultStreamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// execProtocols are the SPDY protocols served (X-Stream-Protocol-Version),
// newest first.
var execProtocols = []string{remotecommand.StreamProtocolV4Name, remotecommand.StreamProtocolV3Name,
	remotecommand.StreamProtocolV2Name, remotecommand.StreamProtocolV1Name}

// exec serves GET and POST /exec/{namespace}/{pod}/{container}?command=...
// &input=1&output=1&error=1&tty=1, the kubelet's endpoint with the
// parameters kube-apiserver sends it: WebSocket with v5.channel.k8s.io
// (what kubectl asks for first), or SPDY/3.1 with v4.channel.k8s.io (and
// older) or WebSocket with the older channel protocols through
// k8s.io/cri-streaming's server.
func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Exec == nil {
		http.Error(w, "exec is not supported by this node", http.StatusNotImplemented)
		return
	}
	ns, pod, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "you must specify at least one command for the container", http.StatusBadRequest)
		return
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.cfg.Exec.CheckExec(ns, pod, ctr); err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, cri.ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, ErrNotRunning):
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
		return
	}
	ex := &podExecutor{ex: s.cfg.Exec, namespace: ns}
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		s.execWebSocketV5(w, r, ex, pod, ctr, cmd, opts)
		return
	}
	remotecommand.ServeExec(w, r, ex, pod, "", ctr, cmd, opts, s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, execProtocols)
}

// podExecutor adapts an Executor to k8s.io/cri-streaming's, whose calls
// name the pod without its namespace.
type podExecutor struct {
	ex        Executor
	namespace string
}

func (p *podExecutor) ExecInContainer(ctx context.Context, pod, _ string, container string, cmd []string,
	in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	eio := ExecIO{TTY: tty, Resize: resize}
	// The streams arrive as interfaces that may hold nil.
	if in != nil {
		eio.Stdin = in
	}
	if out != nil {
		eio.Stdout = out
	}
	if errw != nil {
		eio.Stderr = errw
	}
	code, err := p.ex.ExecInContainer(ctx, p.namespace, pod, container, cmd, eio)
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// WebSocket channels of the remote command protocols.
const (
	chanStdin = iota
	chanStdout
	chanStderr
	chanError
	chanResize
)

// execWebSocketV5 serves an exec over WebSocket with v5.channel.k8s.io:
// v4's channels and status messages, plus the client's close signal for
// stdin (wsstream handles it).
func (s *Server) execWebSocketV5(w http.ResponseWriter, r *http.Request, ex *podExecutor, pod, ctr string, cmd []string, opts *remotecommand.Options) {
	ch := func(on bool, t wsstream.ChannelType) wsstream.ChannelType {
		if on {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		chanStdin:  ch(opts.Stdin, wsstream.ReadChannel),
		chanStdout: ch(opts.Stdout, wsstream.WriteChannel),
		chanStderr: ch(opts.Stderr, wsstream.WriteChannel),
		chanError:  wsstream.WriteChannel,
		chanResize: wsstream.ReadChannel,
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommand.StreamProtocolV5Name: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(s.cfg.StreamIdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		return // the handshake answered the client
	}
	defer conn.Close()
	// An empty message on the first writable channel tells the client the
	// streams are ready, as the kubelet's WebSocket server does.
	switch {
	case opts.Stdout:
		streams[chanStdout].Write(nil)
	case opts.Stderr:
		streams[chanStderr].Write(nil)
	default:
		streams[chanError].Write(nil)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The resize channel is always read: the connection's reader blocks on
	// a channel nobody reads.
	resize := make(chan TerminalSize)
	go func() {
		defer close(resize)
		dec := json.NewDecoder(streams[chanResize])
		for {
			var sz TerminalSize
			if err := dec.Decode(&sz); err != nil {
				io.Copy(io.Discard, streams[chanResize])
				return
			}
			if !opts.TTY {
				continue
			}
			select {
			case resize <- sz:
			case <-ctx.Done():
				io.Copy(io.Discard, streams[chanResize])
				return
			}
		}
	}()
	eio := ExecIO{TTY: opts.TTY, Resize: resize}
	if opts.Stdin {
		eio.Stdin = streams[chanStdin]
	}
	if opts.Stdout {
		eio.Stdout = streams[chanStdout]
	}
	if opts.Stderr {
		eio.Stderr = streams[chanStderr]
	}
	code, err := ex.ex.ExecInContainer(ctx, ex.namespace, pod, ctr, cmd, eio)
	st := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{TypeMeta: st.TypeMeta, Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Reason: metav1.StatusReasonInternalError, Message: "error executing command in container: " + err.Error(),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: err.Error()}}}}
	case code != 0:
		st = metav1.Status{TypeMeta: st.TypeMeta, Status: metav1.StatusFailure, Reason: remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: command terminated with exit code %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(code)}}}}
	}
	b, _ := json.Marshal(st)
	streams[chanError].Write(b)
}
