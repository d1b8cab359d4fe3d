package nova

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// usage counts a project's servers, cores, RAM, key pairs (of the
// caller) and server groups.
func (s *state) usage(project, user string, n *Nova) map[string]int {
	now := n.env.Now()
	u := map[string]int{}
	for _, srv := range s.Servers {
		if srv.ProjectID == project && !srv.Deleting && !srv.gone(now) {
			u["instances"]++
			u["cores"] += srv.Flavor.VCPUs
			u["ram"] += srv.Flavor.RAM
		}
	}
	for _, g := range s.Groups {
		if g.ProjectID == project {
			u["server_groups"]++
		}
	}
	for _, k := range s.Keypairs {
		if k.UserID == user {
			u["key_pairs"]++
		}
	}
	return u
}

func (n *Nova) limits(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	v := core.MicroversionOf(r)
	project := caller.ProjectID
	if t := r.URL.Query().Get("tenant_id"); t != "" && caller.IsAdmin() {
		project = t
	}
	abs := map[string]any{}
	_ = n.state.View(func(s *state) error {
		q := &s.Quotas
		u := s.usage(project, caller.UserID, n)
		abs["maxServerMeta"] = q.Limit(project, "metadata_items")
		abs["maxTotalKeypairs"] = q.Limit(project, "key_pairs")
		abs["maxServerGroups"] = q.Limit(project, "server_groups")
		abs["maxServerGroupMembers"] = q.Limit(project, "server_group_members")
		abs["maxTotalCores"] = q.Limit(project, "cores")
		abs["maxTotalInstances"] = q.Limit(project, "instances")
		abs["maxTotalRAMSize"] = q.Limit(project, "ram")
		abs["totalCoresUsed"], abs["totalInstancesUsed"], abs["totalRAMUsed"] = u["cores"], u["instances"], u["ram"]
		abs["totalServerGroupsUsed"] = u["server_groups"]
		if !v.AtLeast("2.57") {
			abs["maxPersonality"] = q.Limit(project, "injected_files")
			abs["maxPersonalitySize"] = q.Limit(project, "injected_file_content_bytes")
		}
		if !v.AtLeast("2.39") {
			abs["maxImageMeta"] = q.Limit(project, "metadata_items")
		}
		if !v.AtLeast("2.36") {
			abs["maxSecurityGroups"], abs["maxSecurityGroupRules"], abs["maxTotalFloatingIps"] = -1, -1, -1
			abs["totalFloatingIpsUsed"], abs["totalSecurityGroupsUsed"] = 0, 0
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}

// quotaKeys are the quota_set keys at a microversion.
func quotaKeys(v core.Version) []string {
	keys := []string{"instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups", "server_group_members"}
	if !v.AtLeast("2.57") {
		keys = append(keys, "injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
	}
	return keys
}

var legacyNetQuotas = []string{"fixed_ips", "floating_ips", "security_groups", "security_group_rules", "networks"}

func quotaProject(r *http.Request) (string, error) {
	caller := core.IdentityOf(r)
	p := r.PathValue("project_id")
	if p != caller.ProjectID && !caller.IsAdmin() {
		return "", core.Forbidden("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
	}
	return p, nil
}

func (n *Nova) quotaSet(r *http.Request, project string, detail, defaults bool) map[string]any {
	v := core.MicroversionOf(r)
	qs := map[string]any{"id": project}
	_ = n.state.View(func(s *state) error {
		u := s.usage(project, core.IdentityOf(r).UserID, n)
		for _, k := range quotaKeys(v) {
			l := s.Quotas.Limit(project, k)
			if defaults {
				l = s.Quotas.Defaults[k]
			}
			if detail {
				qs[k] = map[string]int{"limit": l, "in_use": u[k], "reserved": 0}
			} else {
				qs[k] = l
			}
		}
		if !v.AtLeast("2.36") {
			for _, k := range legacyNetQuotas {
				if detail {
					qs[k] = map[string]int{"limit": -1, "in_use": 0, "reserved": 0}
				} else {
					qs[k] = -1
				}
			}
		}
		return nil
	})
	return qs
}

func (n *Nova) showQuotas(w http.ResponseWriter, r *http.Request) error {
	p, err := quotaProject(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": n.quotaSet(r, p, false, false)})
	return nil
}

func (n *Nova) showQuotaDefaults(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": n.quotaSet(r, r.PathValue("project_id"), false, true)})
	return nil
}

func (n *Nova) showQuotaDetail(w http.ResponseWriter, r *http.Request) error {
	p, err := quotaProject(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": n.quotaSet(r, p, true, false)})
	return nil
}

func (n *Nova) updateQuotas(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props := map[string]*schema{"force": boolSchema}
	for _, k := range quotaKeys(v) {
		props[k] = &schema{IntString: true, Min: f64(-1), Max: f64(2147483647)}
	}
	if !v.AtLeast("2.36") {
		for _, k := range legacyNetQuotas {
			props[k] = &schema{IntString: true, Min: f64(-1), Max: f64(2147483647)}
		}
	}
	if err := validate(obj([]string{"quota_set"}, map[string]*schema{"quota_set": obj(nil, props)}), body); err != nil {
		return err
	}
	in := body.(map[string]any)["quota_set"].(map[string]any)
	force := false
	if f, ok := in["force"]; ok {
		force, _ = asBool(f)
	}
	project := r.PathValue("project_id")
	if q := r.URL.Query().Get("user_id"); q != "" {
		project = "user:" + q
	}
	err = n.state.Update(func(s *state) error {
		u := s.usage(project, "", n)
		for k, val := range in {
			if k == "force" {
				continue
			}
			l, _ := asInt(val)
			if !force && l >= 0 && l < u[k] {
				return core.BadRequest("Quota limit %d for %s must be greater than or equal to already used and reserved %d.", l, k, u[k])
			}
		}
		for k, val := range in {
			if k == "force" || !containsStr(quotaKeys(v), k) {
				continue
			}
			l, _ := asInt(val)
			s.Quotas.Set(project, k, l)
		}
		return nil
	})
	if err != nil {
		return err
	}
	qs := n.quotaSet(r, project, false, false)
	delete(qs, "id")
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": qs})
	return nil
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (n *Nova) deleteQuotas(w http.ResponseWriter, r *http.Request) error {
	_ = n.state.Update(func(s *state) error {
		delete(s.Quotas.Projects, r.PathValue("project_id"))
		return nil
	})
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// Availability zones.

func (n *Nova) listZones(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{
		map[string]any{"zoneName": AZ, "zoneState": map[string]bool{"available": true}, "hosts": nil}}})
	return nil
}

func (n *Nova) listZonesDetail(w http.ResponseWriter, r *http.Request) error {
	zones := map[string]map[string]any{}
	_ = n.state.View(func(s *state) error {
		for _, svc := range s.Services {
			if zones[svc.Zone] == nil {
				zones[svc.Zone] = map[string]any{}
			}
			h, _ := zones[svc.Zone][svc.Host].(map[string]any)
			if h == nil {
				h = map[string]any{}
				zones[svc.Zone][svc.Host] = h
			}
			h[svc.Binary] = map[string]any{"available": !svc.Disabled, "active": true,
				"updated_at": core.FormatTime(svc.UpdatedAt, "2006-01-02T15:04:05.000000")}
		}
		return nil
	})
	var out []any
	for _, z := range []string{"internal", AZ} {
		out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": true}, "hosts": zones[z]})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}

// Hypervisors: the one compute host and Ironic's nodes.

type hypervisor struct {
	id, hostname, typ, host string
	vcpus, ram, disk        int
	usedVCPUs, usedRAM      int
	usedDisk, running       int
	state                   string
}

var computeHypervisorID = "9c3b8c2e-6c2a-4a8e-9a57-0e5f6b0c1d01"

func (n *Nova) hypervisors(r *http.Request) []hypervisor {
	hv := hypervisor{id: computeHypervisorID, hostname: ComputeHost, typ: "QEMU", host: ComputeHost,
		vcpus: 64, ram: 262144, disk: 2048, state: "up"}
	now := n.env.Now()
	_ = n.state.View(func(s *state) error {
		for _, srv := range s.Servers {
			if srv.Host == ComputeHost && !srv.gone(now) {
				hv.usedVCPUs += srv.Flavor.VCPUs
				hv.usedRAM += srv.Flavor.RAM
				hv.usedDisk += srv.Flavor.Disk
				hv.running++
			}
		}
		return nil
	})
	out := []hypervisor{hv}
	if n.has("baremetal") {
		var nodes struct {
			Nodes []struct {
				UUID         string         `json:"uuid"`
				InstanceUUID *string        `json:"instance_uuid"`
				Properties   map[string]any `json:"properties"`
			} `json:"nodes"`
		}
		if err := n.ironic(r, "GET", "/v1/nodes/detail", nil, nil, &nodes); err == nil {
			for _, nd := range nodes.Nodes {
				h := hypervisor{id: nd.UUID, hostname: nd.UUID, typ: "ironic", host: IronicHost, state: "up"}
				h.vcpus, _ = asInt(nd.Properties["cpus"])
				h.ram, _ = asInt(nd.Properties["memory_mb"])
				h.disk, _ = asInt(nd.Properties["local_gb"])
				if nd.InstanceUUID != nil {
					h.usedVCPUs, h.usedRAM, h.usedDisk, h.running = h.vcpus, h.ram, h.disk, 1
				}
				out = append(out, h)
			}
		}
	}
	return out
}

func (h hypervisor) body(r *http.Request, detail bool) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"id": h.id, "hypervisor_hostname": h.hostname, "state": h.state, "status": "enabled"}
	if !detail {
		return b
	}
	b["hypervisor_type"], b["hypervisor_version"], b["host_ip"] = h.typ, 8002000, "127.0.0.1"
	b["service"] = map[string]any{"host": h.host, "id": h.host, "disabled_reason": nil}
	if !v.AtLeast("2.88") {
		b["vcpus"], b["memory_mb"], b["local_gb"] = h.vcpus, h.ram, h.disk
		b["vcpus_used"], b["memory_mb_used"], b["local_gb_used"] = h.usedVCPUs, h.usedRAM, h.usedDisk
		b["free_ram_mb"], b["free_disk_gb"], b["disk_available_least"] = h.ram-h.usedRAM, h.disk-h.usedDisk, h.disk-h.usedDisk
		b["current_workload"], b["running_vms"] = 0, h.running
		b["cpu_info"] = "{}"
	} else {
		b["uptime"] = nil
	}
	return b
}

func (n *Nova) listHypervisors(w http.ResponseWriter, r *http.Request) error {
	detail := fullPathHas(r, "/detail")
	q := r.URL.Query()
	out := []any{}
	for _, h := range n.hypervisors(r) {
		if p := q.Get("hypervisor_hostname_pattern"); p != "" && !containsFold(h.hostname, p) {
			continue
		}
		out = append(out, h.body(r, detail))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"hypervisors": out})
	return nil
}

func containsFold(s, sub string) bool {
	return len(sub) == 0 || indexFold(s, sub) >= 0
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub); j++ {
			a, b := s[i+j], sub[j]
			if a|0x20 != b|0x20 {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

func (n *Nova) showHypervisor(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("hypervisor_id")
	for _, h := range n.hypervisors(r) {
		if h.id == id {
			core.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": h.body(r, true)})
			return nil
		}
	}
	if !uuidRE.MatchString(id) && core.MicroversionOf(r).AtLeast("2.53") {
		return core.BadRequest("Invalid uuid %s", id)
	}
	return core.NotFound("Hypervisor with ID '%s' could not be found.", id)
}

func (n *Nova) hypervisorStats(w http.ResponseWriter, r *http.Request) error {
	if core.MicroversionOf(r).AtLeast("2.88") {
		return core.NotFound("The resource could not be found.")
	}
	st := map[string]int{}
	for _, h := range n.hypervisors(r) {
		st["count"]++
		st["vcpus"] += h.vcpus
		st["memory_mb"] += h.ram
		st["local_gb"] += h.disk
		st["vcpus_used"] += h.usedVCPUs
		st["memory_mb_used"] += h.usedRAM
		st["local_gb_used"] += h.usedDisk
		st["running_vms"] += h.running
	}
	st["free_ram_mb"] = st["memory_mb"] - st["memory_mb_used"]
	st["free_disk_gb"] = st["local_gb"] - st["local_gb_used"]
	st["disk_available_least"] = st["free_disk_gb"]
	st["current_workload"] = 0
	core.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": st})
	return nil
}

// Services.

func (svc *Service) body(r *http.Request) map[string]any {
	v := core.MicroversionOf(r)
	status := "enabled"
	if svc.Disabled {
		status = "disabled"
	}
	var id any = svc.Serial
	if v.AtLeast("2.53") {
		id = svc.ID
	}
	b := map[string]any{"id": id, "binary": svc.Binary, "host": svc.Host, "zone": svc.Zone, "status": status,
		"state": "up", "updated_at": core.FormatTime(svc.UpdatedAt, "2006-01-02T15:04:05.000000"), "disabled_reason": svc.DisabledReason}
	if svc.ForcedDown {
		b["state"] = "down"
	}
	if v.AtLeast("2.11") {
		b["forced_down"] = svc.ForcedDown
	}
	return b
}

func (n *Nova) listServices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var list []*Service
	_ = n.state.View(func(s *state) error {
		for _, svc := range s.Services {
			if core.MatchFilters(q, map[string]string{"binary": svc.Binary, "host": svc.Host}) {
				cp := *svc
				cp.UpdatedAt = n.env.Now()
				list = append(list, &cp)
			}
		}
		return nil
	})
	sort.Slice(list, func(i, j int) bool { return list[i].Serial < list[j].Serial })
	out := []any{}
	for _, svc := range list {
		out = append(out, svc.body(r))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}

func (n *Nova) updateService(w http.ResponseWriter, r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("2.53") {
		return core.NotFound("The resource could not be found.")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	sc := obj(nil, map[string]*schema{"status": {Type: "string", Enum: []any{"enabled", "disabled"}},
		"disabled_reason": {Type: "string", MinLen: 1, MaxLen: 255}, "forced_down": boolSchema})
	if err := validate(sc, body); err != nil {
		return err
	}
	in := body.(map[string]any)
	if len(in) == 0 {
		return core.BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	if _, ok := in["disabled_reason"]; ok && in["status"] != "disabled" {
		return core.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
	}
	var out map[string]any
	err = n.state.Update(func(s *state) error {
		svc := s.Services[r.PathValue("service_id")]
		if svc == nil {
			return core.NotFound("Service %s could not be found.", r.PathValue("service_id"))
		}
		if st, ok := in["status"].(string); ok {
			svc.Disabled = st == "disabled"
			svc.DisabledReason = nil
			if d, ok := in["disabled_reason"].(string); ok {
				svc.DisabledReason = &d
			}
		}
		if f, ok := in["forced_down"]; ok {
			svc.ForcedDown, _ = asBool(f)
		}
		out = svc.body(r)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"service": out})
	return nil
}

func (n *Nova) listExtensions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"extensions": []any{}})
	return nil
}

var _ = url.Values{}
