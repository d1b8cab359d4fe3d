package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyTemplate makes one Nova keypair through Heat (an in-process call).
const keyTemplate = `heat_template_version: 2018-08-31
parameters:
  key_name: {type: string}
resources:
  key:
    type: OS::Nova::KeyPair
    properties: {name: {get_param: key_name}}
`

// TestScopedFaults: faults scoped by body_contains, through the real
// clients. The openstack CLI's keypair create is refused only for the
// name the fault holds; openstacksdk's keypair create under a delay-only
// scoped fault is delayed and stored whole (the service read the body
// the fault looked at); Heat's own call to Nova for a template's keypair
// is faulted by the key name in its body, and the stack fails naming it.
func TestScopedFaults(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	admin := c.Token(t, "admin")
	addFault := func(f map[string]any) string {
		t.Helper()
		resp, body := c.HTTP(t, admin, "POST", "/_emulator/faults", map[string]any{"fault": f})
		if resp.StatusCode != 201 {
			t.Fatalf("add fault: %d %s", resp.StatusCode, body)
		}
		var out struct{ Fault struct{ ID string } }
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Fault.ID
	}
	hits := func(id string) int {
		t.Helper()
		_, body := c.HTTP(t, admin, "GET", "/_emulator/faults", nil)
		var out struct {
			Faults []struct {
				ID   string
				Hits int
			}
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Faults {
			if f.ID == id {
				return f.Hits
			}
		}
		t.Fatalf("fault %s is gone", id)
		return 0
	}

	refused := addFault(map[string]any{"method": "POST", "path": "/compute/v2.1/os-keypairs", "body_contains": `"scoped-refused"`,
		"status": 503, "body": map[string]any{"computeFault": map[string]any{"code": 503, "message": "injected: nova-api is unavailable"}}})
	if stderr := c.CLIFails(t, "emulator", "keypair", "create", "--private-key", filepath.Join(c.Dir, "refused.key"), "scoped-refused"); !strings.Contains(stderr, "nova-api is unavailable") {
		t.Errorf("the faulted keypair create: %s", stderr)
	}
	c.CLINoFormat(t, "emulator", "keypair", "create", "--private-key", filepath.Join(c.Dir, "other.key"), "scoped-refused-not")
	if kp := asMap(t, c.CLI(t, "emulator", "keypair", "show", "scoped-refused-not")); kp["name"] != "scoped-refused-not" {
		t.Errorf("another keypair create while the fault is live: %v", kp)
	}
	if n := hits(refused); n != 1 {
		t.Errorf("the scoped fault was hit %d times, want once", n)
	}

	addFault(map[string]any{"method": "POST", "path": "/compute/v2.1/os-keypairs", "body_contains": "scoped-slow", "delay": "500ms"})
	out := asMap(t, c.Python(t, `
import time
demo = connect("emulator")
seed = demo.compute.create_keypair(name="seed")
t0 = time.monotonic()
demo.compute.create_keypair(name="scoped-slow", public_key=seed.public_key)
slow = time.monotonic() - t0
t0 = time.monotonic()
demo.compute.create_keypair(name="scoped-fast", public_key=seed.public_key)
fast = time.monotonic() - t0
emit({"slow": slow, "fast": fast, "same_key": demo.compute.get_keypair("scoped-slow").public_key == seed.public_key})`))
	if out["slow"].(float64) < 0.5 || out["fast"].(float64) >= 0.5 || out["same_key"] != true {
		t.Errorf("delay-only scoped fault: %v", out)
	}

	writeFile(t, c.Dir, "key.yaml", keyTemplate)
	heat := addFault(map[string]any{"method": "POST", "path": "/compute/v2.1/os-keypairs", "body_contains": "scoped-heat-key",
		"status": 403, "body": map[string]any{"forbidden": map[string]any{"code": 403, "message": "injected: Quota exceeded, too many key pairs."}}})
	st := asMap(t, c.Python(t, `
demo = connect("emulator")
s = demo.create_stack("scoped-heat", template_file="key.yaml", wait=True, rollback=False, key_name="scoped-heat-key")
t = demo.create_stack("scoped-heat-other", template_file="key.yaml", wait=True, rollback=False, key_name="scoped-heat-other-key")
emit({"faulted": [s.status, s.status_reason], "other": t.status})`))
	if f := fmt.Sprint(st["faulted"]); !strings.Contains(f, "CREATE_FAILED") || !strings.Contains(f, "too many key pairs") || st["other"] != "CREATE_COMPLETE" {
		t.Errorf("Heat's keypair under a scoped fault: %v", st)
	}
	if n := hits(heat); n != 1 {
		t.Errorf("the fault on Heat's call was hit %d times, want once", n)
	}
}

// heldUntilRemoved is how long a hold's delay could last: the test
// releases it long before.
const heldUntilRemoved = "5m"

// TestFaultHoldReleased: a long delay-only fault holds a client's request
// until the fault is removed.
func TestFaultHoldReleased(t *testing.T) {
	t.Parallel()
	c := StartCloud(t)
	admin := c.Token(t, "admin")
	resp, body := c.HTTP(t, admin, "POST", "/_emulator/faults", map[string]any{"fault": map[string]any{
		"method": "POST", "path": "/compute/v2.1/os-keypairs", "body_contains": "held-key", "delay": heldUntilRemoved}})
	if resp.StatusCode != 201 {
		t.Fatalf("add fault: %d %s", resp.StatusCode, body)
	}
	var f struct{ Fault struct{ ID string } }
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		// The CLI is held meanwhile; the removal must end the delay.
		time.Sleep(1500 * time.Millisecond)
		req, _ := http.NewRequest("DELETE", c.URL()+"/_emulator/faults/"+f.Fault.ID, nil)
		req.Header.Set("X-Auth-Token", admin)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 204 {
				err = fmt.Errorf("DELETE: %d", resp.StatusCode)
			}
		}
		released <- err
	}()
	t0 := time.Now()
	c.CLINoFormat(t, "emulator", "keypair", "create", "--private-key", filepath.Join(c.Dir, "held.key"), "held-key")
	if took := time.Since(t0); took < 1500*time.Millisecond || took > time.Minute {
		t.Errorf("held keypair create took %s, want it held until the fault's removal after 1.5s", took)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if kp := asMap(t, c.CLI(t, "emulator", "keypair", "show", "held-key")); kp["name"] != "held-key" {
		t.Errorf("held keypair: %v", kp)
	}
}
