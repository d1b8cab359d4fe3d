package emulator_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// clientID is the Client-ID the CLI and raw requests send.
const clientID = "3b4fd6e4-7a8a-4d1a-8f52-6ad4e1b6cb8f"

// TestZaqarSDK: queues, messages, claims and subscriptions through
// openstacksdk, errors, and isolation from the alt project. openstacksdk
// 0.101's Claim cannot read a claim's answer (it overwrites the location
// header with its own "location" attribute and fails on every claim
// response, against any Zaqar), so claims go through the SDK's message
// adapter, as raw requests.
func TestZaqarSDK(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	out := asMap(t, c.Python(t, `
import uuid
demo = connect("emulator")
m = demo.message
m.create_queue(name="sdk-q", default_message_ttl=600)
q = m.get_queue("sdk-q")
queues = [x.name for x in m.queues()]
res = m.post_message("sdk-q", [{"body": {"n": 1}, "ttl": 300}, {"body": "two"}])
ids = [r.rsplit("/", 1)[1] for r in res]
listed = [(x.id, x.body, x.ttl) for x in m.messages("sdk-q")]
one = m.get_message("sdk-q", ids[0])
hdr = {"Client-ID": str(uuid.uuid4())}
cr = m.post("/queues/sdk-q/claims?limit=1", json={"ttl": 60, "grace": 60}, headers=hdr)
cid = cr.headers["location"].split("claims/")[1]
claimed = cr.json()["messages"]
got_claim = m.get("/queues/sdk-q/claims/" + cid, headers=hdr).json()
renew = m.patch("/queues/sdk-q/claims/" + cid, json={"ttl": 120}, headers=hdr).status_code
without_claim = http_error(lambda: m.delete_message("sdk-q", claimed[0]["id"], ignore_missing=False))
m.delete_message("sdk-q", claimed[0]["id"], claim=cid)
release = m.delete("/queues/sdk-q/claims/" + cid, headers=hdr).status_code
after = [x.id for x in m.messages("sdk-q")]
sub = m.create_subscription("sdk-q", subscriber="http://hooks.example/zaqar", ttl=3600, options={"k": "v"})
subs = [s.id for s in m.subscriptions("sdk-q")]
shown = m.get_subscription("sdk-q", sub.id)
m.delete_subscription("sdk-q", sub.id)
# Errors (post_message does not check the answer's status: raw posts).
bad_name = http_error(lambda: m.create_queue(name="bad name!"))
def post_status(messages):
    r = m.post("/queues/sdk-q/messages", json={"messages": messages}, headers=hdr)
    return {"status": r.status_code, "message": r.json().get("description")}
bad_ttl = post_status([{"body": 1, "ttl": 10}])
too_big = post_status([{"body": "x" * 300000}])
missing = http_error(lambda: m.get_message("sdk-q", "5f0000000000000000000000"))
# Isolation: alt neither lists nor reads demo's queue; its delete of the
# same name only touches its own (empty) queue.
alt = connect("emulator-alt").message
alt_queues = [x.name for x in alt.queues()]
alt_get = http_error(lambda: alt.get_message("sdk-q", ids[1]))
alt.delete_queue("sdk-q")
still = [x.id for x in m.messages("sdk-q")]
m.delete_queue("sdk-q")
gone = [x.name for x in m.queues()]
emit({"ttl": q.default_message_ttl, "queues": queues, "ids": ids, "listed": listed, "one": one.body,
      "claimed": [x["id"] for x in claimed], "got_claim": got_claim, "renew": renew, "without_claim": without_claim,
      "release": release, "after": after, "subs": subs, "sub_id": sub.id, "shown": [shown.subscriber, shown.options, shown.ttl],
      "bad_name": bad_name, "bad_ttl": bad_ttl, "too_big": too_big, "missing": missing,
      "alt_queues": alt_queues, "alt_get": alt_get, "still": still, "gone": gone})
`))
	ids := asList(t, out["ids"])
	if out["ttl"] != float64(600) || fmt.Sprint(out["queues"]) != "[sdk-q]" || len(ids) != 2 {
		t.Fatalf("queue/post: %v", out)
	}
	if l := asList(t, out["listed"]); len(l) != 2 || fmt.Sprint(asList(t, l[0])[1]) != "map[n:1]" || fmt.Sprint(out["one"]) != "map[n:1]" {
		t.Errorf("messages: %v %v", out["listed"], out["one"])
	}
	if fmt.Sprint(out["claimed"]) != fmt.Sprint([]any{ids[0]}) || asMap(t, out["got_claim"])["ttl"] != float64(60) || out["renew"] != float64(204) {
		t.Errorf("claim: %v %v %v", out["claimed"], out["got_claim"], out["renew"])
	}
	if asMap(t, out["without_claim"])["status"] != float64(403) || out["release"] != float64(204) || fmt.Sprint(out["after"]) != fmt.Sprint([]any{ids[1]}) {
		t.Errorf("claimed message delete: %v, release %v, left %v", out["without_claim"], out["release"], out["after"])
	}
	if fmt.Sprint(out["subs"]) != fmt.Sprint([]any{out["sub_id"]}) || fmt.Sprint(out["shown"]) != "[http://hooks.example/zaqar map[k:v] 3600]" {
		t.Errorf("subscriptions: %v %v", out["subs"], out["shown"])
	}
	for k, want := range map[string]float64{"bad_name": 400, "bad_ttl": 400, "too_big": 400, "missing": 404, "alt_get": 404} {
		if got := asMap(t, out[k])["status"]; got != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	if !strings.Contains(fmt.Sprint(asMap(t, out["too_big"])["message"]), "Message collection size is too large") {
		t.Errorf("too big: %v", out["too_big"])
	}
	if len(asList(t, out["alt_queues"])) != 0 || fmt.Sprint(out["still"]) != fmt.Sprint([]any{ids[1]}) || len(asList(t, out["gone"])) != 0 {
		t.Errorf("isolation: alt lists %v; demo's messages after alt's delete %v; after delete %v", out["alt_queues"], out["still"], out["gone"])
	}
}

// TestZaqarCLI: python3-zaqarclient's openstack messaging commands.
func TestZaqarCLI(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	if out, err := exec.Command(python3, "-c", "import zaqarclient").CombinedOutput(); err != nil {
		t.Fatalf("python3-zaqarclient is missing (%v: %s): install the Debian package (hack/test.d/20-emulator.sh), or set OSB_SKIP=emulator", err, out)
	}
	if q := asMap(t, c.CLI(t, "emulator", "messaging", "queue", "create", "cq")); q["Name"] != "cq" {
		t.Fatalf("queue create: %v", q)
	}
	c.CLINoFormat(t, "emulator", "messaging", "queue", "set", "metadata", "cq", `{"_default_message_ttl": 600, "purpose": "cli"}`)
	meta := asMap(t, asMap(t, c.CLI(t, "emulator", "messaging", "queue", "get", "metadata", "cq"))["Metadata"])
	if meta["purpose"] != "cli" || meta["_default_message_ttl"] != float64(600) || meta["_max_messages_post_size"] != float64(262144) {
		t.Errorf("queue metadata: %v", meta)
	}
	if findBy(t, c.CLI(t, "emulator", "messaging", "queue", "list"), "Name", "cq") == nil {
		t.Error("queue list lacks cq")
	}
	c.CLINoFormat(t, "emulator", "messaging", "message", "post", "cq", `[{"body": {"k": "v"}, "ttl": 300}, {"body": 2}]`, "--client-id", clientID)
	msgs := asList(t, c.CLI(t, "emulator", "messaging", "message", "list", "cq", "--echo", "--client-id", clientID))
	if len(msgs) != 2 || asMap(t, msgs[1])["TTL"] != float64(600) {
		t.Errorf("message list: %v", msgs)
	}
	claim := asList(t, c.CLI(t, "emulator", "messaging", "claim", "create", "cq", "--ttl", "120", "--grace", "60", "--limit", "1"))
	if len(claim) != 1 {
		t.Fatalf("claim create: %v", claim)
	}
	cid := fmt.Sprint(asMap(t, claim[0])["Claim_ID"])
	if q := asList(t, c.CLI(t, "emulator", "messaging", "claim", "query", "cq", cid)); len(q) != 1 {
		t.Errorf("claim query: %v", q)
	}
	c.CLI(t, "emulator", "messaging", "claim", "renew", "cq", cid, "--ttl", "300")
	c.CLINoFormat(t, "emulator", "messaging", "claim", "release", "cq", cid)
	stats := asMap(t, asMap(t, asMap(t, c.CLI(t, "emulator", "messaging", "queue", "stats", "cq"))["Stats"])["messages"])
	if stats["total"] != float64(2) || stats["claimed"] != float64(0) {
		t.Errorf("stats after release: %v", stats)
	}
	sub := asMap(t, c.CLI(t, "emulator", "messaging", "subscription", "create", "cq", "mailto:ops@example.com", "3600"))
	if findBy(t, c.CLI(t, "emulator", "messaging", "subscription", "list", "cq"), "ID", fmt.Sprint(sub["ID"])) == nil {
		t.Errorf("subscription list lacks %v", sub)
	}
	c.CLINoFormat(t, "emulator", "messaging", "subscription", "delete", "cq", fmt.Sprint(sub["ID"]))
	// A pre-signed URL lets a client without a token read the messages.
	signed := asMap(t, c.CLI(t, "emulator", "messaging", "queue", "signed", "url", "cq", "--paths", "messages", "--methods", "GET"))
	hdr := []string{"Client-ID", clientID, "URL-Signature", fmt.Sprint(signed["Signature"]), "URL-Expires", fmt.Sprint(signed["Expires"]),
		"URL-Methods", fmt.Sprint(signed["Methods"]), "URL-Paths", fmt.Sprint(signed["Paths"]), "X-Project-ID", fmt.Sprint(signed["Project ID"])}
	resp, body := c.HTTP(t, "", "GET", "/messaging/v2/queues/cq/messages?echo=true", nil, hdr...)
	if resp.StatusCode != 200 || strings.Count(string(body), `"id": "`) != 2 {
		t.Errorf("GET with the pre-signed URL: %d %s", resp.StatusCode, body)
	}
	if resp, body = c.HTTP(t, "", "POST", "/messaging/v2/queues/cq/messages", map[string]any{"messages": []any{map[string]any{"body": 1}}}, hdr...); resp.StatusCode != 404 {
		t.Errorf("POST with a GET-only pre-signed URL: %d %s", resp.StatusCode, body)
	}
	if out := c.CLINoFormat(t, "emulator", "messaging", "ping"); !strings.Contains(out, "True") {
		t.Errorf("ping: %s", out)
	}
	if out := c.CLINoFormat(t, "emulator-admin", "messaging", "health"); !strings.Contains(out, "storage_reachable") {
		t.Errorf("health (admin): %s", out)
	}
	// Errors and isolation.
	if e := c.CLIFails(t, "emulator", "messaging", "claim", "query", "cq", "nope"); !strings.Contains(e, "404") || !strings.Contains(e, "Claim nope does not exist") {
		t.Errorf("missing claim: %s", e)
	}
	if e := c.CLIFails(t, "emulator", "messaging", "health"); !strings.Contains(e, "403") {
		t.Errorf("health as a member: %s", e)
	}
	if l := c.CLI(t, "emulator-alt", "messaging", "queue", "list"); len(asListOrNil(l)) != 0 {
		t.Errorf("alt lists queues: %v", l)
	}
	c.CLINoFormat(t, "emulator", "messaging", "queue", "purge", "cq")
	c.CLINoFormat(t, "emulator", "messaging", "queue", "delete", "cq")
	if l := c.CLI(t, "emulator", "messaging", "queue", "list"); len(asListOrNil(l)) != 0 {
		t.Errorf("queues left: %v", l)
	}
}

// TestZaqarAnsible: this project's openstack_apb_zaqar_queue module in
// the openstack-apb image.
func TestZaqarAnsible(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	r := c.Ansible(t, `
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create queue
      openstack_apb_zaqar_queue: {cloud: emulator, name: ans-q}
    - name: create queue again
      openstack_apb_zaqar_queue: {cloud: emulator, name: ans-q}
    - name: alt creates its own
      openstack_apb_zaqar_queue: {cloud: emulator-alt, name: ans-q}
    - name: invalid name
      openstack_apb_zaqar_queue: {cloud: emulator, name: "no spaces"}
      ignore_errors: true
    - name: delete queue
      openstack_apb_zaqar_queue: {cloud: emulator, name: ans-q, state: absent}
    - name: delete queue again
      openstack_apb_zaqar_queue: {cloud: emulator, name: ans-q, state: absent}
`)
	created := r.OK(t, "create queue")
	if created["changed"] != true || asMap(t, created["queue"])["href"] != c.URL()+"/messaging/v2/queues/ans-q" {
		t.Errorf("create queue: %v", created)
	}
	if again := r.OK(t, "create queue again"); again["changed"] != false {
		t.Errorf("a second create must change nothing: %v", again)
	}
	if alt := r.OK(t, "alt creates its own"); alt["changed"] != true {
		t.Errorf("alt sees demo's queue: %v", alt)
	}
	if msg := r.Failed(t, "invalid name"); !strings.Contains(msg, "400") {
		t.Errorf("invalid queue name: %s", msg)
	}
	if del := r.OK(t, "delete queue"); del["changed"] != true {
		t.Errorf("delete: %v", del)
	}
	if del := r.OK(t, "delete queue again"); del["changed"] != false {
		t.Errorf("second delete: %v", del)
	}
	// alt's queue survived demo's delete.
	resp, body := c.HTTP(t, c.Token(t, "alt"), "GET", "/messaging/v2/queues", nil, "Client-ID", clientID)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name": "ans-q"`) {
		t.Errorf("alt's queues: %d %s", resp.StatusCode, body)
	}
}

// TestZaqarShapes: discovery, the before-hooks' errors, Falcon's error
// documents, JSON patch, claims and deletes as Zaqar answers them, through
// raw HTTP.
func TestZaqarShapes(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	tok := c.Token(t, "demo")
	do, expect := rawChecks(t, c)
	cid := []string{"Client-ID", clientID}
	resp, body := do("", "GET", "/messaging", nil)
	expect("versions", resp, body, 300, `{"id": "2", "status": "CURRENT", "updated": "2014-9-24T04:06:47Z"`)
	resp, body = do("", "GET", "/messaging/v2/queues", nil, cid...)
	expect("no token", resp, body, 401, "The request you have made requires authentication.")
	resp, body = do(tok, "GET", "/messaging/v2/queues", nil)
	expect("no Client-ID", resp, body, 400, `{"title": "Missing header value", "description": "The Client-ID header is required."}`)
	resp, body = do(tok, "GET", "/messaging/v2/queues", nil, "Client-ID", "not-a-uuid")
	expect("bad Client-ID", resp, body, 400, `"title": "Wrong UUID value"`)
	resp, body = do(tok, "GET", "/messaging/v2/", nil, cid...)
	expect("home document", resp, body, 200, `"rel/queues": {`)
	if resp.Header.Get("Content-Type") != "application/json-home" {
		t.Errorf("home document type: %v", resp.Header)
	}
	resp, body = do(tok, "GET", "/messaging/v2/nope", nil, cid...)
	expect("unknown path", resp, body, 404, `{"title": "404 Not Found"}`)
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1", nil, cid...)
	expect("bad method", resp, body, 405, `"title": "405 Method Not Allowed"`)
	if resp.Header.Get("Allow") != "GET, PUT, PATCH, DELETE, OPTIONS" {
		t.Errorf("Allow: %q", resp.Header.Get("Allow"))
	}
	resp, body = do(tok, "PUT", "/messaging/v2/queues/bad%20name", nil, cid...)
	expect("bad queue name", resp, body, 400, `"title": "Invalid queue identification"`)
	// Queues are lazy: GET answers the defaults of a queue never created.
	resp, body = do(tok, "GET", "/messaging/v2/queues/lazy", nil, cid...)
	expect("lazy queue", resp, body, 200, `"_max_messages_post_size": 262144, "_default_message_ttl": 3600`)
	resp, _ = do(tok, "PUT", "/messaging/v2/queues/q1", map[string]any{"color": "red"}, cid...)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v2/queues/q1" {
		t.Errorf("queue PUT: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ = do(tok, "PUT", "/messaging/v2/queues/q1", nil, cid...); resp.StatusCode != 204 {
		t.Errorf("queue PUT again: %d", resp.StatusCode)
	}
	// JSON patch.
	ops := `[{"op": "replace", "path": "/metadata/color", "value": "blue"}, {"op": "add", "path": "/metadata/size", "value": 3}]`
	resp, body = do(tok, "PATCH", "/messaging/v2/queues/q1", ops, cid...)
	expect("PATCH as JSON", resp, body, 415, "Accepted media type for PATCH")
	resp, body = do(tok, "PATCH", "/messaging/v2/queues/q1", ops, append(cid, "Content-Type", "application/openstack-messaging-v2.0-json-patch")...)
	expect("PATCH", resp, body, 200, `{"color": "blue", "size": 3, "_max_messages_post_size": 262144`)
	resp, body = do(tok, "PATCH", "/messaging/v2/queues/q1", `[{"op": "remove", "path": "/metadata/nope"}]`, append(cid, "Content-Type", "application/openstack-messaging-v2.0-json-patch")...)
	expect("PATCH remove missing", resp, body, 409, `"description": "Can't remove non-existent object nope."`)
	// Messages: validation, post, list, pop.
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/messages", map[string]any{"nope": 1}, cid...)
	expect("no messages", resp, body, 400, `{"title": "Invalid API request", "description": "No messages were found in the request body."}`)
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/messages", map[string]any{"messages": []any{map[string]any{"ttl": "x", "body": 1}}}, cid...)
	expect("string ttl", resp, body, 400, `The value of the \"ttl\" field must be a int.`)
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/messages", `{"messages": [`, cid...)
	expect("malformed body", resp, body, 400, `{"title": "Invalid request body", "description": "Request body could not be parsed."}`)
	msgs := map[string]any{"messages": []any{map[string]any{"body": "a"}, map[string]any{"body": "b"}, map[string]any{"body": "c"}}}
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/messages", msgs, cid...)
	expect("post", resp, body, 201, `{"resources": ["/v2/queues/q1/messages/`)
	var posted struct{ Resources []string }
	_ = json.Unmarshal([]byte(body), &posted)
	resp, body = do(tok, "GET", "/messaging/v2/queues/q1/messages", nil, cid...)
	expect("no echo", resp, body, 200, `{"messages": [], "links": []}`)
	resp, body = do(tok, "GET", "/messaging/v2/queues/q1/messages?echo=true&limit=2", nil, cid...)
	expect("echo", resp, body, 200, `"links": [{"rel": "next", "href": "/v2/queues/q1/messages?limit=2&echo=true&marker=`)
	resp, body = do(tok, "GET", "/messaging/v2/queues/q1/messages?limit=50", nil, cid...)
	expect("limit", resp, body, 400, `"description": "Limit must be at least 1 and may not be greater than 20."`)
	// Claims: 201 then 204 when nothing is left; a claimed message needs its claim.
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/claims?limit=3", map[string]any{"ttl": 60}, cid...)
	expect("claim", resp, body, 201, `?claim_id=`)
	claimLoc := resp.Header.Get("Location")
	if resp, _ = do(tok, "POST", "/messaging/v2/queues/q1/claims", nil, cid...); resp.StatusCode != 204 {
		t.Errorf("claim with nothing left: %d", resp.StatusCode)
	}
	first := "/messaging" + posted.Resources[0]
	resp, body = do(tok, "DELETE", first, nil, cid...)
	expect("delete claimed", resp, body, 403, `{"title": "Unable to delete", "description": "This message is claimed; it cannot be deleted without a valid claim ID."}`)
	resp, body = do(tok, "DELETE", first+"?claim_id=5f0000000000000000000000", nil, cid...)
	expect("delete with another claim", resp, body, 403, "This message is claimed")
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/claims", map[string]any{"ttl": 10}, cid...)
	expect("claim ttl", resp, body, 400, "The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds long.")
	if resp, _ = do(tok, "DELETE", "/messaging"+claimLoc, nil, cid...); resp.StatusCode != 204 {
		t.Errorf("release: %d", resp.StatusCode)
	}
	resp, body = do(tok, "DELETE", "/messaging/v2/queues/q1/messages?pop=2", nil, cid...)
	expect("pop", resp, body, 200, `"claim_count": 1, "body": "a", "claim_id": null}`)
	resp, body = do(tok, "DELETE", "/messaging/v2/queues/q1/messages", nil, cid...)
	expect("delete without ids or pop", resp, body, 400, `The request should have either \"ids\" or \"pop\" parameter`)
	resp, body = do(tok, "GET", "/messaging/v2/queues/q1/messages?ids=5f0000000000000000000000", nil, cid...)
	expect("get by missing id", resp, body, 404, "No messages with IDs: ['5f0000000000000000000000'] found in the queue q1 for project ")
	resp, body = do(tok, "GET", "/messaging/v2/queues/q1/stats", nil, cid...)
	expect("stats", resp, body, 200, `{"messages": {"claimed": 0, "free": 1, "total": 1, "oldest": {`)
	// Pre-signed URLs: a bad signature, an expiry in the past.
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/share", map[string]any{"expires": "2000-01-01T00:00:00"}, cid...)
	expect("share in the past", resp, body, 400, "`expires` is lower than the current time")
	resp, body = do(tok, "POST", "/messaging/v2/queues/q1/share", map[string]any{"paths": []string{"messages"}, "methods": []string{"GET"}}, cid...)
	expect("share", resp, body, 200, `{"paths": ["/v2/queues/q1/messages"], "methods": ["GET"], "project": "`)
	var sig struct{ Signature, Expires, Project string }
	_ = json.Unmarshal([]byte(body), &sig)
	resp, body = do("", "GET", "/messaging/v2/queues/q1/messages", nil, append(cid, "URL-Signature", strings.Repeat("0", 64),
		"URL-Expires", sig.Expires, "URL-Methods", "GET", "URL-Paths", "/v2/queues/q1/messages", "X-Project-ID", sig.Project)...)
	expect("forged signature", resp, body, 404, `{"title": "404 Not Found"}`)
	// Health is for admins; ping for anyone.
	resp, body = do(tok, "GET", "/messaging/v2/health", nil, cid...)
	expect("health as a member", resp, body, 403, `{"title": "Not authorized", "description": "You are not authorized to complete this action."}`)
	if resp, _ = do(tok, "GET", "/messaging/v2/ping", nil, cid...); resp.StatusCode != 204 {
		t.Errorf("ping: %d", resp.StatusCode)
	}
	resp, body = do(tok, "GET", "/messaging/v2/queues?limit=0", nil, cid...)
	expect("queue limit", resp, body, 400, "Limit must be at least 1 and no greater than 20.")
	resp, body = do(tok, "GET", "/messaging/v2/queues?detailed=true", nil, cid...)
	expect("detailed queues", resp, body, 200, `{"queues": [{"name": "q1", "metadata": {"color": "blue", "size": 3,`)
}
