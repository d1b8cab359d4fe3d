package core

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// APIError is an error a handler returns to answer with a 4xx (or an
// injected 5xx). The service's ErrorWriter renders it in the service's shape.
type APIError struct {
	Status  int
	Message string
	// Type is the family-specific error name where the shape has one:
	// Neutron's "type" (NetworkNotFound), a Nova-family fault key
	// (overrides the one derived from Status), Keystone's title, Heat's
	// error type, Designate's type. Empty means derived from Status.
	Type string
	// Header is added to the response (e.g. Retry-After, Allow).
	Header http.Header
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Errorf returns an APIError with the status and a formatted message.
func Errorf(status int, format string, args ...any) *APIError {
	return &APIError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// WithType sets the family-specific error name and returns e.
func (e *APIError) WithType(t string) *APIError { e.Type = t; return e }

// Shorthands for the common statuses.
func BadRequest(format string, args ...any) *APIError {
	return Errorf(http.StatusBadRequest, format, args...)
}
func NotFound(format string, args ...any) *APIError {
	return Errorf(http.StatusNotFound, format, args...)
}
func Conflict(format string, args ...any) *APIError {
	return Errorf(http.StatusConflict, format, args...)
}
func Forbidden(format string, args ...any) *APIError {
	return Errorf(http.StatusForbidden, format, args...)
}

// AsAPIError reports whether err is (or wraps) an APIError.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// ErrorWriter renders an APIError in one service's error shape.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *APIError)

func writeErrorHeaders(w http.ResponseWriter, e *APIError) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

// faultNames is the status -> key table of the Nova-family Fault wrapper
// (nova/cinder/manila/trove api/openstack/wsgi.py).
var faultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
	415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

// FaultErrors is the Nova/Cinder/Manila/Trove shape:
// {"itemNotFound": {"code": 404, "message": "..."}}.
func FaultErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	key := e.Type
	if key == "" {
		key = faultNames[e.Status]
	}
	if key == "" {
		key = "computeFault"
	}
	writeErrorHeaders(w, e)
	WriteJSON(w, e.Status, map[string]any{key: map[string]any{"code": e.Status, "message": e.Message}})
}

// NeutronErrors is Neutron's shape:
// {"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}.
func NeutronErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	t := e.Type
	if t == "" {
		t = strings.ReplaceAll(http.StatusText(e.Status), " ", "")
	}
	writeErrorHeaders(w, e)
	WriteJSON(w, e.Status, map[string]any{"NeutronError": map[string]any{"type": t, "message": e.Message, "detail": ""}})
}

// KeystoneErrors is Keystone's shape:
// {"error": {"code": 404, "message": "...", "title": "Not Found"}}.
func KeystoneErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	title := e.Type
	if title == "" {
		title = http.StatusText(e.Status)
	}
	writeErrorHeaders(w, e)
	WriteJSON(w, e.Status, map[string]any{"error": map[string]any{"code": e.Status, "message": e.Message, "title": title}})
}

// KeystoneMiddleware401 is what keystonemiddleware's auth_token answers
// in front of every JSON service when the token is missing, invalid,
// expired, revoked or outside its access rules.
func KeystoneMiddleware401(w http.ResponseWriter, r *http.Request, e *APIError) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", "http://"+r.Host+"/v3"))
	KeystoneErrors(w, r, &APIError{Status: http.StatusUnauthorized, Message: "The request you have made requires authentication.", Type: "Unauthorized"})
}

// WebObErrors is the shape of services that raise webob.exc errors
// (Glance, Heat's non-API paths): the body follows the Accept header as
// WebOb does: JSON {"message", "code": "404 Not Found", "title"} for
// application/json, HTML for text/html or */*, else plain text.
func WebObErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	title := http.StatusText(e.Status)
	status := strconv.Itoa(e.Status) + " " + title
	accept := r.Header.Get("Accept")
	writeErrorHeaders(w, e)
	switch {
	case strings.Contains(accept, "html") || strings.Contains(accept, "*/*"):
		body := "<html>\n <head>\n  <title>" + status + "</title>\n </head>\n <body>\n  <h1>" + status + "</h1>\n  " +
			html.EscapeString(e.Message) + "<br /><br />\n\n\n\n </body>\n</html>"
		writeText(w, e.Status, "text/html; charset=UTF-8", body)
	case strings.Contains(accept, "application/json"):
		WriteJSON(w, e.Status, map[string]any{"message": e.Message + "<br /><br />\n\n\n", "code": status, "title": title})
	default:
		writeText(w, e.Status, "text/plain; charset=UTF-8", status+"\n\n"+e.Message+"\n\n   ")
	}
}

// SwiftErrors is Swift's shape: a short HTML body.
func SwiftErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	writeErrorHeaders(w, e)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	writeText(w, e.Status, "text/html; charset=UTF-8",
		"<html><h1>"+http.StatusText(e.Status)+"</h1><p>"+html.EscapeString(e.Message)+"</p></html>")
}

func writeText(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
