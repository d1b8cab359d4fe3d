package manila

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// versionHeader is the only header Manila reads the microversion from.
const versionHeader = "X-OpenStack-Manila-API-Version"

// Routes implements core.Service. API paths carry the project id, as the
// catalog URL does (/share/v2/<project_id>/shares).
func (m *Manila) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", m.versions, core.Public)
	rt.Handle("GET /v2", versioned("2.0", "", m.versionV2))
	rt.Handle("GET /v2/{$}", versioned("2.0", "", m.versionV2))

	// p registers a route valid from microversion min (to max, when set).
	p := func(pattern, min, max string, h core.HandlerFunc, opts ...core.RouteOption) {
		method, path, _ := strings.Cut(pattern, " ")
		rt.Handle(method+" /v2/{project_id}"+path, scoped(versioned(min, max, h)), opts...)
	}
	p("GET /shares", "2.0", "", m.listShares(false))
	p("GET /shares/detail", "2.0", "", m.listShares(true))
	p("POST /shares", "2.0", "", m.createShare)
	p("GET /shares/{share_id}", "2.0", "", m.showShare)
	p("PUT /shares/{share_id}", "2.0", "", m.updateShare)
	p("DELETE /shares/{share_id}", "2.0", "", m.deleteShare)
	p("POST /shares/{share_id}/action", "2.0", "", m.shareAction)
	p("GET /shares/{share_id}/metadata", "2.0", "", m.shareMetadata(metaIndex))
	p("POST /shares/{share_id}/metadata", "2.0", "", m.shareMetadata(metaCreate))
	p("PUT /shares/{share_id}/metadata", "2.0", "", m.shareMetadata(metaReplace))
	p("GET /shares/{share_id}/metadata/{key}", "2.0", "", m.shareMetadata(metaShow))
	p("POST /shares/{share_id}/metadata/{key}", "2.0", "", m.shareMetadata(metaUpdateItem))
	p("DELETE /shares/{share_id}/metadata/{key}", "2.0", "", m.shareMetadata(metaDelete))
	p("GET /shares/{share_id}/export_locations", "2.9", "", m.listExportLocations)
	p("GET /shares/{share_id}/export_locations/{export_id}", "2.9", "", m.showExportLocation)

	p("GET /share-access-rules", "2.45", "", m.listAccessRules)
	p("GET /share-access-rules/{access_id}", "2.45", "", m.showAccessRule)
	p("PUT /share-access-rules/{access_id}/metadata", "2.45", "", m.setAccessMetadata)
	p("DELETE /share-access-rules/{access_id}/metadata/{key}", "2.45", "", m.deleteAccessMetadata)

	p("GET /types", "2.0", "", m.listTypes)
	p("GET /types/detail", "2.0", "", m.listTypes)
	p("GET /types/default", "2.0", "", m.defaultType)
	p("POST /types", "2.0", "", m.createType, core.AdminOnly)
	p("GET /types/{type_id}", "2.0", "", m.showType)
	p("PUT /types/{type_id}", "2.50", "", m.updateType, core.AdminOnly)
	p("DELETE /types/{type_id}", "2.0", "", m.deleteType, core.AdminOnly)
	p("POST /types/{type_id}/action", "2.0", "", m.typeAction, core.AdminOnly)
	p("GET /types/{type_id}/share_type_access", "2.7", "", m.typeAccess, core.AdminOnly)
	p("GET /types/{type_id}/os-share-type-access", "2.0", "2.6", m.typeAccess, core.AdminOnly)
	p("GET /types/{type_id}/extra_specs", "2.0", "", m.listExtraSpecs)
	p("POST /types/{type_id}/extra_specs", "2.0", "", m.setExtraSpecs, core.AdminOnly)
	p("GET /types/{type_id}/extra_specs/{key}", "2.0", "", m.showExtraSpec)
	p("DELETE /types/{type_id}/extra_specs/{key}", "2.0", "", m.deleteExtraSpec, core.AdminOnly)

	p("GET /share-networks", "2.0", "", m.listNetworks(false))
	p("GET /share-networks/detail", "2.0", "", m.listNetworks(true))
	p("POST /share-networks", "2.0", "", m.createNetwork)
	p("GET /share-networks/{network_id}", "2.0", "", m.showNetwork)
	p("PUT /share-networks/{network_id}", "2.0", "", m.updateNetwork)
	p("DELETE /share-networks/{network_id}", "2.0", "", m.deleteNetwork)

	for _, q := range []struct{ path, min, max string }{{"/quota-sets", "2.7", ""}, {"/os-quota-sets", "2.0", "2.6"}} {
		p("GET "+q.path+"/{target}", q.min, q.max, m.showQuotas)
		p("GET "+q.path+"/{target}/defaults", q.min, q.max, m.quotaDefaults)
		p("PUT "+q.path+"/{target}", q.min, q.max, m.updateQuotas, core.AdminOnly)
		p("DELETE "+q.path+"/{target}", q.min, q.max, m.deleteQuotas, core.AdminOnly)
	}
	p("GET /quota-sets/{target}/detail", "2.25", "", m.quotaDetail)
	p("GET /limits", "2.0", "", m.limits)
	p("GET /availability-zones", "2.7", "", m.availabilityZones)
	p("GET /os-availability-zone", "2.0", "2.6", m.availabilityZones)
}

// scoped answers 400 "Malformed request url" when the URL's project is
// not the token's, as Manila's wsgi layer does.
func scoped(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("project_id") != core.IdentityOf(r).ProjectID {
			return core.BadRequest("Malformed request url")
		}
		return h(w, r)
	}
}

// versioned negotiates the microversion as Manila's Request does (the
// header only; none means 2.0; malformed 400; out of range 406), sets the
// answer's headers, and answers 404 when the route does not exist at
// that version (VersionNotFoundForAPIMethod).
func versioned(min, max string, h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := core.MustVersion(MinVersion)
		if raw := strings.TrimSpace(r.Header.Get(versionHeader)); raw != "" {
			if !regexp.MustCompile(`^([1-9]\d*)\.([1-9]\d*|0)$`).MatchString(raw) {
				return core.BadRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", raw)
			}
			p := core.MustVersion(raw)
			if p.Less(core.MustVersion(MinVersion)) || core.MustVersion(MaxVersion).Less(p) {
				return core.Errorf(http.StatusNotAcceptable, "Version %s is not supported by the API. Minimum is %s and maximum is %s.",
					p, MinVersion, MaxVersion)
			}
			v = p
		}
		w.Header().Set(versionHeader, v.String())
		w.Header().Set("Vary", versionHeader)
		if v.Less(core.MustVersion(min)) || (max != "" && core.MustVersion(max).Less(v)) {
			return core.NotFound("The resource could not be found.")
		}
		return h(w, r.WithContext(core.WithMicroversion(r.Context(), v)))
	}
}

var knownVersions = []struct{ id, status, version, min, suffix string }{
	{"v1.0", "DEPRECATED", "", "", "v1"},
	{"v2.0", "CURRENT", MaxVersion, MinVersion, "v2"},
}

func versionDoc(r *http.Request, i int) map[string]any {
	k := knownVersions[i]
	return map[string]any{
		"id": k.id, "status": k.status, "version": k.version, "min_version": k.min, "updated": "2015-08-27T11:33:21Z",
		"links": []map[string]any{
			{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
			{"rel": "self", "href": core.ServiceURL(r) + "/" + k.suffix + "/"},
		},
		"media-types": []map[string]any{{"base": "application/json", "type": "application/vnd.openstack.share+json;version=1"}},
	}
}

// versions is the unauthenticated root: 300 with v1.0 and v2.0.
func (m *Manila) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{versionDoc(r, 0), versionDoc(r, 1)}})
	return nil
}

// versionV2 is /v2/ (authenticated, as in Manila's paste pipeline).
func (m *Manila) versionV2(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{versionDoc(r, 1)}})
	return nil
}

// --- helpers

func projectURL(r *http.Request) string {
	return core.ServiceURL(r) + "/v2/" + r.PathValue("project_id")
}

func links(r *http.Request, coll, id string) []map[string]string {
	return []map[string]string{
		{"rel": "self", "href": projectURL(r) + "/" + coll + "/" + id},
		{"rel": "bookmark", "href": core.ServiceURL(r) + "/" + r.PathValue("project_id") + "/" + coll + "/" + id},
	}
}

const maxLimit = 1000

// listParams are limit/offset (Manila's pagination) and marker.
type listParams struct {
	limit, offset int
	hasLimit      bool
	marker        string
}

func parseList(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	lp := listParams{limit: maxLimit, marker: q.Get("marker")}
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil {
			return lp, core.BadRequest("offset param must be an integer")
		}
		if n < 0 {
			return lp, core.BadRequest("offset param must be positive")
		}
		lp.offset = n
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil {
			return lp, core.BadRequest("limit param must be an integer")
		}
		if n < 0 {
			return lp, core.BadRequest("limit param must be positive")
		}
		lp.limit, lp.hasLimit = min(n, maxLimit), n > 0
		if n == 0 {
			lp.limit = maxLimit
		}
	}
	return lp, nil
}

// paginate applies marker, offset and limit; next is due when a limit was
// asked for and the page is full.
func paginate[T any](items []T, idOf func(T) string, lp listParams) ([]T, bool) {
	if lp.marker != "" {
		for i, it := range items {
			if idOf(it) == lp.marker {
				items = items[i+1:]
				break
			}
		}
	}
	if lp.offset >= len(items) {
		items = nil
	} else {
		items = items[lp.offset:]
	}
	if len(items) > lp.limit {
		items = items[:lp.limit]
	}
	return items, lp.hasLimit && len(items) == lp.limit && len(items) > 0
}

func nextLinks(r *http.Request, coll string, more bool, lastID string) []map[string]string {
	if !more {
		return nil
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		q[k] = v
	}
	q.Set("marker", lastID)
	return []map[string]string{{"rel": "next", "href": projectURL(r) + "/" + coll + "?" + q.Encode()}}
}

// visibleProject: the caller's own, or every project's for an admin
// asking all_tenants (optionally narrowed by project_id).
func visibleProject(r *http.Request, p string) bool {
	if core.AllProjects(r) {
		want := r.URL.Query().Get("project_id")
		return want == "" || want == p
	}
	return core.IdentityOf(r).Owns(p)
}

func formatTime(t time.Time) string { return core.FormatTime(t, core.TimeMicro) }

// decodeBody reads a JSON object ("Malformed request body" otherwise).
func decodeBody(r *http.Request) (map[string]any, error) {
	var m map[string]any
	if err := core.DecodeJSON(r, &m); err != nil {
		if e, ok := core.AsAPIError(err); ok && e.Status == http.StatusRequestEntityTooLarge {
			return nil, err
		}
		return nil, core.BadRequest("Malformed request body")
	}
	if m == nil {
		return nil, core.BadRequest("Malformed request body")
	}
	return m, nil
}

// unprocessable is Manila's answer to a body without its resource key
// (is_valid_body fails: webob's HTTPUnprocessableEntity).
func unprocessable() error {
	return core.Errorf(http.StatusUnprocessableEntity, "Unable to process the contained instructions")
}

// boolValue is strutils.bool_from_string(strict=True) on a JSON value.
func boolValue(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "on", "yes", "y", "t":
			return true, true
		case "false", "0", "off", "no", "n", "f":
			return false, true
		}
	case float64:
		if x == 1 {
			return true, true
		}
		if x == 0 {
			return false, true
		}
	}
	return false, false
}

func strValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// optString reads an optional string property (nil for null/absent).
func optString(m map[string]any, key string) (*string, bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, ok, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return nil, true, core.BadRequest("Invalid input received: %s must be a string.", key)
	}
	return &s, true, nil
}

// checkMetadata is api.common._check_metadata_properties.
func checkMetadata(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, core.BadRequest("Malformed request body")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		val, isStr := m[k].(string)
		if !isStr {
			val = strValue(m[k])
		}
		switch {
		case k == "":
			return nil, core.BadRequest("Metadata property key is blank.")
		case len(k) > 255:
			return nil, core.BadRequest("Metadata property key is greater than 255 characters.")
		case val == "":
			return nil, core.BadRequest("Metadata property value is blank.")
		case len(val) > 1023:
			return nil, core.BadRequest("Metadata property value is greater than 1023 characters.")
		}
		out[k] = val
	}
	return out, nil
}

func quotaExceeded(format string, args ...any) error {
	e := core.Errorf(http.StatusRequestEntityTooLarge, format, args...)
	e.Header = http.Header{"Retry-After": {"0"}}
	return e
}

func noSuchAction(name string) error {
	return core.BadRequest("There is no such action: %s", name)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
