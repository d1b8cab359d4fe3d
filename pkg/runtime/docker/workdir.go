package docker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// An action's directory on the engine's host, <WorkDir>/<broker>/<container>
// (mode 0700: only the broker reaches it; the container reaches what is
// mounted from it):
//
//	sources/<source>/  copies of the mounts' files (0755/0644), mounted read-only
//	results/           mounted read-write at ResultsPath (0777: the bundle
//	                   runs as 1001 or an arbitrary uid)
//
// Copies rather than the sources themselves: the bundle sees a consistent
// snapshot, as the Kubernetes runtime's Secret copies, and the sources may
// stay readable by the broker alone (clouds.yaml with mode 0600).
const (
	dirSources = "sources"
	dirResults = "results"
)

// brokerDir is this broker's part of the work dir.
func (r *Runtime) brokerDir() string {
	id := nameChars(r.cfg.BrokerID, 100)
	if id == "" {
		id = "default"
	}
	return filepath.Join(r.cfg.WorkDir, id)
}

// maxSourceFile bounds what the runtime reads from a source directory.
const maxSourceFile = 1 << 20

// readSource returns the files of a source directory, file name to
// content: regular files (symbolic links followed), not those whose name
// starts with a dot (Kubernetes' ..data projection, editors' leftovers).
func readSource(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if st.Size() > maxSourceFile {
			return nil, fmt.Errorf("%s: larger than %d bytes", p, maxSourceFile)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}

// source is one mount source read for an action.
type source struct {
	name  string
	files map[string][]byte
}

// readSources reads each mount's source once, in the order of the mounts.
// A missing one fails the action before anything exists.
func (r *Runtime) readSources(a runtime.Action) ([]source, error) {
	var out []source
	seen := map[string]bool{}
	for _, m := range a.Mounts {
		if seen[m.Source] {
			continue
		}
		seen[m.Source] = true
		if m.Scope != runtime.ScopeBroker {
			// A tenant's own Secret (credentials_secret): an engine has no
			// namespaces to read it from, and a broker source of that name
			// is not the tenant's.
			return nil, fmt.Errorf("%s needs source %q from the request's namespace %q: the Docker runtime has no "+
				"namespaces and reads only the broker's own sources (use the broker-wide credentials)", a.FQName, m.Source, a.Target)
		}
		dir, err := r.cfg.sourceDir(m.Source)
		if err != nil {
			return nil, fmt.Errorf("%s needs %v", a.FQName, err)
		}
		files, err := readSource(dir)
		if err != nil {
			return nil, fmt.Errorf("source %q for %s: %w", m.Source, a.FQName, err)
		}
		out = append(out, source{m.Source, files})
	}
	return out, nil
}

// sourceCopyDir is where a source's copy lives in the action's directory.
func sourceCopyDir(work, source string) string {
	return filepath.Join(work, dirSources, nameChars(source, 100)+"-"+shortHash(source))
}

// prepareWork makes the action's directory with the copies of its
// sources and the results directory, and returns the container's mounts.
func prepareWork(work string, a runtime.Action, sources []source) ([]mount.Mount, error) {
	if err := os.MkdirAll(filepath.Dir(work), 0o700); err != nil {
		return nil, fmt.Errorf("making the work dir: %w", err)
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, fmt.Errorf("making the action's directory: %w", err)
	}
	results := filepath.Join(work, dirResults)
	if err := os.Mkdir(results, 0o777); err != nil {
		return nil, fmt.Errorf("making the results directory: %w", err)
	}
	// Mkdir's mode is cut by the umask; the bundle's uid must write here.
	if err := os.Chmod(results, 0o777); err != nil {
		return nil, fmt.Errorf("making the results directory writable: %w", err)
	}
	mounts := []mount.Mount{{Type: mount.TypeBind, Source: results, Target: ResultsPath}}
	for _, s := range sources {
		dir := sourceCopyDir(work, s.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("copying source %q: %w", s.name, err)
		}
		for name, data := range s.files {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return nil, fmt.Errorf("copying source %q: %w", s.name, err)
			}
			if err := os.Chmod(p, 0o644); err != nil {
				return nil, fmt.Errorf("copying source %q: %w", s.name, err)
			}
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("copying source %q: %w", s.name, err)
		}
	}
	mounted := map[[2]string]bool{}
	for _, m := range a.Mounts {
		k := [2]string{m.Source, m.Path}
		if mounted[k] {
			continue
		}
		mounted[k] = true
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: sourceCopyDir(work, m.Source), Target: m.Path, ReadOnly: true})
	}
	return mounts, nil
}

// readCopies reads the source copies of an action's directory back (for
// the redactor of an action re-attached after a restart).
func readCopies(work string) []map[string][]byte {
	entries, err := os.ReadDir(filepath.Join(work, dirSources))
	if err != nil {
		return nil
	}
	var out []map[string][]byte
	for _, e := range entries {
		if files, err := readSource(filepath.Join(work, dirSources, e.Name())); err == nil {
			out = append(out, files)
		}
	}
	return out
}

// readResult returns a results file's content ("" when the bundle wrote none).
func readResult(work, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(work, dirResults, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the bundle's %s: %w", name, err)
	}
	return string(b), nil
}

// readCredentials decodes what asb_encode_binding wrote: base64 of a JSON
// object. nil when the bundle gave none. Messages never quote the value.
func readCredentials(work string) (map[string]any, error) {
	raw, err := readResult(work, fileCredentials)
	if err != nil || raw == "" {
		return nil, err
	}
	js, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("the bundle's credentials (asb_encode_binding) are not base64")
	}
	var creds map[string]any
	if err := json.Unmarshal(js, &creds); err != nil {
		return nil, errors.New("the bundle's credentials (asb_encode_binding) are not a JSON object")
	}
	return creds, nil
}
