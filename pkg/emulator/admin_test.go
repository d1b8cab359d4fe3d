package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFaultMatch is the match semantics: method, path, body_contains
// (within the body limit), the first live fault wins, count uses up only
// the requests that matched, and the service always reads the whole
// body as sent.
func TestFaultMatch(t *testing.T) {
	const limit = 32
	long := `{"keypair": {"description": "` + strings.Repeat("x", limit) + `", "name": "osb-late"}}`
	for _, tc := range []struct {
		name   string
		faults []Fault
		method string
		path   string
		body   string
		want   string // the id of the fault that matches, "" none
	}{
		{"method and path", []Fault{{ID: "a", Method: "POST", Path: "/compute/v2.1/os-keypairs"}},
			"POST", "/compute/v2.1/os-keypairs", `{}`, "a"},
		{"method differs", []Fault{{ID: "a", Method: "POST", Path: "/compute/v2.1/os-keypairs"}},
			"GET", "/compute/v2.1/os-keypairs", "", ""},
		{"any method", []Fault{{ID: "a", Method: "*", Path: "/compute/**"}},
			"DELETE", "/compute/v2.1/os-keypairs/k", "", "a"},
		{"path differs", []Fault{{ID: "a", Path: "/compute/v2.1/os-keypairs"}},
			"POST", "/compute/v2.1/servers", `{}`, ""},
		{"body holds it", []Fault{{ID: "a", Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: "osb-1"}},
			"POST", "/compute/v2.1/os-keypairs", `{"keypair": {"name": "osb-1"}}`, "a"},
		{"body does not hold it", []Fault{{ID: "a", Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: "osb-1"}},
			"POST", "/compute/v2.1/os-keypairs", `{"keypair": {"name": "osb-2"}}`, ""},
		{"another instance's fault is passed over", []Fault{
			{ID: "mine", Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: "osb-1"},
			{ID: "theirs", Method: "POST", Path: "/compute/v2.1/os-keypairs", BodyContains: "osb-2"}},
			"POST", "/compute/v2.1/os-keypairs", `{"keypair": {"name": "osb-2"}}`, "theirs"},
		{"first live fault wins", []Fault{
			{ID: "scoped", Path: "/compute/**", BodyContains: "osb-1"},
			{ID: "wide", Path: "/compute/**"}},
			"POST", "/compute/v2.1/os-keypairs", `{"keypair": {"name": "osb-1"}}`, "scoped"},
		{"no body", []Fault{{ID: "a", Path: "/compute/**", BodyContains: "osb-1"}},
			"GET", "/compute/v2.1/os-keypairs/osb-1", "", ""},
		{"past the body limit", []Fault{{ID: "a", Path: "/compute/**", BodyContains: "osb-late"}},
			"POST", "/compute/v2.1/os-keypairs", long, ""},
		{"raw bytes: JSON escapes are not undone", []Fault{{ID: "a", Path: "/compute/**", BodyContains: "a/b"}},
			"POST", "/compute/v2.1/os-keypairs", `{"name": "a\/b"}`, ""},
		{"admin paths never", []Fault{{ID: "a", Path: "/**"}},
			"POST", "/_emulator/reset", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &faults{bodyLimit: limit}
			for i := range tc.faults {
				f.list = append(f.list, &tc.faults[i])
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := httptest.NewRequest(tc.method, tc.path, body)
			got := ""
			if ft := f.match(r); ft != nil {
				got = ft.ID
			}
			if got != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
			if b, err := io.ReadAll(r.Body); err != nil || string(b) != tc.body {
				t.Errorf("the service reads %q (%v), want the body as sent %q", b, err, tc.body)
			}
		})
	}
}

func TestFaultCountUsesOnlyMatches(t *testing.T) {
	f := &faults{bodyLimit: maxFaultBody, list: []*Fault{{ID: "a", Path: "/x", BodyContains: "mine", Count: 1, Remaining: 1}}}
	req := func(body string) *http.Request { return httptest.NewRequest("POST", "/x", strings.NewReader(body)) }
	if ft := f.match(req("theirs")); ft != nil {
		t.Fatalf("matched another's request: %+v", ft)
	}
	if ft := f.match(req("mine")); ft == nil || ft.Hits != 1 {
		t.Fatalf("own request: %+v", ft)
	}
	if ft := f.match(req("mine")); ft != nil || len(f.list) != 0 {
		t.Errorf("after its count: %+v, %d faults", ft, len(f.list))
	}
}

// TestPeekBodyKeepsReadErrors: a body that fails while the fault reads it
// fails the same way for the service, after the bytes read before.
func TestPeekBodyKeepsReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := httptest.NewRequest("POST", "/x", io.MultiReader(strings.NewReader("abc"), errReader{boom}))
	if head := peekBody(r, 10); string(head) != "abc" {
		t.Errorf("head %q", head)
	}
	b, err := io.ReadAll(r.Body)
	if string(b) != "abc" || !errors.Is(err, boom) {
		t.Errorf("service reads %q, %v; want abc and the read error", b, err)
	}
}

// TestScopedFaults goes through the emulator: a fault scoped by
// body_contains fails or delays only the request naming it, the service
// gets the whole body (the image has its name), and removing a fault
// lets the requests its delay holds go on.
func TestScopedFaults(t *testing.T) {
	c := start(t, Options{})
	cr := c.Credentials()
	admin, demo := token(t, c, "admin", cr.AdminPassword), token(t, c, "demo", cr.DemoPassword)
	addFault := func(f map[string]any) string {
		t.Helper()
		resp, body := call(t, c, admin, "POST", "/_emulator/faults", map[string]any{"fault": f})
		if resp.StatusCode != 201 {
			t.Fatalf("add fault: %d %s", resp.StatusCode, body)
		}
		var out struct{ Fault Fault }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		return out.Fault.ID
	}
	image := func(name string) (int, string) {
		resp, body := call(t, c, demo, "POST", "/image/v2/images", map[string]any{"name": name, "disk_format": "raw", "container_format": "bare"})
		return resp.StatusCode, body
	}

	refused := addFault(map[string]any{"method": "POST", "path": "/image/v2/images", "body_contains": `"refused-one"`,
		"status": 413, "body": map[string]any{"message": "injected: over quota"}})
	if st, body := image("refused-one"); st != 413 || !strings.Contains(body, "over quota") {
		t.Errorf("the scoped request: %d %s", st, body)
	}
	if st, body := image("refused-one-not"); st != 201 {
		t.Errorf("another's request: %d %s", st, body)
	}

	addFault(map[string]any{"method": "POST", "path": "/image/v2/images", "body_contains": "slow-one", "delay": "400ms"})
	t0 := time.Now()
	if st, body := image("slow-one"); st != 201 || !strings.Contains(body, `"name":"slow-one"`) || time.Since(t0) < 400*time.Millisecond {
		t.Errorf("delay-only scoped fault: %d after %s: %s", st, time.Since(t0), body)
	}
	t0 = time.Now()
	if st, _ := image("fast-one"); st != 201 || time.Since(t0) >= 400*time.Millisecond {
		t.Errorf("another's request was delayed: %d after %s", st, time.Since(t0))
	}

	// A hold: a long delay, ended by removing the fault.
	held := addFault(map[string]any{"method": "POST", "path": "/image/v2/images", "body_contains": "held-one", "delay": "5m"})
	done := make(chan int, 1)
	go func() {
		resp, _ := call(t, c, demo, "POST", "/image/v2/images", map[string]any{"name": "held-one"})
		done <- resp.StatusCode
	}()
	deadline := time.Now().Add(10 * time.Second)
	for hits(t, c, admin, held) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the held request never reached the fault")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case st := <-done:
		t.Fatalf("the held request went on before the fault was removed: %d", st)
	case <-time.After(100 * time.Millisecond):
	}
	if resp, body := call(t, c, admin, "DELETE", "/_emulator/faults/"+held, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	select {
	case st := <-done:
		if st != 201 {
			t.Errorf("the released request: %d", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("removing the fault did not release the request it held")
	}
	if resp, body := call(t, c, admin, "DELETE", "/_emulator/faults/"+refused, nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d %s", resp.StatusCode, body)
	}
}

// hits is a live fault's hit count (-1 when it is gone).
func hits(t *testing.T, c *Cloud, admin, id string) int {
	t.Helper()
	_, body := call(t, c, admin, "GET", "/_emulator/faults", nil)
	var out struct{ Faults []Fault }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Faults {
		if f.ID == id {
			return f.Hits
		}
	}
	return -1
}
