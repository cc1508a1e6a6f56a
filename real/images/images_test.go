package images_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/drydock-sim/drydock/real/containerd/ctrtest"
	"github.com/drydock-sim/drydock/real/images"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "docker.io/library/busybox:latest", want: "docker.io/library/busybox:latest"},
		{in: "example.com:5000/team/app:v2", want: "example.com:5000/team/app:v2"},
		{in: "nginx@sha256:" + strings.Repeat("a", 64), want: "docker.io/library/nginx@sha256:" + strings.Repeat("a", 64)},
		{in: "UPPER", err: "must be lowercase"},
		{in: "", err: "invalid reference format"},
	} {
		got, err := images.Normalize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Normalize(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(images.DefaultBusyboxPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox-static missing: %v", err)
		}
		t.Skip("needs busybox-static")
	}
}

// TestBusyboxLayout reads the tarball back as an OCI image layout and checks
// every blob's digest, the names, the config and the layer's files.
func TestBusyboxLayout(t *testing.T) {
	requireBusybox(t)
	tb, err := images.BusyboxTarball(images.DefaultBusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	again, err := images.BusyboxTarball(images.DefaultBusyboxPath)
	if err != nil || !bytes.Equal(tb, again) {
		t.Fatalf("two builds differ (err %v): the image must be reproducible", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(tb))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	var layout ocispec.ImageLayout
	if err := json.Unmarshal(files["oci-layout"], &layout); err != nil || layout.Version != ocispec.ImageLayoutVersion {
		t.Fatalf("oci-layout %q: %v", files["oci-layout"], err)
	}
	blob := func(d ocispec.Descriptor) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
		if !ok || digest.FromBytes(b) != d.Digest || int64(len(b)) != d.Size {
			t.Fatalf("blob %s missing or not matching its descriptor", d.Digest)
		}
		return b
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %+v", err, index)
	}
	md := index.Manifests[0]
	if md.Annotations["io.containerd.image.name"] != images.BusyboxRef || md.Annotations[ocispec.AnnotationRefName] != images.BusyboxRef {
		t.Errorf("index annotations %v, want the name %s", md.Annotations, images.BusyboxRef)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(blob(md), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(blob(m.Config), &cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Config.Cmd, " ") != "sh" || cfg.OS != "linux" || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v", cfg)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(m.Layers[0])))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if digest.FromBytes(raw) != cfg.RootFS.DiffIDs[0] {
		t.Error("layer diff ID does not match the uncompressed layer")
	}
	links := map[string]string{}
	var busyboxSize int64
	lr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			links[h.Name] = h.Linkname
		case tar.TypeReg:
			if h.Name == "bin/busybox" {
				busyboxSize = h.Size
				if h.Mode&0o111 == 0 {
					t.Error("bin/busybox is not executable")
				}
			}
		}
	}
	st, _ := os.Stat(images.DefaultBusyboxPath)
	if busyboxSize != st.Size() {
		t.Errorf("bin/busybox has %d bytes, want %d", busyboxSize, st.Size())
	}
	applets, _ := images.Applets(images.DefaultBusyboxPath)
	for _, a := range applets {
		if links["bin/"+a] != "busybox" {
			t.Errorf("applet %s: symlink %q, want bin/%s -> busybox", a, links["bin/"+a], a)
		}
	}
	for _, a := range []string{"sh", "sleep", "cat"} {
		if _, ok := links["bin/"+a]; !ok {
			t.Errorf("no /bin/%s", a)
		}
	}
}

func TestImportAndEnsure(t *testing.T) {
	requireBusybox(t)
	c, ns := ctrtest.Namespace(t)
	ctx := context.Background()
	first, err := images.EnsureBusybox(ctx, c, ns, "")
	if err != nil {
		t.Fatalf("EnsureBusybox: %v", err)
	}
	if first.Name != images.BusyboxRef || first.Digest == "" {
		t.Fatalf("EnsureBusybox = %+v", first)
	}
	nctx := namespaces.WithNamespace(ctx, ns)
	img, err := c.GetImage(nctx, images.BusyboxRef)
	if err != nil {
		t.Fatalf("image not stored: %v", err)
	}
	if ok, err := img.IsUnpacked(nctx, images.Snapshotter); err != nil || !ok {
		t.Fatalf("image not unpacked for overlayfs: %v %v", ok, err)
	}
	second, err := images.EnsureBusybox(ctx, c, ns, "")
	if err != nil || second != first {
		t.Fatalf("second EnsureBusybox = %+v, %v; want %+v", second, err, first)
	}

	// An archive naming its image by a short name is stored under the normalised one.
	var buf bytes.Buffer
	cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ocispec.RootFS{Type: "layers"}}
	if err := images.WriteLayout(&buf, "example.com/empty:v1", cfg, nil); err != nil {
		t.Fatal(err)
	}
	got, err := images.Import(ctx, c, ns, &buf)
	if err != nil || len(got) != 1 || got[0].Name != "example.com/empty:v1" {
		t.Fatalf("Import = %+v, %v", got, err)
	}
	if _, err := images.Import(ctx, c, ns, strings.NewReader("not a tarball")); err == nil {
		t.Fatal("Import of garbage succeeded")
	}
}
