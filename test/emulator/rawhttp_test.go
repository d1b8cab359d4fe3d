package emulator_test

import (
	"net/http"
	"strings"
	"testing"
)

// rawChecks returns the raw HTTP helpers of the *Shapes tests: do sends a
// request and returns the answer with its body as text; expect fails the
// test unless the answer has the status and its body contains the text.
func rawChecks(t *testing.T, c *Cloud) (
	do func(token, method, path string, body any, hdr ...string) (*http.Response, string),
	expect func(what string, resp *http.Response, body string, status int, contains string),
) {
	do = func(token, method, path string, body any, hdr ...string) (*http.Response, string) {
		t.Helper()
		resp, b := c.HTTP(t, token, method, path, body, hdr...)
		return resp, string(b)
	}
	expect = func(what string, resp *http.Response, body string, status int, contains string) {
		t.Helper()
		if resp.StatusCode != status || !strings.Contains(body, contains) {
			t.Errorf("%s: %d %q, want %d containing %q", what, resp.StatusCode, body, status, contains)
		}
	}
	return do, expect
}
