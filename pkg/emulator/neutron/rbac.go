package neutron

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// RBAC policies (the rbac-policies extension, neutron/db/rbac_db_mixin.py
// and the per-type callbacks that validate them): an entry lets a target
// project (or every project, "*") use an object of another project.
//
// They are the one truth of sharing: a network created or updated with
// shared=true gets an access_as_shared "*" entry, an external network an
// access_as_external "*" one, a shared subnet pool or address scope an
// access_as_shared "*" one, as Neutron makes them; the Shared and External
// flags of those resources mirror the entries (syncRBAC keeps them so).

// RBACPolicy is an RBAC policy.
type RBACPolicy struct {
	ID         string `json:"id"`
	ProjectID  string `json:"project_id"`
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
	Action     string `json:"action"`
	Target     string `json:"target_project"`
	Seq        int64  `json:"seq"`
}

func (x *RBACPolicy) seq() int64 { return x.Seq }

const (
	accessShared   = "access_as_shared"
	accessExternal = "access_as_external"
)

// rbacTypes are rbac_db_models' object types with their valid actions, in
// the order Neutron's message prints them.
var rbacTypes = map[string][]string{
	"network":        {accessShared, accessExternal},
	"qos_policy":     {accessShared},
	"security_group": {accessShared},
	"address_scope":  {accessShared},
	"subnetpool":     {accessShared},
	"address_group":  {accessShared},
}

// rbacCallbacks are the callables Neutron names in a callback's failure
// ("Callback <name>-<hash> failed with ..."): the hash is Python's hash()
// of the bound method, fixed here.
var rbacCallbacks = map[string]string{
	"network":        "neutron.plugins.ml2.plugin.Ml2Plugin.validate_network_rbac_policy_change-8751207330645",
	"network_ext":    "neutron.plugins.ml2.plugin.Ml2Plugin._validate_ext_not_in_use_by_tenant-8751207330681",
	"qos_policy":     "neutron.objects.qos.policy.QosPolicy.validate_rbac_policy_change--9223363285647128617",
	"security_group": "neutron.objects.securitygroup.SecurityGroup.validate_rbac_policy_change--9223363285647128533",
	"address_scope":  "neutron.objects.address_scope.AddressScope.validate_rbac_policy_change--9223363285647128589",
	"subnetpool":     "neutron.objects.subnetpool.SubnetPool.validate_rbac_policy_change--9223363285647128561",
	"address_group":  "neutron.objects.address_group.AddressGroup.validate_rbac_policy_change--9223363285647128505",
}

// callbackFailed is str(CallbackFailure) of one failed callback.
func callbackFailed(callback string, inner error) string {
	msg := inner.Error()
	if e, ok := inner.(*core.APIError); ok {
		msg = e.Message
	}
	return fmt.Sprintf("Callback %s failed with \"%s\"", rbacCallbacks[callback], msg)
}

var rbacKind = &kind{
	path: "rbac-policies", collection: "rbac_policies", resource: "rbac_policy", bulk: true, unpaginated: true,
	attrs:   attrs(`id: object_type:p object_id:pr target_tenant:pur tenant_id:p project_id:p action:pr`),
	filters: filters(`id object_type object_id target_tenant tenant_id project_id action`),
	// No attribute is a sort key (allow_sorting, but none has is_sort_key).
	sorts: nil,
	items: func(n *Neutron, s *state, c *caller) []map[string]any {
		var out []map[string]any
		for _, x := range byCreation(s.RBAC) {
			if c.owns(x.ProjectID) {
				out = append(out, x.body())
			}
		}
		return out
	},
	find: func(n *Neutron, s *state, c *caller, id string) (map[string]any, error) {
		x, err := s.rbacPolicy(c, id)
		if err != nil {
			return nil, err
		}
		return x.body(), nil
	},
	create: func(n *Neutron, s *state, c *caller, in map[string]any) (string, error) {
		return n.createRBAC(s, c, in)
	},
	update: func(n *Neutron, s *state, c *caller, id string, in map[string]any) error {
		return n.updateRBAC(s, c, id, in)
	},
	del: func(n *Neutron, s *state, c *caller, id string) error { return n.deleteRBAC(s, c, id) },
}

func init() { kinds = append(kinds, rbacKind) }

func (x *RBACPolicy) body() map[string]any {
	return map[string]any{"id": x.ID, "tenant_id": x.ProjectID, "project_id": x.ProjectID, "object_type": x.ObjectType,
		"object_id": x.ObjectID, "action": x.Action, "target_tenant": x.Target}
}

// rbacPolicy returns the caller's policy; a member never sees another
// project's, and Neutron, not finding its type, calls it "unknown".
func (s *state) rbacPolicy(c *caller, id string) (*RBACPolicy, error) {
	x := s.RBAC[id]
	if x == nil || !c.owns(x.ProjectID) {
		return nil, errf(http.StatusNotFound, "RbacPolicyNotFound", "RBAC policy of type unknown with ID %s not found", id)
	}
	return x, nil
}

// rbacGrants: an entry lets project do action on the object.
func (s *state) rbacGrants(objectType, objectID, action, project string) bool {
	for _, x := range s.RBAC {
		if x.ObjectType == objectType && x.ObjectID == objectID && x.Action == action && (x.Target == "*" || x.Target == project) {
			return true
		}
	}
	return false
}

// sharedWith is is_shared_with_project: shared to project or to all.
func (s *state) sharedWith(objectType, objectID, project string) bool {
	return s.rbacGrants(objectType, objectID, accessShared, project)
}

// rbacEntries lists an object's entries of one action.
func (s *state) rbacEntries(objectType, objectID, action string) []*RBACPolicy {
	var out []*RBACPolicy
	for _, x := range byCreation(s.RBAC) {
		if x.ObjectType == objectType && x.ObjectID == objectID && x.Action == action {
			out = append(out, x)
		}
	}
	return out
}

// addRBAC adds an entry (Neutron's own, for shared and external
// resources: no quota, no callbacks) unless it exists.
func (n *Neutron) addRBAC(s *state, project, objectType, objectID, action, target string) {
	for _, x := range s.RBAC {
		if x.ObjectType == objectType && x.ObjectID == objectID && x.Action == action && x.Target == target {
			return
		}
	}
	if s.RBAC == nil {
		s.RBAC = map[string]*RBACPolicy{}
	}
	st := n.newStd(s, project)
	s.RBAC[st.ID] = &RBACPolicy{ID: st.ID, ProjectID: project, ObjectType: objectType, ObjectID: objectID,
		Action: action, Target: target, Seq: st.Seq}
	s.syncRBAC(objectType, objectID)
}

// dropRBAC removes an object's entries of action for target ("" for all
// targets, "" action for every action: the object is deleted).
func (s *state) dropRBAC(objectType, objectID, action, target string) {
	for id, x := range s.RBAC {
		if x.ObjectType == objectType && x.ObjectID == objectID && (action == "" || x.Action == action) && (target == "" || x.Target == target) {
			delete(s.RBAC, id)
		}
	}
	s.syncRBAC(objectType, objectID)
}

// syncRBAC makes an object's Shared (an access_as_shared "*" entry) and a
// network's External (any access_as_external entry: Neutron makes a
// network external for one, and ordinary again when the last goes) mirror
// its entries.
func (s *state) syncRBAC(objectType, objectID string) {
	wildcard := false
	external := false
	for _, x := range s.RBAC {
		if x.ObjectType != objectType || x.ObjectID != objectID {
			continue
		}
		if x.Action == accessShared && x.Target == "*" {
			wildcard = true
		}
		if x.Action == accessExternal {
			external = true
		}
	}
	switch objectType {
	case "network":
		if x := s.Networks[objectID]; x != nil {
			x.Shared, x.External = wildcard, external
		}
	case "subnetpool":
		if x := s.SubnetPools[objectID]; x != nil {
			x.Shared = wildcard
		}
	case "address_scope":
		if x := s.AddressScopes[objectID]; x != nil {
			x.Shared = wildcard
		}
	}
}

// rbacObjectOwner returns the project owning the object, or false when
// there is none (the emulator has no QoS policies nor address groups).
func (s *state) rbacObjectOwner(objectType, id string) (string, bool) {
	switch objectType {
	case "network":
		if x := s.Networks[id]; x != nil {
			return x.ProjectID, true
		}
	case "security_group":
		if x := s.SecurityGroups[id]; x != nil {
			return x.ProjectID, true
		}
	case "subnetpool":
		if x := s.SubnetPools[id]; x != nil {
			return x.ProjectID, true
		}
	case "address_scope":
		if x := s.AddressScopes[id]; x != nil {
			return x.ProjectID, true
		}
	}
	return "", false
}

// convertObjectType is convert_valid_object_type.
func convertObjectType(v any) (string, error) {
	str, ok := v.(string)
	if !ok {
		return "", invalidInput("'%s' is not a valid RBAC object type", pyStr(v))
	}
	t := strings.ToLower(strings.TrimSpace(str))
	if _, ok := rbacTypes[t]; !ok {
		return "", invalidInput("'%s' is not a valid RBAC object type", str)
	}
	return t, nil
}

// createInvalid is the BEFORE_CREATE callback failure: InvalidInput whose
// message is the callback's.
func createInvalid(callback string, inner error) error {
	return invalidInput("%s", callbackFailed(callback, inner))
}

// inUse is RbacPolicyInUse; wrapped, it names the callback that failed.
func inUse(objectID, details string) error {
	return errf(http.StatusConflict, "RbacPolicyInUse", "RBAC policy on object %s cannot be removed because other objects depend on it.\nDetails: %s", objectID, details)
}

func (n *Neutron) createRBAC(s *state, c *caller, in map[string]any) (string, error) {
	project := c.ProjectID
	if p, ok := in["project_id"].(string); ok {
		project = p
	}
	if in["object_type"] == nil {
		// Neutron's default None reaches its converter, which fails.
		return "", badRequest("Failed to parse request. Required attribute 'object_type' not specified")
	}
	otype, err := convertObjectType(in["object_type"])
	if err != nil {
		return "", err
	}
	oid, err := uuid("object_id", in["object_id"])
	if err != nil {
		return "", err
	}
	target, err := str("target_tenant", in["target_tenant"], 255)
	if err != nil {
		return "", err
	}
	action, err := str("action", in["action"], 255)
	if err != nil {
		return "", err
	}
	if target == "*" && !c.admin() {
		return "", policyAttr("create_rbac_policy", "target_tenant")
	}
	if err := s.checkQuota(project, "rbac_policy", 1); err != nil {
		return "", err
	}
	// The BEFORE_CREATE callbacks: the caller must own the object.
	owner, found := s.rbacObjectOwner(otype, oid)
	switch {
	case otype == "network" && (action == accessShared || action == accessExternal):
		cb := "network"
		if action == accessExternal {
			cb = "network_ext"
		}
		net := s.Networks[oid]
		if net == nil || !s.netVisible(net, c) {
			return "", createInvalid(cb, networkNotFound(oid))
		}
		if !c.admin() && net.ProjectID != c.ProjectID {
			return "", createInvalid(cb, invalidInput("Only admins can manipulate policies on networks they do not own"))
		}
	case otype != "network":
		if !found {
			if !c.admin() {
				return "", createInvalid(otype, errf(http.StatusInternalServerError, "TypeError", "'NoneType' object is not subscriptable"))
			}
			return "", errf(http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
		}
		if !c.admin() && owner != c.ProjectID {
			return "", createInvalid(otype, invalidInput("Only admins can manipulate policies on objects they do not own"))
		}
		if otype == "subnetpool" {
			if pool := s.SubnetPools[oid]; pool.AddressScopeID != "" && !s.sharedWith("address_scope", pool.AddressScopeID, target) {
				return "", createInvalid(otype, errf(http.StatusInternalServerError, "RbacPolicyInitError",
					"Failed to create RBAC policy on object %s because target project doesn't have access to associated address scope.", oid))
			}
		}
	}
	if !found {
		return "", errf(http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
	}
	if !slices.Contains(rbacTypes[otype], action) {
		return "", errf(http.StatusBadRequest, "InvalidActionForType", "Invalid action '%s' for object type '%s'. Valid actions: %s", action, otype, pyTuple(rbacTypes[otype]))
	}
	for _, x := range s.RBAC {
		if x.ObjectType == otype && x.ObjectID == oid && x.Action == action && x.Target == target {
			return "", errf(http.StatusConflict, "DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
		}
	}
	if s.RBAC == nil {
		s.RBAC = map[string]*RBACPolicy{}
	}
	st := n.newStd(s, project)
	x := &RBACPolicy{ID: st.ID, ProjectID: project, ObjectType: otype, ObjectID: oid, Action: action, Target: target, Seq: st.Seq}
	s.RBAC[x.ID] = x
	s.syncRBAC(otype, oid)
	return x.ID, nil
}

// pyTuple is repr() of a tuple of strings.
func pyTuple(v []string) string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = pyRepr(e)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (n *Neutron) updateRBAC(s *state, c *caller, id string, in map[string]any) error {
	x, err := s.rbacPolicy(c, id)
	if err != nil {
		return err
	}
	v, ok := in["target_tenant"]
	if !ok {
		return nil
	}
	target, err := str("target_tenant", v, 255)
	if err != nil {
		return err
	}
	if target == "*" && !c.admin() {
		return policyAttr("update_rbac_policy", "target_tenant")
	}
	if target == x.Target {
		return nil
	}
	// BEFORE_UPDATE: the caller must own the object; the project losing
	// access must not depend on it (unless the new target is everyone).
	if owner, found := s.rbacObjectOwner(x.ObjectType, x.ObjectID); found && !c.admin() && owner != c.ProjectID &&
		(x.ObjectType != "network" || x.Action == accessShared) {
		what := "objects"
		cb := x.ObjectType
		if x.ObjectType == "network" {
			what, cb = "networks", "network"
		}
		return inUse(x.ObjectID, callbackFailed(cb, invalidInput("Only admins can manipulate policies on %s they do not own", what)))
	}
	if target != "*" || x.ObjectType == "network" {
		if err := s.checkRBACRemoval(x, target); err != nil {
			return err
		}
	}
	for _, o := range s.RBAC {
		if o.ObjectType == x.ObjectType && o.ObjectID == x.ObjectID && o.Action == x.Action && o.Target == target {
			return errf(http.StatusConflict, "DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
		}
	}
	x.Target = target
	s.syncRBAC(x.ObjectType, x.ObjectID)
	return nil
}

func (n *Neutron) deleteRBAC(s *state, c *caller, id string) error {
	x, err := s.rbacPolicy(c, id)
	if err != nil {
		return err
	}
	if err := s.checkRBACRemoval(x, ""); err != nil {
		return err
	}
	delete(s.RBAC, id)
	s.syncRBAC(x.ObjectType, x.ObjectID)
	return nil
}

// checkRBACRemoval is the BEFORE_DELETE (newTarget "") and BEFORE_UPDATE
// callbacks: the project losing access through x must not have made
// anything that needs it (RbacPolicyInUse, 409, naming the callback).
func (s *state) checkRBACRemoval(x *RBACPolicy, newTarget string) error {
	owner, found := s.rbacObjectOwner(x.ObjectType, x.ObjectID)
	if !found || x.Target == owner {
		return nil
	}
	others := func() []string {
		var out []string
		for _, o := range s.rbacEntries(x.ObjectType, x.ObjectID, x.Action) {
			if o.ID != x.ID && o.Target != "*" {
				out = append(out, o.Target)
			}
		}
		if newTarget != "" {
			out = append(out, newTarget)
		}
		return out
	}
	otherWildcard := func() bool {
		for _, o := range s.rbacEntries(x.ObjectType, x.ObjectID, x.Action) {
			if o.ID != x.ID && o.Target == "*" {
				return true
			}
		}
		return false
	}
	// losing: the projects that would lose access.
	losing := func(project string) bool {
		if project == owner {
			return false
		}
		if x.Target == "*" {
			return !slices.Contains(others(), project)
		}
		return project == x.Target && !otherWildcard() && newTarget != "*"
	}
	if x.ObjectType == "network" && x.Action == accessExternal {
		for _, r := range s.Routers {
			if r.GatewayPortID == "" || !losing(r.ProjectID) {
				continue
			}
			if gw := s.Ports[r.GatewayPortID]; gw != nil && gw.NetworkID == x.ObjectID {
				return inUse(x.ObjectID, callbackFailed("network_ext", inUse(x.ObjectID, "There are routers attached to this network that depend on this policy for access.")))
			}
		}
		return nil
	}
	if x.Action != accessShared {
		return nil
	}
	var bound []string
	switch x.ObjectType {
	case "network":
		for _, p := range s.Ports {
			if p.NetworkID == x.ObjectID {
				bound = append(bound, p.ProjectID)
			}
		}
		for _, p := range bound {
			if losing(p) {
				return inUse(x.ObjectID, callbackFailed("network", errf(http.StatusConflict, "InvalidSharedSetting",
					"Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.", x.ObjectID)))
			}
		}
		return nil
	case "security_group":
		for _, p := range s.Ports {
			if slices.Contains(p.SecurityGroups, x.ObjectID) {
				bound = append(bound, p.ProjectID)
			}
		}
	case "subnetpool":
		for _, sub := range s.Subnets {
			if sub.SubnetPoolID != nil && *sub.SubnetPoolID == x.ObjectID {
				bound = append(bound, sub.ProjectID)
			}
		}
	case "address_scope":
		for _, p := range s.SubnetPools {
			if p.AddressScopeID == x.ObjectID {
				bound = append(bound, p.ProjectID)
			}
		}
	}
	for _, p := range bound {
		if losing(p) {
			return inUse(x.ObjectID, callbackFailed(x.ObjectType, inUse(x.ObjectID, "project_id="+x.Target)))
		}
	}
	return nil
}
