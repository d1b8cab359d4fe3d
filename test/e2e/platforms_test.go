package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// Provision requests as platforms without a Kubernetes namespace send them
// (no context at all, a Cloud Foundry context): refused with 400 naming
// context.namespace and nothing stored, unless broker.default_namespace
// says where they go; then the bundle runs against that namespace.
func TestProvisionWithoutNamespace(t *testing.T) {
	bodies := map[string]func(sid, pid string) map[string]any{
		"no context": func(sid, pid string) map[string]any {
			return map[string]any{"service_id": sid, "plan_id": pid, "organization_guid": "o", "space_guid": "s",
				"parameters": map[string]any{"db_name": "nons"}}
		},
		"cloudfoundry": func(sid, pid string) map[string]any {
			return map[string]any{"service_id": sid, "plan_id": pid, "organization_guid": "o", "space_guid": "s",
				"context":    map[string]any{"platform": "cloudfoundry", "organization_guid": "o", "space_guid": "s"},
				"parameters": map[string]any{"db_name": "nons"}}
		},
	}
	t.Run("refused", func(t *testing.T) {
		b := startBroker(t, options{})
		sid, pid := b.ids(dbService, dbSmall)
		for name, body := range bodies {
			id := "nons-" + strings.ReplaceAll(name, " ", "-")
			status, data, _ := b.raw(t, "PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", body(sid, pid), nil)
			var e osbapi.Error
			json.Unmarshal(data, &e)
			if status != 400 || !strings.Contains(e.Description, "context.namespace") {
				t.Errorf("%s: %d %s, want 400 naming context.namespace", name, status, data)
			}
			if _, err := b.client.GetInstance(ctx(t), id, nil); err == nil {
				t.Errorf("%s: the refused instance exists", name)
			} else {
				wantStatus(t, err, 404, "")
			}
		}
		if n := len(b.rt.Started()); n != 0 {
			t.Errorf("%d actions ran for refused provisions", n)
		}
	})
	t.Run("default namespace", func(t *testing.T) {
		b := startBroker(t, options{defaultNamespace: "cf-apps"})
		sid, pid := b.ids(dbService, dbSmall)
		for name, body := range bodies {
			id := "defns-" + strings.ReplaceAll(name, " ", "-")
			status, data, _ := b.raw(t, "PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", body(sid, pid), nil)
			if status != 202 {
				t.Fatalf("%s: %d %s, want 202", name, status, data)
			}
			var pr osbapi.ProvisionResponse
			json.Unmarshal(data, &pr)
			b.waitInstance(t, id, pr.Operation, osbapi.StateSucceeded)
		}
		for _, a := range b.rt.Started() {
			if a.Target != "cf-apps" || a.ExtraVars["namespace"] != "cf-apps" {
				t.Errorf("%s of %s ran in %q (extra var %v), want cf-apps", a.Name, a.InstanceID, a.Target, a.ExtraVars["namespace"])
			}
		}
	})
}

// "maintenance_info": {} is what generated clients send for none: a plan
// without maintenance_info accepts it on provision and update.
func TestEmptyMaintenanceInfo(t *testing.T) {
	b := startBroker(t, options{})
	sid, pid := b.ids(dbService, dbLarge)
	body := map[string]any{"service_id": sid, "plan_id": pid, "organization_guid": "o", "space_guid": "s",
		"context":          map[string]any{"platform": "kubernetes", "namespace": "team-a"},
		"parameters":       map[string]any{"db_name": "mi"},
		"maintenance_info": map[string]any{}}
	status, data, _ := b.raw(t, "PUT", "/v2/service_instances/mi-1?accepts_incomplete=true", body, nil)
	if status != 202 {
		t.Fatalf("provision with maintenance_info {}: %d %s, want 202", status, data)
	}
	var pr osbapi.ProvisionResponse
	json.Unmarshal(data, &pr)
	b.waitInstance(t, "mi-1", pr.Operation, osbapi.StateSucceeded)
	upd := map[string]any{"service_id": sid, "maintenance_info": map[string]any{}}
	if status, data, _ := b.raw(t, "PATCH", "/v2/service_instances/mi-1?accepts_incomplete=true", upd, nil); status != 200 {
		t.Errorf("update with maintenance_info {}: %d %s, want 200", status, data)
	}
	// A version the plan does not have is still refused.
	body["maintenance_info"] = map[string]any{"version": "9.9.9"}
	if status, data, _ := b.raw(t, "PUT", "/v2/service_instances/mi-2?accepts_incomplete=true", body, nil); status != 422 || !strings.Contains(string(data), "MaintenanceInfoConflict") {
		t.Errorf("provision with maintenance_info 9.9.9: %d %s, want 422 MaintenanceInfoConflict", status, data)
	}
}
