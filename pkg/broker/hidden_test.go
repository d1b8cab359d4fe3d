package broker

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
)

const secretBundle = `version: '1.0'
name: db-apb
description: a bundle whose admin credentials come from a mapped Secret
bindable: true
async: optional
plans:
  - name: default
    description: default plan
    parameters:
      - name: admin_password
        type: string
        required: true
      - name: size
        type: int
    bind_parameters:
      - name: admin_password
        type: string
`

// The secrets: rules hide the mapped Secret's keys from the bundle's
// schemas, as the Automation Broker's FilterSecrets did: nobody is prompted
// for them, and a request cannot set them (the schema refuses unknown
// parameters). A changed Secret changes the catalog at the next bootstrap.
func TestSecretKeysHidden(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp, err := apb.Parse([]byte(secretBundle), "unit")
	if err != nil {
		t.Fatal(err)
	}
	sp.Finish("local", "db-apb:latest")
	var mu sync.Mutex
	keys := map[string][]string{"db-admin": {"admin_password", "unrelated"}}
	secretKeys := func(_ context.Context, s string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[s]; ok {
			return k, nil
		}
		return nil, &osbapi.Error{Status: 404, Description: "not found"}
	}
	rt := inproc.New(func(context.Context, runtime.Action, runtime.Progress) (*runtime.Result, error) {
		return &runtime.Result{}, nil
	})
	b, err := New(ctx, Options{Store: st, Runtime: rt, SecretKeys: secretKeys,
		Secrets:  []SecretRule{{APBName: sp.FQName, Secret: "db-admin", Title: "db admin"}, {APBName: "other-apb", Secret: "missing"}},
		Discover: func(context.Context) ([]*apb.Spec, error) { return []*apb.Spec{sp}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	go b.Start(ctx)
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	props := func() (create, bind map[string]any, required []any) {
		c, _ := b.Catalog(ctx, osbapi.RequestInfo{})
		s := c.Services[0].Plans[0].Schemas
		create, _ = s.ServiceInstance.Create.Parameters["properties"].(map[string]any)
		bind, _ = s.ServiceBinding.Create.Parameters["properties"].(map[string]any)
		required, _ = s.ServiceInstance.Create.Parameters["required"].([]any)
		return
	}
	create, bind, required := props()
	if _, ok := create["admin_password"]; ok || create["size"] == nil {
		t.Errorf("create schema properties %v: want size without admin_password", create)
	}
	if _, ok := bind["admin_password"]; ok {
		t.Errorf("bind schema properties %v: admin_password shown", bind)
	}
	if len(required) != 0 {
		t.Errorf("required %v: a hidden parameter is still required", required)
	}
	ri := osbapi.RequestInfo{AcceptsIncomplete: true}
	_, err = b.Provision(ctx, ri, "i1", provisionReq(sp, map[string]any{"admin_password": "mine"}))
	if e, ok := osbapi.AsError(err); !ok || e.Status != http.StatusBadRequest {
		t.Errorf("provision setting a hidden parameter: %v, want 400", err)
	}
	if _, err := b.Provision(ctx, ri, "i2", provisionReq(sp, map[string]any{"size": 3})); err != nil {
		t.Errorf("provision without the hidden parameter: %v", err)
	}

	// The Secret loses the key: the parameter is back after a bootstrap,
	// although no spec changed.
	mu.Lock()
	keys["db-admin"] = []string{"unrelated"}
	mu.Unlock()
	if _, err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if create, _, _ := props(); create["admin_password"] == nil {
		t.Errorf("after the Secret changed: properties %v, want admin_password back", create)
	}
}
