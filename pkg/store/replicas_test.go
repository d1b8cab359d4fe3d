package store

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// sharedEtcd starts an etcd server on 127.0.0.1, as replicas of the
// broker share one, and returns its client URL.
func sharedEtcd(t *testing.T) string {
	t.Helper()
	port := func() url.URL {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return url.URL{Scheme: "http", Host: l.Addr().String()}
	}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(t.TempDir(), "etcd")
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu, pu := port(), port()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("etcd not ready within 60 s")
	}
	return cu.String()
}

const testLease = 2 * time.Second

// replica opens a store client of its own on the shared etcd and joins.
func replica(t *testing.T, endpoint string) (*Store, *Replica) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{Endpoints: []string{endpoint}, RequestTimeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r, err := s.JoinReplicas(ctx, ReplicaOptions{LeaseTTL: testLease, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type campaign struct {
	lost <-chan struct{}
	err  error
}

func campaignAsync(ctx context.Context, r *Replica) chan campaign {
	out := make(chan campaign, 1)
	go func() {
		lost, err := r.Campaign(ctx)
		out <- campaign{lost, err}
	}()
	return out
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Three replicas on one etcd: one leads at a time; when it leaves (its
// lease revoked at stop, or run out when it died) the next one leads, and
// the others see it gone.
func TestElection(t *testing.T) {
	ep := sharedEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cases := []struct {
		name  string
		leave func(s *Store, r *Replica)
		// within is how soon after leaving the next one must lead.
		within time.Duration
	}{
		{"leader stops: lease revoked, the next leads at once", func(_ *Store, r *Replica) { r.Close() }, time.Second},
		{"leader dies: its lease runs out", func(s *Store, r *Replica) {
			// The process is gone: nothing renews, nothing revokes.
			m, _ := r.current()
			m.cancel()
			m.session.Orphan()
		}, testLease + 2*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			type member struct {
				s *Store
				r *Replica
				c chan campaign
			}
			var ms []member
			for range 3 {
				s, r := replica(t, ep)
				ms = append(ms, member{s, r, campaignAsync(ctx, r)})
			}
			var leader member
			var term campaign
			within(t, 5*time.Second, "a leader", func() bool {
				for _, m := range ms {
					select {
					case term = <-m.c:
						leader = m
						return true
					default:
					}
				}
				return false
			})
			if term.err != nil {
				t.Fatal(term.err)
			}
			time.Sleep(100 * time.Millisecond)
			var rest []member
			for _, m := range ms {
				if m.r == leader.r {
					continue
				}
				rest = append(rest, m)
				select {
				case <-m.c:
					t.Fatal("two replicas lead at once")
				default:
				}
			}
			if id, err := rest[0].r.Leader(ctx); err != nil || id != leader.r.ID() {
				t.Fatalf("Leader() = %q, %v; want %q", id, err, leader.r.ID())
			}
			gone := rest[0].r.Departures(ctx)
			<-gone // the first signal
			left := time.Now()
			c.leave(leader.s, leader.r)
			within(t, c.within, "the next leader", func() bool {
				for _, m := range rest {
					select {
					case term = <-m.c:
						return true
					default:
					}
				}
				return false
			})
			t.Logf("next leader after %s", time.Since(left).Round(time.Millisecond))
			if term.err != nil {
				t.Fatal(term.err)
			}
			within(t, time.Second, "the old leader's identity to end", func() bool { _, a := leader.r.Identity(); return a.Err() != nil })
			select {
			case <-gone:
			case <-time.After(time.Second):
				t.Fatal("no departure signalled")
			}
			alive, err := rest[0].r.Alive(ctx)
			if err != nil || alive[leader.r.ID()] || !alive[rest[0].r.ID()] || !alive[rest[1].r.ID()] {
				t.Fatalf("Alive = %v, %v: want the two left", alive, err)
			}
			for _, m := range rest {
				m.r.Close()
			}
		})
	}
}

// freezer forwards TCP to etcd until frozen: then nothing gets through
// either way and nothing is closed, as when a network partition cuts a
// replica off.
type freezer struct {
	ln     net.Listener
	frozen chan struct{}
}

func newFreezer(t *testing.T, upstream string) (*freezer, string) {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, frozen: make(chan struct{})}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close() })
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			select {
			case <-f.frozen:
				<-stop // dropped, and nothing more
				src.Close()
				dst.Close()
				return
			default:
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				src.Close()
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", u.Host)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return f, "http://" + ln.Addr().String()
}

func (f *freezer) freeze() { close(f.frozen) }

// A replica cut off from etcd gives its identity up before etcd expires
// its lease, so it stops its work before another replica may take it.
func TestLeaseLostBeforeExpiry(t *testing.T) {
	ep := sharedEtcd(t)
	ctx := context.Background()
	_, watcher := replica(t, ep)
	f, via := newFreezer(t, ep)
	_, r := replica(t, via)
	id, alive := r.Identity()
	gone := watcher.Departures(ctx)
	<-gone
	time.Sleep(testLease / 2) // a renewal or two
	if alive.Err() != nil {
		t.Fatal("the replica lost its identity before it was cut off")
	}
	cut := time.Now()
	f.freeze()
	lost := make(chan time.Time, 1)
	go func() {
		<-alive.Done()
		lost <- time.Now()
	}()
	var expiredAt time.Time
	select {
	case <-gone:
		expiredAt = time.Now()
	case <-time.After(testLease + 3*time.Second):
		t.Fatal("the cut-off replica's lease did not expire")
	}
	var lostAt time.Time
	select {
	case lostAt = <-lost:
	case <-time.After(3 * time.Second):
		t.Fatal("the cut-off replica still counts itself alive after its lease expired")
	}
	t.Logf("identity given up after %s, lease expired after %s", lostAt.Sub(cut).Round(time.Millisecond), expiredAt.Sub(cut).Round(time.Millisecond))
	if !lostAt.Before(expiredAt) {
		t.Fatalf("identity %s given up %s after etcd expired its lease: another replica could already run its work",
			id, lostAt.Sub(expiredAt))
	}
	if live, _ := watcher.Alive(ctx); live[id] {
		t.Errorf("%s still alive after its lease expired", id)
	}
}

// A replica whose lease is gone (revoked by an operator, expired while
// etcd was unreachable) joins again under a new id and can lead again;
// its leadership ended with the old lease.
func TestRejoinAfterLosingTheLease(t *testing.T) {
	ep := sharedEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin, _ := replica(t, ep)
	_, r := replica(t, ep)
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()
	lost, err := r.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, oldAlive := r.Identity()
	m, _ := r.current()
	if _, err := admin.cli.Revoke(ctx, m.session.Lease()); err != nil {
		t.Fatal(err)
	}
	within(t, 3*time.Second, "leadership lost", func() bool { return closed(lost) })
	within(t, time.Second, "the old identity given up", func() bool { return oldAlive.Err() != nil })
	within(t, 5*time.Second, "a new identity", func() bool { id, a := r.Identity(); return id != old && a.Err() == nil })
	if _, err := r.Campaign(ctx); err != nil {
		t.Fatalf("campaign after rejoining: %v", err)
	}
	if id, _ := r.Leader(ctx); id != r.ID() {
		t.Errorf("leader %q, want the rejoined %q", id, r.ID())
	}
	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	live, err := liveReplicas(admin)
	if err != nil || live[r.ID()] {
		t.Errorf("after Run returned: alive %v, %v; want the replica gone (lease revoked)", live, err)
	}
}

// liveReplicas lists the replicas' keys as another broker sees them.
func liveReplicas(s *Store) (map[string]bool, error) {
	resp, err := s.cli.Get(context.Background(), prefixReplicas, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)[len(prefixReplicas):]] = true
	}
	return out, nil
}

// The leader key deleted by hand ends the leadership: the next candidate
// leads, so this one must stop.
func TestLeaderKeyDeleted(t *testing.T) {
	ep := sharedEtcd(t)
	ctx := context.Background()
	admin, _ := replica(t, ep)
	_, r := replica(t, ep)
	lost, err := r.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.cli.Delete(ctx, prefixLeader+"/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	within(t, 3*time.Second, "leadership lost", func() bool { return closed(lost) })
}

// TryLead says at once whether this replica leads and keeps its
// candidacy: no other can lead until it leaves; its Campaign then returns
// at once.
func TestTryLead(t *testing.T) {
	ep := sharedEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, a := replica(t, ep)
	_, b := replica(t, ep)
	if lead, err := a.TryLead(ctx); err != nil || !lead {
		t.Fatalf("first TryLead = %v, %v; want true", lead, err)
	}
	if lead, err := b.TryLead(ctx); err != nil || lead {
		t.Fatalf("second TryLead = %v, %v; want false", lead, err)
	}
	bc := campaignAsync(ctx, b)
	ac := campaignAsync(ctx, a)
	select {
	case c := <-ac:
		if c.err != nil {
			t.Fatal(c.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the replica that led at once did not win its campaign at once")
	}
	select {
	case <-bc:
		t.Fatal("two leaders")
	case <-time.After(200 * time.Millisecond):
	}
	a.Close()
	select {
	case c := <-bc:
		if c.err != nil {
			t.Fatal(c.err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the second did not lead once the first left")
	}
}

// With the embedded etcd, which no other process can share, a restarted
// broker does not wait for its previous process's lease to run out.
func TestEmbeddedRemovesStaleReplicas(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	r, err := s.JoinReplicas(ctx, ReplicaOptions{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if lead, err := r.TryLead(ctx); err != nil || !lead {
		t.Fatalf("TryLead = %v, %v", lead, err)
	}
	old := r.ID()
	s.Close() // killed: the lease is neither renewed nor revoked

	s = openTest(t, dir)
	defer s.Close()
	r, err = s.JoinReplicas(ctx, ReplicaOptions{LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	live, err := r.Alive(ctx)
	if err != nil || live[old] || !live[r.ID()] {
		t.Fatalf("alive after restart: %v, %v; want only %s", live, err, r.ID())
	}
	if lead, err := r.TryLead(ctx); err != nil || !lead {
		t.Fatalf("TryLead after restart = %v, %v; want to lead at once", lead, err)
	}
}

// Bootstrap requests and catalog changes travel between replicas through
// the store; a request asked again while one was served stays pending.
func TestRequestsBetweenReplicas(t *testing.T) {
	ep := sharedEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := replica(t, ep)
	b, _ := replica(t, ep)
	signal := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(3 * time.Second):
			t.Fatalf("no signal: %s", what)
		}
	}
	quiet := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
			t.Fatalf("unexpected signal: %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}

	asked := b.BootstrapRequests(ctx)
	signal(asked, "the first")
	if rev, err := b.PendingBootstrap(ctx); err != nil || rev != 0 {
		t.Fatalf("pending before any request: %d, %v", rev, err)
	}
	if err := a.RequestBootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	signal(asked, "a request through another replica")
	rev, err := b.PendingBootstrap(ctx)
	if err != nil || rev == 0 {
		t.Fatalf("pending: %d, %v", rev, err)
	}
	a.RequestBootstrap(ctx) // asked again while it is being served
	signal(asked, "the second request")
	if err := b.BootstrapServed(ctx, rev); err != nil {
		t.Fatal(err)
	}
	again, _ := b.PendingBootstrap(ctx)
	if again == 0 || again == rev {
		t.Fatalf("the request asked again was dropped or not renewed: %d (served %d)", again, rev)
	}
	b.BootstrapServed(ctx, again)
	if p, _ := b.PendingBootstrap(ctx); p != 0 {
		t.Fatalf("still pending after being served: %d", p)
	}
	quiet(asked, "serving a request is no request")

	changes := b.CatalogChanges(ctx)
	signal(changes, "the first")
	if _, err := a.Commit(ctx, CatalogChanged()); err != nil {
		t.Fatal(err)
	}
	signal(changes, "a catalog change through another replica")
	quiet(changes, "nothing changed since")
}
