package cinder

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service. Every API path carries the project id,
// as the catalog URL does (/volume/v3/<project_id>/volumes); the
// project-less forms of 3.67 are not served.
func (c *Cinder) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", c.versions, core.Public)
	rt.Handle("GET /v3", c.versionV3)
	rt.Handle("GET /v3/{$}", c.versionV3)

	p := func(pattern string, h core.HandlerFunc, opts ...core.RouteOption) {
		method, path, _ := strings.Cut(pattern, " ")
		rt.Handle(method+" /v3/{project_id}"+path, c.scoped(h), opts...)
	}
	p("GET /volumes", c.listVolumes(false))
	p("GET /volumes/detail", c.listVolumes(true))
	p("GET /volumes/summary", c.volumeSummary)
	p("POST /volumes", c.createVolume)
	p("GET /volumes/{volume_id}", c.showVolume)
	p("PUT /volumes/{volume_id}", c.updateVolume)
	p("DELETE /volumes/{volume_id}", c.deleteVolume)
	p("POST /volumes/{volume_id}/action", c.volumeAction)
	p("GET /volumes/{volume_id}/metadata", c.volumeMetadata(metaIndex))
	p("POST /volumes/{volume_id}/metadata", c.volumeMetadata(metaCreate))
	p("PUT /volumes/{volume_id}/metadata", c.volumeMetadata(metaReplace))
	p("GET /volumes/{volume_id}/metadata/{key}", c.volumeMetadata(metaShow))
	p("PUT /volumes/{volume_id}/metadata/{key}", c.volumeMetadata(metaUpdateItem))
	p("DELETE /volumes/{volume_id}/metadata/{key}", c.volumeMetadata(metaDelete))

	p("GET /snapshots", c.listSnapshots(false))
	p("GET /snapshots/detail", c.listSnapshots(true))
	p("POST /snapshots", c.createSnapshot)
	p("GET /snapshots/{snapshot_id}", c.showSnapshot)
	p("PUT /snapshots/{snapshot_id}", c.updateSnapshot)
	p("DELETE /snapshots/{snapshot_id}", c.deleteSnapshot)
	p("POST /snapshots/{snapshot_id}/action", c.snapshotAction)
	p("GET /snapshots/{snapshot_id}/metadata", c.snapshotMetadata(metaIndex))
	p("POST /snapshots/{snapshot_id}/metadata", c.snapshotMetadata(metaCreate))
	p("PUT /snapshots/{snapshot_id}/metadata", c.snapshotMetadata(metaReplace))
	p("GET /snapshots/{snapshot_id}/metadata/{key}", c.snapshotMetadata(metaShow))
	p("PUT /snapshots/{snapshot_id}/metadata/{key}", c.snapshotMetadata(metaUpdateItem))
	p("DELETE /snapshots/{snapshot_id}/metadata/{key}", c.snapshotMetadata(metaDelete))

	p("GET /types", c.listTypes)
	p("POST /types", c.createType, core.AdminOnly)
	p("GET /types/{type_id}", c.showType)
	p("PUT /types/{type_id}", c.updateType, core.AdminOnly)
	p("DELETE /types/{type_id}", c.deleteType, core.AdminOnly)
	p("POST /types/{type_id}/action", c.typeAction, core.AdminOnly)
	p("GET /types/{type_id}/extra_specs", c.listExtraSpecs)
	p("POST /types/{type_id}/extra_specs", c.createExtraSpecs, core.AdminOnly)
	p("GET /types/{type_id}/extra_specs/{key}", c.showExtraSpec)
	p("PUT /types/{type_id}/extra_specs/{key}", c.updateExtraSpec, core.AdminOnly)
	p("DELETE /types/{type_id}/extra_specs/{key}", c.deleteExtraSpec, core.AdminOnly)
	p("GET /types/{type_id}/os-volume-type-access", c.typeAccess, core.AdminOnly)

	p("GET /attachments", c.listAttachments(false))
	p("GET /attachments/detail", c.listAttachments(true))
	p("POST /attachments", c.createAttachment)
	p("GET /attachments/{attachment_id}", c.showAttachment)
	p("PUT /attachments/{attachment_id}", c.updateAttachment)
	p("DELETE /attachments/{attachment_id}", c.deleteAttachment)
	p("POST /attachments/{attachment_id}/action", c.attachmentAction)

	p("GET /backups", c.listBackups(false))
	p("GET /backups/detail", c.listBackups(true))
	p("POST /backups", c.createBackup)
	p("GET /backups/{backup_id}", c.showBackup)
	p("PUT /backups/{backup_id}", c.updateBackup)
	p("DELETE /backups/{backup_id}", c.deleteBackup)
	p("POST /backups/{backup_id}/restore", c.restoreBackup)
	p("POST /backups/{backup_id}/action", c.backupAction)

	p("GET /os-quota-sets/{target}", c.showQuotas)
	p("GET /os-quota-sets/{target}/defaults", c.quotaDefaults)
	p("PUT /os-quota-sets/{target}", c.updateQuotas, core.AdminOnly)
	p("DELETE /os-quota-sets/{target}", c.deleteQuotas, core.AdminOnly)
	p("GET /limits", c.limits)
	p("GET /os-availability-zone", c.availabilityZones)
	p("GET /extensions", c.extensions)
}

// scoped answers 400 "Malformed request url" when the URL's project is
// not the token's, as Cinder's wsgi layer does (for admins too).
func (c *Cinder) scoped(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("project_id") != core.IdentityOf(r).ProjectID {
			return core.BadRequest("Malformed request url")
		}
		return h(w, r)
	}
}

// versionDoc is the one entry of Cinder's _KNOWN_VERSIONS.
func versionDoc(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v3.0", "status": "CURRENT", "version": MaxVersion, "min_version": "3.0",
		"updated": "2022-08-31T00:00:00Z",
		"links": []map[string]any{
			{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
			{"rel": "self", "href": core.ServiceURL(r) + "/v3/"},
		},
		"media-types": []map[string]any{{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}
}

// versions is the unauthenticated root: 300 Multiple Choices.
func (c *Cinder) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{versionDoc(r)}})
	return nil
}

// versionV3 is /v3/, behind authentication as in Cinder's paste pipeline.
func (c *Cinder) versionV3(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{versionDoc(r)}})
	return nil
}

// --- links and lists

// projectURL is the service's v3 root with the project, as links show it.
func projectURL(r *http.Request) string {
	return core.ServiceURL(r) + "/v3/" + r.PathValue("project_id")
}

// links are a resource's self and bookmark links.
func links(r *http.Request, coll, id string) []map[string]string {
	return []map[string]string{
		{"rel": "self", "href": projectURL(r) + "/" + coll + "/" + id},
		{"rel": "bookmark", "href": core.ServiceURL(r) + "/" + r.PathValue("project_id") + "/" + coll + "/" + id},
	}
}

const maxLimit = 1000 // osapi_max_limit

// listParams are a list request's pagination and sort parameters, parsed
// as cinder.api.common does.
type listParams struct {
	limit    int
	hasLimit bool
	marker   string
	offset   int
	sortKeys []string
	sortDirs []string
}

func parseList(r *http.Request, defaultKey string) (listParams, error) {
	q := r.URL.Query()
	lp := listParams{limit: maxLimit, marker: q.Get("marker")}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil {
			return lp, core.BadRequest("limit param must be an integer")
		}
		if n < 0 {
			return lp, core.BadRequest("limit param must be positive")
		}
		lp.limit, lp.hasLimit = min(n, maxLimit), true
	}
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil {
			return lp, core.BadRequest("offset must be an integer.")
		}
		if n < 0 {
			return lp, core.BadRequest("offset must be >= 0.")
		}
		lp.offset = n
	}
	if s := q.Get("sort"); s != "" {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return lp, core.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
		}
		for _, part := range strings.Split(s, ",") {
			k, d, _ := strings.Cut(strings.TrimSpace(part), ":")
			if d == "" {
				d = "desc"
			}
			lp.sortKeys, lp.sortDirs = append(lp.sortKeys, strings.TrimSpace(k)), append(lp.sortDirs, strings.TrimSpace(d))
		}
	} else {
		k, d := q.Get("sort_key"), q.Get("sort_dir")
		if k == "" {
			k = defaultKey
		}
		if d == "" {
			d = "desc"
		}
		lp.sortKeys, lp.sortDirs = []string{k}, []string{d}
	}
	for _, d := range lp.sortDirs {
		if d != "asc" && d != "desc" {
			return lp, core.BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
		}
	}
	return lp, nil
}

// sortable is what a list sorts and pages on: the value of a sort key
// (ok false for an unknown key), and the id.
type sortable interface {
	sortValue(key string) (any, bool)
	id() string
}

// page sorts items and returns the page the parameters ask for and
// whether a next link is due; notFound answers an unknown marker.
func page[T sortable](items []T, lp listParams, notFound func(string) error) ([]T, bool, error) {
	for _, k := range lp.sortKeys {
		if len(items) == 0 {
			break
		}
		if _, ok := items[0].sortValue(k); !ok {
			return nil, false, core.BadRequest("Invalid input received: Invalid sort key")
		}
	}
	keys, dirs := append([]string{}, lp.sortKeys...), append([]string{}, lp.sortDirs...)
	keys, dirs = append(keys, "id"), append(dirs, dirs[len(dirs)-1])
	sort.SliceStable(items, func(i, j int) bool {
		for n, k := range keys {
			a, _ := items[i].sortValue(k)
			b, _ := items[j].sortValue(k)
			c := compare(a, b)
			if c == 0 {
				continue
			}
			if dirs[n] == "asc" {
				return c < 0
			}
			return c > 0
		}
		return false
	})
	start := 0
	if lp.marker != "" {
		start = -1
		for i, it := range items {
			if it.id() == lp.marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, false, notFound(lp.marker)
		}
	}
	items = items[start:]
	if lp.offset > 0 {
		if lp.offset >= len(items) {
			items = nil
		} else {
			items = items[lp.offset:]
		}
	}
	if len(items) > lp.limit {
		items = items[:lp.limit]
	}
	// Cinder gives a next link whenever a page is full.
	more := len(items) > 0 && len(items) == lp.limit
	return items, more, nil
}

func compare(a, b any) int {
	switch x := a.(type) {
	case int:
		y, _ := b.(int)
		return x - y
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return strings.Compare(toString(a), toString(b))
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *string:
		return deref(x)
	}
	return ""
}

// nextLinks is the "<coll>_links" of a full page.
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

// allowedFilters drops the filters a non-admin may not use, as
// remove_invalid_filter_options does with resource_filters.json.
func filtersOf(r *http.Request, allowed ...string) url.Values {
	q := r.URL.Query()
	out := url.Values{}
	admin := core.IdentityOf(r).IsAdmin()
	for k, v := range q {
		switch k {
		case "limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants", "with_count", "project_id":
			continue
		}
		ok := admin
		for _, a := range allowed {
			if a == k {
				ok = true
			}
		}
		if ok {
			out[k] = v
		}
	}
	return out
}

// visibleProject reports whether a list includes a resource of project p:
// the caller's own, or every project's for an admin asking all_tenants
// (optionally narrowed by project_id).
func visibleProject(r *http.Request, p string) bool {
	id := core.IdentityOf(r)
	if core.AllProjects(r) {
		want := r.URL.Query().Get("project_id")
		return want == "" || want == p
	}
	return id.Owns(p)
}

func formatTime(t time.Time) string { return core.FormatTime(t, core.TimeMicro) }

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// action splits an action body into its one key and value, as
// action_peek_json does.
func action(body map[string]any) (string, any, error) {
	if len(body) != 1 {
		return "", nil, core.BadRequest("Malformed request body")
	}
	for k, v := range body {
		return k, v, nil
	}
	return "", nil, nil
}

func noSuchAction(name string) error {
	return core.BadRequest("There is no such action: %s. Verify the request body and Content-Type header and try again.", name)
}

// quotaExceeded is Cinder's QuotaError: 413 with Retry-After: 0.
func quotaExceeded(format string, args ...any) error {
	e := core.Errorf(http.StatusRequestEntityTooLarge, format, args...)
	e.Header = http.Header{"Retry-After": {"0"}}
	return e
}
