package docker

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/test/docker/dockertest"
	"github.com/openstack-service-broker/openstack-service-broker/test/runtimecontract"
)

func testBundleSpec(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../bundles/testbundle/apb.yml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startBroker runs the daemon from a config file saying broker.runtime:
// docker, the test bundle in its local registry, the secrets: rule and
// openstack.clouds_secret resolved under docker.secrets_dir.
func startBroker(t *testing.T, e *env, dir string) *dockertest.Broker {
	t.Helper()
	b := dockertest.StartBroker(t, e.c, dir, dockertest.Options{
		Image: e.bundle, APBYML: testBundleSpec(t),
		Docker:    map[string]any{"secrets_dir": e.secretsDir},
		Secrets:   []map[string]string{{"title": "test credentials", "apb_name": dockertest.FQName, "secret": runtimecontract.CredsSource}},
		OpenStack: map[string]any{"clouds_secret": runtimecontract.CloudsSource, "bundles": "^" + dockertest.FQName + "$"},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	return b
}

// pollOp polls an operation to its end (bounded), recording each
// description seen.
func pollOp(t *testing.T, ctx context.Context, what string, seen *[]string, f func() (*osbapi.LastOperationResponse, error)) *osbapi.LastOperationResponse {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		lo, err := f()
		if e, ok := osbapi.AsError(err); ok && e.Status == 410 && (what == "unbind" || what == "deprovision") {
			return &osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
		}
		if err != nil {
			t.Fatalf("%s: last_operation: %v", what, err)
		}
		if seen != nil && lo.Description != "" && (len(*seen) == 0 || (*seen)[len(*seen)-1] != lo.Description) {
			*seen = append(*seen, lo.Description)
		}
		if lo.State != osbapi.StateInProgress {
			return lo
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: still in progress after 4 minutes", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The whole broker on Docker: provision (progress while it runs), bind
// (credentials back through GET binding), unbind, deprovision; the
// bundle got the secrets: rule's and the clouds source's files; nothing
// stays on the engine; no secret in the broker's log.
func TestBrokerOnDocker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b := startBroker(t, e, t.TempDir())
	c := b.Client
	sid, pid := apb.ServiceID(dockertest.FQName), apb.PlanID(dockertest.FQName, "default")
	instance, binding := runtimecontract.NewID(t), runtimecontract.NewID(t)

	pr, err := c.Provision(ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s",
		Parameters: map[string]any{"greeting": "from docker", "sleep_seconds": 3}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	lo := pollOp(t, ctx, "provision", &seen, func() (*osbapi.LastOperationResponse, error) {
		return c.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: pr.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("provision: %s: %s", lo.State, lo.Description)
	}
	if !slicesContain(seen, "50%: sleeping 3s") {
		t.Errorf("descriptions seen while provisioning = %q, want the bundle's progress", seen)
	}

	br, err := c.Bind(ctx, instance, binding, &osbapi.BindRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		t.Fatal(err)
	}
	lo = pollOp(t, ctx, "bind", nil, func() (*osbapi.LastOperationResponse, error) {
		return c.BindingLastOperation(ctx, instance, binding, &osbapi.LastOperationRequest{Operation: br.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("bind: %s: %s", lo.State, lo.Description)
	}
	gb, err := c.GetBinding(ctx, instance, binding, nil)
	if err != nil {
		t.Fatal(err)
	}
	if gb.Credentials["DB_USER"] != "user-"+instance[:8] || gb.Credentials["BINDING_ID"] != binding {
		t.Errorf("binding credentials = %v", gb.Credentials)
	}
	pw, _ := gb.Credentials["DB_PASSWORD"].(string)
	if !strings.HasPrefix(pw, "pw-") {
		t.Errorf("DB_PASSWORD = %q", pw)
	}

	ur, err := c.Unbind(ctx, instance, binding, &osbapi.UnbindRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		t.Fatal(err)
	}
	if ur.Async {
		if lo := pollOp(t, ctx, "unbind", nil, func() (*osbapi.LastOperationResponse, error) {
			return c.BindingLastOperation(ctx, instance, binding, &osbapi.LastOperationRequest{Operation: ur.Operation})
		}); lo.State != osbapi.StateSucceeded {
			t.Fatalf("unbind: %s: %s", lo.State, lo.Description)
		}
	}
	dr, err := c.Deprovision(ctx, instance, &osbapi.DeprovisionRequest{ServiceID: sid, PlanID: pid}, true)
	if err != nil {
		t.Fatal(err)
	}
	if lo := pollOp(t, ctx, "deprovision", nil, func() (*osbapi.LastOperationResponse, error) {
		return c.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: dr.Operation})
	}); lo.State != osbapi.StateSucceeded {
		t.Fatalf("deprovision: %s: %s", lo.State, lo.Description)
	}
	// Released once stored: nothing left (the release follows the stored
	// outcome by a moment).
	runtimecontract.WaitFor(t, "no container of the broker left", 30*time.Second, func() bool { return len(b.Containers(t, e.c)) == 0 })
	if !strings.Contains(b.Logs.String(), "PLAY RECAP") {
		t.Errorf("the bundles' output is not in the broker's log at debug level")
	}
	runtimecontract.CheckNoSecrets(t, "broker log", b.Logs.String())
	if strings.Contains(b.Logs.String(), pw) {
		t.Errorf("the binding's password is in the broker's log")
	}
}

// A broker stopped mid-provision leaves the container running; the
// restarted broker (same etcd, same broker id) re-attaches to it and the
// operation succeeds with one container ever run.
func TestBrokerRestartOnDocker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b := startBroker(t, e, dir)
	sid, pid := apb.ServiceID(dockertest.FQName), apb.PlanID(dockertest.FQName, "default")
	instance := runtimecontract.NewID(t)
	pr, err := b.Client.Provision(ctx, instance, &osbapi.ProvisionRequest{ServiceID: sid, PlanID: pid, OrganizationGUID: "o", SpaceGUID: "s",
		Parameters: map[string]any{"sleep_seconds": 15}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	runtimecontract.WaitFor(t, "the provision's container running", 2*time.Minute, func() bool {
		for cid, state := range b.Containers(t, e.c) {
			id = cid
			return state == "running"
		}
		return false
	})
	b.Restart(t)
	lo := pollOp(t, ctx, "provision", nil, func() (*osbapi.LastOperationResponse, error) {
		return b.Client.LastOperation(ctx, instance, &osbapi.LastOperationRequest{Operation: pr.Operation})
	})
	if lo.State != osbapi.StateSucceeded {
		t.Fatalf("provision after the restart: %s: %s", lo.State, lo.Description)
	}
	if !strings.Contains(b.Logs.String(), "re-attached to bundle container") {
		t.Errorf("the restarted broker did not re-attach")
	}
	// One container ever ran for the operation: the one re-attached to.
	if n := strings.Count(b.Logs.String(), `"msg":"bundle container started"`); n != 1 {
		t.Errorf("containers started for the provision: %d, want 1", n)
	}
	if !strings.Contains(b.Logs.String(), `"id":"`+id[:12]+`"`) {
		t.Errorf("the container started is not %s", id[:12])
	}
	runtimecontract.WaitFor(t, "no container of the broker left", 30*time.Second, func() bool { return len(b.Containers(t, e.c)) == 0 })
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
