package regtest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// BundleYML is a valid apb.yml for a bundle called name.
func BundleYML(name string) []byte {
	return fmt.Appendf(nil, `version: '1.0'
name: %s
description: %s test bundle
bindable: true
async: optional
tags: [test]
metadata:
  displayName: %s
plans:
  - name: default
    description: the only plan
    free: true
    parameters:
      - name: size
        title: Size
        type: int
        default: 1
`, name, name, name)
}

// BundleImage is a one-layer image whose layer holds apb.yml under
// /opt/apb and whose config carries the spec label (when apbYML is not
// nil) plus extra labels.
func BundleImage(apbYML []byte, extra map[string]string) (v1.Image, error) {
	labels := maps.Clone(extra)
	if labels == nil {
		labels = map[string]string{}
	}
	if apbYML != nil {
		labels[apb.LabelSpec] = apb.EncodeLabel(apbYML)
	}
	return ImageWithLabels(labels, map[string][]byte{"opt/apb/apb.yml": apbYML})
}

// ImageWithLabels is a one-layer image with these files and config labels.
func ImageWithLabels(labels map[string]string, files map[string][]byte) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Labels = labels
	cf.Config.Cmd = []string{"provision"}
	return mutate.ConfigFile(img, cf)
}

// OCI converts an image to an OCI manifest and config.
func OCI(img v1.Image) v1.Image {
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// Platform sets an image's platform in its config.
func Platform(img v1.Image, os, arch string) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	return mutate.ConfigFile(img, cf)
}

// Index is a manifest list (Docker, or OCI when oci) of images, each
// described with the platform of its config.
func Index(oci bool, imgs ...v1.Image) (v1.ImageIndex, error) {
	var idx v1.ImageIndex = empty.Index
	mt := types.DockerManifestList
	if oci {
		mt = types.OCIImageIndex
	}
	idx = mutate.IndexMediaType(idx, mt)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}},
		})
	}
	return idx, nil
}
