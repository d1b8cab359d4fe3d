package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// local reads bundle sources from a directory: <path>/<bundle>/apb.yml.
// The image name is the bundle directory's name; the pull reference is
// <registry name>/<bundle dir>:<tag>, the tag a runtime builds the
// directory's Dockerfile under.
type local struct {
	name, path, tag string
}

func newLocal(c Config) (*local, error) {
	return &local{name: c.Name, path: c.Path, tag: c.Tag}, nil
}

func (l *local) list(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(l.path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		// A directory without apb.yml (a shared role, docs) is not a bundle.
		if _, err := os.Stat(filepath.Join(l.path, e.Name(), "apb.yml")); err == nil {
			names = append(names, e.Name())
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bundle %s: %w", e.Name(), err)
		}
	}
	sort.Strings(names)
	return names, nil
}

// localState is the file content resolve read, so read parses the same
// bytes the digest was computed over.
type localState struct {
	apbYML     []byte
	dockerfile []byte
}

func (l *local) resolve(ctx context.Context, name, _ string) (ref, error) {
	dir := filepath.Join(l.path, name)
	data, err := os.ReadFile(filepath.Join(dir, "apb.yml"))
	if err != nil {
		return ref{}, fmt.Errorf("reading apb.yml: %w", err)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ref{}, fmt.Errorf("reading Dockerfile: %w", err)
	}
	h := sha256.New()
	h.Write(data)
	if df != nil {
		// The runtime label lives in the Dockerfile, so it is part of what
		// the cached spec depends on.
		h.Write([]byte{0})
		h.Write(df)
	}
	return ref{
		name:   name,
		image:  l.name + "/" + name + ":" + l.tag,
		digest: "sha256:" + hex.EncodeToString(h.Sum(nil)),
		state:  localState{apbYML: data, dockerfile: df},
	}, nil
}

// runtimeLabel finds LABEL com.redhat.apb.runtime / com.redhat.bundle.runtime
// in a Dockerfile, the value an image built from it will carry.
var runtimeLabel = regexp.MustCompile(`com\.redhat\.(?:apb|bundle)\.runtime["']?\s*=\s*["']?([0-9]+)`)

func (l *local) read(ctx context.Context, r ref) (*apb.Spec, error) {
	st := r.state.(localState)
	source := filepath.Join(l.path, r.name, "apb.yml")
	s, err := apb.Parse(st.apbYML, source)
	if err != nil {
		return nil, &specError{err}
	}
	if s.Runtime == 0 {
		// An image without the label is runtime 1, but a source without
		// one in its own Dockerfile is not: it is built FROM an apb-base
		// that carries "2" (or elsewhere, by today's contract). Runtime 1
		// changes how credentials are taken, so it must be said.
		s.Runtime = apb.MaxRuntime
		if m := runtimeLabel.FindSubmatch(st.dockerfile); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			if n < apb.MinRuntime || n > apb.MaxRuntime {
				return nil, &specError{fmt.Errorf("bundle %q: Dockerfile runtime label %d not in %d..%d", source, n, apb.MinRuntime, apb.MaxRuntime)}
			}
			s.Runtime = n
		}
	}
	return s, nil
}
