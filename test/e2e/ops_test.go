package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
