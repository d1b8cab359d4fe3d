package ironic

import (
	"net/http"
	"slices"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// provisionAction is one verb of PUT .../states/provision: the states it
// starts from, the state shown while the emulator's delay runs (with its
// target) and the state it ends in.
type provisionAction struct {
	min         string // microversion that introduced it
	from        []string
	pending     string
	final       string
	maintenance bool // refused on a node in maintenance
}

var provisionActions = map[string]provisionAction{
	"manage":   {min: "1.4", from: []string{"enroll", "available", "inspect failed", "clean failed", "adopt failed"}, pending: "verifying", final: "manageable"},
	"provide":  {min: "1.4", from: []string{"manageable"}, pending: "cleaning", final: "available", maintenance: true},
	"active":   {min: "1.1", from: []string{"available", "deploy failed"}, pending: "deploying", final: "active", maintenance: true},
	"deploy":   {min: "1.73", from: []string{"available", "deploy failed"}, pending: "deploying", final: "active", maintenance: true},
	"rebuild":  {min: "1.1", from: []string{"active", "deploy failed", "error"}, pending: "deploying", final: "active", maintenance: true},
	"deleted":  {min: "1.1", from: []string{"active", "deploy failed", "error", "rescue", "rescue failed"}, pending: "cleaning", final: "available"},
	"undeploy": {min: "1.73", from: []string{"active", "deploy failed", "error", "rescue", "rescue failed"}, pending: "cleaning", final: "available"},
	"inspect":  {min: "1.6", from: []string{"manageable", "inspect failed"}, pending: "inspecting", final: "manageable", maintenance: true},
	"clean":    {min: "1.15", from: []string{"manageable"}, pending: "cleaning", final: "manageable", maintenance: true},
	"adopt":    {min: "1.17", from: []string{"manageable", "adopt failed"}, pending: "adopting", final: "active"},
	"rescue":   {min: "1.38", from: []string{"active", "rescue failed"}, pending: "rescuing", final: "rescue", maintenance: true},
	"unrescue": {min: "1.38", from: []string{"rescue"}, pending: "unrescuing", final: "active", maintenance: true},
}

func targetNames() []string {
	var out []string
	for k := range provisionActions {
		out = append(out, k)
	}
	out = append(out, "abort")
	sort.Strings(out)
	return out
}

func (ir *Ironic) statesBody(n *Node) map[string]any {
	now := ir.env.Now()
	return map[string]any{"power_state": n.PowerState, "target_power_state": nil,
		"provision_state": n.provisionState(now), "target_provision_state": n.targetProvision(now),
		"provision_updated_at": fmtTime(n.ProvisionUpdated), "last_error": n.LastError, "console_enabled": n.ConsoleEnabled,
		"raid_config": map[string]any{}, "target_raid_config": map[string]any{}}
}

func (ir *Ironic) nodeStates(w http.ResponseWriter, r *http.Request) error {
	return ir.state.View(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, ir.statesBody(n))
		return nil
	})
}

func (ir *Ironic) setProvision(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	var in map[string]any
	if err := core.DecodeJSON(r, &in); err != nil {
		return err
	}
	target, _ := in["target"].(string)
	act, known := provisionActions[target]
	if target != "abort" && (!known || !v.AtLeast(act.min)) {
		if known || target == "abort" {
			return core.Errorf(http.StatusNotAcceptable, "Request not acceptable.")
		}
		return core.BadRequest("Invalid input for field/attribute target. Value: '%s'. Value should be one of: %v", target, targetNames())
	}
	if target == "clean" {
		if _, ok := in["clean_steps"].([]any); !ok {
			return core.BadRequest("\"clean_steps\" is required when setting target provision state to clean")
		}
	}
	if target == "rescue" {
		if p, _ := in["rescue_password"].(string); p == "" {
			return core.BadRequest("A non-empty \"rescue_password\" is required when setting target provision state to rescue")
		}
	}
	now := ir.env.Now()
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		cur := n.provisionState(now)
		if target == "abort" {
			if !n.Provision.Pending(now) {
				return core.BadRequest("The requested action \"abort\" can not be performed on node \"%s\" while it is in state \"%s\".", n.UUID, cur)
			}
			failed := map[string]string{"cleaning": "clean failed", "inspecting": "inspect failed", "rescuing": "rescue failed"}[cur]
			if failed == "" {
				return core.BadRequest("The requested action \"abort\" can not be performed on node \"%s\" while it is in state \"%s\".", n.UUID, cur)
			}
			n.Provision.Set(failed)
			n.Target = ""
			n.ProvisionUpdated = &now
			return nil
		}
		if n.Provision.Pending(now) {
			return core.Conflict("Node %s is locked by host emulator, please retry after the current operation is completed.", n.UUID)
		}
		if !slices.Contains(act.from, cur) {
			return core.BadRequest("The requested action \"%s\" can not be performed on node \"%s\" while it is in state \"%s\".", target, n.UUID, cur)
		}
		if act.maintenance && n.Maintenance {
			op := map[string]string{"active": "deploy", "deploy": "deploy", "rebuild": "rebuild", "provide": "provide",
				"inspect": "inspect", "clean": "clean", "rescue": "rescue", "unrescue": "unrescue"}[target]
			return core.BadRequest("The %s operation can't be performed on node %s because it's in maintenance mode.", op, n.UUID)
		}
		if n.Protected && (target == "deleted" || target == "undeploy" || target == "rebuild") {
			return core.BadRequest("Node %s is protected and cannot be undeployed, rebuilt or deleted", n.UUID)
		}
		final := act.final
		if target == "provide" && n.AutomatedClean != nil && !*n.AutomatedClean {
			n.Provision = core.Lifecycle{Status: final}
		} else {
			n.Provision = core.Begin(ir.env, act.pending, final)
		}
		n.Target = final
		n.LastError = nil
		n.ProvisionUpdated = &now
		n.UpdatedAt = &now
		switch target {
		case "active", "deploy", "rebuild", "adopt":
			n.PowerState = strp("power on")
			if cd, ok := in["configdrive"]; ok {
				n.InstanceInfo["configdrive"] = "******"
				_ = cd
			}
		case "deleted", "undeploy":
			n.PowerState = strp("power off")
			n.InstanceUUID = nil
			n.InstanceInfo = map[string]any{}
		case "manage":
			if n.PowerState == nil {
				n.PowerState = strp("power off")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v1/nodes/"+r.PathValue("node")+"/states")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (ir *Ironic) setPower(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	var in map[string]any
	if err := core.DecodeJSON(r, &in); err != nil {
		return err
	}
	target, _ := in["target"].(string)
	valid := []string{"power on", "power off", "rebooting"}
	if v.AtLeast("1.27") {
		valid = append(valid, "soft power off", "soft rebooting")
	}
	if !slices.Contains(valid, target) {
		return core.BadRequest("Invalid input for field/attribute target. Value: '%s'. Value should be one of: %v", target, valid)
	}
	if t, ok := in["timeout"]; ok && !v.AtLeast("1.27") {
		_ = t
		return core.Errorf(http.StatusNotAcceptable, "Request not acceptable.")
	}
	now := ir.env.Now()
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		if n.Provision.Pending(now) {
			return core.Conflict("Node %s is locked by host emulator, please retry after the current operation is completed.", n.UUID)
		}
		if n.provisionState(now) == "enroll" {
			return core.BadRequest("The requested action \"%s\" can not be performed on node \"%s\" while it is in state \"enroll\".", target, n.UUID)
		}
		switch target {
		case "power off", "soft power off":
			n.PowerState = strp("power off")
		default:
			n.PowerState = strp("power on")
		}
		n.UpdatedAt = &now
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.ServiceURL(r)+"/v1/nodes/"+r.PathValue("node")+"/states")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (ir *Ironic) setMaintenance(w http.ResponseWriter, r *http.Request) error {
	var in map[string]any
	if r.ContentLength != 0 {
		_ = core.DecodeJSON(r, &in)
	}
	return ir.maintenance(w, r, true, in)
}

func (ir *Ironic) clearMaintenance(w http.ResponseWriter, r *http.Request) error {
	return ir.maintenance(w, r, false, nil)
}

func (ir *Ironic) maintenance(w http.ResponseWriter, r *http.Request, on bool, in map[string]any) error {
	now := ir.env.Now()
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		n.Maintenance = on
		n.MaintReason, n.Fault = nil, nil
		if reason, ok := in["reason"].(string); ok && on {
			n.MaintReason = &reason
		}
		n.UpdatedAt = &now
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (ir *Ironic) validateNode(w http.ResponseWriter, r *http.Request) error {
	return ir.state.View(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		out := map[string]any{}
		for _, k := range interfaceNames {
			impl := n.Interfaces[k]
			switch {
			case impl == "" || impl == "no-"+k:
				out[k] = map[string]any{"result": nil, "reason": k + " interface is not supported by this driver"}
			case k == "deploy" && n.InstanceInfo["image_source"] == nil && n.provisionState(ir.env.Now()) == "available":
				out[k] = map[string]any{"result": false, "reason": "Some parameters were missing in node's instance_info. Missing are: ['image_source']"}
			default:
				out[k] = map[string]any{"result": true, "reason": nil}
			}
		}
		core.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// Traits.

func (ir *Ironic) listTraits(w http.ResponseWriter, r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("1.37") {
		return core.NotFound("The resource could not be found.")
	}
	return ir.state.View(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"traits": append([]string{}, n.Traits...)})
		return nil
	})
}

func checkTrait(t string) error {
	if len(t) == 0 || len(t) > 255 {
		return core.BadRequest("Invalid trait. A valid trait must be no longer than 255 characters.")
	}
	return nil
}

func (ir *Ironic) setTraits(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Traits []string `json:"traits"`
	}
	if err := core.DecodeJSON(r, &in); err != nil {
		return err
	}
	for _, t := range in.Traits {
		if err := checkTrait(t); err != nil {
			return err
		}
	}
	return ir.traitsUpdate(w, r, func(n *Node) error { n.Traits = append([]string{}, in.Traits...); return nil })
}

func (ir *Ironic) addTrait(w http.ResponseWriter, r *http.Request) error {
	t := r.PathValue("trait")
	if err := checkTrait(t); err != nil {
		return err
	}
	return ir.traitsUpdate(w, r, func(n *Node) error {
		if !slices.Contains(n.Traits, t) {
			n.Traits = append(n.Traits, t)
		}
		return nil
	})
}

func (ir *Ironic) deleteTrait(w http.ResponseWriter, r *http.Request) error {
	t := r.PathValue("trait")
	return ir.traitsUpdate(w, r, func(n *Node) error {
		if !slices.Contains(n.Traits, t) {
			return core.NotFound("Node %s doesn't have a trait %s", n.UUID, t)
		}
		n.Traits = slices.DeleteFunc(n.Traits, func(x string) bool { return x == t })
		return nil
	})
}

func (ir *Ironic) traitsUpdate(w http.ResponseWriter, r *http.Request, fn func(*Node) error) error {
	if !core.MicroversionOf(r).AtLeast("1.37") {
		return core.NotFound("The resource could not be found.")
	}
	err := ir.state.Update(func(s *state) error {
		n, err := s.node(r)
		if err != nil {
			return err
		}
		return fn(n)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
