package octavia

import (
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// quotaBody is QuotaBase as Octavia answers a project's quotas.
func (s *state) quotaBody(project string) map[string]any {
	out := map[string]any{}
	for _, k := range quotaKeys {
		out[k] = s.Quotas.Limit(project, k)
	}
	return out
}

// readQuota is the read-quota policy: the project's own members and
// readers, and admins.
func readQuota(r *http.Request, project string) error {
	if core.IdentityOf(r).CanSee(project) {
		return nil
	}
	return policyForbidden()
}

// writeQuota is write-quota: admins (load-balancer_quota_admin) only.
func writeQuota(r *http.Request) error {
	if core.IdentityOf(r).IsAdmin() {
		return nil
	}
	return policyForbidden()
}

// listQuotas is QuotasController.get_all: the projects with quotas of
// their own (not the defaults).
func (o *Octavia) listQuotas(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	return o.state.View(func(s *state) error {
		var ids []string
		for p := range s.Quotas.Projects {
			if project == "" || p == project {
				ids = append(ids, p)
			}
		}
		sort.Strings(ids)
		out := []map[string]any{}
		for _, p := range ids {
			q := s.quotaBody(p)
			q["loadbalancer"], q["healthmonitor"] = q["load_balancer"], q["health_monitor"]
			q["project_id"], q["tenant_id"] = p, p
			out = append(out, q)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out, "quotas_links": []any{}})
		return nil
	})
}

func (o *Octavia) showQuota(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project_id")
	if err := readQuota(r, project); err != nil {
		return err
	}
	return o.state.View(func(s *state) error {
		core.WriteJSON(w, http.StatusOK, map[string]any{"quota": s.quotaBody(project)})
		return nil
	})
}

func (o *Octavia) defaultQuota(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project_id")
	if err := readQuota(r, project); err != nil {
		return err
	}
	return o.state.View(func(s *state) error {
		out := map[string]any{}
		for _, k := range quotaKeys {
			out[k] = s.Quotas.Defaults[k]
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"quota": out})
		return nil
	})
}

func (o *Octavia) setQuota(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project_id")
	b, err := decodeBody(r, "quotas", "quota", quotaAttrs)
	if err != nil {
		return err
	}
	if err := writeQuota(r); err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		alias := map[string]string{"loadbalancer": "load_balancer", "healthmonitor": "health_monitor"}
		for k := range b {
			key := k
			if a, ok := alias[k]; ok {
				key = a
			}
			if b[k] == nil {
				if s.Quotas.Projects[project] != nil {
					delete(s.Quotas.Projects[project], key)
				}
				continue
			}
			s.Quotas.Set(project, key, b.int(k, -1))
		}
		if s.Quotas.Projects[project] == nil {
			s.Quotas.Set(project, "load_balancer", s.Quotas.Limit(project, "load_balancer"))
		}
		answer = s.quotaBody(project)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"quota": answer})
	return nil
}

func (o *Octavia) resetQuota(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project_id")
	if err := writeQuota(r); err != nil {
		return err
	}
	err := o.state.Update(func(s *state) error {
		if _, ok := s.Quotas.Projects[project]; !ok {
			return notFound("Quotas", project)
		}
		delete(s.Quotas.Projects, project)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
