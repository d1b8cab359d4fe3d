package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// replicaSet is what the daemon needs of the brokers sharing its store:
// the manager's election, the jobs engine's identities, and the leader's
// duties' signals.
type replicaSet interface {
	Campaign(ctx context.Context) (lost <-chan struct{}, err error)
	Identity() (id string, alive context.Context)
	Alive(ctx context.Context) (map[string]bool, error)
	Departures(ctx context.Context) <-chan struct{}
	Leader(ctx context.Context) (string, error)
	TryLead(ctx context.Context) (bool, error)
	Run(ctx context.Context) error
	Close() error
}

// replicated is a store several brokers can share: etcd, whose leases,
// election and watches carry the replicas' coordination.
type replicated interface {
	JoinReplicas(ctx context.Context, o store.ReplicaOptions) (*store.Replica, error)
	bootstrapRequests
	catalogWatcher
}

// solo stands for the replica set of a store without replica support (the
// CRD store): this broker is the only one and always leads. Bootstrap
// requests are passed in process and the catalog changes only here. Two
// brokers on one CRD store would both recover the same operations, so the
// CRD store is for one replica (the deploy/ default).
type solo struct {
	id string

	mu      sync.Mutex
	pending int64
	subs    []chan struct{}
}

func newSolo() *solo {
	b := make([]byte, 8)
	rand.Read(b)
	return &solo{id: "solo-" + hex.EncodeToString(b)}
}

func (s *solo) Campaign(ctx context.Context) (<-chan struct{}, error) {
	return make(chan struct{}), nil // never lost
}

func (s *solo) Identity() (string, context.Context) { return s.id, context.Background() }

func (s *solo) Alive(context.Context) (map[string]bool, error) {
	return map[string]bool{s.id: true}, nil
}

// Departures signals once at first, as the etcd replicas' do: recovery
// then resumes what a previous process left in flight.
func (s *solo) Departures(context.Context) <-chan struct{} { return once() }

func (s *solo) Leader(context.Context) (string, error) { return s.id, nil }
func (s *solo) TryLead(context.Context) (bool, error)  { return true, nil }
func (s *solo) Run(ctx context.Context) error          { <-ctx.Done(); return nil }
func (s *solo) Close() error                           { return nil }

// CatalogChanges signals once at first; no other broker changes it.
func (s *solo) CatalogChanges(context.Context) <-chan struct{} { return once() }

func (s *solo) RequestBootstrap(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending++
	for _, c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // one signal pending is enough
		}
	}
	return nil
}

func (s *solo) BootstrapRequests(ctx context.Context) <-chan struct{} {
	c := once()
	s.mu.Lock()
	s.subs = append(s.subs, c)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.subs {
			if x == c {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				break
			}
		}
	}()
	return c
}

func (s *solo) PendingBootstrap(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, nil
}

func (s *solo) BootstrapServed(_ context.Context, rev int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == rev {
		s.pending = 0
	}
	return nil
}

// once is a channel with one signal waiting, buffered for one more.
func once() chan struct{} {
	c := make(chan struct{}, 1)
	c <- struct{}{}
	return c
}
