package designate

import (
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (s *state) quotas(project string) map[string]any {
	out := map[string]any{}
	for _, q := range validQuotas {
		out[q] = s.Quotas.Limit(project, q)
	}
	return out
}

// ownQuotas is GET /v2/quotas: the acting project's quotas.
func (d *Designate) ownQuotas(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	var out map[string]any
	_ = d.state.View(func(s *state) error { out = s.quotas(c.project); return nil })
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// showQuotas is GET /v2/quotas/{project_id}: one's own, or any with
// all projects (Designate's legacy policy, the default in Antelope).
func (d *Designate) showQuotas(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	project := r.PathValue("project_id")
	if project != c.project && !c.all {
		return core.Forbidden("")
	}
	var out map[string]any
	_ = d.state.View(func(s *state) error { out = s.quotas(project); return nil })
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// setQuotas is PATCH /v2/quotas/{project_id} {"zones": 5, ...}: admins
// only, for another project with all projects.
func (d *Designate) setQuotas(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	project := r.PathValue("project_id")
	raw, err := bodyDict(r)
	if err != nil {
		return err
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return notValid("Provided object is not valid. Got an AttributeError with message '%s' object has no attribute 'items'", pyType(raw))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := map[string]int{}
	for _, k := range keys {
		if !contains(validQuotas, k) {
			return valueError("Field value %s is invalid", k)
		}
		n, err := intField("hard_limit", m[k], -1, 2147483647)
		if err != nil {
			return err
		}
		set[k] = int(n)
	}
	if !c.admin || (project != c.project && !c.all) {
		return core.Forbidden("")
	}
	var out map[string]any
	err = d.state.Update(func(s *state) error {
		for k, v := range set {
			s.Quotas.Set(project, k, v)
		}
		out = s.quotas(project)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// resetQuotas is DELETE /v2/quotas/{project_id}: back to the defaults
// (admins only).
func (d *Designate) resetQuotas(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	if !c.admin {
		return core.Forbidden("")
	}
	project := r.PathValue("project_id")
	err = d.state.Update(func(s *state) error {
		delete(s.Quotas.Projects, project)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// limits is GET /v2/limits: the project's quotas and the service's
// fixed limits.
func (d *Designate) limits(w http.ResponseWriter, r *http.Request) error {
	c, err := requestContext(r)
	if err != nil {
		return err
	}
	var q map[string]any
	_ = d.state.View(func(s *state) error { q = s.quotas(c.project); return nil })
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"max_zones": q["zones"], "max_zone_recordsets": q["zone_recordsets"], "max_zone_records": q["zone_records"],
		"max_recordset_records": q["recordset_records"], "min_ttl": nil, "max_zone_name_length": maxNameLen,
		"max_recordset_name_length": maxNameLen, "max_page_limit": maxPageLimit,
	})
	return nil
}
