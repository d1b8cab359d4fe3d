package store

import (
	"context"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// Backend is the state store as the broker, the jobs engine and the daemon
// use it. It has two implementations: *Store (etcd, embedded or external)
// and crd.Store (automationbroker.io/v1alpha1 custom resources, dao.type:
// crd). Both keep the records of types.go with the same meaning: every
// record has a Revision, a conditional Op applies only while the record's
// revision is still the one read (0: the record must not exist), a Commit
// whose compares fail changes nothing and returns ErrConflict, a missing
// record is ErrNotFound. The shared test suite (pkg/store/storetest) holds
// both to it.
type Backend interface {
	Healthy(ctx context.Context) error
	BrokerID(ctx context.Context) (string, error)
	Close() error

	GetInstance(ctx context.Context, id string) (*ServiceInstance, error)
	ListInstances(ctx context.Context) ([]*ServiceInstance, error)
	InstanceSpecIDs(ctx context.Context) (map[string]bool, error)
	GetBinding(ctx context.Context, id string) (*BindInstance, error)
	ListBindings(ctx context.Context) ([]*BindInstance, error)
	GetCredentials(ctx context.Context, id string) (*Credentials, error)
	GetJob(ctx context.Context, resourceID, token string) (*Job, error)
	InstanceJobs(ctx context.Context, instanceID string) ([]*Job, error)
	BindingJobs(ctx context.Context, bindingID string) ([]*Job, error)
	ListJobs(ctx context.Context) ([]*Job, error)
	UnfinishedJobs(ctx context.Context) ([]*Job, error)
	ReadIndex(ctx context.Context) (*Index, error)
	ListSpecs(ctx context.Context) ([]*apb.Spec, error)

	// Commit applies ops atomically and returns the revision every record
	// it wrote now has.
	Commit(ctx context.Context, ops ...Op) (int64, error)
	// CommitBatched applies unconditional ops in bounded batches.
	CommitBatched(ctx context.Context, ops []Op) error
}

var _ Backend = (*Store)(nil)

// KeyKind says which record a key names.
type KeyKind int

// The record kinds of the Automation Broker's layout.
const (
	KeySpec KeyKind = iota + 1
	KeyInstance
	KeyBinding
	KeyJob
	KeyCredentials
)

// ParseKey splits a record's key (Op.Key) into its kind and ids (the
// token only for a job): how another store files the records an Op names.
func ParseKey(key string) (kind KeyKind, id, token string, err error) {
	for _, p := range []struct {
		prefix string
		kind   KeyKind
	}{{prefixSpec, KeySpec}, {prefixInstance, KeyInstance}, {prefixBinding, KeyBinding}, {prefixCredentials, KeyCredentials}} {
		if rest, ok := cutPrefix(key, p.prefix); ok {
			id, err := unescape(rest)
			if err != nil || id == "" {
				return 0, "", "", errKey(key, err)
			}
			return p.kind, id, "", nil
		}
	}
	id, token, err = parseJobKey(key)
	if err != nil {
		return 0, "", "", err
	}
	return KeyJob, id, token, nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string {
	if e.err == nil {
		return "malformed key " + e.key
	}
	return "malformed key " + e.key + ": " + e.err.Error()
}

func errKey(key string, err error) error { return &keyError{key, err} }

// FillIDs files a job record that names no instance or binding (the
// Automation Broker's) under resourceID: a binding's for bind and unbind.
func (j *Job) FillIDs(resourceID string) { j.fillIDs(resourceID) }
