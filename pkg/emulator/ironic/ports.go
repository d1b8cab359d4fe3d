package ironic

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func portNotFound(id string) error { return core.NotFound("Port %s could not be found.", id) }

func (p *Port) body(r *http.Request, detail bool, fields []string) map[string]any {
	v := core.MicroversionOf(r)
	base := core.ServiceURL(r)
	b := map[string]any{"uuid": p.UUID, "address": p.Address,
		"links": []map[string]string{{"href": base + "/v1/ports/" + p.UUID, "rel": "self"}, {"href": base + "/ports/" + p.UUID, "rel": "bookmark"}}}
	if detail || len(fields) > 0 {
		b["node_uuid"], b["extra"], b["created_at"], b["updated_at"] = p.NodeUUID, p.Extra, p.CreatedAt.UTC().Format(ironicTime), fmtTime(p.UpdatedAt)
		if v.AtLeast("1.18") {
			b["internal_info"] = p.InternalInfo
		}
		if v.AtLeast("1.19") {
			b["local_link_connection"], b["pxe_enabled"] = p.LocalLinkConnection, p.PXEEnabled
		}
		if v.AtLeast("1.24") {
			b["portgroup_uuid"] = nil
		}
		if v.AtLeast("1.34") {
			b["physical_network"] = p.PhysicalNetwork
		}
		if v.AtLeast("1.53") {
			b["is_smartnic"] = p.IsSmartNIC
		}
	}
	if len(fields) > 0 {
		out := map[string]any{}
		for _, f := range fields {
			if val, ok := b[f]; ok {
				out[f] = val
			}
		}
		return out
	}
	return b
}

var portFields = []string{"uuid", "address", "node_uuid", "extra", "internal_info", "local_link_connection", "pxe_enabled",
	"physical_network", "is_smartnic", "portgroup_uuid", "created_at", "updated_at", "links"}

func normalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", core.BadRequest("Expected a MAC address but received %s.", s)
	}
	return strings.ToLower(hw.String()), nil
}

func (ir *Ironic) listPorts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := core.ParsePage(r, 1000)
	if err != nil {
		return core.BadRequest("Limit must be positive")
	}
	fields, err := parseFields(r, portFields)
	if err != nil {
		return err
	}
	detail := strings.HasSuffix(r.URL.Path, "/detail") || q.Get("detail") == "true" || q.Get("detail") == "True"
	nodeFilter := firstNonEmpty(r.PathValue("node"), q.Get("node"), q.Get("node_uuid"))
	addr := q.Get("address")
	if addr != "" {
		if addr, err = normalizeMAC(addr); err != nil {
			return err
		}
	}
	var list []*Port
	err = ir.state.View(func(s *state) error {
		nodeUUID := ""
		if nodeFilter != "" {
			n := s.find(nodeFilter)
			if n == nil {
				return nodeNotFound(nodeFilter)
			}
			nodeUUID = n.UUID
		}
		for _, p := range s.Ports {
			if nodeUUID != "" && p.NodeUUID != nodeUUID {
				continue
			}
			if addr != "" && p.Address != addr {
				continue
			}
			cp := *p
			list = append(list, &cp)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.Before(list[j].CreatedAt)
		}
		return list[i].UUID < list[j].UUID
	})
	list, more, err := core.Paginate(list, func(p *Port) string { return p.UUID }, page)
	if err != nil {
		return portNotFound(page.Marker)
	}
	out := []any{}
	for _, p := range list {
		out = append(out, p.body(r, detail, fields))
	}
	resp := map[string]any{"ports": out}
	if more {
		resp["next"] = core.AbsoluteURL(r, core.NextPath(r, list[len(list)-1].UUID))
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (ir *Ironic) listNodePorts(w http.ResponseWriter, r *http.Request) error {
	return ir.listPorts(w, r)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (ir *Ironic) port(s *state, r *http.Request) (*Port, error) {
	id := r.PathValue("port")
	if p := s.Ports[id]; p != nil {
		return p, nil
	}
	return nil, portNotFound(id)
}

func (ir *Ironic) showPort(w http.ResponseWriter, r *http.Request) error {
	fields, err := parseFields(r, portFields)
	if err != nil {
		return err
	}
	return ir.state.View(func(s *state) error {
		p, err := ir.port(s, r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, p.body(r, true, fields))
		return nil
	})
}

func applyPort(p *Port, in map[string]any) error {
	if a, ok := in["address"]; ok {
		s, _ := a.(string)
		mac, err := normalizeMAC(s)
		if err != nil {
			return err
		}
		p.Address = mac
	}
	for _, f := range []struct {
		k string
		d *map[string]any
	}{{"extra", &p.Extra}, {"local_link_connection", &p.LocalLinkConnection}} {
		if v, ok := in[f.k]; ok {
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return core.BadRequest("Invalid input for field/attribute %s. Value: %v. Value should be a dict", f.k, v)
			}
			if m == nil {
				m = map[string]any{}
			}
			*f.d = m
		}
	}
	if v, ok := in["pxe_enabled"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return core.BadRequest("Invalid input for field/attribute pxe_enabled. Value: %v. Value should be a boolean", v)
		}
		p.PXEEnabled = b
	}
	if v, ok := in["is_smartnic"]; ok && v != nil {
		b, _ := v.(bool)
		p.IsSmartNIC = b
	}
	if v, ok := in["physical_network"]; ok {
		if s, ok := v.(string); ok {
			p.PhysicalNetwork = &s
		} else {
			p.PhysicalNetwork = nil
		}
	}
	return nil
}

func (ir *Ironic) createPort(w http.ResponseWriter, r *http.Request) error {
	var in map[string]any
	if err := core.DecodeJSON(r, &in); err != nil {
		return err
	}
	allowed := []string{"address", "node_uuid", "extra", "local_link_connection", "pxe_enabled", "physical_network", "is_smartnic", "uuid", "portgroup_uuid"}
	for k := range in {
		if !slices.Contains(allowed, k) {
			return core.BadRequest("Unknown attribute for argument port: %s", k)
		}
	}
	if _, ok := in["address"]; !ok {
		return core.BadRequest("Invalid input for field/attribute address. Value: None. Mandatory field missing.")
	}
	nodeRef, _ := in["node_uuid"].(string)
	if nodeRef == "" {
		return core.BadRequest("Invalid input for field/attribute node_uuid. Value: None. Mandatory field missing.")
	}
	now := ir.env.Now()
	p := &Port{UUID: core.NewUUID(), Extra: map[string]any{}, LocalLinkConnection: map[string]any{}, PXEEnabled: true,
		InternalInfo: map[string]any{}, CreatedAt: now}
	if u, ok := in["uuid"].(string); ok {
		if !uuidLike(u) {
			return core.BadRequest("Expected a UUID but received %s.", u)
		}
		p.UUID = u
	}
	if err := applyPort(p, in); err != nil {
		return err
	}
	err := ir.state.Update(func(s *state) error {
		n := s.Nodes[nodeRef]
		if n == nil {
			return core.BadRequest("Node %s could not be found.", nodeRef)
		}
		p.NodeUUID = n.UUID
		for _, o := range s.Ports {
			if o.Address == p.Address {
				return core.Conflict("A port with MAC address %s already exists.", p.Address)
			}
			if o.UUID == p.UUID {
				return core.Conflict("A port with UUID %s already exists.", p.UUID)
			}
		}
		s.Ports[p.UUID] = p
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v1/ports/"+p.UUID)
	core.WriteJSON(w, http.StatusCreated, p.body(r, true, nil))
	return nil
}

func (ir *Ironic) patchPort(w http.ResponseWriter, r *http.Request) error {
	var ops []map[string]any
	if err := core.DecodeJSON(r, &ops); err != nil {
		return err
	}
	var out map[string]any
	err := ir.state.Update(func(s *state) error {
		p, err := ir.port(s, r)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(map[string]any{"address": p.Address, "node_uuid": p.NodeUUID, "extra": p.Extra,
			"local_link_connection": p.LocalLinkConnection, "pxe_enabled": p.PXEEnabled, "physical_network": p.PhysicalNetwork,
			"is_smartnic": p.IsSmartNIC})
		var doc map[string]any
		_ = json.Unmarshal(raw, &doc)
		if err := jsonPatch(doc, ops, []string{"uuid", "id", "created_at", "updated_at", "links", "internal_info"}); err != nil {
			return err
		}
		cp := *p
		if err := applyPort(&cp, doc); err != nil {
			return err
		}
		if nu, _ := doc["node_uuid"].(string); nu != p.NodeUUID {
			n := s.find(nu)
			if n == nil {
				return core.BadRequest("Node %s could not be found.", nu)
			}
			cp.NodeUUID = n.UUID
		}
		for _, o := range s.Ports {
			if o.UUID != p.UUID && o.Address == cp.Address {
				return core.Conflict("A port with MAC address %s already exists.", cp.Address)
			}
		}
		now := ir.env.Now()
		cp.UpdatedAt = &now
		*p = cp
		out = p.body(r, true, nil)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (ir *Ironic) deletePort(w http.ResponseWriter, r *http.Request) error {
	err := ir.state.Update(func(s *state) error {
		p, err := ir.port(s, r)
		if err != nil {
			return err
		}
		if n := s.Nodes[p.NodeUUID]; n != nil && n.provisionState(ir.env.Now()) == "active" && !n.Maintenance {
			return core.BadRequest("Cannot delete port %s: node %s is in state active and not in maintenance mode.", p.UUID, n.UUID)
		}
		delete(s.Ports, p.UUID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Drivers.

func (ir *Ironic) driverBody(r *http.Request, name string, detail bool) map[string]any {
	base := core.ServiceURL(r)
	b := map[string]any{"name": name, "hosts": []string{"emulator"},
		"links":      []map[string]string{{"href": base + "/v1/drivers/" + name, "rel": "self"}, {"href": base + "/drivers/" + name, "rel": "bookmark"}},
		"properties": []map[string]string{{"href": base + "/v1/drivers/" + name + "/properties", "rel": "self"}, {"href": base + "/drivers/" + name + "/properties", "rel": "bookmark"}}}
	if core.MicroversionOf(r).AtLeast("1.30") {
		b["type"] = "dynamic"
		if detail {
			ifs := defaultInterfaces(name)
			for _, k := range interfaceNames {
				b["default_"+k+"_interface"] = ifs[k]
				b["enabled_"+k+"_interfaces"] = []string{ifs[k]}
			}
		}
	}
	return b
}

func (ir *Ironic) listDrivers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if t := q.Get("type"); t != "" && t != "classic" && t != "dynamic" {
		return core.BadRequest("Invalid input for field/attribute type. Value: '%s'. Value should be one of: classic, dynamic", t)
	}
	out := []any{}
	if q.Get("type") != "classic" {
		for _, d := range Drivers {
			out = append(out, ir.driverBody(r, d, q.Get("detail") == "true" || q.Get("detail") == "True"))
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"drivers": out})
	return nil
}

func (ir *Ironic) showDriver(w http.ResponseWriter, r *http.Request) error {
	d := r.PathValue("driver")
	if !slices.Contains(Drivers, d) {
		return core.NotFound("Could not find the following driver(s) or hardware type(s): %s.", d)
	}
	core.WriteJSON(w, http.StatusOK, ir.driverBody(r, d, true))
	return nil
}

func (ir *Ironic) driverProperties(w http.ResponseWriter, r *http.Request) error {
	d := r.PathValue("driver")
	if !slices.Contains(Drivers, d) {
		return core.NotFound("Could not find the following driver(s) or hardware type(s): %s.", d)
	}
	props := map[string]string{"deploy_kernel": "UUID (from Glance) of the deployment kernel. Required.",
		"deploy_ramdisk": "UUID (from Glance) of the ramdisk that is mounted at boot time. Required."}
	switch d {
	case "ipmi":
		props["ipmi_address"] = "IP address or hostname of the node. Required."
		props["ipmi_username"] = "username; default is NULL user. Optional."
		props["ipmi_password"] = "password. Optional."
	case "redfish":
		props["redfish_address"] = "The URL address to the Redfish controller. Required."
		props["redfish_system_id"] = "The canonical path to the ComputerSystem resource. Optional."
	}
	core.WriteJSON(w, http.StatusOK, props)
	return nil
}
