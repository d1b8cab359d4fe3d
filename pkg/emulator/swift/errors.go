package swift

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// reasons is swob's RESPONSE_REASONS: the title and the explanation Swift
// writes as `<html><h1>Title</h1><p>Explanation</p></html>` when an error
// has no body of its own.
var reasons = map[int][2]string{
	202: {"Accepted", "The request is accepted for processing."},
	400: {"Bad Request", "The server could not comply with the request since it is either malformed or otherwise incorrect."},
	401: {"Unauthorized", "This server could not verify that you are authorized to access the document you requested."},
	403: {"Forbidden", "Access was denied to this resource."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "The method is not allowed for this resource."},
	406: {"Not Acceptable", "The resource is not available in a format acceptable to your browser."},
	409: {"Conflict", "There was a conflict when trying to complete your request."},
	411: {"Length Required", "Content-Length header required."},
	412: {"Precondition Failed", "A precondition for this request was not met."},
	413: {"Request Entity Too Large", "The body of your request was too large for this server."},
	416: {"Requested Range Not Satisfiable", "The Range requested is not available."},
	422: {"Unprocessable Entity", "Unable to process the contained instructions"},
	500: {"Internal Error", "The server has either erred or is incapable of performing the requested operation."},
	501: {"Not Implemented", "The requested method is not implemented by this server."},
	503: {"Service Unavailable", "The server is currently unavailable. Please try again at a later time."},
}

// textPlain marks an APIError whose Message is sent as text/plain (Swift
// passes content_type='text/plain' for those); other messages go out as
// text/html, swob's default, even when they are plain words. Any Type
// holding a "/" is the body's content type.
const textPlain = "text/plain"

// fail is a Swift error: body "" means swob's default HTML page for the
// status, else the body as Swift writes it (text/html unless plain).
func fail(status int, body string) *core.APIError {
	return &core.APIError{Status: status, Message: body}
}

// failText is fail with a text/plain body.
func failText(status int, format string, args ...any) *core.APIError {
	return &core.APIError{Status: status, Message: fmt.Sprintf(format, args...), Type: textPlain}
}

// defaultBody is swob's page for a status without a body of its own.
func defaultBody(status int) string {
	r, ok := reasons[status]
	if !ok || r[1] == "" {
		return ""
	}
	return "<html><h1>" + r[0] + "</h1><p>" + r[1] + "</p></html>"
}

// writeErrors renders every Swift error (Spec.Errors).
func writeErrors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	setTransID(w, r)
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body, ctype := e.Message, "text/html; charset=UTF-8"
	if body == "" {
		body = defaultBody(e.Status)
	} else if strings.Contains(e.Type, "/") {
		ctype = e.Type
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Add("Www-Authenticate", realm(r))
	}
	w.Header().Set("Content-Type", ctype)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
}

// writeAuthErrors is the 401 of a token keystonemiddleware refused (unknown,
// expired, revoked, outside its access rules): Swift runs authtoken with
// delay_auth_decision, so the 401 is keystoneauth's, in Swift's shape, with
// both WWW-Authenticate headers (swob's realm and keystonemiddleware's uri).
func writeAuthErrors(w http.ResponseWriter, r *http.Request, e *core.APIError) {
	w.Header().Add("Www-Authenticate", fmt.Sprintf("Keystone uri=%q", "http://"+r.Host+"/v3"))
	writeErrors(w, r, fail(http.StatusUnauthorized, ""))
}

// realm is swob's www_authenticate: Swift realm="<account>".
func realm(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	acct := "unknown"
	if len(parts) >= 2 && parts[1] != "" && parts[1] != "v1.0" && parts[1] != "auth" {
		acct = parts[1]
	}
	return fmt.Sprintf("Swift realm=%q", acct)
}

// setTransID sets X-Trans-Id and X-Openstack-Request-Id to Swift's
// transaction id, tx<21 hex>-<10 hex of the time>, derived from the
// emulator's request id so logs can be matched.
func setTransID(w http.ResponseWriter, r *http.Request) {
	id := transID(r)
	w.Header().Set("X-Trans-Id", id)
	w.Header().Set("X-Openstack-Request-Id", id)
}

func transID(r *http.Request) string {
	hex := strings.ReplaceAll(strings.TrimPrefix(core.RequestID(r), "req-"), "-", "")
	for len(hex) < 21 {
		hex += "0"
	}
	return fmt.Sprintf("tx%s-%010x", hex[:21], time.Now().Unix())
}
