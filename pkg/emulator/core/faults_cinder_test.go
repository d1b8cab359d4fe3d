package core

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCinderFaultErrors(t *testing.T) {
	retry := Errorf(http.StatusRequestEntityTooLarge, "over")
	retry.Header = http.Header{"Retry-After": {"0"}}
	for _, tc := range []struct {
		err  *APIError
		want string
	}{
		{NotFound("Volume x could not be found."), `{"itemNotFound":{"code":404,"message":"Volume x could not be found."}}`},
		{Errorf(http.StatusNotAcceptable, "v"), `{"computeFault":{"code":406,"message":"v"}}`},
		{Errorf(http.StatusTooManyRequests, "slow"), `{"computeFault":{"code":429,"message":"slow"}}`},
		{retry, `{"overLimit":{"code":413,"message":"over","retryAfter":"0"}}`},
		{Errorf(http.StatusRequestEntityTooLarge, "big"), `{"overLimit":{"code":413,"message":"big"}}`},
	} {
		rec := httptest.NewRecorder()
		CinderFaultErrors(rec, httptest.NewRequest("GET", "/", nil), tc.err)
		if rec.Code != tc.err.Status || rec.Body.String() != tc.want {
			t.Errorf("%v: %d %s, want %s", tc.err, rec.Code, rec.Body, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	CinderFaultErrors(rec, httptest.NewRequest("GET", "/", nil), retry)
	if rec.Header().Get("Retry-After") != "0" {
		t.Errorf("Retry-After: %v", rec.Header())
	}
}

func TestAlias(t *testing.T) {
	of := Spec{Name: "cinder", Type: "block-storage", Prefix: "/volume", Endpoint: "/volume/v3/$(project_id)s", Hidden: true}
	a := Alias(of, "cinderv3", "volumev3")
	s := a.Spec()
	if s.Name != "cinderv3" || s.Type != "volumev3" || s.Prefix != "/volume" || s.Endpoint != of.Endpoint || s.Hidden {
		t.Errorf("alias spec: %+v", s)
	}
	if a.State() != nil || a.Resources() != nil {
		t.Error("an alias has no state nor resources")
	}
}
