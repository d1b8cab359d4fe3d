package manila

import (
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// A share network here is a record (name, description, the Neutron net
// and subnet it names); shares on it get no share server since the
// default type does not handle them.

func networkNotFound(id string) error {
	return core.NotFound("Share network %s could not be found.", id)
}

func (s *state) network(r *http.Request, id string) (*ShareNetwork, error) {
	n := s.Networks[id]
	if n == nil || !core.IdentityOf(r).CanSee(n.ProjectID) {
		return nil, networkNotFound(id)
	}
	return n, nil
}

func networkBody(r *http.Request, n *ShareNetwork) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"id": n.ID, "name": n.Name, "description": n.Description, "project_id": n.ProjectID,
		"created_at": formatTime(n.CreatedAt), "updated_at": formatTime(n.UpdatedAt),
		"links": links(r, "share-networks", n.ID)}
	neutron := map[string]any{"neutron_net_id": n.NetID, "neutron_subnet_id": n.SubnetID, "network_type": nil,
		"segmentation_id": nil, "cidr": nil, "ip_version": nil}
	if v.AtLeast("2.18") {
		neutron["gateway"] = nil
	}
	if v.AtLeast("2.20") {
		neutron["mtu"] = nil
	}
	if v.AtLeast("2.51") {
		sub := map[string]any{"id": n.SubnetUUID, "availability_zone": nil, "share_network_id": n.ID,
			"share_network_name": n.Name, "created_at": formatTime(n.CreatedAt), "updated_at": formatTime(n.UpdatedAt)}
		for k, val := range neutron {
			sub[k] = val
		}
		b["share_network_subnets"] = []any{sub}
	} else {
		for k, val := range neutron {
			b[k] = val
		}
	}
	if !v.AtLeast("2.26") {
		b["nova_net_id"] = nil
	}
	if v.AtLeast("2.63") {
		b["status"] = "active"
		b["security_service_update_support"] = true
	}
	if v.AtLeast("2.70") {
		b["network_allocation_update_support"] = true
	}
	return b
}

func (m *Manila) listNetworks(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseList(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		return m.state.View(func(s *state) error {
			var nets []*ShareNetwork
			for _, n := range s.Networks {
				if !visibleProject(r, n.ProjectID) {
					continue
				}
				if name := q.Get("name"); q.Has("name") && deref(n.Name) != name {
					continue
				}
				if id := q.Get("neutron_net_id"); q.Has("neutron_net_id") && deref(n.NetID) != id {
					continue
				}
				nets = append(nets, n)
			}
			sort.Slice(nets, func(i, j int) bool {
				if !nets[i].CreatedAt.Equal(nets[j].CreatedAt) {
					return nets[i].CreatedAt.Before(nets[j].CreatedAt)
				}
				return nets[i].ID < nets[j].ID
			})
			pg, _ := paginate(nets, func(n *ShareNetwork) string { return n.ID }, lp)
			list := make([]map[string]any, 0, len(pg))
			for _, n := range pg {
				if detail {
					list = append(list, networkBody(r, n))
				} else {
					list = append(list, map[string]any{"id": n.ID, "name": n.Name})
				}
			}
			core.WriteJSON(w, http.StatusOK, map[string]any{"share_networks": list})
			return nil
		})
	}
}

func (m *Manila) showNetwork(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		n, err := s.network(r, r.PathValue("network_id"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"share_network": networkBody(r, n)})
		return nil
	})
}

// networkFields reads name, description, neutron_net_id and
// neutron_subnet_id of a create or update body.
func networkFields(in map[string]any) (map[string]*string, error) {
	out := map[string]*string{}
	for _, k := range []string{"name", "description", "neutron_net_id", "neutron_subnet_id"} {
		s, ok, err := optString(in, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = s
		}
	}
	if _, ok := in["nova_net_id"]; ok {
		return nil, core.BadRequest("nova networking is not supported starting in Ocata.")
	}
	return out, nil
}

func (m *Manila) createNetwork(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["share_network"].(map[string]any)
	if !ok {
		return unprocessable()
	}
	f, err := networkFields(in)
	if err != nil {
		return err
	}
	if az, ok := in["availability_zone"]; ok && az != nil && az != AZ {
		return core.BadRequest("The provided availability zone %s does not exist.", strValue(az))
	}
	caller := core.IdentityOf(r)
	now := m.env.Now()
	n := &ShareNetwork{ID: core.NewUUID(), ProjectID: caller.ProjectID, Name: f["name"], Description: f["description"],
		NetID: f["neutron_net_id"], SubnetID: f["neutron_subnet_id"], SubnetUUID: core.NewUUID(), CreatedAt: now, UpdatedAt: now}
	err = m.state.Update(func(s *state) error {
		u := s.usage(caller.ProjectID, now)
		if !s.Quotas.Allows(caller.ProjectID, "share_networks", u["share_networks"], 1) {
			return quotaExceeded("Maximum number of share-networks allowed (%d) exceeded.", s.Quotas.Limit(caller.ProjectID, "share_networks"))
		}
		s.Networks[n.ID] = n
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"share_network": networkBody(r, n)})
	return nil
}

func (m *Manila) updateNetwork(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["share_network"].(map[string]any)
	if !ok {
		return unprocessable()
	}
	f, err := networkFields(in)
	if err != nil {
		return err
	}
	now := m.env.Now()
	var out map[string]any
	err = m.state.Update(func(s *state) error {
		n, err := s.network(r, r.PathValue("network_id"))
		if err != nil {
			return err
		}
		for k, v := range f {
			switch k {
			case "name":
				n.Name = v
			case "description":
				n.Description = v
			case "neutron_net_id":
				n.NetID = v
			case "neutron_subnet_id":
				n.SubnetID = v
			}
		}
		n.UpdatedAt = now
		out = networkBody(r, n)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"share_network": out})
	return nil
}

func (m *Manila) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		n, err := s.network(r, r.PathValue("network_id"))
		if err != nil {
			return err
		}
		count := 0
		for _, sh := range s.Shares {
			if sh.NetworkID == n.ID {
				count++
			}
		}
		if count > 0 {
			return core.Conflict("Can not delete share network %s, it has %d share(s).", n.ID, count)
		}
		delete(s.Networks, n.ID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
