package neutron

import (
	"math"
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// quotaResources are the resources Neutron counts.
var quotaResources = []string{"floatingip", "network", "port", "rbac_policy", "router", "security_group", "security_group_rule", "subnet", "subnetpool"}

func (s *state) quotaOf(project string) map[string]any {
	q := map[string]any{}
	for _, r := range quotaResources {
		q[r] = s.Quotas.Limit(project, r)
	}
	return q
}

// mayReadQuota: a project's own quota, or any for an admin.
func mayReadQuota(c *caller, project string) error {
	if project != c.ProjectID && !c.admin() {
		return policyRefused("rule:get_quota")
	}
	return nil
}

func (n *Neutron) listQuotas(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if !c.admin() {
		return policyRefused("rule:get_quota")
	}
	out := []map[string]any{}
	_ = n.state.View(func(s *state) error {
		projects := sortedKeys(s.Quotas.Projects)
		for _, p := range projects {
			q := s.quotaOf(p)
			q["project_id"], q["tenant_id"] = p, p
			out = append(out, q)
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
	return nil
}

func (n *Neutron) quotaProject(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if c.ProjectID == "" {
		return errf(http.StatusBadRequest, "QuotaMissingTenant", "Tenant-id was missing from quota request.")
	}
	key := "project"
	if r.URL.Path == "/v2.0/quotas/tenant" {
		key = "tenant"
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{key: map[string]any{key + "_id": c.ProjectID}})
	return nil
}

func (n *Neutron) showQuota(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	project := r.PathValue("project_id")
	if err := mayReadQuota(c, project); err != nil {
		return err
	}
	var q map[string]any
	_ = n.state.View(func(s *state) error { q = s.quotaOf(project); return nil })
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
	return nil
}

func (n *Neutron) defaultQuota(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if err := mayReadQuota(c, r.PathValue("project_id")); err != nil {
		return err
	}
	q := map[string]any{}
	_ = n.state.View(func(s *state) error {
		for _, res := range quotaResources {
			l, ok := s.Quotas.Defaults[res]
			if !ok {
				l = -1
			}
			q[res] = l
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
	return nil
}

func (n *Neutron) quotaDetails(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	project := r.PathValue("project_id")
	if err := mayReadQuota(c, project); err != nil {
		return err
	}
	q := map[string]any{}
	_ = n.state.View(func(s *state) error {
		for _, res := range quotaResources {
			q[res] = map[string]any{"limit": s.Quotas.Limit(project, res), "used": s.usage(project, res), "reserved": 0}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
	return nil
}

func (n *Neutron) updateQuota(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if !c.admin() {
		return policyRefused("rule:update_quota")
	}
	project := r.PathValue("project_id")
	body, err := readBody(r)
	if err != nil {
		return err
	}
	in, err := resourceBody(body, "quota")
	if err != nil {
		return err
	}
	checkLimit := false
	if v, ok := in["check_limit"]; ok {
		if checkLimit, err = toBool(v); err != nil {
			return err
		}
	}
	delete(in, "force")
	delete(in, "check_limit")
	var unknown []string
	for k := range in {
		if !contains(quotaResources, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("Unrecognized attribute(s) '%s'", joinComma(unknown))
	}
	limits := map[string]int{}
	for _, k := range sortedKeys(in) {
		l, err := toInt(in[k])
		if err != nil {
			return err
		}
		if l < -1 {
			return badRequest("Invalid input for %s. Reason: '%d' is too small - must be at least '-1'.", k, l)
		}
		if l > math.MaxInt32 {
			return badRequest("Invalid input for %s. Reason: '%d' is too large - must be no larger than '%d'.", k, l, math.MaxInt32)
		}
		limits[k] = l
	}
	var q map[string]any
	err = n.state.Update(func(s *state) error {
		if checkLimit {
			for _, k := range sortedKeys(limits) {
				if used := s.usage(project, k); limits[k] >= 0 && used > limits[k] {
					return badRequest("Quota limit %d for %s must be greater than or equal to already used %d", limits[k], k, used)
				}
			}
		}
		for k, l := range limits {
			s.Quotas.Set(project, k, l)
		}
		q = s.quotaOf(project)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
	return nil
}

func (n *Neutron) deleteQuota(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if !c.admin() {
		return policyRefused("rule:delete_quota")
	}
	project := r.PathValue("project_id")
	err := n.state.Update(func(s *state) error {
		if _, ok := s.Quotas.Projects[project]; !ok {
			return errf(http.StatusNotFound, "TenantQuotaNotFound", "Quota for tenant %s could not be found.", project)
		}
		delete(s.Quotas.Projects, project)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
