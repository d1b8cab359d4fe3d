package core

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Microversions describes a service's microversion range. The router
// negotiates it on every authenticated route of a service whose Spec has
// one: the version comes from `OpenStack-API-Version: <Service> X.Y` or the
// Legacy header, "latest" means Max, none means Min; outside [Min, Max] is
// 406, a malformed value 400. The answer carries the chosen version in the
// same headers and Vary lists them.
type Microversions struct {
	Service string // name in OpenStack-API-Version, e.g. "compute", "volume", "shared-file-system"
	Min     string // e.g. "2.1"
	Max     string // e.g. "2.96"
	Legacy  string // optional legacy header, e.g. "X-OpenStack-Nova-API-Version"
}

// Version is a microversion X.Y.
type Version struct{ Major, Minor int }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is before o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// AtLeast reports whether v >= s ("2.47"); a malformed s panics (it is a
// literal in the service's code).
func (v Version) AtLeast(s string) bool { return !v.Less(MustVersion(s)) }

// ParseVersion parses "X.Y".
func ParseVersion(s string) (Version, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return Version{}, fmt.Errorf("invalid version %q", s)
	}
	return Version{a, b}, nil
}

// MustVersion parses a literal version.
func MustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// MicroversionOf returns the version negotiated for the request (the zero
// Version when the service has no microversions).
func MicroversionOf(r *http.Request) Version {
	v, _ := r.Context().Value(microversionKey).(Version)
	return v
}

// WithMicroversion returns a context carrying v (for handler unit tests).
func WithMicroversion(ctx context.Context, v Version) context.Context {
	return context.WithValue(ctx, microversionKey, v)
}

// Negotiate picks the request's version and sets the response headers.
func (m *Microversions) Negotiate(w http.ResponseWriter, r *http.Request) (Version, *APIError) {
	min, max := MustVersion(m.Min), MustVersion(m.Max)
	raw := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			svc, ver, ok := strings.Cut(strings.TrimSpace(part), " ")
			if ok && strings.EqualFold(svc, m.Service) {
				raw = strings.TrimSpace(ver)
			}
		}
	}
	if raw == "" && m.Legacy != "" {
		raw = strings.TrimSpace(r.Header.Get(m.Legacy))
	}
	vary := "OpenStack-API-Version"
	if m.Legacy != "" {
		vary += ", " + m.Legacy
	}
	w.Header().Set("Vary", vary)
	v := min
	switch {
	case raw == "":
	case strings.EqualFold(raw, "latest"):
		v = max
	default:
		p, err := ParseVersion(raw)
		if err != nil {
			return Version{}, BadRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", raw)
		}
		if p.Less(min) || max.Less(p) {
			return Version{}, Errorf(http.StatusNotAcceptable,
				"Version %s is not supported by the API. Minimum is %s and maximum is %s.", raw, m.Min, m.Max)
		}
		v = p
	}
	w.Header().Set("OpenStack-API-Version", m.Service+" "+v.String())
	if m.Legacy != "" {
		w.Header().Set(m.Legacy, v.String())
	}
	return v, nil
}
