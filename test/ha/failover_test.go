package ha

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// waitFor polls cond every 50 ms until it holds, or fails t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollOp polls an operation through cl until it ends (bounded).
func pollOp(t *testing.T, ctx context.Context, cl *osbclient.Client, instance, op string) *osbapi.LastOperationResponse {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		lo, err := cl.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: op})
		if e, ok := osbapi.AsError(err); ok && e.Status == 410 {
			return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
		}
		if err != nil {
			t.Fatalf("last_operation of %s: %v", instance, err)
		}
		if lo.State != osbapi.StateInProgress {
			return lo
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s of %s still in progress after 4 minutes", op, instance)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newUUID returns a random id in the form platforms give instances.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Three brokers on one etcd; the replica running a provision's bundle
// container is killed with SIGKILL: the leader, or a follower. Once the
// killed one's lease runs out the leader (another replica, when the
// leader was killed) takes the operation over, attaches to the container
// and records the outcome: one container ever ran for the operation, the
// operation succeeded once. Meanwhile the two replicas left serve the
// catalog, the operation's state and a new provision.
func TestReplicaKilledMidAction(t *testing.T) {
	for _, tc := range []struct {
		name       string
		killLeader bool
	}{
		{"leader killed", true},
		{"follower killed", false},
	} {
		t.Run(tc.name, func(t *testing.T) { replicaKilledMidAction(t, tc.killLeader) })
	}
}

func replicaKilledMidAction(t *testing.T, killLeader bool) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, r := range c.replicas {
		c.start(r) // the first one leads and bootstraps; the others follow
	}
	var leaderID string
	var leader *replica
	waitFor(t, 10*time.Second, "a leader among the brokers", func() bool {
		leaderID, leader = c.leader(ctx)
		return leader != nil
	})
	victim := leader
	if !killLeader {
		for _, r := range c.replicas {
			if r != leader {
				victim = r
				break
			}
		}
	}
	victimID := leaderID
	var rest []*replica
	for _, r := range c.replicas {
		if r != victim {
			rest = append(rest, r)
		}
	}
	// Every replica serves the catalog the leader bootstrapped.
	sid, pid := apb.ServiceID(fqName), apb.PlanID(fqName, "default")
	for _, r := range c.replicas {
		waitFor(t, 30*time.Second, r.name+" serving the test bundle", func() bool {
			cat, err := r.client.Catalog(ctx)
			if err != nil {
				return false
			}
			for _, s := range cat.Services {
				if s.ID == sid {
					return true
				}
			}
			return false
		})
	}

	st, err := store.Open(ctx, store.Config{Endpoints: []string{c.endpoint}, RequestTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The slow action, on the replica to be killed.
	instance := newUUID()
	pr, err := victim.client.Provision(ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid,
		OrganizationGUID: "o", SpaceGUID: "s", Parameters: map[string]any{"sleep_seconds": 20}}, true)
	if err != nil {
		t.Fatal(err)
	}
	op := pr.Operation
	// Every container ever seen for the operation, sampled until the end.
	var seenMu sync.Mutex
	seen := map[string]bool{}
	sample := func() {
		cs, err := c.containers(ctx, op)
		if err != nil {
			return
		}
		seenMu.Lock()
		for id := range cs {
			seen[id] = true
		}
		seenMu.Unlock()
	}
	waitFor(t, 2*time.Minute, "the provision's container running", func() bool {
		cs, _ := c.containers(ctx, op)
		sample()
		for _, state := range cs {
			if state == "running" {
				return true
			}
		}
		return false
	})
	samplerDone := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			sample()
			select {
			case <-stopSampling:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	// Requests to the replicas left, every 200 ms through the failover.
	var requests, failures atomic.Int32
	var failMu sync.Mutex
	var failed []string
	probeStop := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		for i := 0; ; i++ {
			r := rest[i%len(rest)]
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := r.client.Catalog(rctx)
			if err == nil {
				_, err = r.client.LastOperation(rctx, instance, &osbapi.LastOperationRequest{Operation: op})
			}
			rcancel()
			requests.Add(1)
			if err != nil {
				failures.Add(1)
				failMu.Lock()
				failed = append(failed, r.name+": "+err.Error())
				failMu.Unlock()
			}
			select {
			case <-probeStop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	if !killLeader {
		j, err := st.GetJob(ctx, instance, op)
		if err != nil {
			t.Fatal(err)
		}
		victimID = j.Owner
	}
	time.Sleep(time.Second) // a little into the action
	killed := time.Now()
	victim.kill()
	t.Logf("killed %s (%s, leader: %v) mid-provision", victim.name, victimID, killLeader)

	// Any replica left takes a new operation at once, leader or not.
	second := newUUID()
	pr2, err := rest[1].client.Provision(ctx, second, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid,
		OrganizationGUID: "o", SpaceGUID: "s", Parameters: map[string]any{"sleep_seconds": 1}}, true)
	if err != nil {
		t.Fatalf("a provision through %s while %s is gone: %v", rest[1].name, victim.name, err)
	}

	var nextID string
	var next *replica
	waitFor(t, leaderLease+15*time.Second, "a live replica leading", func() bool {
		nextID, next = c.leader(ctx)
		return next != nil && next != victim
	})
	led := time.Since(killed)
	if !killLeader && next != leader {
		t.Errorf("the leader changed from %s to %s when a follower was killed", leader.name, next.name)
	}
	waitFor(t, leaderLease+30*time.Second, "the leader taking the operation over", func() bool {
		j, err := st.GetJob(ctx, instance, op)
		return err == nil && j.Owner == nextID
	})
	resumed := time.Since(killed)

	lo := pollOp(t, ctx, next.client, instance, op)
	finished := time.Since(killed)
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("the provision after the failover: %s: %s", lo.State, lo.Description)
	}
	if lo2 := pollOp(t, ctx, rest[1].client, second, pr2.Operation); lo2.State != osbapi.StateSucceeded {
		t.Fatalf("the provision through %s during the failover: %s: %s", rest[1].name, lo2.State, lo2.Description)
	}
	close(probeStop)
	<-probeDone
	close(stopSampling)
	<-samplerDone
	t.Logf("failover (lease %s): %s leading after %s, operation taken over after %s, succeeded after %s; %d requests to the replicas left, %d failed",
		leaderLease, next.name, led.Round(time.Millisecond), resumed.Round(time.Millisecond), finished.Round(time.Millisecond),
		requests.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("requests to the replicas left failed during the failover: %q", failed)
	}

	// Exactly once: one container ever ran for the operation, started by
	// the killed replica and attached to by the leader.
	if len(seen) != 1 {
		t.Errorf("containers seen for the provision: %d (%v), want 1", len(seen), seen)
	}
	started := 0
	for _, r := range c.replicas {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(line, `"msg":"bundle container started"`) && strings.Contains(line, op) {
				started++
			}
		}
	}
	// The operation's story, as the replicas logged it.
	for _, r := range c.replicas {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(line, op) && !strings.Contains(line, `"level":"DEBUG"`) && !strings.Contains(line, `"msg":"request"`) {
				t.Logf("%s: %.300s", r.name, line)
			}
		}
	}
	if started != 1 {
		t.Errorf("bundle containers started for the provision across the replicas: %d, want 1", started)
	}
	if !strings.Contains(next.logs.String(), "re-attached to bundle container") {
		t.Errorf("the leader %s did not re-attach to the running container", next.name)
	}
	j, err := st.GetJob(ctx, instance, op)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.JobSucceeded || j.Owner != nextID {
		t.Errorf("job record: %s, owner %q; want succeeded, owned by %s", j.State, j.Owner, nextID)
	}
	si, err := st.GetInstance(ctx, instance)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("instance status %q after the failover", si.Status)

	// The killed replica comes back and follows: the deprovisions go
	// through it.
	c.start(victim)
	if id, r := c.leader(ctx); r != next {
		t.Errorf("leader after %s came back: %s, want %s still", victim.name, id, next.name)
	}
	for _, in := range []struct{ id, what string }{{instance, "the failed-over instance"}, {second, "the second instance"}} {
		dr, err := victim.client.Deprovision(ctx, in.id, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
		if err != nil {
			t.Fatalf("deprovision of %s: %v", in.what, err)
		}
		if lo := pollOp(t, ctx, victim.client, in.id, dr.Operation); lo.State != osbapi.StateSucceeded {
			t.Fatalf("deprovision of %s: %s: %s", in.what, lo.State, lo.Description)
		}
	}
	waitFor(t, 30*time.Second, "no bundle container left", func() bool {
		cs, err := c.containers(ctx, "")
		return err == nil && len(cs) == 0
	})
}
