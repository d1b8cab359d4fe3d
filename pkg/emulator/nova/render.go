package nova

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Server states: the status a client sees maps onto Nova's vm_state and
// power_state; a pending lifecycle adds its task_state.
var vmStates = map[string]struct {
	vm    string
	power int
}{
	"ACTIVE": {"active", 1}, "BUILD": {"building", 0}, "SHUTOFF": {"stopped", 4}, "PAUSED": {"paused", 3},
	"SUSPENDED": {"suspended", 4}, "REBOOT": {"active", 1}, "HARD_REBOOT": {"active", 1}, "REBUILD": {"active", 4},
	"RESIZE": {"active", 1}, "VERIFY_RESIZE": {"resized", 1}, "REVERT_RESIZE": {"resized", 1},
	"SHELVED": {"shelved", 4}, "SHELVED_OFFLOADED": {"shelved_offloaded", 4}, "ERROR": {"error", 0},
	"RESCUE": {"rescued", 1}, "MIGRATING": {"active", 1}, "DELETED": {"deleted", 0},
}

func (srv *Server) gone(now time.Time) bool {
	return srv.Deleting && srv.Current(now) == "deleted"
}

// status is the status a client sees at now.
func (srv *Server) status(now time.Time) string {
	st := srv.Current(now)
	if st == "deleted" {
		return "DELETED"
	}
	return st
}

func (srv *Server) taskState(now time.Time) any {
	if srv.Pending(now) && srv.Task != "" {
		return srv.Task
	}
	return nil
}

// netView is what Neutron says about a server's ports, gathered before
// rendering (never under the state lock).
type netView struct {
	addresses map[string][]map[string]any
	secGroups []string
}

// renderer renders servers for one request.
type renderer struct {
	n      *Nova
	r      *http.Request
	v      core.Version
	caller *core.Identity
	now    time.Time
	nets   map[string]*netView
	groups map[string][]string // server id -> group ids
}

func (n *Nova) renderer(r *http.Request, servers []*Server) *renderer {
	rd := &renderer{n: n, r: r, v: core.MicroversionOf(r), caller: core.IdentityOf(r), now: n.env.Now(),
		nets: map[string]*netView{}, groups: map[string][]string{}}
	for _, srv := range servers {
		rd.nets[srv.ID] = n.netViewOf(r, srv)
	}
	_ = n.state.View(func(s *state) error {
		for _, g := range s.Groups {
			for _, m := range g.Members {
				rd.groups[m] = append(rd.groups[m], g.ID)
			}
		}
		return nil
	})
	return rd
}

func (rd *renderer) basic(srv *Server) map[string]any {
	return map[string]any{"id": srv.ID, "name": srv.Name, "links": links(rd.r, "servers", srv.ID)}
}

func hostID(srv *Server) string {
	if srv.Host == "" {
		return ""
	}
	return sha224Hex(srv.ProjectID + srv.Host)
}

func (rd *renderer) flavor(srv *Server) map[string]any {
	f := srv.Flavor
	if !rd.v.AtLeast("2.47") {
		return map[string]any{"id": f.ID, "links": []map[string]string{{"rel": "bookmark", "href": core.ServiceURL(rd.r) + "/flavors/" + f.ID}}}
	}
	specs := map[string]string{}
	for k, v := range f.ExtraSpecs {
		specs[k] = v
	}
	return map[string]any{"vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk, "ephemeral": f.Ephemeral, "swap": f.Swap,
		"original_name": f.Name, "extra_specs": specs}
}

func (rd *renderer) show(srv *Server) map[string]any {
	now, v := rd.now, rd.v
	status := srv.status(now)
	var image any = ""
	if srv.ImageID != "" {
		image = map[string]any{"id": srv.ImageID, "links": []map[string]string{{"rel": "bookmark", "href": core.ServiceURL(rd.r) + "/images/" + srv.ImageID}}}
	}
	meta := map[string]string{}
	for k, val := range srv.Metadata {
		meta[k] = val
	}
	nv := rd.nets[srv.ID]
	addresses := map[string][]map[string]any{}
	if nv != nil && nv.addresses != nil {
		addresses = nv.addresses
	}
	b := map[string]any{
		"id": srv.ID, "name": srv.Name, "status": status, "tenant_id": srv.ProjectID, "user_id": srv.UserID,
		"metadata": meta, "hostId": hostID(srv), "image": image, "flavor": rd.flavor(srv),
		"created": core.FormatTime(srv.Created, core.TimeSeconds), "updated": core.FormatTime(srv.Updated, core.TimeSeconds),
		"addresses": addresses, "accessIPv4": srv.AccessIPv4, "accessIPv6": srv.AccessIPv6,
		"links": links(rd.r, "servers", srv.ID), "OS-DCF:diskConfig": srv.DiskConfig,
		"OS-EXT-AZ:availability_zone": srv.AZ, "config_drive": boolStr(srv.ConfigDrive), "key_name": nilIfEmpty(srv.KeyName),
		"OS-SRV-USG:launched_at": nil, "OS-SRV-USG:terminated_at": nil,
		"OS-EXT-STS:task_state": srv.taskState(now), "OS-EXT-STS:vm_state": vmStates[status].vm,
		"OS-EXT-STS:power_state":               vmStates[status].power,
		"os-extended-volumes:volumes_attached": rd.volumes(srv),
	}
	if status == "BUILD" {
		b["OS-EXT-STS:power_state"] = 0
	}
	if srv.Launched != nil {
		b["OS-SRV-USG:launched_at"] = srv.Launched.UTC().Format("2006-01-02T15:04:05.000000")
	}
	if (status == "ERROR" || status == "DELETED") && srv.Fault != nil {
		f := map[string]any{"code": srv.Fault.Code, "message": srv.Fault.Message,
			"created": core.FormatTime(srv.Fault.Created, core.TimeSeconds)}
		if rd.caller.IsAdmin() {
			f["details"] = srv.Fault.Details
		}
		b["fault"] = f
	}
	switch status {
	case "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING":
		b["progress"] = 0
	case "ACTIVE":
		b["progress"] = 0
	}
	if nv != nil && len(nv.secGroups) > 0 {
		var sgs []map[string]string
		for _, g := range nv.secGroups {
			sgs = append(sgs, map[string]string{"name": g})
		}
		b["security_groups"] = sgs
	}
	if rd.caller.IsAdmin() {
		b["OS-EXT-SRV-ATTR:host"] = nilIfEmpty(srv.Host)
		b["OS-EXT-SRV-ATTR:instance_name"] = srv.InstanceName
		b["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nilIfEmpty(srv.Node)
		if v.AtLeast("2.3") {
			b["OS-EXT-SRV-ATTR:reservation_id"] = srv.ReservationID
			b["OS-EXT-SRV-ATTR:launch_index"] = srv.LaunchIndex
			b["OS-EXT-SRV-ATTR:hostname"] = srv.Hostname
			b["OS-EXT-SRV-ATTR:kernel_id"] = ""
			b["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
			b["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
			var ud any
			if srv.UserData != "" {
				ud = srv.UserData
			}
			b["OS-EXT-SRV-ATTR:user_data"] = ud
		}
		if v.AtLeast("2.16") {
			b["host_status"] = nilIfEmptyHost(srv.Host)
		}
	} else if v.AtLeast("2.90") {
		b["OS-EXT-SRV-ATTR:hostname"] = srv.Hostname
	}
	if v.AtLeast("2.9") {
		b["locked"] = srv.Locked
	}
	if v.AtLeast("2.73") {
		b["locked_reason"] = srv.LockedReason
	}
	if v.AtLeast("2.19") {
		b["description"] = srv.Description
	}
	if v.AtLeast("2.26") {
		tags := append([]string{}, srv.Tags...)
		b["tags"] = tags
	}
	if v.AtLeast("2.63") {
		b["trusted_image_certificates"] = nil
	}
	return b
}

func nilIfEmptyHost(h string) any {
	if h == "" {
		return ""
	}
	return "UP"
}

func (rd *renderer) volumes(srv *Server) []map[string]any {
	out := []map[string]any{}
	for _, a := range srv.Volumes {
		m := map[string]any{"id": a.VolumeID}
		if rd.v.AtLeast("2.3") {
			m["delete_on_termination"] = a.DeleteOnTermination
		}
		out = append(out, m)
	}
	return out
}

// showOne adds what only GET /servers/{id} has.
func (rd *renderer) showOne(srv *Server) map[string]any {
	b := rd.show(srv)
	if rd.v.AtLeast("2.71") {
		g := rd.groups[srv.ID]
		if g == nil {
			g = []string{}
		}
		b["server_groups"] = g
	}
	return b
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return ""
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sortedServers returns the servers sorted newest first, as Nova's default
// (created_at desc, id desc).
func sortedServers(list []*Server) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.After(list[j].Created)
		}
		return list[i].ID > list[j].ID
	})
}

func hostnameOf(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case c == ' ', c == '_', c == '.':
			b.WriteRune('-')
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = h[:63]
	}
	if h == "" {
		h = "server"
	}
	return h
}
