package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// stateVersion is the -state file format; a file of another version is
// refused rather than half-read.
const stateVersion = 1

// saveDebounce groups the saves of a burst of changes.
const saveDebounce = 200 * time.Millisecond

type stateFile struct {
	Version  int                        `json:"version"`
	SavedAt  time.Time                  `json:"saved_at"`
	Services map[string]json.RawMessage `json:"services"`
}

// snapshot collects every service's state.
func (c *Cloud) snapshot() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, m := range c.services {
		st := m.svc.State()
		if st == nil {
			continue
		}
		b, err := st.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("%s state: %w", m.spec.Name, err)
		}
		out[m.spec.Name] = b
	}
	return out, nil
}

// readState reads the -state file: every service's saved state by name,
// nil when there is no file (or no -state).
func (c *Cloud) readState() (map[string]json.RawMessage, error) {
	if c.opts.StateFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("emulator: reading the state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("emulator: state file %s is not valid JSON: %w", c.opts.StateFile, err)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("emulator: state file %s has version %d, this emulator reads %d", c.opts.StateFile, f.Version, stateVersion)
	}
	if f.Services == nil {
		f.Services = map[string]json.RawMessage{}
	}
	return f.Services, nil
}

// restoreService restores one service from the saved states; a service
// the file does not name (saved by an emulator without it) keeps its
// start state.
func (c *Cloud) restoreService(name string, st core.Persistent, saved map[string]json.RawMessage) error {
	snap, ok := saved[name]
	if !ok || st == nil {
		return nil
	}
	if err := st.Restore(snap); err != nil {
		return fmt.Errorf("emulator: state file %s: %s: %w", c.opts.StateFile, name, err)
	}
	return nil
}

// persister writes the state file after changes (debounced) and on close.
type persister struct {
	path     string
	log      *slog.Logger
	snapshot func() (map[string]json.RawMessage, error)

	mu     sync.Mutex
	timer  *time.Timer
	closed bool
	saveMu sync.Mutex
}

func newPersister(path string, log *slog.Logger, snapshot func() (map[string]json.RawMessage, error)) *persister {
	return &persister{path: path, log: log, snapshot: snapshot}
}

func (p *persister) changed() {
	if p.path == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.timer != nil {
		return
	}
	p.timer = time.AfterFunc(saveDebounce, func() {
		p.mu.Lock()
		p.timer = nil
		p.mu.Unlock()
		if err := p.save(); err != nil {
			p.log.Error("saving the state", "file", p.path, "err", err)
		}
	})
}

func (p *persister) close() error {
	if p.path == "" {
		return nil
	}
	p.mu.Lock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	return p.save()
}

// save writes the file atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func (p *persister) save() error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	snap, err := p.snapshot()
	if err != nil {
		return err
	}
	b, err := json.Marshal(stateFile{Version: stateVersion, SavedAt: time.Now().UTC(), Services: snap})
	if err != nil {
		return err
	}
	return writeFileAtomic(p.path, b, 0o600)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
