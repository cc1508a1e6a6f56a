package containerd

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/drydock-sim/drydock/core/cri"
	"github.com/drydock-sim/drydock/real/images"
)

// lookup finds an image by the name a pod gives (normalised as Kubernetes
// does: "busybox" is docker.io/library/busybox:latest). A missing image is
// (nil, nil); with unpack, a found image is unpacked for the snapshotter.
func (r *Runtime) lookup(ctx context.Context, name string, unpack bool) (client.Image, error) {
	ref, err := images.Normalize(name)
	if err != nil {
		return nil, err
	}
	img, err := r.client.GetImage(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", name, err)
	}
	if unpack {
		ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", name, err)
		}
		if !ok {
			if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
				return nil, fmt.Errorf("unpack image %q: %w", name, err)
			}
		}
	}
	return img, nil
}

// image is lookup with the image described for the kubelet: its ref is the
// config digest (CRI's image ID).
func (r *Runtime) image(ctx context.Context, name string, unpack bool) (*cri.Image, error) {
	img, err := r.lookup(ctx, name, unpack)
	if img == nil || err != nil {
		return nil, err
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %q config: %w", name, err)
	}
	size, err := img.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %q size: %w", name, err)
	}
	return &cri.Image{Name: name, Ref: cfg.Digest.String(), Size: size}, nil
}

// ImageStatus implements cri.Runtime.
func (r *Runtime) ImageStatus(name string, done func(*cri.Image, error)) {
	r.async(func() {
		ctx, cancel := r.opCtx()
		defer cancel()
		st, err := r.image(ctx, name, false)
		r.cfg.Post(func() { done(st, err) })
	})
}

// PullImage implements cri.Runtime. There is no registry: only images
// imported on the node (the built-in busybox, `drydock image import`) are
// found; any other is an error wrapping cri.ErrImageNotFound, worded like
// containerd's.
func (r *Runtime) PullImage(name string, _ *cri.SandboxConfig, done func(*cri.Image, error)) {
	r.async(func() {
		ctx, cancel := r.opCtx()
		defer cancel()
		st, err := r.image(ctx, name, true)
		if err == nil && st == nil {
			ref, _ := images.Normalize(name)
			err = fmt.Errorf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found (drydock nodes have no registry: import the image with `drydock image import`): %w",
				ref, ref, ref, cri.ErrImageNotFound)
		}
		r.cfg.Post(func() { done(st, err) })
	})
}
