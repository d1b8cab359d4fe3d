package core

import "net/http"

// CinderFaultErrors is the Fault wrapper of Cinder and Manila
// (cinder/manila api/openstack/wsgi.py): FaultErrors' shape, but their
// table has no name for 406 or 429 (both are "computeFault"), and a 413
// carries the Retry-After header's value as "retryAfter" in the body.
func CinderFaultErrors(w http.ResponseWriter, r *http.Request, e *APIError) {
	key := e.Type
	if key == "" && e.Status != http.StatusNotAcceptable && e.Status != http.StatusTooManyRequests {
		key = faultNames[e.Status]
	}
	if key == "" {
		key = "computeFault"
	}
	fault := map[string]any{"code": e.Status, "message": e.Message}
	if e.Status == http.StatusRequestEntityTooLarge {
		if retry := e.Header.Get("Retry-After"); retry != "" {
			fault["retryAfter"] = retry
		}
	}
	writeErrorHeaders(w, e)
	WriteJSON(w, e.Status, map[string]any{key: fault})
}
