package magnum

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Quota is a project's cluster limit (Magnum's only quota resource).
type Quota struct {
	ID        int        `json:"id"`
	ProjectID string     `json:"project_id"`
	Resource  string     `json:"resource"`
	HardLimit int        `json:"hard_limit"`
	Created   time.Time  `json:"created_at"`
	Updated   *time.Time `json:"updated_at"`
}

func (q *Quota) body() map[string]any {
	return map[string]any{"id": q.ID, "project_id": q.ProjectID, "resource": q.Resource, "hard_limit": q.HardLimit,
		"created_at": fmtTime(&q.Created), "updated_at": fmtTime(q.Updated)}
}

var quotaAttrs = []attr{
	{name: "id", kind: "int", min: 1},
	{name: "hard_limit", kind: "int", min: 0},
	{name: "project_id", kind: "str", min: 1, max: 255},
	{name: "resource", kind: "enum", values: []string{"Cluster"}},
	{name: "created_at", readonly: true},
	{name: "updated_at", readonly: true},
}

// clusterLimit is the project's quota, else CONF.quotas.max_clusters_per_project.
func (s *state) clusterLimit(project string) int {
	for _, q := range s.Quotas {
		if q.ProjectID == project && q.Resource == "Cluster" {
			return q.HardLimit
		}
	}
	return maxClusters
}

func (s *state) quota(project, resource string) *Quota {
	for _, q := range s.Quotas {
		if q.ProjectID == project && q.Resource == resource {
			return q
		}
	}
	return nil
}

func quotaNotFound(project, resource string) error {
	return clientError(http.StatusNotFound, "Quota could not be found: project_id %s resource %s.", project, resource)
}

// listQuotas is GET /v1/quotas (admins; all_tenants for every project's).
func (m *Magnum) listQuotas(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	all, _ := strconv.ParseBool(r.URL.Query().Get("all_tenants"))
	var out []any
	_ = m.state.View(func(s *state) error {
		var qs []*Quota
		for _, q := range s.Quotas {
			if all || q.ProjectID == caller.ProjectID {
				qs = append(qs, q)
			}
		}
		sort.Slice(qs, func(i, j int) bool { return qs[i].ID < qs[j].ID })
		for _, q := range qs {
			out = append(out, q.body())
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"quotas": append([]any{}, out...)})
	return nil
}

// showQuota answers the project's quota, or Magnum's default when it has
// none; only an admin reads another project's.
func (m *Magnum) showQuota(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	project, resource := r.PathValue("project_id"), r.PathValue("resource")
	if !caller.IsAdmin() && project != caller.ProjectID {
		return clientError(http.StatusForbidden, "Not authorized.")
	}
	return m.state.View(func(s *state) error {
		if q := s.quota(project, resource); q != nil {
			core.WriteJSON(w, http.StatusOK, q.body())
			return nil
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"project_id": project, "resource": "Cluster", "hard_limit": maxClusters})
		return nil
	})
}

func (m *Magnum) createQuota(w http.ResponseWriter, r *http.Request) error {
	vals, err := parseBody(r, "quota", quotaAttrs)
	if err != nil {
		return err
	}
	project, _ := vals["project_id"].(string)
	if project == "" {
		return clientError(http.StatusBadRequest, "Must provide a valid project ID.")
	}
	// enforce_valid_project_id_on_create: the project exists in Keystone.
	err = m.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "identity", Method: "GET", Path: "/v3/projects/" + url.PathEscape(project)}, nil)
	if status(err) == http.StatusNotFound {
		return clientError(http.StatusNotFound, "The project_id %s could not be found.", project)
	}
	if err != nil && !unavailable(err) {
		return err
	}
	q := &Quota{ProjectID: project, Resource: "Cluster", HardLimit: intOr(vals, "hard_limit", 1), Created: m.env.Now()}
	if rs, ok := vals["resource"].(string); ok {
		q.Resource = rs
	}
	err = m.state.Update(func(s *state) error {
		if s.quota(q.ProjectID, q.Resource) != nil {
			return clientError(http.StatusConflict, "Quota for project %s already exists for resource %s.", q.ProjectID, q.Resource)
		}
		s.NextQuotaID++
		q.ID = s.NextQuotaID
		s.Quotas = append(s.Quotas, q)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, q.body())
	return nil
}

func (m *Magnum) updateQuota(w http.ResponseWriter, r *http.Request) error {
	vals, err := parseBody(r, "quotapatch", quotaAttrs)
	if err != nil {
		return err
	}
	project, resource := r.PathValue("project_id"), r.PathValue("resource")
	now := m.env.Now()
	var out map[string]any
	err = m.state.Update(func(s *state) error {
		q := s.quota(project, resource)
		if q == nil {
			return quotaNotFound(project, resource)
		}
		q.HardLimit = intOr(vals, "hard_limit", 1)
		q.Updated = &now
		out = q.body()
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, out)
	return nil
}

func (m *Magnum) deleteQuota(w http.ResponseWriter, r *http.Request) error {
	project, resource := r.PathValue("project_id"), r.PathValue("resource")
	err := m.state.Update(func(s *state) error {
		for i, q := range s.Quotas {
			if q.ProjectID == project && q.Resource == resource {
				s.Quotas = append(s.Quotas[:i], s.Quotas[i+1:]...)
				return nil
			}
		}
		return quotaNotFound(project, resource)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
