package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func TestHealthMetricsAndLogs(t *testing.T) {
	b := startBroker(t, options{})
	b.provisioned(t, "obs-1", dbSmall, map[string]any{"db_name": "obs"})
	get := func(path string) (int, string) {
		resp, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	code, metrics := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`osb_http_requests_total{code="200",route="catalog"}`,
		`osb_http_requests_total{code="202",route="provision"}`,
		`osb_operations_total{action="provision",state="succeeded"} 1`,
		`osb_operation_duration_seconds_count{action="provision",state="succeeded"} 1`,
		`osb_http_request_duration_seconds_bucket{route="last_operation"`,
		"osb_catalog_services 2",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every request is logged with its request id; credentials never are.
	status, _, _ := b.raw(t, "GET", "/v2/catalog", nil, map[string]string{"X-Broker-API-Request-Identity": "trace-me-42"})
	if status != 200 {
		t.Fatal(status)
	}
	waitFor(t, 5e9, "the request log line", func() bool { return strings.Contains(b.logs.String(), `"request_id":"trace-me-42"`) })
	if strings.Contains(b.logs.String(), "pw-obs-1") {
		t.Errorf("provision credentials appear in the logs")
	}
	// POST /v2/bootstrap answers at once, like asbd.
	status, body, _ := b.raw(t, "POST", "/v2/bootstrap", nil, map[string]string{"X-Broker-API-Version": ""})
	if status != 200 || !strings.Contains(string(body), "Bootstrap job started") {
		t.Errorf("bootstrap: %d %s", status, body)
	}
}

// The dev broker's routes (dev_broker: true) put a spec straight into the
// catalog and take it out again, through the same HTTP layer as the OSB
// routes: 400 names what is wrong, 404 for an unknown spec.
func TestDevBrokerPushAndDelete(t *testing.T) {
	b := startBroker(t, options{})
	yml := "version: '1.0'\nname: pushed-apb\ndescription: pushed by a developer\nbindable: false\nasync: optional\nplans:\n  - name: default\n    description: d\n    parameters: []\n"
	form := map[string]string{"X-Broker-API-Version": "", "Content-Type": "application/x-www-form-urlencoded"}
	push := func(value string) (int, string) {
		status, body, _ := b.raw(t, "POST", "/v2/apb", json.RawMessage("apbSpec="+url.QueryEscape(value)), form)
		return status, string(body)
	}
	status, body := push(apb.EncodeLabel([]byte(yml)))
	if status != 200 || !strings.Contains(body, `"name":"apb-push-pushed-apb"`) {
		t.Fatalf("push: %d %s", status, body)
	}
	var pushed osbapi.Catalog
	if err := json.Unmarshal([]byte(body), &pushed); err != nil || len(pushed.Services) != 1 {
		t.Fatalf("push answer %s: %v", body, err)
	}
	id := pushed.Services[0].ID
	cat, err := b.client.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cat.Services, func(s osbapi.Service) bool { return s.ID == id }) {
		t.Fatalf("the pushed spec is not in the catalog")
	}
	if status, body := push("not base64 !"); status != 400 || !strings.Contains(body, "encoding") {
		t.Errorf("push of garbage: %d %s", status, body)
	}
	noVersion := map[string]string{"X-Broker-API-Version": ""}
	if status, body, _ := b.raw(t, "DELETE", "/v2/apb/"+id, nil, noVersion); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, body, _ := b.raw(t, "DELETE", "/v2/apb/"+id, nil, noVersion); status != 404 {
		t.Errorf("second delete: %d %s, want 404", status, body)
	}
	if cat, err = b.client.Catalog(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(cat.Services, func(s osbapi.Service) bool { return s.ID == id }) {
		t.Errorf("the deleted spec is still in the catalog")
	}
}
