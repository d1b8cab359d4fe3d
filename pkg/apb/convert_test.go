package apb_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/schema"
	"github.com/openstack-service-broker/openstack-service-broker/test/bundlegen"
)

func finished(t *testing.T, file, registry string) *apb.Spec {
	t.Helper()
	s, err := apb.Parse(readFile(t, file), file)
	if err != nil {
		t.Fatal(err)
	}
	s.Finish(registry, "docker.io/org/"+s.Name+":latest")
	return s
}

func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestToServiceExpectedJSON(t *testing.T) {
	s := finished(t, "testdata/demo-apb.yml", "dh")
	for _, o := range []apb.ConvertOptions{
		{HiddenParams: map[string]bool{"os_password": true}},
		// launch_apb_on_bind no longer changes bindings_retrievable.
		{LaunchAPBOnBind: true, HiddenParams: map[string]bool{"os_password": true, "not_there": true}},
	} {
		svc, err := apb.ToService(s, o)
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(readFile(t, "testdata/demo-apb.service.json"), &want); err != nil {
			t.Fatal(err)
		}
		if got := jsonOf(t, svc); !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", "  ")
			t.Errorf("options %+v: service JSON differs from testdata/demo-apb.service.json; got:\n%s", o, g)
		}
	}
}

func TestToServiceHiddenParams(t *testing.T) {
	s := finished(t, "testdata/demo-apb.yml", "dh")
	svc, err := apb.ToService(s, apb.ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create := svc.Plans[0].Schemas.ServiceInstance.Create.Parameters
	if _, ok := create["properties"].(map[string]any)["os_password"]; !ok {
		t.Error("os_password missing without HiddenParams")
	}
	if req := create["required"].([]string); !reflect.DeepEqual(req, []string{"db_name", "db_pass", "os_password"}) {
		t.Errorf("required = %v", req)
	}
	// The spec itself is not changed by conversion.
	if len(s.Plans[0].Parameters) != 11 {
		t.Errorf("spec parameters changed: %d", len(s.Plans[0].Parameters))
	}
}

func TestToServicePostgreSQL(t *testing.T) {
	s := finished(t, "testdata/postgresql-apb.yml", "dh")
	svc, err := apb.ToService(s, apb.ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Name != "dh-postgresql-apb" || svc.ID != apb.ServiceID("dh-postgresql-apb") || !svc.Bindable || !svc.PlanUpdateable ||
		!svc.InstancesRetrievable || !svc.BindingsRetrievable {
		t.Errorf("service = %+v", svc)
	}
	if svc.Metadata["displayName"] != "PostgreSQL (APB)" {
		t.Errorf("metadata = %v", svc.Metadata)
	}
	dev := svc.Plans[0]
	if dev.ID != apb.PlanID("dh-postgresql-apb", "dev") || dev.Free == nil || !*dev.Free || dev.Bindable != nil {
		t.Errorf("dev plan id/free/bindable = %s %v %v", dev.ID, dev.Free, dev.Bindable)
	}
	props := dev.Schemas.ServiceInstance.Create.Parameters["properties"].(map[string]any)
	user := props["postgresql_user"].(map[string]any)
	if user["maxLength"] != 63 || user["pattern"] != "^[a-zA-Z_][a-zA-Z0-9_]*$" {
		t.Errorf("postgresql_user = %v", user)
	}
	ver := props["postgresql_version"].(map[string]any)
	if ver["type"] != "string" || !reflect.DeepEqual(ver["enum"], []any{"10", "9.6", "9.5"}) || ver["updatable"] != true {
		t.Errorf("postgresql_version = %v", ver)
	}
	upd := dev.Schemas.ServiceInstance.Update.Parameters
	if got := upd["required"]; !reflect.DeepEqual(got, []string{"postgresql_version"}) {
		t.Errorf("update required = %v", got)
	}
	if n := len(upd["properties"].(map[string]any)); n != 1 {
		t.Errorf("update has %d properties", n)
	}
	// Parameters a user would send are accepted; broken ones are named.
	create := dev.Schemas.ServiceInstance.Create.Parameters
	ok := map[string]any{"postgresql_database": "db", "postgresql_user": "u", "postgresql_password": "s3cret!", "postgresql_version": "10"}
	if err := schema.Validate(create, ok); err != nil {
		t.Errorf("valid parameters rejected: %v", err)
	}
	bad := map[string]any{"postgresql_database": "1db", "postgresql_user": strings.Repeat("u", 64), "postgresql_version": "8"}
	err = schema.Validate(create, bad)
	for _, w := range []string{`"postgresql_database": must match`, `"postgresql_user": must be at most 63`, `"postgresql_version": must be one of`, `"postgresql_password": required`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
}

func TestToServiceHelloWorld(t *testing.T) {
	s := finished(t, "testdata/hello-world-apb.yml", "dh")
	svc, err := apb.ToService(s, apb.ConvertOptions{LaunchAPBOnBind: true})
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(t, svc).(map[string]any)
	if _, ok := got["plan_updateable"]; ok || got["bindable"] != false || got["tags"] != nil {
		t.Errorf("service JSON = %v", got)
	}
	plan := got["plans"].([]any)[0].(map[string]any)
	if plan["free"] != true || plan["bindable"] != nil || plan["updates_to"] != nil {
		t.Errorf("plan JSON = %v", plan)
	}
}

func TestToServiceUnknownType(t *testing.T) {
	s := &apb.Spec{Version: "1.0", Name: "x", Plans: []apb.Plan{
		{Name: "a", Parameters: []apb.Parameter{{Name: "p", Type: "string"}}},
		{Name: "b", Parameters: []apb.Parameter{{Name: "q", Type: "strnig"}}, BindParameters: []apb.Parameter{{Name: "r", Type: "decimal"}}},
	}}
	s.Finish("dh", "img")
	_, err := apb.ToService(s, apb.ConvertOptions{})
	if err == nil {
		t.Fatal("no error for unknown types")
	}
	for _, w := range []string{`service "dh-x"`, `plan "b"`, `parameter "q": unknown type "strnig"`, `parameter "r": unknown type "decimal"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	// Hiding the offending parameters makes the spec convertible.
	if _, err := apb.ToService(s, apb.ConvertOptions{HiddenParams: map[string]bool{"q": true, "r": true}}); err != nil {
		t.Errorf("with the bad parameters hidden: %v", err)
	}
}

func TestKeypairBundle(t *testing.T) {
	s := finished(t, "../../registries/openstack-keypair-apb/apb.yml", "local")
	if s.Version != "1.0" || s.Name != "openstack-keypair-apb" || !s.Bindable || s.Async != "optional" ||
		!reflect.DeepEqual(s.Tags, []string{"openstack", "compute", "keypair"}) {
		t.Errorf("spec = %+v", s)
	}
	for _, k := range []string{"displayName", "longDescription", "providerDisplayName", "documentationUrl"} {
		if v, _ := s.Metadata[k].(string); v == "" {
			t.Errorf("metadata.%s missing", k)
		}
	}
	svc, err := apb.ToService(s, apb.ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Plans) != 1 || svc.Plans[0].Name != "default" {
		t.Fatalf("plans = %+v", svc.Plans)
	}
	create := svc.Plans[0].Schemas.ServiceInstance.Create.Parameters
	props := create["properties"].(map[string]any)
	if props["public_key"].(map[string]any)["display_type"] != "textarea" || props["credentials_secret"].(map[string]any)["pattern"] == nil {
		t.Errorf("properties = %v", props)
	}
	if _, ok := create["required"]; ok {
		t.Errorf("no parameter should be required: %v", create["required"])
	}
	for _, tc := range []struct {
		params map[string]any
		err    string
	}{
		{map[string]any{}, ""},
		{map[string]any{"cloud": "prod", "credentials_secret": "my-openstack"}, ""},
		{map[string]any{"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIexample user@host"}, ""},
		{map[string]any{"credentials_secret": "other-ns/secret"}, `parameter "credentials_secret": must match`},
		{map[string]any{"cloud": strings.Repeat("k", 65)}, `parameter "cloud": must`},
		{map[string]any{"keypair_name": "x"}, `parameter "keypair_name": not allowed`},
	} {
		err := schema.Validate(create, tc.params)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("params %v: err = %v, want %q", tc.params, err, tc.err)
		}
	}
}

// TestCatalogOfGeneratedBundles converts 1,000 generated bundles the way a
// bootstrap does and checks the ids are unique.
func TestCatalogOfGeneratedBundles(t *testing.T) {
	docs := bundlegen.Generate(1000, 1)
	ids := map[string]bool{}
	for i, d := range docs {
		s, err := apb.Parse(d, "gen")
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		s.Finish("gen", "img")
		svc, err := apb.ToService(s, apb.ConvertOptions{})
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		for _, id := range append([]string{svc.ID}, planIDs(svc)...) {
			if ids[id] {
				t.Fatalf("duplicate id %s", id)
			}
			ids[id] = true
		}
	}
}

func planIDs(svc osbapi.Service) []string {
	out := make([]string, len(svc.Plans))
	for i, p := range svc.Plans {
		out[i] = p.ID
	}
	return out
}

func BenchmarkParseAndConvert1000(b *testing.B) {
	docs := bundlegen.Generate(1000, 1)
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			s, err := apb.Parse(d, "gen")
			if err != nil {
				b.Fatal(err)
			}
			s.Finish("gen", "img")
			if _, err := apb.ToService(s, apb.ConvertOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkConvert1000(b *testing.B) {
	docs := bundlegen.Generate(1000, 1)
	specs := make([]*apb.Spec, len(docs))
	for i, d := range docs {
		s, err := apb.Parse(d, "gen")
		if err != nil {
			b.Fatal(err)
		}
		s.Finish("gen", "img")
		specs[i] = s
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range specs {
			if _, err := apb.ToService(s, apb.ConvertOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// A plan's metadata.maintenance_info becomes the OSB field, in the one
// conversion the catalog uses.
func TestToServiceMaintenanceInfo(t *testing.T) {
	s := &apb.Spec{FQName: "r-x", ID: "x", Plans: []apb.Plan{
		{ID: "p1", Name: "versioned", Metadata: map[string]any{"maintenance_info": map[string]any{"version": "1.2.0", "description": "patch"}}},
		{ID: "p2", Name: "no version", Metadata: map[string]any{"maintenance_info": map[string]any{"description": "d"}}},
		{ID: "p3", Name: "plain"},
	}}
	svc, err := apb.ToService(s, apb.ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mi := svc.Plans[0].MaintenanceInfo; mi == nil || mi.Version != "1.2.0" || mi.Description != "patch" {
		t.Errorf("versioned plan: maintenance_info = %+v", mi)
	}
	for _, p := range svc.Plans[1:] {
		if p.MaintenanceInfo != nil {
			t.Errorf("plan %q: maintenance_info = %+v, want none", p.Name, p.MaintenanceInfo)
		}
	}
}
