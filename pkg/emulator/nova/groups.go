package nova

import (
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func groupNotFound(id string) error {
	return core.NotFound("Instance group %s could not be found.", id)
}

func (g *ServerGroup) body(r *http.Request) map[string]any {
	v := core.MicroversionOf(r)
	members := append([]string{}, g.Members...)
	b := map[string]any{"id": g.ID, "name": g.Name, "members": members}
	if v.AtLeast("2.64") {
		rules := g.Rules
		if rules == nil {
			rules = map[string]any{}
		}
		b["policy"], b["rules"] = g.Policy, rules
	} else {
		b["policies"], b["metadata"] = []string{g.Policy}, map[string]any{}
	}
	if v.AtLeast("2.13") {
		b["project_id"], b["user_id"] = g.ProjectID, g.UserID
	}
	return b
}

func (n *Nova) listGroups(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	q := r.URL.Query()
	all := caller.IsAdmin() && q.Has("all_projects") && q.Get("all_projects") != "false" && q.Get("all_projects") != "0"
	if p := q.Get("project_id"); p != "" && !caller.IsAdmin() && p != caller.ProjectID {
		return core.Forbidden("Policy doesn't allow os_compute_api:os-server-groups:index:all_projects to be performed.")
	}
	var list []*ServerGroup
	_ = n.state.View(func(s *state) error {
		for _, g := range s.Groups {
			if all || g.ProjectID == caller.ProjectID {
				cp := *g
				cp.Members = append([]string{}, g.Members...)
				list = append(list, &cp)
			}
		}
		return nil
	})
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	start, end, err := limited(r, len(list))
	if err != nil {
		return err
	}
	list = list[start:end]
	out := []any{}
	for _, g := range list {
		out = append(out, g.body(r))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": out})
	return nil
}

func (n *Nova) showGroup(w http.ResponseWriter, r *http.Request) error {
	return n.state.View(func(s *state) error {
		g := s.Groups[r.PathValue("group_id")]
		if g == nil || !core.IdentityOf(r).CanSee(g.ProjectID) {
			return groupNotFound(r.PathValue("group_id"))
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"server_group": g.body(r)})
		return nil
	})
}

func (n *Nova) createGroup(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	caller := core.IdentityOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	policies := []any{"anti-affinity", "affinity"}
	if v.AtLeast("2.15") {
		policies = append(policies, "soft-anti-affinity", "soft-affinity")
	}
	var sc *schema
	if v.AtLeast("2.64") {
		sc = obj([]string{"server_group"}, map[string]*schema{"server_group": obj([]string{"name", "policy"}, map[string]*schema{
			"name":   nameSchema(),
			"policy": {Type: "string", Enum: policies},
			"rules":  obj(nil, map[string]*schema{"max_server_per_host": {IntString: true, Min: f64(1)}}),
		})})
	} else {
		sc = obj([]string{"server_group"}, map[string]*schema{"server_group": obj([]string{"name", "policies"}, map[string]*schema{
			"name":     nameSchema(),
			"policies": {Type: "array", MinItems: 1, MaxItems: 1, Unique: true, Items: &schema{Type: "string", Enum: policies}},
		})})
	}
	if err := validate(sc, body); err != nil {
		return err
	}
	in := body.(map[string]any)["server_group"].(map[string]any)
	g := &ServerGroup{ID: core.NewUUID(), Name: in["name"].(string), ProjectID: caller.ProjectID, UserID: caller.UserID,
		Members: []string{}, Rules: map[string]any{}}
	if p, ok := in["policy"].(string); ok {
		g.Policy = p
	} else {
		g.Policy = in["policies"].([]any)[0].(string)
	}
	if rules, ok := in["rules"].(map[string]any); ok {
		if len(rules) > 0 && g.Policy != "anti-affinity" {
			return core.BadRequest("Only anti-affinity policy supports rules.")
		}
		for k, val := range rules {
			i, _ := asInt(val)
			g.Rules[k] = i
		}
	}
	err = n.state.Update(func(s *state) error {
		used := 0
		for _, o := range s.Groups {
			if o.ProjectID == caller.ProjectID {
				used++
			}
		}
		if !s.Quotas.Allows(caller.ProjectID, "server_groups", used, 1) {
			return core.Forbidden("Quota exceeded, too many server groups.")
		}
		s.Groups[g.ID] = g
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"server_group": g.body(r)})
	return nil
}

func (n *Nova) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	err := n.state.Update(func(s *state) error {
		id := r.PathValue("group_id")
		g := s.Groups[id]
		if g == nil || !core.IdentityOf(r).CanSee(g.ProjectID) {
			return groupNotFound(id)
		}
		delete(s.Groups, id)
		for _, srv := range s.Servers {
			if srv.Group == id {
				srv.Group = ""
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
