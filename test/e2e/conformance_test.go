package e2e

// One test per group of rows of the conformance checklist in
// shared/reference/osb-api.md §1.9; the row numbers are in the names.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func TestRow01To05Headers(t *testing.T) {
	b := startBroker(t, options{})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	cases := []struct {
		name    string
		path    string
		version string
		auth    string
		want    int
	}{
		{"no version", "/v2/catalog", "", auth, 412},
		{"version too old", "/v2/catalog", "2.12", auth, 412},
		{"major 3", "/v2/catalog", "3.0", auth, 412},
		{"garbage version", "/v2/catalog", "latest", auth, 412},
		{"2.13 accepted", "/v2/catalog", "2.13", auth, 200},
		{"2.17 accepted", "/v2/catalog", "2.17", auth, 200},
		{"osb prefix", "/osb/v2/catalog", "2.17", auth, 200},
		{"ansible-service-broker prefix", "/ansible-service-broker/v2/catalog", "2.17", auth, 200},
		{"no credentials", "/v2/catalog", "2.17", "", 401},
		{"wrong password", "/v2/catalog", "2.17", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":nope")), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), "GET", b.url+c.path, nil)
			if c.version != "" {
				req.Header.Set("X-Broker-API-Version", c.version)
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			req.Header.Set("X-Broker-API-Request-Identity", "req-"+c.name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			// Row 4: the request identity comes back, errors included.
			if got := resp.Header.Get("X-Broker-API-Request-Identity"); got != "req-"+c.name {
				t.Errorf("request identity echoed as %q", got)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if c.want != 200 {
				if d, _ := body["description"].(string); d == "" {
					t.Errorf("error without description: %v", body)
				}
			}
		})
	}

	t.Run("row 3: originating identity", func(t *testing.T) {
		// A garbled header is refused with 400 naming it, and nothing is
		// stored (as the Automation Broker did); a valid one names the
		// requester; none at all is fine.
		req := b.provisionReq(dbSmall, map[string]any{"db_name": "ident"})
		status, body, _ := b.raw(t, "PUT", "/v2/service_instances/ident-1?accepts_incomplete=true", req,
			map[string]string{"X-Broker-API-Originating-Identity": "kubernetes !!!not-base64"})
		if status != 400 || !strings.Contains(string(body), "X-Broker-API-Originating-Identity") {
			t.Fatalf("garbage identity: status %d %s, want 400 naming the header", status, body)
		}
		if _, err := b.client.GetInstance(ctx(t), "ident-1", nil); err == nil {
			t.Errorf("a refused provision stored the instance")
		}
		id := base64.StdEncoding.EncodeToString([]byte(`{"username":"alice","groups":["dev"]}`))
		status, _, _ = b.raw(t, "PUT", "/v2/service_instances/ident-2?accepts_incomplete=true", req,
			map[string]string{"X-Broker-API-Originating-Identity": "kubernetes " + id})
		if status != 202 {
			t.Fatalf("valid identity: status %d", status)
		}
		waitFor(t, 10e9, "provision of ident-2 to start", func() bool {
			for _, a := range b.rt.Started() {
				if a.InstanceID == "ident-2" {
					return true
				}
			}
			return false
		})
		for _, a := range b.rt.Started() {
			if a.InstanceID == "ident-2" && a.ExtraVars["_apb_last_requesting_user"] != "alice" {
				t.Errorf("_apb_last_requesting_user = %v, want alice", a.ExtraVars["_apb_last_requesting_user"])
			}
		}
	})

	t.Run("row 5: bodies", func(t *testing.T) {
		req := b.provisionReq(dbSmall, map[string]any{"db_name": "bodies"})
		withExtra := map[string]any{"service_id": req.ServiceID, "plan_id": req.PlanID,
			"organization_guid": "o", "space_guid": "s", "parameters": req.Parameters, "context": req.Context,
			"x-vendor-extension": map[string]any{"anything": true}}
		if status, _, _ := b.raw(t, "PUT", "/v2/service_instances/bodies-1?accepts_incomplete=true", withExtra, nil); status != 202 {
			t.Errorf("unknown field: status %d, want 202", status)
		}
		if status, _, _ := b.raw(t, "PUT", "/v2/service_instances/bodies-2?accepts_incomplete=true", json.RawMessage(`{"service_id": `), nil); status != 400 {
			t.Errorf("malformed JSON: status %d, want 400", status)
		}
		status, _, _ := b.raw(t, "PUT", "/v2/service_instances/bodies-3?accepts_incomplete=true", withExtra,
			map[string]string{"Content-Type": "text/plain"})
		if status != 400 {
			t.Errorf("text/plain body: status %d, want 400", status)
		}
	})
}

func TestRow06Catalog(t *testing.T) {
	b := startBroker(t, options{})
	again, err := b.client.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.cat, again) {
		t.Fatalf("two catalog fetches differ")
	}
	seen := map[string]bool{}
	for _, s := range b.cat.Services {
		if s.Name == "" || s.ID == "" || s.Description == "" || len(s.Plans) == 0 {
			t.Errorf("service %+v lacks a required field", s)
		}
		if seen[s.ID] {
			t.Errorf("duplicate id %s", s.ID)
		}
		seen[s.ID] = true
		if !s.InstancesRetrievable || !s.BindingsRetrievable {
			t.Errorf("%s: instances/bindings_retrievable not true", s.Name)
		}
		for _, p := range s.Plans {
			if seen[p.ID] {
				t.Errorf("duplicate id %s", p.ID)
			}
			seen[p.ID] = true
			if p.Schemas == nil || p.Schemas.ServiceInstance == nil || p.Schemas.ServiceInstance.Create == nil {
				t.Errorf("%s/%s: no create schema", s.Name, p.Name)
				continue
			}
			if _, ok := p.Schemas.ServiceInstance.Create.Parameters["$schema"]; !ok {
				t.Errorf("%s/%s: schema without $schema", s.Name, p.Name)
			}
		}
	}
	names := map[string]osbapi.Service{}
	for _, s := range b.cat.Services {
		names[s.Name] = s
	}
	db, ok := names[dbService]
	if !ok || !db.Bindable || !db.PlanUpdateable {
		t.Fatalf("db service: %+v (want bindable, plan_updateable)", db)
	}
	if plain := names["local-plain-apb"]; plain.Bindable || plain.PlanUpdateable {
		t.Errorf("plain service: bindable=%v plan_updateable=%v, want false (quoted \"False\")", plain.Bindable, plain.PlanUpdateable)
	}
	// Row 33: we declare no binding rotation, so predecessor_binding_id is never promised.
	for _, p := range db.Plans {
		if p.Name == dbSmall && (p.MaintenanceInfo == nil || p.MaintenanceInfo.Version != "1.2.0") {
			t.Errorf("small plan maintenance_info = %+v, want 1.2.0", p.MaintenanceInfo)
		}
	}
}

func TestRow07To13Provision(t *testing.T) {
	b := startBroker(t, options{})
	good := b.provisionReq(dbSmall, map[string]any{"db_name": "prov"})
	plainSID, plainPID := b.ids("local-plain-apb", "default")
	mod := func(f func(r *osbapi.ProvisionRequest)) *osbapi.ProvisionRequest {
		r := *good
		f(&r)
		return &r
	}
	bad := []struct {
		name  string
		req   *osbapi.ProvisionRequest
		field string
	}{
		{"row 7 missing service_id", mod(func(r *osbapi.ProvisionRequest) { r.ServiceID = "" }), "service_id"},
		{"row 7 missing plan_id", mod(func(r *osbapi.ProvisionRequest) { r.PlanID = "" }), "plan_id"},
		{"row 7 unknown service_id", mod(func(r *osbapi.ProvisionRequest) { r.ServiceID = "nope" }), "service_id"},
		{"row 7 unknown plan_id", mod(func(r *osbapi.ProvisionRequest) { r.PlanID = "nope" }), "plan_id"},
		{"row 7 plan of another service", mod(func(r *osbapi.ProvisionRequest) { r.PlanID = plainPID }), "plan_id"},
		{"row 7 missing organization_guid", mod(func(r *osbapi.ProvisionRequest) { r.OrganizationGUID = "" }), "organization_guid"},
		{"row 7 missing space_guid", mod(func(r *osbapi.ProvisionRequest) { r.SpaceGUID = "" }), "space_guid"},
		{"row 8 missing required parameter", mod(func(r *osbapi.ProvisionRequest) { r.Parameters = map[string]any{"size": 2} }), "db_name"},
		{"row 8 pattern", mod(func(r *osbapi.ProvisionRequest) { r.Parameters = map[string]any{"db_name": "Bad-Name"} }), "db_name"},
		{"row 8 maximum", mod(func(r *osbapi.ProvisionRequest) { r.Parameters = map[string]any{"db_name": "x", "size": 1000} }), "size"},
		{"row 8 wrong type", mod(func(r *osbapi.ProvisionRequest) { r.Parameters = map[string]any{"db_name": "x", "size": "big"} }), "size"},
		{"row 8 unknown parameter", mod(func(r *osbapi.ProvisionRequest) { r.Parameters = map[string]any{"db_name": "x", "color": "red"} }), "color"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.client.Provision(ctx(t), "bad-"+strings.ReplaceAll(c.name, " ", "-"), c.req, true)
			e := wantStatus(t, err, 400, "")
			if !strings.Contains(e.Description, c.field) {
				t.Errorf("description %q does not name %q", e.Description, c.field)
			}
		})
	}
	_ = plainSID

	t.Run("row 9 AsyncRequired", func(t *testing.T) {
		_, err := b.client.Provision(ctx(t), "sync-1", good, false)
		wantStatus(t, err, 422, osbapi.ErrCodeAsyncRequired)
		if _, err := b.client.GetInstance(ctx(t), "sync-1", nil); err == nil {
			t.Errorf("a 422 created the instance")
		}
	})

	t.Run("rows 10-12, 34 idempotency", func(t *testing.T) {
		req := b.provisionReq(dbSmall, map[string]any{"db_name": "idem", "block": true})
		first, err := b.client.Provision(ctx(t), "idem-1", req, true)
		if err != nil || !first.Async || first.Operation == "" || len(first.Operation) > 10000 {
			t.Fatalf("first provision: %+v, %v", first, err)
		}
		again, err := b.client.Provision(ctx(t), "idem-1", req, true)
		if err != nil || !again.Async || again.Operation != first.Operation {
			t.Fatalf("re-PUT while running: %+v, %v; want 202 with operation %s", again, err, first.Operation)
		}
		other := b.provisionReq(dbSmall, map[string]any{"db_name": "other", "block": true})
		_, err = b.client.Provision(ctx(t), "idem-1", other, true)
		wantStatus(t, err, 409, "")
		b.ctl.Release("idem-1")
		b.waitInstance(t, "idem-1", first.Operation, osbapi.StateSucceeded)
		done, err := b.client.Provision(ctx(t), "idem-1", req, true)
		if err != nil || !done.Exists || done.Async {
			t.Fatalf("re-PUT after success: %+v, %v; want 200", done, err)
		}
		_, err = b.client.Provision(ctx(t), "idem-1", other, true)
		wantStatus(t, err, 409, "")
	})

	t.Run("row 13 MaintenanceInfoConflict", func(t *testing.T) {
		r := mod(func(r *osbapi.ProvisionRequest) { r.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: "9.9.9"} })
		_, err := b.client.Provision(ctx(t), "mi-1", r, true)
		wantStatus(t, err, 422, osbapi.ErrCodeMaintenanceInfoConflict)
		r = mod(func(r *osbapi.ProvisionRequest) { r.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: "1.2.0"} })
		resp, err := b.client.Provision(ctx(t), "mi-2", r, true)
		if err != nil {
			t.Fatalf("matching maintenance_info: %v", err)
		}
		b.waitInstance(t, "mi-2", resp.Operation, osbapi.StateSucceeded)
		_, err = b.client.Update(ctx(t), "mi-2", &osbapi.UpdateRequest{ServiceID: r.ServiceID,
			MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "2.0.0"}}, true)
		wantStatus(t, err, 422, osbapi.ErrCodeMaintenanceInfoConflict)
	})
}

func TestRow14To18LastOperationAndFetch(t *testing.T) {
	b := startBroker(t, options{})
	req := b.provisionReq(dbSmall, map[string]any{"db_name": "poll", "block": true})
	resp, err := b.client.Provision(ctx(t), "poll-1", req, true)
	if err != nil {
		t.Fatal(err)
	}
	// Row 14: in progress with Retry-After, via the raw API for the header.
	status, body, hdr := b.raw(t, "GET", "/v2/service_instances/poll-1/last_operation?operation="+url.QueryEscape(resp.Operation), nil, nil)
	if status != 200 || !strings.Contains(string(body), `"in progress"`) || hdr.Get("Retry-After") == "" {
		t.Fatalf("in-progress poll: %d %s Retry-After=%q", status, body, hdr.Get("Retry-After"))
	}
	// Row 18: 404 while provisioning.
	_, err = b.client.GetInstance(ctx(t), "poll-1", nil)
	wantStatus(t, err, 404, "")
	// Row 15: no operation, or one we never issued, falls back to the latest.
	for _, op := range []string{"", "provision", "made-up"} {
		lo, err := b.client.LastOperation(ctx(t), "poll-1", &osbapi.LastOperationRequest{Operation: op})
		if err != nil || lo.State != osbapi.StateInProgress {
			t.Errorf("poll with operation %q: %+v, %v", op, lo, err)
		}
	}
	b.ctl.Release("poll-1")
	b.waitInstance(t, "poll-1", resp.Operation, osbapi.StateSucceeded)
	// Row 16: still remembered on later polls; row 17: no instance_usable.
	for range 2 {
		status, body, _ := b.raw(t, "GET", "/v2/service_instances/poll-1/last_operation?operation="+url.QueryEscape(resp.Operation), nil, nil)
		if status != 200 || !strings.Contains(string(body), `"succeeded"`) || strings.Contains(string(body), "instance_usable") {
			t.Fatalf("finished poll: %d %s", status, body)
		}
	}
	// Row 18: the fetched instance.
	got, err := b.client.GetInstance(ctx(t), "poll-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceID != req.ServiceID || got.PlanID != req.PlanID || got.Parameters["db_name"] != "poll" {
		t.Errorf("GET instance = %+v", got)
	}
	// Row 14: unknown instance.
	_, err = b.client.LastOperation(ctx(t), "never-was", &osbapi.LastOperationRequest{})
	wantStatus(t, err, 404, "")

	t.Run("row 17 failed provision", func(t *testing.T) {
		r := b.provisionReq(dbSmall, map[string]any{"db_name": "f", "fail": "provision"})
		resp, err := b.client.Provision(ctx(t), "fail-1", r, true)
		if err != nil {
			t.Fatal(err)
		}
		lo := b.waitInstance(t, "fail-1", resp.Operation, osbapi.StateFailed)
		if lo.InstanceUsable != nil || lo.UpdateRepeatable != nil {
			t.Errorf("failed provision carries instance_usable/update_repeatable: %+v", lo)
		}
		if !strings.Contains(lo.Description, "failed on purpose") {
			t.Errorf("description %q does not carry the bundle's message", lo.Description)
		}
		_, err = b.client.GetInstance(ctx(t), "fail-1", nil)
		wantStatus(t, err, 404, "")
	})
}

func TestRow19To22UpdateAndDeprovision(t *testing.T) {
	b := startBroker(t, options{})
	req := b.provisioned(t, "upd-1", dbSmall, map[string]any{"db_name": "upd", "size": 2})
	_, largePID := b.ids(dbService, dbLarge)

	t.Run("row 19 4xx applies nothing", func(t *testing.T) {
		_, err := b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID,
			Parameters: map[string]any{"size": 5000}}, true)
		wantStatus(t, err, 400, "")
		_, err = b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID,
			Parameters: map[string]any{"db_name": "renamed"}}, true)
		wantStatus(t, err, 400, "") // db_name is not updatable
		_, err = b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID,
			Parameters: map[string]any{"size": 3}}, false)
		wantStatus(t, err, 422, osbapi.ErrCodeAsyncRequired)
		got, err := b.client.GetInstance(ctx(t), "upd-1", nil)
		if err != nil || asInt(got.Parameters["size"]) != 2 || got.Parameters["db_name"] != "upd" {
			t.Fatalf("instance changed by rejected updates: %+v, %v", got, err)
		}
	})

	t.Run("row 19 absent plan and parameters change nothing", func(t *testing.T) {
		resp, err := b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID}, true)
		if err != nil || resp.Async {
			t.Fatalf("no-op update: %+v, %v; want 200", resp, err)
		}
		resp, err = b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID,
			Parameters: map[string]any{"size": 7}}, true)
		if err != nil || !resp.Async {
			t.Fatalf("parameter update: %+v, %v", resp, err)
		}
		b.waitInstance(t, "upd-1", resp.Operation, osbapi.StateSucceeded)
		got, _ := b.client.GetInstance(ctx(t), "upd-1", nil)
		if asInt(got.Parameters["size"]) != 7 || got.Parameters["db_name"] != "upd" || got.PlanID != req.PlanID {
			t.Fatalf("after update: %+v", got)
		}
	})

	t.Run("rows 19-20 plan change", func(t *testing.T) {
		resp, err := b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID, PlanID: largePID}, true)
		if err != nil {
			t.Fatal(err)
		}
		// Row 20: the platform polls with the old plan_id.
		lo, err := b.client.PollLastOperation(ctx(t), "upd-1", &osbapi.LastOperationRequest{
			ServiceID: req.ServiceID, PlanID: req.PlanID, Operation: resp.Operation}, 50e6)
		if err != nil || lo.State != osbapi.StateSucceeded {
			t.Fatalf("plan change: %+v, %v", lo, err)
		}
		got, _ := b.client.GetInstance(ctx(t), "upd-1", nil)
		if got.PlanID != largePID {
			t.Fatalf("plan after change = %s, want %s", got.PlanID, largePID)
		}
		// large has no updates_to: going back is unsupported.
		_, err = b.client.Update(ctx(t), "upd-1", &osbapi.UpdateRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		wantStatus(t, err, 422, "")
	})

	t.Run("row 17 failed update", func(t *testing.T) {
		r := b.provisioned(t, "upd-2", dbSmall, map[string]any{"db_name": "u2"})
		resp, err := b.client.Update(ctx(t), "upd-2", &osbapi.UpdateRequest{ServiceID: r.ServiceID,
			Parameters: map[string]any{"fail": "update"}}, true)
		if err != nil {
			t.Fatal(err)
		}
		lo := b.waitInstance(t, "upd-2", resp.Operation, osbapi.StateFailed)
		if lo.InstanceUsable == nil || !*lo.InstanceUsable || lo.UpdateRepeatable == nil || !*lo.UpdateRepeatable {
			t.Errorf("failed update: %+v, want instance_usable and update_repeatable true", lo)
		}
		got, _ := b.client.GetInstance(ctx(t), "upd-2", nil)
		if _, ok := got.Parameters["fail"]; ok {
			t.Errorf("a failed update changed the parameters: %+v", got.Parameters)
		}
	})

	t.Run("rows 21-22, 31 deprovision", func(t *testing.T) {
		status, _, _ := b.raw(t, "DELETE", "/v2/service_instances/upd-1?accepts_incomplete=true&plan_id=x", nil, nil)
		if status != 400 {
			t.Errorf("DELETE without service_id: %d, want 400", status)
		}
		status, _, _ = b.raw(t, "DELETE", "/v2/service_instances/upd-1?accepts_incomplete=true&service_id="+req.ServiceID, nil, nil)
		if status != 400 {
			t.Errorf("DELETE without plan_id: %d, want 400", status)
		}
		_, err := b.client.Deprovision(ctx(t), "never-was", &osbapi.DeprovisionRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		wantStatus(t, err, 410, "")
		_, err = b.client.Deprovision(ctx(t), "upd-1", &osbapi.DeprovisionRequest{ServiceID: req.ServiceID, PlanID: largePID}, false)
		wantStatus(t, err, 422, osbapi.ErrCodeAsyncRequired)

		// Row 22: DELETE while provisioning is a ConcurrencyError.
		pr := b.provisionReq(dbSmall, map[string]any{"db_name": "busy", "block": true})
		presp, err := b.client.Provision(ctx(t), "busy-1", pr, true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.client.Deprovision(ctx(t), "busy-1", &osbapi.DeprovisionRequest{ServiceID: pr.ServiceID, PlanID: pr.PlanID}, true)
		wantStatus(t, err, 422, osbapi.ErrCodeConcurrencyError)
		lo, _ := b.client.LastOperation(ctx(t), "busy-1", &osbapi.LastOperationRequest{Operation: presp.Operation})
		if lo == nil || lo.State != osbapi.StateInProgress {
			t.Errorf("provision after refused DELETE: %+v", lo)
		}
		b.ctl.Release("busy-1")
		b.waitInstance(t, "busy-1", presp.Operation, osbapi.StateSucceeded)

		resp, err := b.client.Deprovision(ctx(t), "upd-1", &osbapi.DeprovisionRequest{ServiceID: req.ServiceID, PlanID: largePID}, true)
		if err != nil || !resp.Async {
			t.Fatalf("deprovision: %+v, %v", resp, err)
		}
		// Row 14: once done, polls answer 410 Gone.
		_, err = b.client.PollLastOperation(ctx(t), "upd-1", &osbapi.LastOperationRequest{Operation: resp.Operation}, 50e6)
		wantStatus(t, err, 410, "")
		// Row 31: a repeated DELETE is 410.
		_, err = b.client.Deprovision(ctx(t), "upd-1", &osbapi.DeprovisionRequest{ServiceID: req.ServiceID, PlanID: largePID}, true)
		wantStatus(t, err, 410, "")
	})
}

func TestRow23To29Bindings(t *testing.T) {
	b := startBroker(t, options{launchOnBind: true})
	req := b.provisioned(t, "bind-1", dbSmall, map[string]any{"db_name": "b"})
	plainSID, plainPID := b.ids("local-plain-apb", "default")

	t.Run("row 23 rejections", func(t *testing.T) {
		cases := []struct {
			name   string
			req    *osbapi.BindRequest
			status int
			field  string
		}{
			{"unknown service", &osbapi.BindRequest{ServiceID: "nope", PlanID: req.PlanID}, 400, "service_id"},
			{"unknown plan", &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: "nope"}, 400, "plan_id"},
			{"not bindable", &osbapi.BindRequest{ServiceID: plainSID, PlanID: plainPID}, 400, "bindable"},
			{"bad bind parameter", &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID,
				Parameters: map[string]any{"readonly": "yes"}}, 400, "readonly"},
		}
		for _, c := range cases {
			_, err := b.client.Bind(ctx(t), "bind-1", "rej", c.req, true)
			e := wantStatus(t, err, c.status, "")
			if !strings.Contains(e.Description, c.field) {
				t.Errorf("%s: description %q does not name %q", c.name, e.Description, c.field)
			}
		}
		_, err := b.client.Bind(ctx(t), "bind-1", "rej", &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, false)
		wantStatus(t, err, 422, osbapi.ErrCodeAsyncRequired)
	})

	t.Run("rows 23-24, 27-28 async bind", func(t *testing.T) {
		br := &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID,
			Parameters: map[string]any{"readonly": true, "block": true}}
		status, body, _ := b.raw(t, "PUT", "/v2/service_instances/bind-1/service_bindings/b-1?accepts_incomplete=true", br, nil)
		if status != 202 || strings.Contains(string(body), "credentials") {
			t.Fatalf("async bind: %d %s; want 202 without credentials", status, body)
		}
		var first osbapi.BindResponse
		json.Unmarshal(body, &first)
		again, err := b.client.Bind(ctx(t), "bind-1", "b-1", br, true)
		if err != nil || !again.Async || again.Operation != first.Operation {
			t.Fatalf("re-PUT while binding: %+v, %v", again, err)
		}
		_, err = b.client.GetBinding(ctx(t), "bind-1", "b-1", nil)
		wantStatus(t, err, 404, "")
		// Row 26: unbind while binding is a ConcurrencyError.
		_, err = b.client.Unbind(ctx(t), "bind-1", "b-1", &osbapi.UnbindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		wantStatus(t, err, 422, osbapi.ErrCodeConcurrencyError)
		b.ctl.Release("b-1")
		b.waitBinding(t, "bind-1", "b-1", first.Operation, osbapi.StateSucceeded)
		got, err := b.client.GetBinding(ctx(t), "bind-1", "b-1", nil)
		if err != nil || got.Credentials["DB_USER"] != "u-b-1" {
			t.Fatalf("GET binding: %+v, %v", got, err)
		}
		status, body, _ = b.raw(t, "PUT", "/v2/service_instances/bind-1/service_bindings/b-1?accepts_incomplete=true", br, nil)
		if status != 200 || !strings.Contains(string(body), "u-b-1") {
			t.Fatalf("identical bind after success: %d %s", status, body)
		}
		for _, f := range []string{"syslog_drain_url", "route_service_url", "volume_mounts", "endpoints"} {
			if strings.Contains(string(body), f) {
				t.Errorf("bind response carries %s without the catalog requiring it: %s", f, body)
			}
		}
		other := &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID, Parameters: map[string]any{"readonly": false}}
		_, err = b.client.Bind(ctx(t), "bind-1", "b-1", other, true)
		wantStatus(t, err, 409, "")
		// The bind playbook saw the instance's and its own parameters.
		for _, a := range b.rt.Started() {
			if a.Name == "bind" && a.BindingID == "b-1" {
				if a.ExtraVars["db_name"] != "b" || a.ExtraVars["readonly"] != true || a.ExtraVars["_apb_service_binding_id"] != "b-1" {
					t.Errorf("bind extra vars: %v", a.ExtraVars)
				}
				pc, _ := a.ExtraVars["_apb_provision_creds"].(map[string]any)
				if pc["DB_HOST"] != "db-bind-1.example" {
					t.Errorf("_apb_provision_creds = %v", a.ExtraVars["_apb_provision_creds"])
				}
			}
		}
	})

	t.Run("row 26 unbind", func(t *testing.T) {
		status, _, _ := b.raw(t, "DELETE", "/v2/service_instances/bind-1/service_bindings/b-1?accepts_incomplete=true&plan_id="+req.PlanID, nil, nil)
		if status != 400 {
			t.Errorf("unbind without service_id: %d", status)
		}
		_, err := b.client.Unbind(ctx(t), "bind-1", "nope", &osbapi.UnbindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		wantStatus(t, err, 410, "")
		resp, err := b.client.Unbind(ctx(t), "bind-1", "b-1", &osbapi.UnbindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		if err != nil || !resp.Async {
			t.Fatalf("unbind: %+v, %v", resp, err)
		}
		_, err = b.client.PollBindingLastOperation(ctx(t), "bind-1", "b-1", &osbapi.LastOperationRequest{Operation: resp.Operation}, 50e6)
		wantStatus(t, err, 410, "")
		for _, a := range b.rt.Started() {
			if a.Name == "unbind" && a.BindingID == "b-1" {
				bc, _ := a.ExtraVars["_apb_bind_creds"].(map[string]any)
				if bc["DB_USER"] != "u-b-1" {
					t.Errorf("_apb_bind_creds = %v", a.ExtraVars["_apb_bind_creds"])
				}
			}
		}
		_, err = b.client.GetBinding(ctx(t), "bind-1", "b-1", nil)
		wantStatus(t, err, 404, "")
	})

	t.Run("row 29 deprovision with a binding left", func(t *testing.T) {
		br := &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}
		resp, err := b.client.Bind(ctx(t), "bind-1", "b-2", br, true)
		if err != nil {
			t.Fatal(err)
		}
		b.waitBinding(t, "bind-1", "b-2", resp.Operation, osbapi.StateSucceeded)
		d, err := b.client.Deprovision(ctx(t), "bind-1", &osbapi.DeprovisionRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.client.PollLastOperation(ctx(t), "bind-1", &osbapi.LastOperationRequest{Operation: d.Operation}, 50e6)
		wantStatus(t, err, 410, "")
		_, err = b.client.GetBinding(ctx(t), "bind-1", "b-2", nil)
		wantStatus(t, err, 404, "")
	})
}

func TestSyncBindingsWithoutLaunchAPBOnBind(t *testing.T) {
	b := startBroker(t, options{launchOnBind: false})
	req := b.provisioned(t, "sb-1", dbSmall, map[string]any{"db_name": "sb"})
	br := &osbapi.BindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}
	resp, err := b.client.Bind(ctx(t), "sb-1", "sb-b", br, false)
	if err != nil || resp.Async || resp.Exists || resp.Credentials["DB_PASSWORD"] != "pw-sb-1" {
		t.Fatalf("sync bind: %+v, %v; want 201 with the provision credentials", resp, err)
	}
	again, err := b.client.Bind(ctx(t), "sb-1", "sb-b", br, false)
	if err != nil || !again.Exists {
		t.Fatalf("identical sync bind: %+v, %v; want 200", again, err)
	}
	if _, err := b.client.Unbind(ctx(t), "sb-1", "sb-b", &osbapi.UnbindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, false); err != nil {
		t.Fatalf("sync unbind: %v", err)
	}
	_, err = b.client.Unbind(ctx(t), "sb-1", "sb-b", &osbapi.UnbindRequest{ServiceID: req.ServiceID, PlanID: req.PlanID}, false)
	wantStatus(t, err, 410, "")
	for _, a := range b.rt.Started() {
		if a.Name == "bind" || a.Name == "unbind" {
			t.Errorf("a %s playbook ran without launch_apb_on_bind", a.Name)
		}
	}
}

func TestRow32OpaqueIDs(t *testing.T) {
	b := startBroker(t, options{})
	for _, id := range []string{"notAnId", "with space", "slash/inside", "ünïcode-✓"} {
		t.Run(id, func(t *testing.T) {
			req := b.provisioned(t, id, dbSmall, map[string]any{"db_name": "opaque"})
			got, err := b.client.GetInstance(ctx(t), id, nil)
			if err != nil || got.ServiceID != req.ServiceID {
				t.Fatalf("GET %q: %+v, %v", id, got, err)
			}
			for _, a := range b.rt.Started() {
				if a.InstanceID == id && a.ExtraVars["_apb_service_instance_id"] != id {
					t.Errorf("_apb_service_instance_id = %v", a.ExtraVars["_apb_service_instance_id"])
				}
			}
		})
	}
}
