package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The OSB API has no route that lists instances: a platform keeps its own
// record of what it created. So does apb: every instance it provisions
// and binding it creates is written to a record file, per broker URL, and
// `apb instances` lists them with their latest operation read from the
// broker. It works against any OSB broker (the Automation Broker too),
// and needs no route beyond the API; what other platforms created is
// theirs to list.

// instanceRecord is one instance apb provisioned.
type instanceRecord struct {
	Broker    string          `json:"broker"`
	ID        string          `json:"instance_id"`
	Service   string          `json:"service"`
	ServiceID string          `json:"service_id"`
	Plan      string          `json:"plan"`
	PlanID    string          `json:"plan_id"`
	Namespace string          `json:"namespace,omitempty"`
	Created   time.Time       `json:"created"`
	Bindings  []bindingRecord `json:"bindings,omitempty"`
}

type bindingRecord struct {
	ID      string    `json:"binding_id"`
	Created time.Time `json:"created"`
}

// records is the record file: $XDG_STATE_HOME/apb/instances.json.
type records struct {
	path string
}

func stateDir(getenv func(string) string) string {
	if d := getenv("APB_STATE_DIR"); d != "" {
		return d
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "apb")
	}
	home := getenv("HOME")
	if home == "" {
		home = os.TempDir()
	}
	return filepath.Join(home, ".local", "state", "apb")
}

type recordFile struct {
	Instances []instanceRecord `json:"instances"`
}

// update reads the file, lets fn change it and writes it back, under an
// exclusive lock so that concurrent apb commands do not lose records.
func (r records) update(fn func(f *recordFile) error) error {
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("instance records: %w", err)
	}
	lock, err := os.OpenFile(r.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("instance records: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("instance records: locking: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	f, err := r.read()
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("instance records: %w", err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("instance records: %w", err)
	}
	return nil
}

func (r records) read() (*recordFile, error) {
	f := &recordFile{}
	data, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("instance records: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("instance records %s: %w (move it away to start afresh)", r.path, err)
	}
	return f, nil
}

// list returns the records of one broker (all when broker is empty).
func (r records) list(broker string) ([]instanceRecord, error) {
	f, err := r.read()
	if err != nil {
		return nil, err
	}
	var out []instanceRecord
	for _, in := range f.Instances {
		if broker == "" || sameBroker(in.Broker, broker) {
			out = append(out, in)
		}
	}
	return out, nil
}

func (r records) get(broker, id string) (*instanceRecord, error) {
	all, err := r.list(broker)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, nil
}

func (r records) put(in instanceRecord) error {
	return r.update(func(f *recordFile) error {
		for i := range f.Instances {
			if sameBroker(f.Instances[i].Broker, in.Broker) && f.Instances[i].ID == in.ID {
				in.Bindings = f.Instances[i].Bindings
				f.Instances[i] = in
				return nil
			}
		}
		f.Instances = append(f.Instances, in)
		return nil
	})
}

func (r records) remove(broker, id string) error {
	return r.update(func(f *recordFile) error {
		f.Instances = slices.DeleteFunc(f.Instances, func(in instanceRecord) bool {
			return sameBroker(in.Broker, broker) && in.ID == id
		})
		return nil
	})
}

func (r records) putBinding(broker, id string, b bindingRecord) error {
	return r.update(func(f *recordFile) error {
		for i := range f.Instances {
			in := &f.Instances[i]
			if sameBroker(in.Broker, broker) && in.ID == id {
				if !slices.ContainsFunc(in.Bindings, func(x bindingRecord) bool { return x.ID == b.ID }) {
					in.Bindings = append(in.Bindings, b)
				}
			}
		}
		return nil
	})
}

func (r records) removeBinding(broker, id, bid string) error {
	return r.update(func(f *recordFile) error {
		for i := range f.Instances {
			in := &f.Instances[i]
			if sameBroker(in.Broker, broker) && in.ID == id {
				in.Bindings = slices.DeleteFunc(in.Bindings, func(x bindingRecord) bool { return x.ID == bid })
			}
		}
		return nil
	})
}

func sameBroker(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}
