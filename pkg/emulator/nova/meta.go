package nova

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Server metadata.

func (n *Nova) listMetadata(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": srv.Metadata})
	return nil
}

func metaSchema(key string) *schema {
	return obj([]string{key}, map[string]*schema{key: {Type: "object", Additional: true}})
}

func checkMeta(in map[string]any, field string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range in {
		s, ok := v.(string)
		if !ok {
			return nil, core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'", k, pyRepr(v), pyRepr(v))
		}
		if len(k) == 0 || len(k) > 255 {
			return nil, core.BadRequest("Invalid input for field/attribute %s. Value: %s. Additional properties are not allowed (%s was unexpected)", field, pyRepr(in), pyRepr(k))
		}
		if len(s) > 255 {
			return nil, core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is too long", k, pyRepr(v), pyRepr(v))
		}
		out[k] = s
	}
	return out, nil
}

func (n *Nova) writeMetadata(w http.ResponseWriter, r *http.Request, replace bool) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := validate(metaSchema("metadata"), body); err != nil {
		return err
	}
	meta, err := checkMeta(body.(map[string]any)["metadata"].(map[string]any), "metadata")
	if err != nil {
		return err
	}
	var out map[string]string
	err = n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		next := map[string]string{}
		if !replace {
			for k, v := range cur.Metadata {
				next[k] = v
			}
		}
		for k, v := range meta {
			next[k] = v
		}
		if !s.Quotas.Allows(cur.ProjectID, "metadata_items", 0, len(next)) {
			return core.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items",
				len(next), s.Quotas.Limit(cur.ProjectID, "metadata_items"))
		}
		cur.Metadata = next
		cur.Updated = n.env.Now()
		out = map[string]string{}
		for k, v := range next {
			out[k] = v
		}
		if replace {
			out = meta
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
	return nil
}

func (n *Nova) updateMetadata(w http.ResponseWriter, r *http.Request) error {
	return n.writeMetadata(w, r, false)
}
func (n *Nova) replaceMetadata(w http.ResponseWriter, r *http.Request) error {
	return n.writeMetadata(w, r, true)
}

func (n *Nova) showMetadataItem(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	k := r.PathValue("key")
	v, ok := srv.Metadata[k]
	if !ok {
		return core.NotFound("Metadata item was not found")
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{k: v}})
	return nil
}

func (n *Nova) putMetadataItem(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := validate(metaSchema("meta"), body); err != nil {
		return err
	}
	in := body.(map[string]any)["meta"].(map[string]any)
	k := r.PathValue("key")
	if _, ok := in[k]; !ok {
		return core.BadRequest("Request body and URI mismatch")
	}
	if len(in) > 1 {
		return core.BadRequest("Request body contains too many items")
	}
	meta, err := checkMeta(in, "meta")
	if err != nil {
		return err
	}
	err = n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		if _, has := cur.Metadata[k]; !has && !s.Quotas.Allows(cur.ProjectID, "metadata_items", len(cur.Metadata), 1) {
			return core.Forbidden("Quota exceeded for metadata_items: Requested 1, but already used %d of %d metadata_items",
				len(cur.Metadata), s.Quotas.Limit(cur.ProjectID, "metadata_items"))
		}
		cur.Metadata[k] = meta[k]
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"meta": meta})
	return nil
}

func (n *Nova) deleteMetadataItem(w http.ResponseWriter, r *http.Request) error {
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		if _, ok := cur.Metadata[r.PathValue("key")]; !ok {
			return core.NotFound("Metadata item was not found")
		}
		delete(cur.Metadata, r.PathValue("key"))
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Server tags (2.26+).

const maxTags = 50

func needTags(r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("2.26") {
		return core.NotFound("The resource could not be found.")
	}
	return nil
}

func checkTag(t string) error {
	if t == "" || len(t) > 60 || strings.ContainsAny(t, ",/") {
		return core.BadRequest("Invalid input for field/attribute tag. Value: %s. %s does not match '^[^,/]*$'", t, pyRepr(t))
	}
	return nil
}

func (n *Nova) listTags(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"tags": srv.Tags})
	return nil
}

func (n *Nova) replaceTags(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	sc := obj([]string{"tags"}, map[string]*schema{"tags": {Type: "array", Items: &schema{Type: "string", MinLen: 1, MaxLen: 60, Pattern: `^[^,/]*$`}}})
	if err := validate(sc, body); err != nil {
		return err
	}
	var tags []string
	for _, t := range body.(map[string]any)["tags"].([]any) {
		if !slices.Contains(tags, t.(string)) {
			tags = append(tags, t.(string))
		}
	}
	if len(tags) > maxTags {
		return core.BadRequest("The number of tags exceeded the per-server limit %d", maxTags)
	}
	if tags == nil {
		tags = []string{}
	}
	err = n.tagsUpdate(r, func(cur *Server) error { cur.Tags = tags; return nil })
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

func (n *Nova) tagsUpdate(r *http.Request, fn func(*Server) error) error {
	return n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		st := cur.status(n.env.Now())
		if !slices.Contains([]string{"ACTIVE", "PAUSED", "SHUTOFF", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED", "ERROR", "RESCUE", "VERIFY_RESIZE", "BUILD"}, st) {
			return core.Conflict("Cannot 'update tags' instance %s while it is in vm_state %s", cur.ID, vmStates[st].vm)
		}
		if err := fn(cur); err != nil {
			return err
		}
		cur.Updated = n.env.Now()
		return nil
	})
}

func (n *Nova) deleteTags(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	if err := n.tagsUpdate(r, func(cur *Server) error { cur.Tags = []string{}; return nil }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (n *Nova) checkTag(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	if !slices.Contains(srv.Tags, r.PathValue("tag")) {
		return core.NotFound("Instance %s has no tag '%s'", srv.ID, r.PathValue("tag"))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (n *Nova) addTag(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	tag := r.PathValue("tag")
	if err := checkTag(tag); err != nil {
		return err
	}
	created := false
	err := n.tagsUpdate(r, func(cur *Server) error {
		if slices.Contains(cur.Tags, tag) {
			return nil
		}
		if len(cur.Tags) >= maxTags {
			return core.BadRequest("The number of tags exceeded the per-server limit %d", maxTags)
		}
		cur.Tags = append(cur.Tags, tag)
		created = true
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v2.1/servers/"+r.PathValue("server_id")+"/tags/"+url.PathEscape(tag))
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (n *Nova) deleteTag(w http.ResponseWriter, r *http.Request) error {
	if err := needTags(r); err != nil {
		return err
	}
	tag := r.PathValue("tag")
	err := n.tagsUpdate(r, func(cur *Server) error {
		if !slices.Contains(cur.Tags, tag) {
			return core.NotFound("Instance %s has no tag '%s'", cur.ID, tag)
		}
		cur.Tags = slices.DeleteFunc(cur.Tags, func(t string) bool { return t == tag })
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Server IPs.

func (n *Nova) addresses(r *http.Request, srv *Server) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for net, addrs := range n.netViewOf(r, srv).addresses {
		var l []map[string]any
		for _, a := range addrs {
			l = append(l, map[string]any{"version": a["version"], "addr": a["addr"]})
		}
		out[net] = l
	}
	return out
}

func (n *Nova) listIPs(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"addresses": n.addresses(r, srv)})
	return nil
}

func (n *Nova) showIPs(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	net := r.PathValue("network")
	addrs, ok := n.addresses(r, srv)[net]
	if !ok {
		return core.NotFound("Instance is not a member of specified network")
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{net: addrs})
	return nil
}

// os-interface.

func interfaceBody(r *http.Request, p neutronPort, tag string) map[string]any {
	ips := []map[string]string{}
	for _, ip := range p.FixedIPs {
		ips = append(ips, map[string]string{"subnet_id": ip.SubnetID, "ip_address": ip.IPAddress})
	}
	b := map[string]any{"port_state": p.Status, "fixed_ips": ips, "port_id": p.ID, "net_id": p.NetworkID, "mac_addr": p.MAC}
	if core.MicroversionOf(r).AtLeast("2.70") {
		b["tag"] = nilIfEmpty(tag)
	}
	return b
}

func tagOf(srv *Server, portID string) string {
	for _, p := range srv.Ports {
		if p.ID == portID {
			return p.Tag
		}
	}
	return ""
}

func (n *Nova) listInterfaces(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	out := []any{}
	for _, p := range n.ports(r, srv.ID) {
		out = append(out, interfaceBody(r, p, tagOf(srv, p.ID)))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachments": out})
	return nil
}

func (n *Nova) showInterface(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	for _, p := range n.ports(r, srv.ID) {
		if p.ID == r.PathValue("port_id") {
			core.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachment": interfaceBody(r, p, tagOf(srv, p.ID))})
			return nil
		}
	}
	return core.NotFound("Port %s is not attached", r.PathValue("port_id"))
}

func (n *Nova) attachInterface(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props := map[string]*schema{"port_id": {Type: "string", Format: "uuid"}, "net_id": {Type: "string", Format: "uuid"},
		"fixed_ips": {Type: "array", MaxItems: 1, Items: obj([]string{"ip_address"}, map[string]*schema{"ip_address": {Type: "string"}})}}
	if v.AtLeast("2.49") {
		props["tag"] = &schema{Type: "string", MaxLen: 60}
	}
	if err := validate(obj(nil, map[string]*schema{"interfaceAttachment": obj(nil, props)}), body); err != nil {
		return err
	}
	in, _ := body.(map[string]any)["interfaceAttachment"].(map[string]any)
	q := netRequest{}
	q.PortID, _ = in["port_id"].(string)
	q.NetworkID, _ = in["net_id"].(string)
	q.Tag, _ = in["tag"].(string)
	if ips, ok := in["fixed_ips"].([]any); ok && len(ips) > 0 {
		q.FixedIP, _ = ips[0].(map[string]any)["ip_address"].(string)
	}
	if q.PortID != "" && q.NetworkID != "" {
		return core.BadRequest("Must not input both network_id and port_id")
	}
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	if err := lockedCheck(r, srv); err != nil {
		return err
	}
	st := srv.status(n.env.Now())
	if !slices.Contains([]string{"ACTIVE", "PAUSED", "SHUTOFF", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED"}, st) {
		return invalidState("attach_interface", srv, st)
	}
	if !n.has("network") {
		return core.Errorf(http.StatusNotImplemented, "Network driver does not support this function.")
	}
	var reqs []netRequest
	if q.PortID != "" || q.NetworkID != "" {
		if reqs, err = n.resolveNetworks(r, "", []netRequest{q}); err != nil {
			if e, ok := core.AsAPIError(err); ok && e.Status == http.StatusBadRequest {
				e.Status = http.StatusNotFound
			}
			return err
		}
	} else if reqs, err = n.resolveNetworks(r, "", nil); err != nil {
		return err
	}
	if len(reqs) == 0 {
		return core.BadRequest("Failed to allocate the network(s), not rescheduling.")
	}
	reqs[0].Tag, reqs[0].FixedIP = q.Tag, q.FixedIP
	p, err := n.allocatePort(r, srv.ID, reqs[0], nil, srv.Host)
	if err != nil {
		return core.BadRequest("Failed to attach network adapter device to %s: %s", srv.ID, callMessage(err))
	}
	if err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		cur.Ports = append(cur.Ports, p)
		return nil
	}); err != nil {
		n.releasePort(r, p)
		return err
	}
	var out struct {
		Port neutronPort `json:"port"`
	}
	_ = n.call(r, "network", "GET", "/v2.0/ports/"+p.ID, nil, nil, &out)
	core.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachment": interfaceBody(r, out.Port, p.Tag)})
	return nil
}

func (n *Nova) detachInterface(w http.ResponseWriter, r *http.Request) error {
	portID := r.PathValue("port_id")
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	if err := lockedCheck(r, srv); err != nil {
		return err
	}
	attached := false
	for _, p := range n.ports(r, srv.ID) {
		if p.ID == portID {
			attached = true
		}
	}
	if !attached {
		return core.NotFound("Port %s is not attached", portID)
	}
	port := Port{ID: portID}
	_ = n.state.Update(func(s *state) error {
		if cur := s.Servers[srv.ID]; cur != nil {
			for i, p := range cur.Ports {
				if p.ID == portID {
					port = p
					cur.Ports = append(cur.Ports[:i], cur.Ports[i+1:]...)
					break
				}
			}
		}
		return nil
	})
	n.releasePort(r, port)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// listServerSecurityGroups is ServerSecurityGroupController.index: the
// groups of the server's ports, with their rules, in Nova's format.
func (n *Nova) listServerSecurityGroups(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	var sgs []neutronSG
	if n.has("network") {
		seen := map[string]bool{}
		for _, p := range n.ports(r, srv.ID) {
			for _, id := range p.SecurityGroups {
				if seen[id] {
					continue
				}
				seen[id] = true
				if sg, err := n.neutronSG(r, id); err == nil {
					sgs = append(sgs, *sg)
				}
			}
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": n.sgFormatAll(r, sgs)})
	return nil
}

func (n *Nova) listInstanceActions(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"instanceActions": []any{map[string]any{
		"action": "create", "instance_uuid": srv.ID, "request_id": core.RequestID(r), "user_id": srv.UserID,
		"project_id": srv.ProjectID, "start_time": core.FormatTime(srv.Created, "2006-01-02T15:04:05.000000"), "message": nil,
		"updated_at": core.FormatTime(srv.Created, "2006-01-02T15:04:05.000000")}}})
	return nil
}
