// Package images builds the node's built-in busybox image in Go and loads OCI
// image tarballs into containerd. There is no registry in drydock's real mode:
// every image a pod can run is imported on the node first (the built-in
// busybox at node start, others with `drydock image import FILE`).
package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BusyboxRef is the name the built-in image is stored under: what `image:
// busybox` normalises to, as Kubernetes and containerd normalise names.
const BusyboxRef = "docker.io/library/busybox:latest"

// DefaultBusyboxPath is where Debian's busybox-static installs the binary.
const DefaultBusyboxPath = "/bin/busybox"

// imagePath is the PATH the image's config sets, as Docker's images do.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// epoch is the modification time of every file in the layer and the image's
// creation time, so that one busybox binary always gives one image digest.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Applets asks a busybox binary which applets it has (`busybox --list`).
func Applets(busyboxPath string) ([]string, error) {
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busyboxPath, err)
	}
	var list []string
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" && !strings.Contains(name, "/") {
			list = append(list, name)
		}
	}
	sort.Strings(list)
	if len(list) == 0 {
		return nil, fmt.Errorf("%s --list: no applets", busyboxPath)
	}
	return list, nil
}

// WriteBusybox writes an OCI image layout tarball of the busybox image to w:
// one layer with the binary at /bin/busybox, a symlink /bin/<applet> for
// each applet it lists, a minimal /etc (passwd, group) and the usual empty
// directories; a config whose default command is ["sh"]; the index names the
// image BusyboxRef.
func WriteBusybox(w io.Writer, busyboxPath string) error {
	return WriteBusyboxImage(w, busyboxPath, BusyboxRef, ocispec.ImageConfig{Cmd: []string{"sh"}})
}

// WriteBusyboxImage writes an image with the busybox layer under another
// name and config (PATH is added to its Env when missing): variants for
// tests, or images that run a script by default.
func WriteBusyboxImage(w io.Writer, busyboxPath, ref string, config ocispec.ImageConfig) error {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("busybox image: %w", err)
	}
	applets, err := Applets(busyboxPath)
	if err != nil {
		return fmt.Errorf("busybox image: %w", err)
	}
	layer, diffID, err := busyboxLayer(bin, applets)
	if err != nil {
		return fmt.Errorf("busybox image: %w", err)
	}
	hasPath := false
	for _, e := range config.Env {
		hasPath = hasPath || strings.HasPrefix(e, "PATH=")
	}
	if !hasPath {
		config.Env = append([]string{imagePath}, config.Env...)
	}
	cfg := ocispec.Image{
		Created:  &epoch,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   config,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &epoch, CreatedBy: "drydock: busybox from " + busyboxPath}},
	}
	return WriteLayout(w, ref, cfg, [][]byte{layer})
}

// BusyboxTarball returns the busybox image as an OCI layout tarball.
func BusyboxTarball(busyboxPath string) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteBusybox(&buf, busyboxPath); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// busyboxLayer returns the gzipped layer and the digest of its uncompressed tar.
func busyboxLayer(bin []byte, applets []string) (gz []byte, diffID digest.Digest, err error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	dir := func(name string, mode int64) {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
		}
	}
	file := func(name string, mode int64, data []byte) {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX})
		}
		if err == nil {
			_, err = tw.Write(data)
		}
	}
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "usr/sbin", "var", "var/log"} {
		mode := int64(0o755)
		if d == "root" {
			mode = 0o700
		}
		dir(d, mode)
	}
	dir("tmp", 0o1777)
	dir("var/tmp", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, a := range applets {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX})
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, "", err
	}
	diffID = digest.FromBytes(raw.Bytes())
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed) // the level is valid
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return out.Bytes(), diffID, nil
}

// WriteLayout writes an OCI image layout tarball (oci-layout, index.json,
// blobs/sha256/...) holding one image: cfg with gzipped layers, named ref in
// the index (io.containerd.image.name and org.opencontainers.image.ref.name).
func WriteLayout(w io.Writer, ref string, cfg ocispec.Image, gzLayers [][]byte) error {
	type blob struct {
		desc ocispec.Descriptor
		data []byte
	}
	var blobs []blob
	add := func(mediaType string, data []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		blobs = append(blobs, blob{d, data})
		return d
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    add(ocispec.MediaTypeImageConfig, cfgJSON),
	}
	for _, l := range gzLayers {
		m.Layers = append(m.Layers, add(ocispec.MediaTypeImageLayerGzip, l))
	}
	mJSON, err := json.Marshal(m)
	if err != nil {
		return err
	}
	md := add(ocispec.MediaTypeImageManifest, mJSON)
	md.Platform = &ocispec.Platform{Architecture: cfg.Architecture, OS: cfg.OS}
	md.Annotations = map[string]string{
		"io.containerd.image.name": ref,
		ocispec.AnnotationRefName:  ref,
	}
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{md}}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	layoutJSON, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}) // a fixed struct

	tw := tar.NewWriter(w)
	put := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put(ocispec.ImageLayoutFile, 0o644, layoutJSON); err != nil {
		return err
	}
	if err := put("index.json", 0o644, indexJSON); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	seen := map[digest.Digest]bool{}
	for _, b := range blobs {
		if seen[b.desc.Digest] {
			continue
		}
		seen[b.desc.Digest] = true
		if err := put("blobs/sha256/"+b.desc.Digest.Encoded(), 0o644, b.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
