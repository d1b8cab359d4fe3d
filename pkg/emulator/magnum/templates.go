package magnum

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// timeLayout is how wsme writes Magnum's datetimes (UTC, +00:00).
const timeLayout = "2006-01-02T15:04:05+00:00"

func fmtTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

func (t *Template) body(r *http.Request) map[string]any {
	b, _ := json.Marshal(t)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	out["created_at"] = fmtTime(&t.Created)
	out["updated_at"] = fmtTime(t.Updated)
	if out["labels"] == nil {
		out["labels"] = map[string]any{}
	}
	out["links"] = links(r, "clustertemplates", t.UUID)
	return out
}

// templateFrom builds a template from parsed attributes (attrs.go).
func templateFrom(vals map[string]any) (*Template, error) {
	b, err := json.Marshal(vals)
	if err != nil {
		return nil, err
	}
	t := &Template{ServerType: "vm", FloatingIPEnabled: true}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("building a cluster template: %w", err)
	}
	return t, nil
}

// coeCheck is validation.Validator.get_coe_validator and the network
// driver, server type and volume driver checks of a template; it fills
// in the COE's default network driver.
func coeCheck(t *Template) error {
	var supportedNet, supportedVol []string
	var defaultNet string
	switch t.COE {
	case "kubernetes":
		supportedNet, supportedVol, defaultNet = []string{"flannel", "calico"}, []string{"cinder"}, "flannel"
	case "swarm", "swarm-mode":
		supportedNet, supportedVol, defaultNet = []string{"docker", "flannel"}, []string{"rexray"}, "docker"
	default:
		return clientError(http.StatusBadRequest, "Requested COE type %s is not supported.", t.COE)
	}
	if t.ServerType != "vm" && t.ServerType != "bm" {
		return clientError(http.StatusBadRequest, "Server type %s is not supported, expecting a vm/bm/unspecified server type.", t.ServerType)
	}
	if t.NetworkDriver == nil || *t.NetworkDriver == "" {
		t.NetworkDriver = &defaultNet
	}
	if !slices.Contains(supportedNet, *t.NetworkDriver) {
		return clientError(http.StatusBadRequest, "Network driver type %s is not supported, expecting a %s network driver.",
			*t.NetworkDriver, strings.Join(append(supportedNet, "unspecified"), "/"))
	}
	if t.VolumeDriver != nil && *t.VolumeDriver != "" && !slices.Contains(supportedVol, *t.VolumeDriver) {
		return clientError(http.StatusBadRequest, "Volume driver type %s is not supported, expecting a %s volume driver.",
			*t.VolumeDriver, strings.Join(append(supportedVol, "unspecified"), "/"))
	}
	if t.DockerStorageDriver != nil && *t.DockerStorageDriver == "devicemapper" && (t.DockerVolumeSize == nil || *t.DockerVolumeSize < 3) {
		size := "None"
		if t.DockerVolumeSize != nil {
			size = strconv.Itoa(*t.DockerVolumeSize)
		}
		return clientError(http.StatusBadRequest, "docker volume size %s GB is not valid, expecting minimum value 3GB for devicemapper storage driver.", size)
	}
	return nil
}

// findTemplate is get_resource('ClusterTemplate', ident): by uuid when it
// looks like one, else by name; the caller's project's and public ones
// (an admin's: all).
func (s *state) findTemplate(caller *core.Identity, ident string) (*Template, error) {
	visible := func(t *Template) bool { return caller.CanSee(t.ProjectID) || t.Public }
	if isUUID(ident) {
		for _, t := range s.Templates {
			if strings.EqualFold(strings.ReplaceAll(t.UUID, "-", ""), strings.ReplaceAll(ident, "-", "")) && visible(t) {
				return t, nil
			}
		}
		return nil, clientError(http.StatusNotFound, "ClusterTemplate %s could not be found.", ident)
	}
	var found []*Template
	for _, t := range s.Templates {
		if t.Name == ident && visible(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, clientError(http.StatusNotFound, "ClusterTemplate %s could not be found.", ident)
	case 1:
		return found[0], nil
	}
	return nil, clientError(http.StatusConflict, "Multiple ClusterTemplates exist with same name. Please use the ClusterTemplate uuid instead.")
}

func (s *state) referenced(uuid string, now time.Time) bool {
	for _, c := range s.Clusters {
		if c.TemplateID == uuid && c.status(now) != deleted {
			return true
		}
	}
	return false
}

func policyDenied(action string) error {
	return clientError(http.StatusForbidden, "Policy doesn't allow %s to be performed.", action)
}

// listParams reads marker, limit, sort_key and sort_dir as Magnum's
// collections do.
type listParams struct {
	marker, sortKey, sortDir string
	limit                    int
}

func readListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{marker: q.Get("marker"), sortKey: q.Get("sort_key"), sortDir: q.Get("sort_dir"), limit: maxLimit}
	if p.sortKey == "" {
		p.sortKey = "id"
	}
	if p.sortDir == "" {
		p.sortDir = "asc"
	}
	if p.marker != "" && !isUUID(p.marker) {
		return p, invalidInput("marker", p.marker, fmt.Sprintf("Expected a UUID but received %s.", p.marker))
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, invalidInput("limit", s, fmt.Sprintf("invalid literal for int() with base 10: '%s'", s))
		}
		if n <= 0 {
			return p, clientError(http.StatusBadRequest, "Limit must be positive")
		}
		p.limit = min(n, maxLimit)
	}
	if p.sortDir != "asc" && p.sortDir != "desc" {
		return p, clientError(http.StatusBadRequest, "Invalid sort direction: %s. Acceptable values are 'asc' or 'desc'", p.sortDir)
	}
	return p, nil
}

// page sorts (by creation for id and created_at, else by the field's
// text), applies the marker and the limit, and says whether Magnum gives
// a next link (a full page).
func page[T any](items []T, p listParams, zero T, created func(T) time.Time, field func(T, string) (string, bool), uuid func(T) string, notFound error) ([]T, bool, error) {
	if _, ok := field(zero, p.sortKey); !ok && p.sortKey != "id" && p.sortKey != "created_at" {
		return nil, false, clientError(http.StatusBadRequest, "The sort_key value \"%s\" is an invalid field for sorting", p.sortKey)
	}
	less := func(x, y T) bool {
		switch p.sortKey {
		case "id", "created_at":
			cx, cy := created(x), created(y)
			return cx.Before(cy) || (cx.Equal(cy) && uuid(x) < uuid(y))
		}
		a, _ := field(x, p.sortKey)
		b, _ := field(y, p.sortKey)
		return a < b
	}
	sort.SliceStable(items, func(i, j int) bool {
		if p.sortDir == "desc" {
			return less(items[j], items[i])
		}
		return less(items[i], items[j])
	})
	if p.marker != "" {
		i := slices.IndexFunc(items, func(it T) bool { return uuid(it) == strings.ToLower(p.marker) })
		if i < 0 {
			return nil, false, notFound
		}
		items = items[i+1:]
	}
	if len(items) > p.limit {
		items = items[:p.limit]
	}
	return items, len(items) > 0 && len(items) == p.limit, nil
}

// nextURL is Collection.get_next.
func nextURL(r *http.Request, res string, p listParams, marker string) string {
	return fmt.Sprintf("%s/v1/%s?sort_key=%s&sort_dir=%s&limit=%d&marker=%s", core.ServiceURL(r), res, p.sortKey, p.sortDir, p.limit, marker)
}

func jsonField(v any, key string) (string, bool) {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	x, ok := m[key]
	if !ok {
		return "", false
	}
	if x == nil {
		return "", true
	}
	return fmt.Sprint(x), true
}

func (m *Magnum) listTemplates(w http.ResponseWriter, r *http.Request) error {
	p, err := readListParams(r)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	var out []any
	var more bool
	var last string
	err = m.state.View(func(s *state) error {
		var items []*Template
		for _, t := range s.Templates {
			// Another project's public templates, unless hidden (still
			// readable by id or name, as Magnum's get).
			if caller.CanSee(t.ProjectID) || (t.Public && !t.Hidden) {
				items = append(items, t)
			}
		}
		notFound := clientError(http.StatusNotFound, "ClusterTemplate %s could not be found.", p.marker)
		got, full, err := page(items, p, &Template{}, func(t *Template) time.Time { return t.Created },
			func(t *Template, k string) (string, bool) { return jsonField(t, k) },
			func(t *Template) string { return t.UUID }, notFound)
		if err != nil {
			return err
		}
		for _, t := range got {
			out = append(out, t.body(r))
			last = t.UUID
		}
		more = full
		return nil
	})
	if err != nil {
		return err
	}
	body := map[string]any{"clustertemplates": append([]any{}, out...)}
	if more {
		res := "clustertemplates"
		if strings.HasSuffix(r.URL.Path, "/detail") {
			res = "clustertemplates/detail"
		}
		body["next"] = nextURL(r, res, p, last)
	}
	core.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (m *Magnum) showTemplate(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		t, err := s.findTemplate(core.IdentityOf(r), r.PathValue("ident"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, t.body(r))
		return nil
	})
}

func (m *Magnum) createTemplate(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	vals, err := parseBody(r, "cluster_template", templateAttrs)
	if err != nil {
		return err
	}
	t, err := templateFrom(vals)
	if err != nil {
		return err
	}
	if err := coeCheck(t); err != nil {
		return err
	}
	// enforce_driver_supported: the image's os_distro (None when the
	// image cannot be read) must be one of a driver's.
	distro := t.ClusterDistro
	if distro == nil || *distro == "" {
		var skipped bool
		distro, skipped = m.imageDistro(r, t.ImageID)
		if skipped {
			d := "fedora-coreos" // no Glance in this emulator: assume Magnum's usual image
			distro = &d
		}
	}
	if !driverSupported(t.ServerType, derefOr(distro, ""), t.COE) {
		return notSupported(t.ServerType, distro, t.COE)
	}
	if err := m.validateOSResources(r, t, nil); err != nil {
		return err
	}
	// post() stores the image's os_distro, whatever the body said.
	if d, err := m.validateImage(r, t.ImageID); err != nil {
		return err
	} else if d != "" {
		distro = &d
	}
	t.ClusterDistro = distro
	if (t.Public || t.Hidden) && !caller.IsAdmin() {
		return clientError(http.StatusForbidden, "Not authorized to set public or hidden flag for cluster template.")
	}
	if t.Name == "" {
		t.Name = generatedName() + "-template"
	}
	if t.UUID == "" {
		t.UUID = core.NewUUID()
	}
	t.ProjectID, t.UserID = caller.ProjectID, caller.UserID
	t.Created = m.env.Now()
	err = m.state.Update(func(s *state) error {
		for _, o := range s.Templates {
			if o.UUID == t.UUID {
				return clientError(http.StatusConflict, "A ClusterTemplate with UUID %s already exists.", t.UUID)
			}
		}
		s.Templates[t.UUID] = t
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v1/clustertemplates/"+t.UUID)
	core.WriteJSON(w, http.StatusCreated, t.body(r))
	return nil
}

func derefOr(p *string, d string) string {
	if p == nil {
		return d
	}
	return *p
}

var templateInternal = []string{"/created_at", "/id", "/links", "/updated_at", "/uuid", "/project_id", "/user_id"}
var templateNonRemovable = []string{"/coe", "/image_id", "/network_driver", "/external_network_id", "/tls_disabled",
	"/public", "/server_type", "/registry_enabled", "/cluster_distro", "/hidden"}

func (m *Magnum) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	ident := r.PathValue("ident")
	var cur Template
	err := m.state.View(func(s *state) error {
		t, err := s.findTemplate(caller, ident)
		if err != nil {
			return err
		}
		cur = *t
		cur.Labels = maps.Clone(t.Labels)
		return nil
	})
	if err != nil {
		return err
	}
	ops, err := parsePatch(r, templateInternal, templateNonRemovable)
	if err != nil {
		return err
	}
	if !caller.CanSee(cur.ProjectID) {
		return policyDenied("clustertemplate:update")
	}
	b, _ := json.Marshal(&cur)
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	if err := applyPatch(doc, ops); err != nil {
		return err
	}
	vals, err := checkAttrs(doc, "cluster_template", templateAttrs)
	if err != nil {
		return err
	}
	nt, err := templateFrom(vals)
	if err != nil {
		return err
	}
	if err := coeCheck(nt); err != nil {
		return err
	}
	if err := m.validateOSResources(r, nt, nil); err != nil {
		return err
	}
	if (nt.Public != cur.Public || nt.Hidden != cur.Hidden) && !caller.IsAdmin() {
		return clientError(http.StatusForbidden, "Not authorized to set public or hidden flag for cluster template.")
	}
	nt.UUID, nt.ProjectID, nt.UserID, nt.Created = cur.UUID, cur.ProjectID, cur.UserID, cur.Created
	changed := changedFields(&cur, nt)
	now := m.env.Now()
	if len(changed) > 0 {
		nt.Updated = &now
	} else {
		nt.Updated = cur.Updated
	}
	err = m.state.Update(func(s *state) error {
		if s.Templates[cur.UUID] == nil {
			return clientError(http.StatusNotFound, "ClusterTemplate %s could not be found.", cur.UUID)
		}
		if len(changed) > 0 && s.referenced(cur.UUID, now) && !publishing(changed, nt) && !slices.Equal(keys(changed), []string{"name"}) {
			return clientError(http.StatusBadRequest, "ClusterTemplate %s is referenced by one or multiple clusters.", cur.UUID)
		}
		s.Templates[cur.UUID] = nt
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, nt.body(r))
	return nil
}

// changedFields lists the template's attributes that differ.
func changedFields(a, b *Template) map[string]bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var ma, mb map[string]any
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	out := map[string]bool{}
	for k, v := range mb {
		if k == "updated_at" || k == "created_at" {
			continue
		}
		x, _ := json.Marshal(v)
		y, _ := json.Marshal(ma[k])
		if string(x) != string(y) {
			out[k] = true
		}
	}
	return out
}

// publishing is the database's _is_publishing_cluster_template: one
// change, making it public, (un)hiding it or tagging it.
func publishing(changed map[string]bool, t *Template) bool {
	if len(changed) != 1 {
		return false
	}
	return (changed["public"] && t.Public) || changed["hidden"] || (changed["tags"] && t.Tags != nil)
}

func keys(m map[string]bool) []string {
	out := slices.Collect(maps.Keys(m))
	sort.Strings(out)
	return out
}

func (m *Magnum) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		t, err := s.findTemplate(caller, r.PathValue("ident"))
		if err != nil {
			return err
		}
		if !caller.CanSee(t.ProjectID) {
			return policyDenied("clustertemplate:delete")
		}
		if s.referenced(t.UUID, now) {
			return clientError(http.StatusBadRequest, "ClusterTemplate %s is referenced by one or multiple clusters.", t.UUID)
		}
		s.purge(now)
		delete(s.Templates, t.UUID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// generatedName is Magnum's NameGenerator: a Greek letter and a number.
func generatedName() string {
	letters := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
		"lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}
	id := core.NewUUID()
	n, _ := strconv.ParseUint(id[:8], 16, 64)
	return fmt.Sprintf("%s-%d", letters[n%uint64(len(letters))], n%100)
}
