package nova

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// transition is a simple state-changing action: the statuses it may
// start from, the status it shows while pending (with task) and the one
// it ends in.
type transition struct {
	policy  string // Nova's method name in its 409 message
	from    []string
	pending string // "" = the current status
	task    string
	to      string
	power   string // Ironic power target for bare-metal servers
}

var transitions = map[string]transition{
	"os-stop":       {policy: "stop", from: []string{"ACTIVE", "ERROR", "RESCUE"}, task: "powering-off", to: "SHUTOFF", power: "power off"},
	"os-start":      {policy: "start", from: []string{"SHUTOFF"}, task: "powering-on", to: "ACTIVE", power: "power on"},
	"pause":         {policy: "pause", from: []string{"ACTIVE"}, task: "pausing", to: "PAUSED"},
	"unpause":       {policy: "unpause", from: []string{"PAUSED"}, task: "unpausing", to: "ACTIVE"},
	"suspend":       {policy: "suspend", from: []string{"ACTIVE", "SHUTOFF"}, task: "suspending", to: "SUSPENDED"},
	"resume":        {policy: "resume", from: []string{"SUSPENDED"}, task: "resuming", to: "ACTIVE"},
	"shelve":        {policy: "shelve", from: []string{"ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED"}, task: "shelving", to: "SHELVED_OFFLOADED"},
	"shelveOffload": {policy: "shelve_offload", from: []string{"SHELVED"}, task: "shelving_offloading", to: "SHELVED_OFFLOADED"},
	"unshelve":      {policy: "unshelve", from: []string{"SHELVED", "SHELVED_OFFLOADED"}, task: "unshelving", to: "ACTIVE"},
	"rescue":        {policy: "rescue", from: []string{"ACTIVE", "SHUTOFF", "ERROR"}, task: "rescuing", to: "RESCUE"},
	"unrescue":      {policy: "unrescue", from: []string{"RESCUE"}, task: "unrescuing", to: "ACTIVE"},
	"migrate":       {policy: "migrate", from: []string{"ACTIVE", "SHUTOFF"}, pending: "RESIZE", task: "resize_migrating", to: "VERIFY_RESIZE"},
}

var adminActions = map[string]bool{"shelveOffload": true, "migrate": true, "os-resetState": true, "os-migrateLive": true, "forceDelete": false}

func invalidState(action string, srv *Server, st string) error {
	return core.Conflict("Cannot '%s' instance %s while it is in vm_state %s", action, srv.ID, vmStates[st].vm)
}

func (n *Nova) serverAction(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	caller := core.IdentityOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, ok := body.(map[string]any)
	if !ok || len(m) == 0 {
		return core.BadRequest("Malformed request body")
	}
	action := firstKey(m)
	arg := m[action]
	if adminActions[action] && !caller.IsAdmin() {
		return core.Forbidden("Policy doesn't allow os_compute_api:os-%s to be performed.", strings.ToLower(action))
	}
	switch action {
	case "addFloatingIp", "removeFloatingIp", "addFixedIp", "removeFixedIp":
		if v.AtLeast("2.44") {
			return core.NotFound("The resource could not be found.")
		}
	}
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	now := n.env.Now()
	st := srv.status(now)
	if srv.Pending(now) && action != "os-getConsoleOutput" && action != "os-resetState" {
		task := srv.Task
		return core.Conflict("Cannot '%s' instance %s while it is in task_state %s", action, srv.ID, task)
	}
	if t, ok := transitions[action]; ok {
		if action == "unshelve" && arg != nil {
			if a, ok := arg.(map[string]any); ok {
				if az, ok := a["availability_zone"].(string); ok && az != AZ {
					return core.BadRequest("The requested availability zone is not available")
				}
			}
		}
		return n.simpleAction(w, r, srv, action, t)
	}
	switch action {
	case "reboot":
		return n.reboot(w, r, srv, arg)
	case "lock":
		return n.lock(w, r, srv, arg, true)
	case "unlock":
		return n.lock(w, r, srv, arg, false)
	case "rebuild":
		return n.rebuild(w, r, srv, arg)
	case "resize":
		return n.resize(w, r, srv, arg)
	case "confirmResize", "revertResize":
		return n.finishResize(w, r, srv, action)
	case "createImage", "createBackup":
		return n.createImage(w, r, srv, action, arg)
	case "os-getConsoleOutput":
		return n.consoleOutput(w, r, srv, st, arg)
	case "addSecurityGroup", "removeSecurityGroup":
		return n.changeSecurityGroup(w, r, srv, action, arg)
	case "changePassword":
		a, _ := arg.(map[string]any)
		if p, ok := a["adminPass"].(string); !ok || p == "" {
			return core.BadRequest("Invalid input for field/attribute changePassword. Value: %s. 'adminPass' is a required property", pyRepr(arg))
		}
		if st != "ACTIVE" {
			return invalidState(action, srv, st)
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	case "os-resetState":
		if !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.")
		}
		a, _ := arg.(map[string]any)
		s, _ := a["state"].(string)
		if s != "active" && s != "error" {
			return core.BadRequest("Invalid input for field/attribute state. Value: %s. %s is not one of ['active', 'error']", s, pyRepr(s))
		}
		return n.setStatus(w, r, strings.ToUpper(s), http.StatusAccepted)
	case "addFloatingIp", "removeFloatingIp":
		return n.floatingIPAction(w, r, srv, action, arg)
	case "forceDelete", "restore":
		return core.Conflict("Cannot '%s' instance %s while it is in vm_state %s", action, srv.ID, vmStates[st].vm)
	case "os-migrateLive", "evacuate", "trigger_crash_dump", "injectNetworkInfo", "resetNetwork", "os-resetNetwork":
		if !caller.IsAdmin() && action != "trigger_crash_dump" {
			return core.Forbidden("Policy doesn't allow os_compute_api:%s to be performed.", action)
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return core.BadRequest("There is no such action: %s", action)
}

func (n *Nova) simpleAction(w http.ResponseWriter, r *http.Request, srv *Server, action string, t transition) error {
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if action != "unlock" {
			if err := lockedCheck(r, cur); err != nil {
				return err
			}
		}
		st := cur.status(n.env.Now())
		if !slices.Contains(t.from, st) {
			return invalidState(t.policy, cur, st)
		}
		pending := t.pending
		if pending == "" {
			pending = st
		}
		cur.Lifecycle = core.Begin(n.env, pending, t.to)
		cur.Task = t.task
		cur.Updated = n.env.Now()
		if action == "migrate" {
			old := cur.Flavor
			cur.OldFlavor = &old
		}
		return nil
	})
	if err != nil {
		return err
	}
	if t.power != "" {
		n.nodePower(r, srv, t.power)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (n *Nova) setStatus(w http.ResponseWriter, r *http.Request, status string, code int) error {
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		cur.Set(status)
		cur.Task = ""
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(code)
	return nil
}

func (n *Nova) reboot(w http.ResponseWriter, r *http.Request, srv *Server, arg any) error {
	sc := obj([]string{"reboot"}, map[string]*schema{"reboot": obj([]string{"type"}, map[string]*schema{
		"type": {Type: "string", Enum: []any{"HARD", "Hard", "hard", "SOFT", "Soft", "soft"}}})})
	if err := validate(sc, map[string]any{"reboot": arg}); err != nil {
		return err
	}
	hard := strings.EqualFold(arg.(map[string]any)["type"].(string), "HARD")
	t := transition{policy: "reboot", from: []string{"ACTIVE", "SHUTOFF", "RESCUE"}, pending: "REBOOT", task: "rebooting", to: "ACTIVE", power: "rebooting"}
	if hard {
		t = transition{policy: "reboot", from: []string{"ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "ERROR", "RESCUE"},
			pending: "HARD_REBOOT", task: "rebooting_hard", to: "ACTIVE", power: "rebooting"}
	}
	return n.simpleAction(w, r, srv, "reboot", t)
}

func (n *Nova) lock(w http.ResponseWriter, r *http.Request, srv *Server, arg any, lock bool) error {
	caller := core.IdentityOf(r)
	var reason *string
	if lock && arg != nil {
		if !core.MicroversionOf(r).AtLeast("2.73") {
			if _, ok := arg.(map[string]any); !ok {
				return core.BadRequest("Invalid input for field/attribute lock. Value: %s. %s is not of type 'object', 'null'", pyRepr(arg), pyRepr(arg))
			}
		} else {
			sc := obj(nil, map[string]*schema{"lock": {Types: []string{"object", "null"}, Properties: map[string]*schema{
				"locked_reason": {Type: "string", MinLen: 1, MaxLen: 255}}}})
			if err := validate(sc, map[string]any{"lock": arg}); err != nil {
				return err
			}
			if s, ok := arg.(map[string]any)["locked_reason"].(string); ok {
				reason = &s
			}
		}
	}
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if !lock && cur.Locked && cur.LockedByAdmin && !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.")
		}
		cur.Locked = lock
		cur.LockedReason = nil
		cur.LockedByAdmin = false
		if lock {
			cur.LockedReason = reason
			cur.LockedByAdmin = caller.IsAdmin() && !caller.Owns(cur.ProjectID)
		}
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (n *Nova) rebuild(w http.ResponseWriter, r *http.Request, srv *Server, arg any) error {
	v := core.MicroversionOf(r)
	props := map[string]*schema{
		"imageRef": {Type: "string"}, "name": {Type: "string", MinLen: 1, MaxLen: 255, Format: "name"},
		"adminPass": {Type: "string"}, "metadata": {Type: "object", Additional: true},
		"preserve_ephemeral": boolSchema, "OS-DCF:diskConfig": {Type: "string", Enum: []any{"AUTO", "MANUAL"}},
		"accessIPv4": {Type: "string"}, "accessIPv6": {Type: "string"},
	}
	if !v.AtLeast("2.57") {
		props["personality"] = &schema{Type: "array"}
	}
	if v.AtLeast("2.19") {
		props["description"] = &schema{Types: []string{"string", "null"}, MaxLen: 255}
	}
	if v.AtLeast("2.54") {
		props["key_name"] = &schema{Types: []string{"string", "null"}}
	}
	if v.AtLeast("2.57") {
		props["user_data"] = &schema{Types: []string{"string", "null"}, MaxLen: 65535}
	}
	if v.AtLeast("2.63") {
		props["trusted_image_certificates"] = &schema{Types: []string{"array", "null"}}
	}
	if v.AtLeast("2.90") {
		props["hostname"] = &schema{Type: "string", MinLen: 2, MaxLen: 255}
	}
	if err := validate(obj([]string{"rebuild"}, map[string]*schema{"rebuild": obj([]string{"imageRef"}, props)}), map[string]any{"rebuild": arg}); err != nil {
		return err
	}
	in := arg.(map[string]any)
	imageRef := in["imageRef"].(string)
	if i := strings.LastIndex(imageRef, "/"); i >= 0 {
		imageRef = imageRef[i+1:]
	}
	if _, err := n.image(r, imageRef); err != nil {
		return core.BadRequest("Cannot find image for rebuild")
	}
	caller := core.IdentityOf(r)
	keyName, hasKey := in["key_name"]
	keyData := ""
	if hasKey && keyName != nil {
		_ = n.state.View(func(s *state) error {
			if kp := s.Keypairs[keypairKey(caller.UserID, keyName.(string))]; kp != nil {
				keyData = kp.PublicKey
			}
			return nil
		})
		if keyData == "" {
			return core.BadRequest("Invalid key_name provided.")
		}
	}
	pass, _ := in["adminPass"].(string)
	if pass == "" {
		pass = core.NewSecret(9)[:12]
	}
	var out *Server
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		st := cur.status(n.env.Now())
		if !slices.Contains([]string{"ACTIVE", "SHUTOFF", "ERROR"}, st) {
			return invalidState("rebuild", cur, st)
		}
		cur.ImageID = imageRef
		if name, ok := in["name"].(string); ok {
			cur.Name = name
		}
		if md, ok := in["metadata"].(map[string]any); ok {
			cur.Metadata = map[string]string{}
			for k, val := range md {
				cur.Metadata[k] = fmt.Sprint(val)
			}
		}
		if d, ok := in["description"]; ok {
			if s, ok := d.(string); ok {
				cur.Description = &s
			} else {
				cur.Description = nil
			}
		}
		if hasKey {
			if keyName == nil {
				cur.KeyName, cur.KeyData = "", ""
			} else {
				cur.KeyName, cur.KeyData = keyName.(string), keyData
			}
		}
		if ud, ok := in["user_data"]; ok {
			s, _ := ud.(string)
			cur.UserData = s
		}
		if a, ok := in["accessIPv4"].(string); ok {
			cur.AccessIPv4 = a
		}
		if a, ok := in["accessIPv6"].(string); ok {
			cur.AccessIPv6 = a
		}
		cur.Lifecycle = core.Begin(n.env, "REBUILD", "ACTIVE")
		cur.Task = "rebuilding"
		cur.Fault = nil
		cur.Updated = n.env.Now()
		out = copyServer(cur)
		return nil
	})
	if err != nil {
		return err
	}
	if srv.BareMetal && srv.Node != "" {
		if err := n.ironic(r, "PUT", "/v1/nodes/"+srv.Node+"/states/provision", nil, map[string]any{"target": "rebuild"}, nil); err != nil {
			n.env.Log.Info("nova: rebuilding an Ironic node", "node", srv.Node, "err", err)
		}
	}
	rd := n.renderer(r, []*Server{out})
	b := rd.show(out)
	b["adminPass"] = pass
	if !v.AtLeast("2.75") {
		for _, k := range []string{"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname",
			"OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state", "OS-EXT-AZ:availability_zone",
			"config_drive", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "security_groups",
			"os-extended-volumes:volumes_attached", "host_status"} {
			delete(b, k)
		}
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"server": b})
	return nil
}

func (n *Nova) resize(w http.ResponseWriter, r *http.Request, srv *Server, arg any) error {
	sc := obj([]string{"resize"}, map[string]*schema{"resize": obj([]string{"flavorRef"}, map[string]*schema{
		"flavorRef": {Types: []string{"string", "integer"}, MinLen: 1}, "OS-DCF:diskConfig": {Type: "string", Enum: []any{"AUTO", "MANUAL"}}})})
	if err := validate(sc, map[string]any{"resize": arg}); err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	ref := pyStr(arg.(map[string]any)["flavorRef"])
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if srv.BareMetal {
		return core.BadRequest("Unable to resize disk down.")
	}
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		f, err := s.flavor(caller, ref)
		if err != nil {
			return core.BadRequest("Flavor %s could not be found.", ref)
		}
		if f.ID == cur.Flavor.ID {
			return core.BadRequest("When resizing, instances must change flavor!")
		}
		if f.Disk < cur.Flavor.Disk && f.Disk != 0 {
			return core.BadRequest("Resize error: Unable to resize disk down.")
		}
		st := cur.status(n.env.Now())
		if st != "ACTIVE" && st != "SHUTOFF" {
			return invalidState("resize", cur, st)
		}
		used := map[string]int{}
		for _, o := range s.Servers {
			if o.ProjectID == cur.ProjectID && !o.Deleting {
				used["cores"] += o.Flavor.VCPUs
				used["ram"] += o.Flavor.RAM
			}
		}
		for res, delta := range map[string]int{"cores": f.VCPUs - cur.Flavor.VCPUs, "ram": f.RAM - cur.Flavor.RAM} {
			if delta > 0 && !s.Quotas.Allows(cur.ProjectID, res, used[res], delta) {
				return core.Forbidden("Quota exceeded for %s: Requested %d, but already used %d of %d %s", res, delta, used[res], s.Quotas.Limit(cur.ProjectID, res), res)
			}
		}
		old := cur.Flavor
		cur.OldFlavor = &old
		cur.Flavor = snap(f)
		cur.Lifecycle = core.Begin(n.env, "RESIZE", "VERIFY_RESIZE")
		cur.Task = "resize_migrating"
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (n *Nova) finishResize(w http.ResponseWriter, r *http.Request, srv *Server, action string) error {
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		st := cur.status(n.env.Now())
		if st != "VERIFY_RESIZE" {
			policy := map[string]string{"confirmResize": "confirmResize", "revertResize": "revertResize"}[action]
			return invalidState(policy, cur, st)
		}
		if action == "confirmResize" {
			cur.Set("ACTIVE")
		} else {
			if cur.OldFlavor != nil {
				cur.Flavor = *cur.OldFlavor
			}
			cur.Lifecycle = core.Begin(n.env, "REVERT_RESIZE", "ACTIVE")
			cur.Task = "resize_reverting"
		}
		cur.OldFlavor = nil
		cur.Updated = n.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	if action == "confirmResize" {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

// createImage snapshots the server into Glance (an image owned by the
// caller's project, with Nova's snapshot properties and a little data).
func (n *Nova) createImage(w http.ResponseWriter, r *http.Request, srv *Server, action string, arg any) error {
	v := core.MicroversionOf(r)
	props := map[string]*schema{"name": {Type: "string", MinLen: 0, MaxLen: 255}, "metadata": {Type: "object", Additional: true}}
	req := []string{"name"}
	if action == "createBackup" {
		props["backup_type"] = &schema{Type: "string"}
		props["rotation"] = &schema{IntString: true, Min: f64(0)}
		req = []string{"name", "backup_type", "rotation"}
	}
	if err := validate(obj([]string{action}, map[string]*schema{action: obj(req, props)}), map[string]any{action: arg}); err != nil {
		return err
	}
	in := arg.(map[string]any)
	st := srv.status(n.env.Now())
	if !slices.Contains([]string{"ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED"}, st) {
		return invalidState(action, srv, st)
	}
	body := map[string]any{"name": in["name"], "container_format": "bare", "disk_format": "qcow2", "visibility": "private",
		"image_type": "snapshot", "instance_uuid": srv.ID, "owner_project_name": core.IdentityOf(r).ProjectName,
		"owner_user_name": core.IdentityOf(r).UserName, "user_id": srv.UserID}
	if action == "createBackup" {
		body["image_type"], body["backup_type"] = "backup", in["backup_type"]
	}
	if srv.ImageID != "" {
		body["base_image_ref"] = srv.ImageID
	}
	if md, ok := in["metadata"].(map[string]any); ok {
		for k, val := range md {
			body[k] = fmt.Sprint(val)
		}
	}
	var img struct {
		ID string `json:"id"`
	}
	if err := n.call(r, "image", "POST", "/v2/images", nil, body, &img); err != nil {
		if callStatus(err) == http.StatusRequestEntityTooLarge || callStatus(err) == http.StatusForbidden {
			return core.Forbidden("%s", callMessage(err))
		}
		return core.BadRequest("%s", callMessage(err))
	}
	data := []byte(fmt.Sprintf("QFI\xfb snapshot of %s", srv.ID))
	if err := n.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "image", Method: "PUT",
		Path: "/v2/images/" + img.ID + "/file", Body: data, Header: http.Header{"Content-Type": {"application/octet-stream"}}}, nil); err != nil {
		n.env.Log.Info("nova: uploading a snapshot", "image", img.ID, "err", err)
	}
	loc := core.AbsoluteURL(r, "") // Nova answers Glance's URL
	_ = loc
	if v.AtLeast("2.45") {
		core.WriteJSON(w, http.StatusAccepted, map[string]any{"image_id": img.ID})
		return nil
	}
	w.Header().Set("Location", "http://"+r.Host+"/image/v2/images/"+img.ID)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (n *Nova) consoleOutput(w http.ResponseWriter, r *http.Request, srv *Server, st string, arg any) error {
	sc := obj(nil, map[string]*schema{"os-getConsoleOutput": {Types: []string{"object", "null"}, Properties: map[string]*schema{
		"length": {Types: []string{"integer", "string", "null"}, Pattern: `^-?[0-9]+$`}}}})
	if err := validate(sc, map[string]any{"os-getConsoleOutput": arg}); err != nil {
		return err
	}
	if st != "ACTIVE" && st != "SHUTOFF" && st != "PAUSED" && st != "RESCUE" {
		return core.Conflict("Instance %s is not ready", srv.ID)
	}
	lines := []string{
		"[    0.000000] Linux version 6.1.0-emulator (openstack-emulator)",
		"[    0.000000] Command line: root=/dev/vda1 console=ttyS0",
		"cloud-init: datasource OpenStack: instance-id " + srv.ID,
		fmt.Sprintf("cloud-init: hostname %s", srv.Hostname),
	}
	if srv.KeyName != "" {
		lines = append(lines, "cloud-init: ssh key "+srv.KeyName+" installed for the default user")
	}
	lines = append(lines, srv.Hostname+" login: ")
	if a, ok := arg.(map[string]any); ok && a["length"] != nil {
		l, _ := asInt(a["length"])
		if l >= 0 && l < len(lines) {
			lines = lines[len(lines)-l:]
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"output": strings.Join(lines, "\n") + "\n"})
	return nil
}

func (n *Nova) changeSecurityGroup(w http.ResponseWriter, r *http.Request, srv *Server, action string, arg any) error {
	sc := obj([]string{action}, map[string]*schema{action: obj([]string{"name"}, map[string]*schema{"name": {Type: "string", MinLen: 1}})})
	if err := validate(sc, map[string]any{action: arg}); err != nil {
		return err
	}
	name := arg.(map[string]any)["name"].(string)
	add := action == "addSecurityGroup"
	if n.has("network") {
		// security_group_api.add_to_instance / remove_from_instance.
		id, err := n.lookupSecurityGroup(r, name)
		if err != nil {
			return err
		}
		ports := n.ports(r, srv.ID)
		if len(ports) == 0 {
			return core.NotFound("instance_id %s could not be found as device id on any ports", srv.ID)
		}
		found := false
		for _, p := range ports {
			sgs := append([]string{}, p.SecurityGroups...)
			if add {
				if len(p.FixedIPs) == 0 || (p.PortSecurity != nil && !*p.PortSecurity) {
					return core.BadRequest("Network requires port_security_enabled and subnet associated in order to apply security groups.")
				}
				sgs = append(slices.DeleteFunc(sgs, func(s string) bool { return s == id }), id)
			} else {
				i := slices.Index(sgs, id)
				if i < 0 {
					continue
				}
				sgs = slices.Delete(sgs, i, i+1)
			}
			if err := n.call(r, "network", "PUT", "/v2.0/ports/"+p.ID, nil, map[string]any{"port": map[string]any{"security_groups": sgs}}, nil); err != nil {
				return core.BadRequest("%s", callMessage(err))
			}
			found = true
		}
		if !add && !found {
			return core.NotFound("Security group %s not associated with the instance %s", name, srv.ID)
		}
	}
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		has := slices.Contains(cur.SecurityGroups, name)
		if !n.has("network") && !add && !has {
			return core.NotFound("Security group %s not associated with the instance %s", name, cur.ID)
		}
		cur.SecurityGroups = slices.DeleteFunc(cur.SecurityGroups, func(s string) bool { return s == name })
		if add {
			cur.SecurityGroups = append(cur.SecurityGroups, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// floatingIPAction is the pre-2.44 addFloatingIp/removeFloatingIp proxy
// to Neutron.
func (n *Nova) floatingIPAction(w http.ResponseWriter, r *http.Request, srv *Server, action string, arg any) error {
	sc := obj([]string{action}, map[string]*schema{action: obj([]string{"address"}, map[string]*schema{
		"address": {Type: "string"}, "fixed_address": {Type: "string"}})})
	if err := validate(sc, map[string]any{action: arg}); err != nil {
		return err
	}
	addr := arg.(map[string]any)["address"].(string)
	if !n.has("network") {
		return core.NotFound("floating IP not found")
	}
	var fips struct {
		FIPs []struct {
			ID     string  `json:"id"`
			PortID *string `json:"port_id"`
		} `json:"floatingips"`
	}
	if err := n.call(r, "network", "GET", "/v2.0/floatingips", url.Values{"floating_ip_address": {addr}}, nil, &fips); err != nil || len(fips.FIPs) == 0 {
		return core.NotFound("floating IP not found")
	}
	fip := fips.FIPs[0]
	var port any
	if action == "addFloatingIp" {
		ports := n.ports(r, srv.ID)
		if len(ports) == 0 {
			return core.BadRequest("No fixed IPs associated to instance")
		}
		port = ports[0].ID
	} else if fip.PortID == nil {
		return core.Conflict("Floating IP %s is not associated", addr)
	}
	if err := n.call(r, "network", "PUT", "/v2.0/floatingips/"+fip.ID, nil, map[string]any{"floatingip": map[string]any{"port_id": port}}, nil); err != nil {
		return core.BadRequest("%s", callMessage(err))
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
