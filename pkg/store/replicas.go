package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Keys of the replicas sharing a store (ours; the Automation Broker ran
// one replica).
const (
	// prefixReplicas holds one key per live replica, /osb/replicas/<id>,
	// bound to the replica's lease: it vanishes when the replica dies.
	prefixReplicas = "/osb/replicas/"
	// prefixLeader is the etcd election's prefix: candidates' keys are
	// /osb/leader/<lease id in hex>, the oldest one leads.
	prefixLeader = "/osb/leader"
)

// DefaultLeaseTTL is how long a replica that stopped renewing its lease
// still counts as alive (broker.leader_lease).
const DefaultLeaseTTL = 15 * time.Second

// MinLeaseTTL is the shortest lease etcd grants reliably.
const MinLeaseTTL = 2 * time.Second

// ReplicaOptions configure a replica's membership.
type ReplicaOptions struct {
	// LeaseTTL is the lease's time to live (default DefaultLeaseTTL),
	// rounded up to whole seconds: a replica that dies is known dead, and
	// its operations resumed elsewhere, that long after its last renewal.
	LeaseTTL time.Duration
	// Name starts the replica's id (default: the host name, which is the
	// pod name on Kubernetes); a random suffix makes it unique.
	Name   string
	Logger *slog.Logger
}

// Replica is this process among the brokers sharing a store: a lease kept
// alive while the process runs, a key /osb/replicas/<id> bound to it that
// tells the others it is alive, and a candidacy in the leader election on
// the same lease. When the lease is lost (etcd unreachable for longer
// than the lease, a process frozen as long) the replica stops counting
// itself alive a margin before etcd expires the lease, and joins again
// under a new id once etcd answers (Run): whatever ran under the old id
// is then the leader's to resume, and the election starts over.
//
// Replica implements manager.Elector (Campaign) and what pkg/jobs needs to
// tell its operations apart from those of dead replicas (Identity,
// Alive).
type Replica struct {
	s   *Store
	o   ReplicaOptions
	ttl int // seconds
	log *slog.Logger

	mu      sync.Mutex
	cur     *membership
	changed chan struct{} // closed when cur is replaced
}

// membership is one lease of the replica, under one id.
type membership struct {
	id      string
	session *concurrency.Session
	// alive ends when the lease is lost or given up.
	alive  context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// JoinReplicas makes this process a replica of the store's brokers. With
// the embedded etcd, which no other process can use, whatever a previous
// process left (its replica key, its candidacy) is removed at once rather
// than after its lease runs out. Run keeps the membership; Close ends it.
func (s *Store) JoinReplicas(ctx context.Context, o ReplicaOptions) (*Replica, error) {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.LeaseTTL < MinLeaseTTL {
		return nil, fmt.Errorf("replica lease %s is shorter than %s", o.LeaseTTL, MinLeaseTTL)
	}
	if o.Name == "" {
		o.Name, _ = os.Hostname()
	}
	if o.Logger == nil {
		o.Logger = s.log
	}
	r := &Replica{s: s, o: o, ttl: int(math.Ceil(o.LeaseTTL.Seconds())), log: o.Logger, changed: make(chan struct{})}
	if s.embed != nil {
		if err := r.removeStale(ctx); err != nil {
			return nil, err
		}
	}
	m, err := r.join(ctx)
	if err != nil {
		return nil, err
	}
	r.cur = m
	return r, nil
}

// margin is how long before etcd expires an unrenewed lease the replica
// stops counting itself alive: long enough to stop its operations before
// another replica may resume them.
func (r *Replica) margin() time.Duration {
	return max(time.Duration(r.ttl)*time.Second/4, 500*time.Millisecond)
}

// replicaInfo is the value of a replica's key, for people looking.
type replicaInfo struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

func newReplicaID(name string) string {
	var b [4]byte
	rand.Read(b[:])
	clean := strings.Map(func(c rune) rune {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.':
			return c
		case 'A' <= c && c <= 'Z':
			return c + 'a' - 'A'
		}
		return '-'
	}, name)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	if clean == "" {
		clean = "broker"
	}
	return clean + "-" + hex.EncodeToString(b[:])
}

// unavailable marks etcd failures of the replica's calls.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
}

// join takes a new lease, under a new id, and announces it.
func (r *Replica) join(ctx context.Context) (*membership, error) {
	cctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	grant, err := r.s.cli.Grant(cctx, int64(r.ttl))
	if err != nil {
		return nil, unavailable("granting the replica lease", err)
	}
	// The session renews the lease for as long as the client lives, not
	// for as long as this call.
	sess, err := concurrency.NewSession(r.s.cli, concurrency.WithLease(grant.ID), concurrency.WithTTL(r.ttl))
	if err != nil {
		r.s.cli.Revoke(context.WithoutCancel(cctx), grant.ID)
		return nil, unavailable("keeping the replica lease alive", err)
	}
	id := newReplicaID(r.o.Name)
	host, _ := os.Hostname()
	info, _ := json.Marshal(replicaInfo{Host: host, PID: os.Getpid(), Started: time.Now().UTC()})
	if _, err := r.s.cli.Put(cctx, prefixReplicas+id, string(info), clientv3.WithLease(grant.ID)); err != nil {
		sess.Orphan()
		r.s.cli.Revoke(context.WithoutCancel(cctx), grant.ID)
		return nil, unavailable("announcing the replica", err)
	}
	alive, lose := context.WithCancel(context.Background())
	m := &membership{id: id, session: sess, alive: alive, cancel: lose}
	// The session's own renewals are not visible: a second keep-alive on
	// the same lease shares them and tells when each one was answered.
	ka, err := r.s.cli.KeepAlive(alive, grant.ID)
	if err != nil {
		m.close(r.s, r.s.timeout)
		return nil, unavailable("watching the replica lease", err)
	}
	go r.watchdog(m, ka)
	r.log.Info("joined the brokers sharing the store", "replica", id, "lease_ttl", time.Duration(r.ttl)*time.Second)
	return m, nil
}

// watchdog ends the membership when the lease was not renewed in time:
// a margin before etcd would expire it, so that this replica stops its
// work before another may take it over.
func (r *Replica) watchdog(m *membership, ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer m.cancel()
	timer := time.NewTimer(time.Duration(r.ttl)*time.Second - r.margin())
	defer timer.Stop()
	for {
		select {
		case resp, ok := <-ka:
			if !ok || resp == nil {
				if m.alive.Err() == nil {
					r.log.Warn("replica lease lost", "replica", m.id)
				}
				return
			}
			timer.Reset(time.Duration(resp.TTL)*time.Second - r.margin())
		case <-timer.C:
			r.log.Warn("replica lease not renewed in time: giving it up", "replica", m.id)
			return
		case <-m.session.Done():
			return
		case <-m.alive.Done():
			return
		}
	}
}

// close ends the membership and revokes its lease, which removes its key
// and its candidacy at once.
func (m *membership) close(s *Store, timeout time.Duration) error {
	m.closeOnce.Do(func() {
		m.cancel()
		m.session.Orphan()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if _, err := s.cli.Revoke(ctx, m.session.Lease()); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			m.closeErr = unavailable("revoking the replica lease", err)
		}
	})
	return m.closeErr
}

// removeStale revokes the leases of replicas a previous process left in
// an embedded etcd: they cannot be alive, the data directory is ours.
func (r *Replica) removeStale(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	leases := map[clientv3.LeaseID]bool{}
	for _, p := range []string{prefixReplicas, prefixLeader + "/"} {
		// Not keys only: etcd leaves the lease out of such answers.
		resp, err := r.s.cli.Get(ctx, p, clientv3.WithPrefix())
		if err != nil {
			return unavailable("reading replicas", err)
		}
		for _, kv := range resp.Kvs {
			if kv.Lease != 0 {
				leases[clientv3.LeaseID(kv.Lease)] = true
			}
		}
	}
	for id := range leases {
		if _, err := r.s.cli.Revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return unavailable("removing a previous process's replica", err)
		}
	}
	if len(leases) > 0 {
		r.log.Info("removed the replica leases a previous broker left in the embedded etcd", "count", len(leases))
	}
	return nil
}

func (r *Replica) current() (*membership, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.changed
}

// ID is the replica's current id.
func (r *Replica) ID() string {
	m, _ := r.current()
	return m.id
}

// Identity returns the replica's current id and a context that ends when
// that identity is lost: work done under it must stop then, since the
// leader may resume it elsewhere.
func (r *Replica) Identity() (string, context.Context) {
	m, _ := r.current()
	return m.id, m.alive
}

// Alive returns the ids of the replicas whose lease is alive.
func (r *Replica) Alive(ctx context.Context) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	resp, err := r.s.cli.Get(ctx, prefixReplicas, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, unavailable("reading replicas", err)
	}
	out := make(map[string]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), prefixReplicas)] = true
	}
	return out, nil
}

// Departures signals (coalesced) each time a replica's key went away, and
// once at first: the leader then resumes what the dead replica left.
func (r *Replica) Departures(ctx context.Context) <-chan struct{} {
	return r.s.changes(ctx, prefixReplicas, true, func(ev *clientv3.Event) bool { return ev.Type == clientv3.EventTypeDelete })
}

// Run keeps the membership until ctx ends, then closes it. A lost lease
// is replaced by a new one, under a new id, as soon as etcd grants it.
func (r *Replica) Run(ctx context.Context) error {
	for {
		m, _ := r.current()
		select {
		case <-ctx.Done():
			if err := r.Close(); err != nil {
				// It runs out by itself within the lease.
				r.log.Warn("leaving the brokers sharing the store", "err", err)
			}
			return nil
		case <-m.alive.Done():
		}
		// Gone already, or about to be: make sure, so that the others
		// resume its work without waiting for the lease to run out.
		m.close(r.s, r.s.timeout)
		next, err := r.rejoin(ctx)
		if err != nil {
			return nil // ctx ended
		}
		r.mu.Lock()
		r.cur = next
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// rejoin joins under a new id, retrying until etcd answers or ctx ends.
func (r *Replica) rejoin(ctx context.Context) (*membership, error) {
	backoff := 100 * time.Millisecond
	for {
		next, err := r.join(ctx)
		if err == nil {
			return next, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.log.Warn("rejoining the brokers sharing the store", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Close gives up the membership: the lease is revoked, so the replica's
// key and candidacy go at once and the other replicas resume what was in
// flight here without waiting for the lease to run out.
func (r *Replica) Close() error {
	m, _ := r.current()
	if err := m.close(r.s, r.s.timeout); err != nil {
		return err
	}
	r.log.Info("left the brokers sharing the store", "replica", m.id)
	return nil
}

// Leader returns the id of the replica that leads now ("" when none).
func (r *Replica) Leader(ctx context.Context) (string, error) {
	m, _ := r.current()
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	resp, err := concurrency.NewElection(m.session, prefixLeader).Leader(ctx)
	switch {
	case errors.Is(err, concurrency.ErrElectionNoLeader):
		return "", nil
	case err != nil:
		return "", unavailable("reading the leader", err)
	}
	return string(resp.Kvs[0].Value), nil
}

// TryLead enters the election without waiting and reports whether this
// replica leads now. Its candidacy stays, so no other replica can lead
// before it gives up or loses its lease; Campaign then returns at once.
func (r *Replica) TryLead(ctx context.Context) (bool, error) {
	m, _ := r.current()
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	// The key concurrency.Election makes for this session, so that its
	// Campaign finds the candidacy and keeps it.
	key := fmt.Sprintf("%s/%x", prefixLeader, m.session.Lease())
	_, err := r.s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, m.id, clientv3.WithLease(m.session.Lease()))).
		Commit()
	if err != nil {
		return false, unavailable("entering the leader election", err)
	}
	resp, err := concurrency.NewElection(m.session, prefixLeader).Leader(ctx)
	if err != nil {
		return false, unavailable("reading the leader", err)
	}
	return string(resp.Kvs[0].Key) == key, nil
}

// Campaign blocks until this replica leads, or ctx ends (manager.Elector).
// The returned channel is closed when the leadership is lost: the lease
// was lost, or the leader key was deleted. While the replica has no live
// lease it waits for the next one.
func (r *Replica) Campaign(ctx context.Context) (<-chan struct{}, error) {
	for {
		m, changed := r.current()
		if m.alive.Err() != nil {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		e := concurrency.NewElection(m.session, prefixLeader)
		cctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(m.alive, cancel)
		err := e.Campaign(cctx, m.id)
		stop()
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case m.alive.Err() != nil:
			continue // lost the lease while waiting: campaign with the next
		case err != nil:
			return nil, unavailable("campaigning for leadership", err)
		}
		lost := make(chan struct{})
		go r.watchLeadership(m, e.Key(), e.Rev(), lost)
		r.log.Info("this replica leads", "replica", m.id)
		return lost, nil
	}
}

// watchLeadership closes lost when the membership ends or the leader key
// is deleted (by hand: the next candidate then leads).
func (r *Replica) watchLeadership(m *membership, key string, created int64, lost chan struct{}) {
	defer close(lost)
	ctx := m.alive
	from := created + 1
	for ctx.Err() == nil {
		wch := r.s.cli.Watch(clientv3.WithRequireLeader(ctx), key, clientv3.WithRev(from), clientv3.WithFilterPut())
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			if len(wr.Events) > 0 {
				r.log.Warn("the leader key was deleted: leadership lost", "replica", m.id)
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		// The watch broke (compaction, etcd without a leader): look again.
		gctx, cancel := context.WithTimeout(ctx, r.s.timeout)
		resp, err := r.s.cli.Get(gctx, key)
		cancel()
		switch {
		case err != nil:
			time.Sleep(200 * time.Millisecond)
			continue
		case len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != created:
			r.log.Warn("the leader key is gone: leadership lost", "replica", m.id)
			return
		}
		from = resp.Header.Revision + 1
	}
}
