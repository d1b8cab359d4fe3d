package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// containerOf: whether demo's container name exists, its owner mark and
// objects, with openstacksdk.
func containerOf(t *testing.T, c *Cloud, name string) map[string]any {
	t.Helper()
	return asMap(t, c.Python(t, fmt.Sprintf(`
c = connect("emulator")
st = status_of(lambda: c.object_store.get_container_metadata(%[1]q))
if st == 404:
    emit({"exists": False})
else:
    m = c.object_store.get_container_metadata(%[1]q)
    emit({"exists": True, "metadata": m.metadata, "objects": sorted(o.name for o in c.object_store.objects(%[1]q))})`, name)))
}

// swiftAs tries, as the bound credential, each Swift request and returns
// their statuses (200s as 200): put and get an object of the container,
// head and list the container, list another container.
func swiftAs(t *testing.T, c *Cloud, creds map[string]any, other string) map[string]any {
	t.Helper()
	return asMap(t, asAppCred(t, c, creds, fmt.Sprintf(`
c = bound()
cont, other = %q, %q
def code(resp):
    return 200 if resp.status_code < 300 else resp.status_code
emit({"put": code(c.object_store.put("/%%s/hello.txt" %% cont, data=b"hello")),
      "get": code(c.object_store.get("/%%s/hello.txt" %% cont)),
      "head": code(c.object_store.head("/%%s" %% cont)),
      "list": code(c.object_store.get("/%%s" %% cont, params={"format": "json"})),
      "other": code(c.object_store.get("/%%s" %% other, params={"format": "json"})),
      "compute": status_of(lambda: list(c.compute.servers()))})`, str(creds["container"]), other)))
}

func containerLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid
	if _, err := f.runDirect("provision", iid, "default", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "default", nil))
	got := containerOf(t, c, name)
	if got["exists"] != true || asMap(t, got["metadata"])["osb-owner"] != iid {
		t.Fatalf("container = %v, want it marked with the instance", got)
	}
	// Another container of the project, which bindings must not reach.
	other := "osb-e2e-other-" + iid
	c.CLI(t, "emulator", "container", "create", other)
	t.Cleanup(func() {
		c.Python(t, fmt.Sprintf(`c = connect("emulator"); c.object_store.delete_container(%q); emit(True)`, other))
	})

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["container"] != name || !strings.HasSuffix(str(b["container_url"]), "/"+name) || b["application_credential_secret"] == "" {
		t.Errorf("binding = container %v url %v", b["container"], b["container_url"])
	}
	want := map[string]any{"put": float64(200), "get": float64(200), "head": float64(200), "list": float64(200), "other": float64(401), "compute": float64(401)}
	if got := swiftAs(t, c, b, other); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read-write binding: %v, want %v", got, want)
	}
	// Its clouds.yaml serves the CLI too, on the container only.
	if out, code := withCloudsYAML(t, c, b, "object", "list", name, "-f", "json"); code != 0 || !strings.Contains(out, "hello.txt") {
		t.Errorf("openstack object list with the bound clouds.yaml: exit %d: %s", code, out)
	}

	bidRO := newID(t)
	lo, ro := f.bind(iid, bidRO, map[string]any{"read_only": true})
	f.succeeded("bind (read only)", lo)
	wantRO := map[string]any{"put": float64(401), "get": float64(200), "head": float64(200), "list": float64(200), "other": float64(401), "compute": float64(401)}
	if got := swiftAs(t, c, ro, other); fmt.Sprint(got) != fmt.Sprint(wantRO) {
		t.Errorf("read-only binding: %v, want %v", got, wantRO)
	}

	f.succeeded("unbind", f.unbind(iid, bid))
	if v := asAppCred(t, c, b, `emit(status_of(lambda: bound().authorize()))`); v != float64(401) {
		t.Errorf("the unbound credential still authenticates: %v", v)
	}
	if got := appCredsOf(t, c, "emulator", "osb-"+iid+"-"); len(got) != 1 {
		t.Errorf("application credentials after one unbind: %v, want the read-only binding's", got)
	}

	// The read-only binding is never unbound: the deprovision deletes its
	// credential, and the container with its object.
	f.succeeded("deprovision", f.deprovision(iid))
	if got := containerOf(t, c, name); got["exists"] != false {
		t.Errorf("after deprovision: %v", got)
	}
	if got := appCredsOf(t, c, "emulator", "osb-"+iid+"-"); len(got) != 0 {
		t.Errorf("after deprovision: application credentials %v", got)
	}
}

// containerFailure: a container of that name exists and is not the
// instance's; the provision fails saying so, and the deprovision leaves
// that container alone.
func containerFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	taken := "osb-e2e-taken-" + iid
	c.CLI(t, "emulator", "container", "create", taken)
	t.Cleanup(func() {
		c.Python(t, fmt.Sprintf(`c = connect("emulator"); c.object_store.delete_container(%q); emit(True)`, taken))
	})
	lo := f.provision(iid, "default", map[string]any{"container": taken})
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "already exists") {
		t.Errorf("provision of a taken container: %s %q, want failed saying it exists", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if got := containerOf(t, c, taken); got["exists"] != true {
		t.Errorf("the deprovision deleted a container that was not the instance's")
	}

	// Swift failing: the error is Swift's.
	iid2 := newID(t)
	swift := c.Fault(t, fault{Method: "PUT", Path: "/object-store/v1/*/osb-" + iid2,
		Status: 507, Body: "<html><h1>Insufficient Storage</h1><p>injected: no space left</p></html>"})
	lo = f.provision(iid2, "default", nil)
	swift.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "507") {
		t.Errorf("provision with Swift failing: %s %q, want failed naming Swift's 507", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid2))
	if got := containerOf(t, c, "osb-"+iid2); got["exists"] != false {
		t.Errorf("left: %v", got)
	}
}
