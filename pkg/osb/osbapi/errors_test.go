package osbapi

import (
	"fmt"
	"testing"
)

func TestErrorConstructors(t *testing.T) {
	cases := []struct {
		err          *Error
		status       int
		code, desc   string
		errorMessage string
	}{
		{BadRequest("bad %s", "x"), 400, "", "bad x", "400: bad x"},
		{NotFound("nf"), 404, "", "nf", "404: nf"},
		{Conflict("id %q taken", "i"), 409, "", `id "i" taken`, `409: id "i" taken`},
		{Gone("g"), 410, "", "g", "410: g"},
		{Unprocessable("plan change"), 422, "", "plan change", "422: plan change"},
		{AsyncRequired(), 422, ErrCodeAsyncRequired, "This service plan requires client support for asynchronous service operations.",
			"422 AsyncRequired: This service plan requires client support for asynchronous service operations."},
		{ConcurrencyError("busy"), 422, ErrCodeConcurrencyError, "busy", "422 ConcurrencyError: busy"},
		{MaintenanceInfoConflict("v2 != v1"), 422, ErrCodeMaintenanceInfoConflict, "v2 != v1", "422 MaintenanceInfoConflict: v2 != v1"},
		{Unavailable("etcd"), 503, "", "etcd", "503: etcd"},
	}
	for _, c := range cases {
		t.Run(c.errorMessage, func(t *testing.T) {
			if c.err.Status != c.status || c.err.Code != c.code || c.err.Description != c.desc || c.err.Error() != c.errorMessage {
				t.Errorf("got %+v (%q)", c.err, c.err.Error())
			}
			got, ok := AsError(fmt.Errorf("outer: %w", c.err))
			if !ok || got != c.err {
				t.Errorf("AsError did not find the wrapped error")
			}
		})
	}
	if _, ok := AsError(fmt.Errorf("plain")); ok {
		t.Error("AsError found an OSB error in a plain one")
	}
}
