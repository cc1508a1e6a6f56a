package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// Snapshotter is the snapshotter images are unpacked for (and containers use).
const Snapshotter = "overlayfs"

// Normalize turns an image name as a pod spec gives it into the full
// reference containerd stores, as Kubernetes and containerd do:
// "busybox" → "docker.io/library/busybox:latest",
// "example.com/app:1" stays, "nginx@sha256:..." keeps its digest.
func Normalize(name string) (string, error) {
	ref, err := reference.ParseDockerRef(name)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", name, err)
	}
	return ref.String(), nil
}

// Imported is one image an import stored.
type Imported struct {
	Name   string // normalised reference
	Digest string // manifest (or index) digest the name points to
}

// Import loads an OCI image layout tarball (or a docker save archive) from r
// into containerd namespace ns and unpacks every image in it for the
// overlayfs snapshotter. Image names in the archive are normalised
// (org.opencontainers.image.ref.name "busybox" becomes
// docker.io/library/busybox:latest); an archive that names no image is an error.
func Import(ctx context.Context, c *client.Client, ns string, r io.Reader) ([]Imported, error) {
	ctx = namespaces.WithNamespace(ctx, ns)
	imgs, err := c.Import(ctx, r, client.WithImageRefTranslator(func(name string) string {
		n, err := Normalize(name)
		if err != nil {
			return "" // not a reference: the import skips the entry
		}
		return n
	}))
	if err != nil {
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	if len(imgs) == 0 {
		return nil, errors.New("import image archive: the archive names no image (index.json needs an org.opencontainers.image.ref.name or io.containerd.image.name annotation)")
	}
	var out []Imported
	for _, img := range imgs {
		if n, err := Normalize(img.Name); err == nil && n != img.Name {
			// A name stored verbatim from io.containerd.image.name: store
			// it under its normalised name too, which is what pods ask for.
			img.Name = n
			if _, err := c.ImageService().Create(ctx, img); err != nil && !errdefs.IsAlreadyExists(err) {
				return nil, fmt.Errorf("import image %s: %w", n, err)
			}
		}
		if err := client.NewImage(c, img).Unpack(ctx, Snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", img.Name, err)
		}
		out = append(out, Imported{Name: img.Name, Digest: img.Target.Digest.String()})
	}
	return out, nil
}

// EnsureBusybox makes sure namespace ns has the built-in busybox image,
// unpacked: it builds it from busyboxPath (DefaultBusyboxPath if empty) and
// imports it unless an unpacked image of that name is there already.
func EnsureBusybox(ctx context.Context, c *client.Client, ns, busyboxPath string) (Imported, error) {
	if busyboxPath == "" {
		busyboxPath = DefaultBusyboxPath
	}
	nctx := namespaces.WithNamespace(ctx, ns)
	if img, err := c.GetImage(nctx, BusyboxRef); err == nil {
		if ok, err := img.IsUnpacked(nctx, Snapshotter); err == nil && ok {
			return Imported{Name: BusyboxRef, Digest: img.Target().Digest.String()}, nil
		}
	} else if !errdefs.IsNotFound(err) {
		return Imported{}, fmt.Errorf("busybox image: %w", err)
	}
	tarball, err := BusyboxTarball(busyboxPath)
	if err != nil {
		return Imported{}, err
	}
	imgs, err := Import(ctx, c, ns, bytes.NewReader(tarball))
	if err != nil {
		return Imported{}, fmt.Errorf("busybox image: %w", err)
	}
	for _, img := range imgs {
		if img.Name == BusyboxRef {
			return img, nil
		}
	}
	return Imported{}, fmt.Errorf("busybox image: the import did not store %s", BusyboxRef)
}
