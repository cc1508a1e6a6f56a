package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/drydock-sim/drydock/real/containerd"
	"github.com/drydock-sim/drydock/real/kubeletserver"
)

// runtimeExec serves the kubelet server's exec endpoint from the containerd
// runtime.
type runtimeExec struct {
	rt *containerd.Runtime
}

func (e runtimeExec) CheckExec(namespace, pod, container string) error {
	return execErr(e.rt.CheckExec(namespace, pod, container))
}

func (e runtimeExec) ExecInContainer(ctx context.Context, namespace, pod, container string, cmd []string, eio kubeletserver.ExecIO) (int, error) {
	var resize chan containerd.TerminalSize
	if eio.Resize != nil {
		resize = make(chan containerd.TerminalSize)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(resize)
			for {
				var sz kubeletserver.TerminalSize
				var ok bool
				select {
				case sz, ok = <-eio.Resize:
					if !ok {
						return
					}
				case <-ctx.Done():
					return
				}
				select {
				case resize <- containerd.TerminalSize{Width: sz.Width, Height: sz.Height}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	code, err := e.rt.ExecInContainer(ctx, namespace, pod, container, cmd, containerd.ExecIO{
		Stdin: eio.Stdin, Stdout: eio.Stdout, Stderr: eio.Stderr, TTY: eio.TTY, Resize: resize})
	return code, execErr(err)
}

// execErr marks the runtime's "not running" as the kubelet server's.
func execErr(err error) error {
	if errors.Is(err, containerd.ErrNotRunning) {
		return fmt.Errorf("%w: %w", kubeletserver.ErrNotRunning, err)
	}
	return err
}
