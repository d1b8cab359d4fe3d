package openstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func init() {
	bundleTests = append(bundleTests, bundleTest{"openstack-queue-apb", queueLifecycle, queueFailure})
}

// queuesOf: demo's queues named name, as openstacksdk lists them.
func queuesOf(t *testing.T, c *Cloud, name string) int {
	t.Helper()
	return int(c.Python(t, fmt.Sprintf(`
c = connect("emulator")
emit(len([q for q in c.message.queues() if q.name == %q]))`, name)).(float64))
}

// zaqarAs tries, as the bound credential, each Zaqar request and returns
// their statuses (2xx as 200): post a message to the queue and list its
// messages (the body posted), list another queue's messages, reach Nova.
func zaqarAs(t *testing.T, c *Cloud, creds map[string]any, other string) map[string]any {
	t.Helper()
	return asMap(t, asAppCred(t, c, creds, fmt.Sprintf(`
import uuid
c = bound()
q, other = %q, %q
h = {"Client-ID": str(uuid.uuid4())}
def code(resp):
    return 200 if resp.status_code < 300 else resp.status_code
post = c.message.post("/queues/%%s/messages" %% q, json={"messages": [{"body": {"hello": "e2e"}, "ttl": 300}]}, headers=h)
got = c.message.get("/queues/%%s/messages" %% q, params={"echo": "true"}, headers=h)
bodies = [m["body"] for m in got.json().get("messages", [])] if got.status_code == 200 else []
emit({"post": code(post), "list": code(got), "seen": {"hello": "e2e"} in bodies,
      "other": code(c.message.get("/queues/%%s/messages" %% other, headers=h)),
      "compute": status_of(lambda: list(c.compute.servers()))})`, str(creds["queue"]), other)))
}

func queueLifecycle(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	name := "osb-" + iid
	if _, err := f.runDirect("provision", iid, "default", nil); err != nil {
		t.Fatalf("direct provision: %v", err)
	}
	f.succeeded("provision", f.provision(iid, "default", nil))
	if n := queuesOf(t, c, name); n != 1 {
		t.Fatalf("after provision: %d queues named %s, want 1", n, name)
	}
	// Another queue of the project, which bindings must not reach.
	other := "osb-e2e-other-" + iid[:8]
	c.CLI(t, "emulator", "messaging", "queue", "create", other)
	t.Cleanup(func() {
		c.Python(t, fmt.Sprintf(`c = connect("emulator"); c.message.delete_queue(%q); emit(True)`, other))
	})

	bid := newID(t)
	lo, b := f.bind(iid, bid, nil)
	f.succeeded("bind", lo)
	if b["queue"] != name || !strings.HasSuffix(str(b["queue_url"]), "/queues/"+name) || b["application_credential_secret"] == "" ||
		b["application_credential_name"] != name+"-"+bid {
		t.Errorf("binding = queue %v url %v credential %v", b["queue"], b["queue_url"], b["application_credential_name"])
	}
	want := map[string]any{"post": float64(200), "list": float64(200), "seen": true, "other": float64(401), "compute": float64(401)}
	if got := zaqarAs(t, c, b, other); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bound credential: %v, want %v", got, want)
	}
	// Its clouds.yaml serves the CLI too, on the queue only.
	if out, code := withCloudsYAML(t, c, b, "messaging", "queue", "stats", name, "-f", "json"); code != 0 || !strings.Contains(out, "messages") {
		t.Errorf("openstack messaging queue stats with the bound clouds.yaml: exit %d: %s", code, out)
	}
	if left := appCredsOf(t, c, "emulator", name+"-"); len(left) != 1 {
		t.Errorf("after bind: credentials %v, want the binding's", left)
	}

	// A second binding, never unbound: deprovision removes its credential.
	bid2 := newID(t)
	lo, b2 := f.bind(iid, bid2, nil)
	f.succeeded("bind (second)", lo)

	f.succeeded("unbind", f.unbind(iid, bid))
	if v := asAppCred(t, c, b, `emit(status_of(lambda: bound().authorize()))`); v != float64(401) {
		t.Errorf("the unbound credential still authenticates: %v", v)
	}
	if got := zaqarAs(t, c, b2, other); got["post"] != float64(200) {
		t.Errorf("unbind revoked the other binding's credential too: %v", got)
	}

	f.succeeded("deprovision", f.deprovision(iid))
	if n := queuesOf(t, c, name); n != 0 {
		t.Errorf("after deprovision: %d queues named %s", n, name)
	}
	if left := appCredsOf(t, c, "emulator", name+"-"); len(left) != 0 {
		t.Errorf("after deprovision: credentials left %v", left)
	}
}

// queueFailure: Zaqar refuses the queue; the provision fails naming
// Zaqar's error, and the deprovision succeeds with nothing to delete.
func queueFailure(t *testing.T, s *suite, f *flow) {
	c := s.cloud
	iid := newID(t)
	zaqar := c.Fault(t, fault{Method: "PUT", Path: "/messaging/v2/queues/osb-" + iid,
		Status: 503, Body: map[string]any{"title": "Service temporarily unavailable", "description": "injected: the message store is down"}})
	lo := f.provision(iid, "default", nil)
	zaqar.Remove()
	if lo.State != osbapi.StateFailed || !strings.Contains(lo.Description, "message store is down") {
		t.Errorf("provision with Zaqar refusing the queue: %s %q, want failed naming Zaqar's error", lo.State, lo.Description)
	}
	f.succeeded("deprovision after a failed provision", f.deprovision(iid))
	if n := queuesOf(t, c, "osb-"+iid); n != 0 {
		t.Errorf("after deprovision: %d queues", n)
	}
}
