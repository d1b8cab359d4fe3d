package trove

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// pageSize is Trove's instances_page_size (and users/databases): a
// limit above it is cut to it.
const pageSize = 20

func notFound(id string) error { return core.NotFound("Resource %s cannot be found.", id) }

// body renders an instance as trove/instance/views.py's InstanceView
// (detail adds InstanceDetailView's fields). status overrides the
// computed status (the create answer is always BUILD).
func (in *Instance) body(r *http.Request, now time.Time, detail bool, status string) map[string]any {
	if status == "" {
		status = in.status(now)
	}
	caller := core.IdentityOf(r)
	operating := ""
	if status == "ACTIVE" && !in.Pending(now) {
		operating = "HEALTHY"
	}
	ds, _ := findDatastore(in.Datastore)
	b := map[string]any{
		"id": in.ID, "name": in.Name, "status": status, "operating_status": operating,
		"links":     links(r, "instances", in.ID),
		"flavor":    map[string]any{"id": in.FlavorID, "links": links(r, "flavors", in.FlavorID)},
		"datastore": map[string]any{"type": in.Datastore, "version": in.DatastoreVersion},
		"region":    in.Region,
		"volume":    map[string]any{"size": in.VolumeSize},
	}
	if caller.IsAdmin() {
		b["tenant_id"] = in.ProjectID
	}
	access := map[string]any{}
	// Trove shows no address while the instance builds.
	if len(in.Addresses) > 0 && status != "BUILD" {
		ips := make([]string, 0, len(in.Addresses))
		addrs := make([]map[string]any, 0, len(in.Addresses))
		for _, a := range in.Addresses {
			ips = append(ips, a.Address)
			m := map[string]any{"address": a.Address, "type": a.Type}
			if a.Network != "" {
				m["network"] = a.Network
			}
			addrs = append(addrs, m)
		}
		b["ip"], b["addresses"] = ips, addrs
		access["is_public"] = false
	}
	if len(in.Access) > 0 {
		access = in.Access
	}
	b["access"] = access
	if detail {
		b["created"] = core.FormatTime(in.Created, core.TimeSeconds)
		b["updated"] = core.FormatTime(in.Updated, core.TimeSeconds)
		b["service_status_updated"] = core.FormatTime(in.Updated, core.TimeSeconds)
		if ds != nil {
			if v, err := ds.findVersion(in.DatastoreVersion, ""); err == nil {
				b["datastore"] = map[string]any{"type": in.Datastore, "version": in.DatastoreVersion, "version_number": v.Version}
			}
		}
		if in.Fault != nil && status == "ERROR" {
			b["fault"] = map[string]any{"message": in.Fault.Message, "created": core.FormatTime(in.Fault.Created, core.TimeSeconds),
				"details": in.Fault.Details}
		}
		if in.Locality != "" {
			b["locality"] = in.Locality
		}
		if caller.IsAdmin() {
			b["server_id"] = in.ServerID
			b["volume_id"] = in.VolumeID
			b["encrypted_rpc_messaging"] = true
		}
	}
	return b
}

// find returns the instance the caller may see (its project's; any for
// an admin), else Trove's 404.
func (s *state) find(r *http.Request, now time.Time) (*Instance, error) {
	id := r.PathValue("id")
	in := s.Instances[id]
	if in == nil || in.gone(now) || !core.IdentityOf(r).CanSee(in.ProjectID) {
		return nil, notFound(id)
	}
	return in, nil
}

// actionable is Instance.validate_can_perform_action (422 otherwise).
func (in *Instance) actionable(now time.Time) error {
	kind, val := "", ""
	switch in.status(now) {
	case "ACTIVE":
		return nil
	case "BUILD", "ERROR":
		kind, val = "instance", in.status(now)
	case "RESIZE":
		kind, val = "task", "RESIZING"
	case "REBOOT":
		kind, val = "task", "REBOOTING"
	case "UPGRADE":
		kind, val = "task", "UPGRADING"
	default:
		kind, val = "task", "DELETING"
	}
	return core.Errorf(http.StatusUnprocessableEntity,
		"Instance %s is not currently available for an action to be performed (%s status was %s).", in.ID, kind, val)
}

// ------------------------------------------------------------------ list

func (t *Trove) listInstances(w http.ResponseWriter, r *http.Request) error {
	return t.list(w, r, false)
}

func (t *Trove) listInstancesDetail(w http.ResponseWriter, r *http.Request) error {
	return t.list(w, r, true)
}

// list is Instances.load: the project's own instances (an admin's too:
// Trove lists by the token's project), a page ordered by id after the
// marker, shown newest first, with a next link when more follow.
func (t *Trove) list(w http.ResponseWriter, r *http.Request, detail bool) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	marker := r.URL.Query().Get("marker")
	project := core.IdentityOf(r).ProjectID
	now := t.env.Now()
	var mine []*Instance
	_ = t.state.View(func(s *state) error {
		for _, in := range s.Instances {
			if in.ProjectID == project && !in.gone(now) {
				cp := *in
				mine = append(mine, &cp)
			}
		}
		return nil
	})
	page, next := pageByKey(mine, func(in *Instance) string { return in.ID }, marker, limit)
	sort.SliceStable(page, func(i, j int) bool { return page[i].Created.After(page[j].Created) })
	out := make([]map[string]any, 0, len(page))
	for _, in := range page {
		out = append(out, in.body(r, now, detail, ""))
	}
	writePage(w, r, "instances", out, next)
	return nil
}

// pageLimit is utils.pagination_limit: ?limit= cut to the page size.
func pageLimit(r *http.Request) (int, error) {
	limit := pageSize
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, core.BadRequest("Invalid limit value %s: limit must be an integer", s)
		}
		if n > 0 && n < limit {
			limit = n
		}
	}
	return limit, nil
}

// pageByKey is Trove's marker pagination: items sorted by key, those
// after the marker, at most limit; next is the last key when more follow.
func pageByKey[T any](items []T, key func(T) string, marker string, limit int) ([]T, string) {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := sort.Search(len(items), func(i int) bool { return key(items[i]) > marker })
	items = items[start:]
	if len(items) > limit {
		return items[:limit], key(items[limit-1])
	}
	return items, ""
}

// writePage answers {name: items} and, when a next marker exists,
// SimplePaginatedDataView's links.
func writePage(w http.ResponseWriter, r *http.Request, name string, items any, next string) {
	out := map[string]any{name: items}
	if next != "" {
		q := r.URL.Query()
		q.Set("marker", next)
		out["links"] = []map[string]string{{"rel": "next", "href": core.ServiceURL(r) + r.URL.Path + "?" + q.Encode()}}
	}
	core.WriteJSON(w, http.StatusOK, out)
}

func (t *Trove) showInstance(w http.ResponseWriter, r *http.Request) error {
	now := t.env.Now()
	return t.state.View(func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"instance": in.body(r, now, true, "")})
		return nil
	})
}

// mgmtInstances is GET /mgmt/instances: every project's instances, for
// admins (Trove's admin_context answers others 401).
func (t *Trove) mgmtInstances(w http.ResponseWriter, r *http.Request) error {
	if !core.IdentityOf(r).IsAdmin() {
		return core.Errorf(http.StatusUnauthorized, "User does not have admin privileges.")
	}
	q := r.URL.Query()
	project := q.Get("project_id")
	now := t.env.Now()
	var all []*Instance
	_ = t.state.View(func(s *state) error {
		for _, in := range s.Instances {
			if !in.gone(now) && (project == "" || in.ProjectID == project) {
				cp := *in
				all = append(all, &cp)
			}
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	out := make([]map[string]any, 0, len(all))
	for _, in := range all {
		b := in.body(r, now, true, "")
		b["server"] = map[string]any{"id": in.ServerID, "name": in.Name, "status": in.status(now), "tenant_id": in.ProjectID, "host": "emulator"}
		b["service_status"] = datastoreStatus(in.status(now))
		b["tenant_id"] = in.ProjectID
		b["deleted"] = false
		b["deleted_at"] = nil
		out = append(out, b)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"instances": out})
	return nil
}

// datastoreStatus is the guest's service status as the API shows it.
func datastoreStatus(status string) string {
	switch status {
	case "ACTIVE", "RESIZE":
		return "HEALTHY"
	case "BUILD":
		return "NEW"
	case "REBOOT":
		return "RESTARTING"
	case "UPGRADE":
		return "UPGRADING"
	case "SHUTDOWN":
		return "SHUTDOWN"
	}
	return "ERROR"
}

// ------------------------------------------------------------------ create

// createRequest is a validated POST /instances.
type createRequest struct {
	name, flavorID, volumeType, datastore, version, number string
	volumeSize                                             int
	hasVolume                                              bool
	az, region, locality                                   string
	nic                                                    map[string]string
	access                                                 map[string]any
	databases                                              []*Database
	users                                                  []*User
}

func (t *Trove) createInstance(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	req, err := parseCreate(body)
	if err != nil {
		return err
	}
	ds, ver, err := resolveDatastore(req.datastore, req.version, req.number)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	fl, err := t.findFlavor(r, req.flavorID)
	if err != nil {
		return err
	}
	if fl == nil {
		return core.BadRequest("Resource %s cannot be found.", req.flavorID)
	}
	if !req.hasVolume {
		return core.BadRequest("Volume size was not specified.")
	}
	if req.volumeSize > maxVolumeSize {
		return core.Errorf(http.StatusRequestEntityTooLarge, "Volume 'size' cannot exceed maximum of %d GB, %d cannot be accepted.",
			maxVolumeSize, req.volumeSize)
	}
	deltas := map[string]int{"instances": 1, "ram": fl.RAM, "volumes": req.volumeSize}
	now := t.env.Now()
	if err := t.state.View(func(s *state) error { return s.checkQuota(caller.ProjectID, deltas, now) }); err != nil {
		return err
	}

	in := &Instance{ID: core.NewUUID(), Name: req.name, ProjectID: caller.ProjectID, FlavorID: fl.ID, FlavorRAM: fl.RAM,
		Datastore: ds.Name, DatastoreVersion: ver.Name, VolumeSize: req.volumeSize, Region: "RegionOne",
		AvailabilityZone: req.az, Locality: req.locality, Access: req.access, ServerID: core.NewUUID(), VolumeID: core.NewUUID(),
		Databases: map[string]*Database{}, Users: map[string]*User{}, Created: now, Updated: now}
	if req.volumeType != "" {
		vt := req.volumeType
		in.VolumeType = &vt
	}
	if req.region != "" {
		in.Region = req.region
	}
	for _, d := range req.databases {
		in.Databases[d.Name] = d
	}
	for _, u := range req.users {
		in.Users[userKey(u.Name, u.Host)] = u
	}
	in.Lifecycle = core.Begin(t.env, "BUILD", "ACTIVE")
	if req.nic != nil {
		if err := t.attach(r, in, req.nic); err != nil {
			return err
		}
	}
	err = t.state.Update(func(s *state) error {
		s.purge(now)
		if err := s.checkQuota(caller.ProjectID, deltas, now); err != nil {
			return err
		}
		if in.PortID == "" && req.nic != nil && in.Fault == nil {
			s.NextAddress++
			in.Addresses = []Address{{Address: fakeAddress(s.NextAddress), Type: "private", Network: req.nic["network_id"]}}
		}
		s.Instances[in.ID] = in
		return nil
	})
	if err != nil {
		t.detach(r, in)
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"instance": in.body(r, now, true, "BUILD")})
	return nil
}

// fakeAddress is the n-th made-up address of an instance on a network
// the emulator has no Neutron for (10.0.0.0/16, from .0.10).
func fakeAddress(n int) string {
	n += 9
	return fmt.Sprintf("10.0.%d.%d", (n/250)%256, n%250+1)
}

// checkQuota is run_with_quotas: 413 "Quota exceeded for resources:
// ['instances']." naming every resource over its limit.
func (s *state) checkQuota(project string, deltas map[string]int, now time.Time) error {
	used := s.usage(project, now)
	var overs []string
	for res, d := range deltas {
		if d > 0 && !s.Quotas.Allows(project, res, used[res], d) {
			overs = append(overs, res)
		}
	}
	if len(overs) == 0 {
		return nil
	}
	sort.Strings(overs)
	return core.Errorf(http.StatusRequestEntityTooLarge, "Quota exceeded for resources: %s.", pyList(overs))
}

var ipv4RE = regexp.MustCompile(`^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$`)
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseCreate validates a create body as apischema.instance["create"]
// and the controller do, in their order.
func parseCreate(body map[string]any) (*createRequest, error) {
	raw, ok := body["instance"]
	if !ok {
		return nil, core.BadRequest("Validation error: 'instance' is a required property")
	}
	inst, ok := raw.(map[string]any)
	if !ok {
		return nil, validation("instance", "%s is not of type 'object'", pyRepr(raw))
	}
	req := &createRequest{}
	if _, ok := inst["name"]; !ok {
		return nil, validation("instance", "'name' is a required property")
	}
	var err error
	if req.name, err = nonEmptyString("instance['name']", inst["name"]); err != nil {
		return nil, err
	}
	if v, ok := inst["replica_of"]; ok && v != nil {
		return nil, core.BadRequest("Replication is not supported by this emulator (replica_of).")
	}
	if v, ok := inst["replica_count"]; ok && v != nil {
		if f, isNum := v.(float64); !isNum || f != float64(int(f)) || f < 1 || f > 3 {
			return nil, validation("instance['replica_count']", "%s is not valid under any of the given schemas", pyRepr(v))
		}
		if v.(float64) > 1 {
			return nil, core.BadRequest("Replica count only valid when creating replicas. Cannot create %d instances.", int(v.(float64)))
		}
	}
	switch f := inst["flavorRef"].(type) {
	case nil:
		return nil, validation("instance", "'flavorRef' is a required property")
	case float64:
		if f != float64(int64(f)) {
			return nil, validation("instance['flavorRef']", "%s is not valid under any of the given schemas", pyRepr(f))
		}
		req.flavorID = strconv.FormatInt(int64(f), 10)
	case string:
		if _, err := nonEmptyString("instance['flavorRef']", f); err != nil {
			return nil, validation("instance['flavorRef']", "%s is not valid under any of the given schemas", pyRepr(f))
		}
		req.flavorID = idFromHref(f)
	default:
		return nil, validation("instance['flavorRef']", "%s is not valid under any of the given schemas", pyRepr(f))
	}
	if v, ok := inst["volume"]; ok && v != nil {
		vol, ok := v.(map[string]any)
		if !ok {
			return nil, validation("instance['volume']", "%s is not of type 'object'", pyRepr(v))
		}
		size, err := volumeSize("instance['volume']", vol)
		if err != nil {
			return nil, err
		}
		req.volumeSize, req.hasVolume = size, true
		if t, ok := vol["type"]; ok && t != nil {
			if req.volumeType, err = nonEmptyString("instance['volume']['type']", t); err != nil {
				return nil, validation("instance['volume']['type']", "%s is not valid under any of the given schemas", pyRepr(t))
			}
		}
	}
	if v, ok := inst["datastore"]; ok && v != nil {
		d, ok := v.(map[string]any)
		if !ok {
			return nil, validation("instance['datastore']", "%s is not of type 'object'", pyRepr(v))
		}
		for key, dst := range map[string]*string{"type": &req.datastore, "version": &req.version, "version_number": &req.number} {
			if x, ok := d[key]; ok && x != nil {
				if *dst, err = nonEmptyString("instance['datastore']['"+key+"']", x); err != nil {
					return nil, err
				}
			}
		}
	}
	for key, dst := range map[string]*string{"availability_zone": &req.az, "region_name": &req.region, "locality": &req.locality} {
		if x, ok := inst[key]; ok && x != nil {
			if *dst, err = nonEmptyString("instance['"+key+"']", x); err != nil {
				return nil, err
			}
		}
	}
	dbs, err := parseDatabases("instance['databases']", inst["databases"])
	if err != nil {
		return nil, err
	}
	if req.databases, err = validateNewDatabases(dbs); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, d := range req.databases {
		names[d.Name] = true
	}
	if req.users, err = parseUsers("instance['users']", inst["users"], names); err != nil {
		return nil, err
	}
	if x, ok := inst["configuration"]; ok && x != nil {
		s, _ := x.(string)
		return nil, notFound(idFromHref(s))
	}
	if x, ok := inst["restorePoint"]; ok && x != nil {
		rp, _ := x.(map[string]any)
		ref, _ := rp["backupRef"].(string)
		if ref == "" {
			return nil, validation("instance['restorePoint']", "'backupRef' is a required property")
		}
		return nil, notFound(idFromHref(ref))
	}
	if x, ok := inst["modules"]; ok && x != nil {
		if ms, ok := x.([]any); ok && len(ms) > 0 {
			m, _ := ms[0].(map[string]any)
			id, _ := m["id"].(string)
			return nil, notFound(id)
		}
	}
	if req.nic, err = parseNics(inst["nics"]); err != nil {
		return nil, err
	}
	if req.access, err = parseAccess("instance['access']", inst["access"]); err != nil {
		return nil, err
	}
	if req.locality != "" && req.locality != "affinity" && req.locality != "anti-affinity" {
		return nil, core.BadRequest("Invalid locality '%s'. Must be one of ['affinity', 'anti-affinity']", req.locality)
	}
	return req, nil
}

// volumeSize reads apischema's volume_size: an integer >= 1 or a string
// of a positive integer.
func volumeSize(path string, vol map[string]any) (int, error) {
	v, ok := vol["size"]
	if !ok {
		return 0, validation(path, "'size' is a required property")
	}
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) && x >= 1 {
			return int(x), nil
		}
	case string:
		if n, err := strconv.Atoi(x); err == nil && n >= 1 && len(x) <= 40 && !strings.HasPrefix(x, "-") {
			return n, nil
		}
	}
	return 0, validation(path+"['size']", "%s is not valid under any of the given schemas", pyRepr(v))
}

// parseNics checks apischema's nics (at most one, known keys, uuids)
// and InstanceController._check_nic's rules.
func parseNics(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, validation("instance['nics']", "%s is not of type 'array'", pyRepr(v))
	}
	if len(list) == 0 {
		return nil, nil
	}
	if len(list) > 1 {
		return nil, validation("instance['nics']", "%s is too long", pyRepr(v))
	}
	m, ok := list[0].(map[string]any)
	if !ok {
		return nil, validation("instance['nics'][0]", "%s is not of type 'object'", pyRepr(list[0]))
	}
	nic := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		switch k {
		case "net-id", "network_id", "subnet_id":
			s, ok := val.(string)
			if !ok || !uuidRE.MatchString(s) {
				return nil, validation("instance['nics'][0]['"+k+"']", "%s does not match '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'", pyRepr(val))
			}
			if k == "net-id" {
				k = "network_id"
			}
			nic[k] = s
		case "ip_address":
			s, ok := val.(string)
			if !ok || !ipv4RE.MatchString(s) || net.ParseIP(s) == nil {
				return nil, validation("instance['nics'][0]['ip_address']", "%s does not match '^(?:[0-9]{1,3}\\\\.){3}[0-9]{1,3}$'", pyRepr(val))
			}
			nic[k] = s
		default:
			return nil, validation("instance['nics'][0]", "Additional properties are not allowed (%s was unexpected)", pyRepr(k))
		}
	}
	if nic["network_id"] == "" && nic["subnet_id"] == "" {
		return nil, core.BadRequest("Instance network or subnet needs to be specified.")
	}
	if nic["subnet_id"] == "" && nic["ip_address"] != "" {
		return nil, core.BadRequest("Instance subnet needs to be specified.")
	}
	return nic, nil
}

var cidrRE = regexp.MustCompile(`^([0-9]{1,3}\.){3}[0-9]{1,3}(/([0-9]|[1-2][0-9]|3[0-2]))?$`)

// parseAccess checks the access object (is_public, allowed_cidrs).
func parseAccess(path string, v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, validation(path, "%s is not of type 'object'", pyRepr(v))
	}
	out := map[string]any{}
	for k, x := range m {
		switch k {
		case "is_public":
			b, ok := x.(bool)
			if !ok {
				return nil, validation(path+"['is_public']", "%s is not of type 'boolean'", pyRepr(x))
			}
			out[k] = b
		case "allowed_cidrs":
			list, ok := x.([]any)
			if !ok {
				return nil, validation(path+"['allowed_cidrs']", "%s is not of type 'array'", pyRepr(x))
			}
			cidrs := make([]string, 0, len(list))
			for i, c := range list {
				s, ok := c.(string)
				if !ok || !cidrRE.MatchString(s) {
					return nil, validation(fmt.Sprintf("%s['allowed_cidrs'][%d]", path, i), "%s does not match", pyRepr(c))
				}
				if contains(cidrs, s) {
					return nil, validation(path+"['allowed_cidrs']", "%s has non-unique elements", pyRepr(x))
				}
				cidrs = append(cidrs, s)
			}
			out[k] = cidrs
		default:
			out[k] = x
		}
	}
	return out, nil
}

// attach gives a new instance its user port, as Trove's taskmanager
// does: on the emulator's Neutron when it has one (the port is named
// trove-<id>; a failure leaves the instance in ERROR, as the real
// asynchronous creation does), else a made-up address (in Update).
func (t *Trove) attach(r *http.Request, in *Instance, nic map[string]string) error {
	if !t.hasService("network") {
		if nic["network_id"] == "" {
			nic["network_id"] = core.NewUUID()
		}
		return nil
	}
	id := core.IdentityOf(r)
	if sub := nic["subnet_id"]; sub != "" {
		var out struct {
			Subnet struct {
				NetworkID string `json:"network_id"`
			} `json:"subnet"`
		}
		err := t.env.Do(r.Context(), core.Call{Identity: id, Service: "network", Method: "GET", Path: "/v2.0/subnets/" + sub}, &out)
		if err != nil || (nic["network_id"] != "" && out.Subnet.NetworkID != nic["network_id"]) {
			return core.BadRequest("Subnet %s not found in the network %s.", sub, nic["network_id"])
		}
		nic["network_id"] = out.Subnet.NetworkID
	}
	port := map[string]any{"name": "trove-" + in.ID, "description": "User port for trove instance " + in.ID,
		"network_id": nic["network_id"], "security_groups": []string{}}
	if sub := nic["subnet_id"]; sub != "" {
		fixed := map[string]any{"subnet_id": sub}
		if ip := nic["ip_address"]; ip != "" {
			fixed["ip_address"] = ip
		}
		port["fixed_ips"] = []any{fixed}
	}
	var out struct {
		Port struct {
			ID       string `json:"id"`
			FixedIPs []struct {
				IP string `json:"ip_address"`
			} `json:"fixed_ips"`
		} `json:"port"`
	}
	err := t.env.Do(r.Context(), core.Call{Identity: id, Service: "network", Method: "POST", Path: "/v2.0/ports",
		Body: map[string]any{"port": port}}, &out)
	if err != nil {
		msg := err.Error()
		var ce *core.CallError
		if errors.As(err, &ce) {
			// neutronclient's exception text is the NeutronError message.
			var ne struct {
				NeutronError struct {
					Message string `json:"message"`
				} `json:"NeutronError"`
			}
			msg = strings.TrimSpace(string(ce.Body))
			if json.Unmarshal(ce.Body, &ne) == nil && ne.NeutronError.Message != "" {
				msg = ne.NeutronError.Message
			}
		}
		in.Lifecycle = core.Begin(t.env, "BUILD", "ERROR")
		in.Fault = &Fault{Message: fmt.Sprintf("Failed to create User port for instance %s: %s", in.ID, msg),
			Created: t.env.Now()}
		return nil
	}
	in.PortID = out.Port.ID
	for _, ip := range out.Port.FixedIPs {
		if parsed := net.ParseIP(ip.IP); parsed != nil && parsed.To4() != nil {
			in.Addresses = append(in.Addresses, Address{Address: ip.IP, Type: "private", Network: nic["network_id"]})
		}
	}
	return nil
}

// detach deletes an instance's port (instance deleted, or its creation
// refused after the port was made).
func (t *Trove) detach(r *http.Request, in *Instance) {
	if in.PortID == "" {
		return
	}
	err := t.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "network", Method: "DELETE",
		Path: "/v2.0/ports/" + in.PortID}, nil)
	if err != nil {
		t.env.Log.Info("trove: deleting an instance's port", "instance", in.ID, "port", in.PortID, "error", err)
	}
}

// ------------------------------------------------------------------ update, delete

// updateInstance is PUT (and the deprecated PATCH) /instances/{id}: a
// new name and at most one of detaching from a replica source,
// configuration, datastore_version (an upgrade) and access.
func (t *Trove) updateInstance(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	raw, ok := body["instance"]
	if !ok {
		return core.BadRequest("Validation error: 'instance' is a required property")
	}
	inst, ok := raw.(map[string]any)
	if !ok {
		return validation("instance", "%s is not of type 'object'", pyRepr(raw))
	}
	allowed := []string{"name", "replica_of", "configuration", "datastore_version", "access"}
	if r.Method == http.MethodPatch {
		allowed = []string{"slave_of", "replica_of", "name", "configuration", "datastore_version"}
	}
	keys := make([]string, 0, len(inst))
	for k := range inst {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(allowed, k) {
			return validation("instance", "Additional properties are not allowed (%s was unexpected)", pyRepr(k))
		}
	}
	var name, dsVersion string
	if v, ok := inst["name"]; ok {
		if name, err = nonEmptyString("instance['name']", v); err != nil {
			return err
		}
	}
	if v, ok := inst["datastore_version"]; ok {
		if dsVersion, err = nonEmptyString("instance['datastore_version']", v); err != nil {
			return err
		}
	}
	var access map[string]any
	if v, ok := inst["access"]; ok {
		if access, err = parseAccess("instance['access']", v); err != nil {
			return err
		}
	}
	if (name != "" && len(inst) > 2) || (name == "" && len(inst) >= 2) {
		return core.BadRequest("Only one attribute (except 'name') is allowed to update.")
	}
	now := t.env.Now()
	return t.state.Update(func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		switch {
		case hasKey(inst, "replica_of") || hasKey(inst, "slave_of"):
			if err := in.actionable(now); err != nil {
				return err
			}
			return core.BadRequest("Instance %s is not a replica.", in.ID)
		case hasKey(inst, "configuration"):
			if c, _ := inst["configuration"].(string); c != "" {
				return notFound(c)
			}
		case dsVersion != "":
			ds, err := findDatastore(in.Datastore)
			if err != nil {
				return err
			}
			v, err := ds.findVersion(dsVersion, "")
			if err != nil {
				return err
			}
			if v.Name != in.DatastoreVersion {
				if err := in.actionable(now); err != nil {
					return err
				}
				in.DatastoreVersion = v.Name
				in.Lifecycle = core.Begin(t.env, "UPGRADE", "ACTIVE")
			}
		case access != nil:
			in.Access = access
		}
		if name != "" {
			in.Name = name
		}
		in.Updated = now
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// deleteInstance: 422 while it builds (Trove refuses), else SHUTDOWN
// until -delay passes, then gone; its port goes at once.
func (t *Trove) deleteInstance(w http.ResponseWriter, r *http.Request) error {
	now := t.env.Now()
	var del Instance
	err := t.state.Update(func(s *state) error {
		s.purge(now)
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		if in.status(now) == "BUILD" {
			return core.Errorf(http.StatusUnprocessableEntity, "Instance %s is not ready. (Status is %s).", in.ID, in.status(now))
		}
		in.Lifecycle = core.Begin(t.env, "SHUTDOWN", "deleted")
		in.Updated = now
		del = *in
		if in.gone(now) {
			delete(s.Instances, in.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.detach(r, &del)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ------------------------------------------------------------------ actions

// instanceAction is POST /instances/{id}/action: restart, resize (volume
// or flavorRef), promote_to_replica_source, eject_replica_source.
func (t *Trove) instanceAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return core.BadRequest("Invalid request body.")
	}
	now := t.env.Now()
	switch {
	case hasKey(body, "restart"):
		if _, ok := body["restart"].(map[string]any); !ok {
			return validation("restart", "%s is not of type 'object'", pyRepr(body["restart"]))
		}
		return t.state.Update(func(s *state) error {
			in, err := s.find(r, now)
			if err != nil {
				return err
			}
			if err := in.actionable(now); err != nil {
				return err
			}
			in.Lifecycle = core.Begin(t.env, "REBOOT", "ACTIVE")
			in.Updated = now
			w.WriteHeader(http.StatusAccepted)
			return nil
		})
	case hasKey(body, "resize"):
		return t.resize(w, r, body["resize"], now)
	case hasKey(body, "promote_to_replica_source"), hasKey(body, "eject_replica_source"):
		return t.state.View(func(s *state) error {
			in, err := s.find(r, now)
			if err != nil {
				return err
			}
			if hasKey(body, "eject_replica_source") {
				return core.BadRequest("Instance %s is not a replica source.", in.ID)
			}
			return core.BadRequest("Instance %s is not a replica.", in.ID)
		})
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return core.BadRequest("Invalid instance action: %s.", strings.Join(keys, ", "))
}

func (t *Trove) resize(w http.ResponseWriter, r *http.Request, raw any, now time.Time) error {
	rs, ok := raw.(map[string]any)
	if !ok || (!hasKey(rs, "volume") && !hasKey(rs, "flavorRef")) {
		return core.BadRequest("Invalid request body.")
	}
	if v, ok := rs["volume"]; ok {
		vol, ok := v.(map[string]any)
		if !ok {
			return validation("resize['volume']", "%s is not of type 'object'", pyRepr(v))
		}
		size, err := volumeSize("resize['volume']", vol)
		if err != nil {
			return err
		}
		return t.state.Update(func(s *state) error {
			in, err := s.find(r, now)
			if err != nil {
				return err
			}
			if size <= in.VolumeSize {
				return core.BadRequest("The new volume 'size' must be larger than the current volume size of '%d'.", in.VolumeSize)
			}
			if size > maxVolumeSize {
				return core.Errorf(http.StatusRequestEntityTooLarge, "Volume 'size' cannot exceed maximum of %d GB, %d cannot be accepted.", maxVolumeSize, size)
			}
			if err := in.actionable(now); err != nil {
				return err
			}
			if err := s.checkQuota(in.ProjectID, map[string]int{"volumes": size - in.VolumeSize}, now); err != nil {
				return err
			}
			in.VolumeSize = size
			in.Lifecycle = core.Begin(t.env, "RESIZE", "ACTIVE")
			in.Updated = now
			w.WriteHeader(http.StatusAccepted)
			return nil
		})
	}
	var ref string
	switch f := rs["flavorRef"].(type) {
	case float64:
		ref = strconv.FormatInt(int64(f), 10)
	case string:
		if _, err := nonEmptyString("resize['flavorRef']", f); err != nil {
			return validation("resize['flavorRef']", "%s is not valid under any of the given schemas", pyRepr(f))
		}
		ref = idFromHref(f)
	default:
		return validation("resize['flavorRef']", "%s is not valid under any of the given schemas", pyRepr(f))
	}
	// Checks before the flavor lookup, which calls Nova outside the lock.
	if err := t.state.View(func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		if err := in.actionable(now); err != nil {
			return err
		}
		if in.FlavorID == ref {
			return core.BadRequest("The new flavor id must be different than the current flavor id of '%s'.", in.FlavorID)
		}
		return nil
	}); err != nil {
		return err
	}
	fl, err := t.findFlavor(r, ref)
	if err != nil {
		return err
	}
	if fl == nil {
		return core.BadRequest("Resource %s cannot be found.", ref)
	}
	if fl.Ephemeral != 0 {
		return core.BadRequest("Local storage support is not enabled.")
	}
	return t.state.Update(func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		if err := in.actionable(now); err != nil {
			return err
		}
		if err := s.checkQuota(in.ProjectID, map[string]int{"ram": fl.RAM - in.FlavorRAM}, now); err != nil {
			return err
		}
		in.FlavorID, in.FlavorRAM = fl.ID, fl.RAM
		in.Lifecycle = core.Begin(t.env, "RESIZE", "ACTIVE")
		in.Updated = now
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// instanceBackups is GET /instances/{id}/backups: the emulator makes no
// backups, so the list is empty.
func (t *Trove) instanceBackups(w http.ResponseWriter, r *http.Request) error {
	now := t.env.Now()
	if err := t.state.View(func(s *state) error { _, err := s.find(r, now); return err }); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"backups": []any{}})
	return nil
}

// instanceConfiguration is GET /instances/{id}/configuration: the
// datastore's default configuration for the instance's flavor.
func (t *Trove) instanceConfiguration(w http.ResponseWriter, r *http.Request) error {
	now := t.env.Now()
	var cfg map[string]any
	err := t.state.View(func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		mem := in.FlavorRAM
		switch in.Datastore {
		case "postgresql":
			cfg = map[string]any{"max_connections": 100, "shared_buffers": strconv.Itoa(mem/4) + "MB",
				"effective_cache_size": strconv.Itoa(mem*3/4) + "MB", "port": "5432"}
		default:
			cfg = map[string]any{"max_connections": mem / 8, "innodb_buffer_pool_size": strconv.Itoa(mem/2) + "M",
				"max_allowed_packet": "16M", "port": "3306", "datadir": "/var/lib/mysql/data"}
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"instance": map[string]any{"configuration": cfg}})
	return nil
}
