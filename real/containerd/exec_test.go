package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/internal/testsync"
	"github.com/drydock-sim/drydock/real/containerd"
)

// TestExecInContainer runs commands in a running container through
// ExecInContainer: streams, exit codes, a TTY with a size, the container's
// environment, and the errors for what cannot be exec'd into.
func TestExecInContainer(t *testing.T) {
	f := newFixture(t)
	sb, cc := podConfigs("sh", "-c", "echo hi > /tmp/mark; while :; do sleep 1 & wait $!; done")
	cc.Env = []cri.KeyValue{{Key: "GREETING", Value: "hello"}}
	f.start(t, sb, cc)
	if err := f.rt.CheckExec(sb.Namespace, sb.Name, "main"); err != nil {
		t.Fatalf("CheckExec: %v", err)
	}
	cases := []struct {
		name             string
		cmd              []string
		stdin            string
		tty              bool
		size             *containerd.TerminalSize
		wantOut, wantErr string
		wantCode         int
	}{
		{name: "stdout, stderr and exit code", cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
			wantOut: "out\n", wantErr: "err\n", wantCode: 3},
		{name: "in the container's filesystem and environment", cmd: []string{"sh", "-c", "cat /tmp/mark; echo $GREETING"},
			wantOut: "hi\nhello\n"},
		{name: "stdin until its end", cmd: []string{"cat"}, stdin: "one\ntwo\n", wantOut: "one\ntwo\n"},
		{name: "tty with a size", cmd: []string{"sh", "-c", "stty size; echo $TERM"}, tty: true,
			size: &containerd.TerminalSize{Width: 100, Height: 30}, wantOut: "30 100\r\nxterm\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out, errb testsync.Buffer
			eio := containerd.ExecIO{Stdout: &out, Stderr: &errb, TTY: tc.tty}
			if tc.stdin != "" {
				eio.Stdin = strings.NewReader(tc.stdin)
			}
			if tc.size != nil {
				// The size arrives before the command looks, as kubectl
				// sends it first; Resize applies it once the process runs.
				rs := make(chan containerd.TerminalSize, 1)
				rs <- *tc.size
				eio.Resize = rs
				eio.Stdin = &blockingReader{ctx: ctx}
			}
			code, err := f.rt.ExecInContainer(ctx, sb.Namespace, sb.Name, "main", tc.cmd, eio)
			if err != nil {
				t.Fatalf("ExecInContainer: %v", err)
			}
			if code != tc.wantCode || out.String() != tc.wantOut || errb.String() != tc.wantErr {
				t.Errorf("code %d stdout %q stderr %q, want %d %q %q", code, out.String(), errb.String(), tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}

	t.Run("all output arrives before the exit code", func(t *testing.T) {
		// Deleting the process cancels the copy of its output: before the
		// exec waited for its streams, a busy machine lost the last line
		// (27 of 100 runs with four CPU hogs).
		for i := 0; i < 30; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			var out, errb testsync.Buffer
			code, err := f.rt.ExecInContainer(ctx, sb.Namespace, sb.Name, "main",
				[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, containerd.ExecIO{Stdout: &out, Stderr: &errb})
			cancel()
			if err != nil || code != 3 || out.String() != "out\n" || errb.String() != "err\n" {
				t.Fatalf("run %d: code %d, err %v, stdout %q, stderr %q", i, code, err, out.String(), errb.String())
			}
		}
	})

	t.Run("output after the caller's stream fails is drained", func(t *testing.T) {
		// 1 MB of output to a writer that fails at once: the process must
		// still run to its end instead of blocking on a full pipe.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code, err := f.rt.ExecInContainer(ctx, sb.Namespace, sb.Name, "main",
			[]string{"sh", "-c", "head -c 1000000 /dev/zero; echo done >&2; exit 4"},
			containerd.ExecIO{Stdout: failingWriter{}, Stderr: failingWriter{}})
		if err != nil || code != 4 {
			t.Fatalf("code %d, err %v; want 4 and no error", code, err)
		}
	})

	t.Run("cancelled context kills the process", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var out testsync.Buffer
		done := make(chan error, 1)
		go func() {
			_, err := f.rt.ExecInContainer(ctx, sb.Namespace, sb.Name, "main", []string{"sh", "-c", "echo started; sleep 600"}, containerd.ExecIO{Stdout: &out})
			done <- err
		}()
		testsync.Until(t, "the exec to start", 30*time.Second, func() (bool, string) {
			select {
			case err := <-done:
				t.Fatalf("exec ended before it was cancelled: %v", err)
			default:
			}
			return out.String() == "started\n", out.String()
		})
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("cancelling did not end the exec")
		}
	})

	errCases := []struct {
		name, pod, container string
		want                 error
	}{
		{name: "unknown pod", pod: "no-such-pod", container: "main", want: cri.ErrNotFound},
		{name: "unknown container", pod: sb.Name, container: "other", want: cri.ErrNotFound},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.rt.CheckExec(sb.Namespace, tc.pod, tc.container); !errors.Is(err, tc.want) {
				t.Errorf("CheckExec: %v, want %v", err, tc.want)
			}
			_, err := f.rt.ExecInContainer(context.Background(), sb.Namespace, tc.pod, tc.container, []string{"true"}, containerd.ExecIO{})
			if !errors.Is(err, tc.want) {
				t.Errorf("ExecInContainer: %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("exited container", func(t *testing.T) {
		sb2, cc2 := podConfigs("true")
		_, id := f.start(t, sb2, cc2)
		f.waitExited(t, id)
		if err := f.rt.CheckExec(sb2.Namespace, sb2.Name, "main"); !errors.Is(err, containerd.ErrNotRunning) {
			t.Errorf("CheckExec: %v, want ErrNotRunning", err)
		}
		_, err := f.rt.ExecInContainer(context.Background(), sb2.Namespace, sb2.Name, "main", []string{"true"}, containerd.ExecIO{Stdout: &bytes.Buffer{}})
		if !errors.Is(err, containerd.ErrNotRunning) {
			t.Errorf("ExecInContainer: %v, want ErrNotRunning", err)
		}
	})
}

// blockingReader is a stdin that gives nothing until ctx ends (a terminal
// nobody types in).
type blockingReader struct{ ctx context.Context }

func (r *blockingReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, io.EOF
}

// failingWriter fails every write, as a stream to a client that went away.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection closed") }
