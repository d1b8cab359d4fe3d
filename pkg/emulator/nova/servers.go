package nova

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func serverNotFound(id string) error { return core.NotFound("Instance %s could not be found.", id) }

// server returns a server the caller may see (its project's, or any for
// an admin), else Nova's 404.
func (s *state) server(r *http.Request, now time.Time) (*Server, error) {
	id := r.PathValue("server_id")
	srv := s.Servers[id]
	if srv == nil || srv.gone(now) || !core.IdentityOf(r).CanSee(srv.ProjectID) {
		return nil, serverNotFound(id)
	}
	return srv, nil
}

// copyServer returns a deep enough copy to render outside the lock.
func copyServer(srv *Server) *Server {
	cp := *srv
	cp.Metadata = map[string]string{}
	for k, v := range srv.Metadata {
		cp.Metadata[k] = v
	}
	cp.Tags = append([]string{}, srv.Tags...)
	cp.Ports = append([]Port{}, srv.Ports...)
	cp.Volumes = append([]Attachment{}, srv.Volumes...)
	cp.SecurityGroups = append([]string{}, srv.SecurityGroups...)
	return &cp
}

func (n *Nova) getServer(r *http.Request) (*Server, error) {
	var out *Server
	err := n.state.View(func(s *state) error {
		srv, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		out = copyServer(srv)
		return nil
	})
	return out, err
}

func (n *Nova) showServer(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	rd := n.renderer(r, []*Server{srv})
	core.WriteJSON(w, http.StatusOK, map[string]any{"server": rd.showOne(srv)})
	return nil
}

var serverSortKeys = []string{"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive",
	"created_at", "display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id",
	"kernel_id", "key_name", "launch_index", "launched_at", "locked", "locked_by", "node", "power_state", "progress",
	"project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id", "uuid", "vm_state"}

func (n *Nova) listServers(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	q := r.URL.Query()
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	if k := q.Get("sort_key"); k != "" && !slices.Contains(serverSortKeys, k) {
		return core.BadRequest("Invalid input for query parameters sort_key. Value: %s. %s is not one of %s", k, pyRepr(k), pyRepr(toAny(serverSortKeys)))
	}
	var nameRE *regexp.Regexp
	if s := q.Get("name"); s != "" {
		if nameRE, err = regexp.Compile(s); err != nil {
			nameRE = regexp.MustCompile(regexp.QuoteMeta(s))
		}
	}
	if st := q.Get("status"); st != "" {
		if _, ok := vmStates[strings.ToUpper(st)]; !ok && !strings.EqualFold(st, "UNKNOWN") {
			return core.BadRequest("Invalid status value")
		}
	}
	var since time.Time
	if s := q.Get("changes-since"); s != "" {
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			return core.BadRequest("Invalid input for query parameters changes-since. Value: %s. %s is not a 'date-time'", s, pyRepr(s))
		}
	}
	all := core.AllProjects(r)
	now := n.env.Now()
	var list []*Server
	_ = n.state.View(func(s *state) error {
		for _, srv := range s.Servers {
			if srv.gone(now) {
				continue
			}
			if all {
				if p := firstOf(q, "project_id", "tenant_id"); p != "" && p != srv.ProjectID {
					continue
				}
			} else if srv.ProjectID != caller.ProjectID {
				continue
			}
			st := srv.status(now)
			if v := q.Get("status"); v != "" && !strings.EqualFold(v, st) {
				continue
			}
			if nameRE != nil && !nameRE.MatchString(srv.Name) {
				continue
			}
			if !since.IsZero() && srv.Updated.Before(since) {
				continue
			}
			if !core.MatchFilters(q, map[string]string{"image": srv.ImageID, "flavor": srv.Flavor.ID,
				"availability_zone": srv.AZ, "key_name": srv.KeyName, "user_id": srv.UserID,
				"host": srv.Host, "node": srv.Node, "reservation_id": srv.ReservationID,
				"locked": strconv.FormatBool(srv.Locked)}) {
				continue
			}
			if !matchTags(q, srv.Tags) {
				continue
			}
			list = append(list, copyServer(srv))
		}
		return nil
	})
	sortedServers(list)
	list, _, err = core.Paginate(list, func(s *Server) string { return s.ID }, page)
	if err != nil {
		return core.BadRequest("marker [%s] not found", page.Marker)
	}
	detail := fullPathHas(r, "/detail")
	out := make([]any, 0, len(list))
	if detail {
		rd := n.renderer(r, list)
		for _, srv := range list {
			out = append(out, rd.show(srv))
		}
	} else {
		rd := &renderer{n: n, r: r}
		for _, srv := range list {
			out = append(out, rd.basic(srv))
		}
	}
	resp := map[string]any{"servers": out}
	if len(list) > 0 {
		if l := collectionLinks(r, page, len(list), list[len(list)-1].ID); l != nil {
			resp["servers_links"] = l
		}
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func firstOf(q url.Values, keys ...string) string {
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// matchTags applies tags (all), tags-any, not-tags, not-tags-any.
func matchTags(q url.Values, tags []string) bool {
	split := func(k string) []string {
		if !q.Has(k) {
			return nil
		}
		return strings.Split(q.Get(k), ",")
	}
	has := func(t string) bool { return slices.Contains(tags, t) }
	if ts := split("tags"); ts != nil {
		for _, t := range ts {
			if !has(t) {
				return false
			}
		}
	}
	if ts := split("tags-any"); ts != nil && !slices.ContainsFunc(ts, has) {
		return false
	}
	if ts := split("not-tags"); ts != nil {
		all := true
		for _, t := range ts {
			if !has(t) {
				all = false
			}
		}
		if all {
			return false
		}
	}
	if ts := split("not-tags-any"); ts != nil && slices.ContainsFunc(ts, has) {
		return false
	}
	return true
}

// Server create.

func serverCreateSchema(v core.Version) *schema {
	netItem := obj(nil, map[string]*schema{
		"fixed_ip": {Type: "string"}, "port": {Types: []string{"string", "null"}, Format: "uuid"},
		"uuid": {Type: "string"}, "tag": {Type: "string", MaxLen: 60},
	})
	networks := &schema{Type: "array", Items: netItem}
	if v.AtLeast("2.37") {
		networks = &schema{Types: []string{"array", "string"}, Items: netItem}
	}
	bdm := &schema{Type: "object", Additional: true}
	props := map[string]*schema{
		"name":                    {Type: "string", MinLen: 1, MaxLen: 255, Format: "name"},
		"imageRef":                {Types: []string{"string"}},
		"flavorRef":               {Types: []string{"string", "integer"}, MinLen: 1},
		"adminPass":               {Type: "string"},
		"metadata":                {Type: "object", Additional: true},
		"networks":                networks,
		"OS-DCF:diskConfig":       {Type: "string", Enum: []any{"AUTO", "MANUAL"}},
		"accessIPv4":              {Type: "string"},
		"accessIPv6":              {Type: "string"},
		"availability_zone":       {Type: "string", MinLen: 1, MaxLen: 255},
		"block_device_mapping":    {Type: "array", Items: bdm},
		"block_device_mapping_v2": {Type: "array", Items: bdm},
		"config_drive":            boolSchema,
		"key_name":                {Type: "string", MinLen: 1, MaxLen: 255},
		"min_count":               intRange(1, 2147483647),
		"max_count":               intRange(1, 2147483647),
		"return_reservation_id":   boolSchema,
		"security_groups":         {Type: "array", MinItems: 1, Items: obj(nil, map[string]*schema{"name": {Type: "string", MinLen: 1, MaxLen: 255}})},
		"user_data":               {Type: "string", MaxLen: 65535},
	}
	if !v.AtLeast("2.57") {
		props["personality"] = &schema{Type: "array", Items: &schema{Type: "object", Additional: true}}
	}
	if v.AtLeast("2.19") {
		props["description"] = &schema{Types: []string{"string", "null"}, MaxLen: 255}
	}
	if v.AtLeast("2.52") {
		props["tags"] = &schema{Type: "array", MaxItems: 50, Items: &schema{Type: "string", MinLen: 1, MaxLen: 60, Pattern: `^[^,/]*$`}}
	}
	if v.AtLeast("2.63") {
		props["trusted_image_certificates"] = &schema{Types: []string{"array", "null"}, Items: &schema{Type: "string"}}
	}
	if v.AtLeast("2.74") {
		props["host"], props["hypervisor_hostname"] = &schema{Type: "string"}, &schema{Type: "string"}
	}
	if v.AtLeast("2.90") {
		props["hostname"] = &schema{Type: "string", MinLen: 2, MaxLen: 255}
	}
	req := []string{"name", "flavorRef"}
	if v.AtLeast("2.37") {
		req = append(req, "networks")
	}
	hints := &schema{Type: "object", Additional: true}
	return obj([]string{"server"}, map[string]*schema{"server": obj(req, props),
		"os:scheduler_hints": hints, "OS-SCH-HNT:scheduler_hints": hints})
}

// createRequest is a validated POST /servers.
type createRequest struct {
	name, imageRef, keyName, az, userData, hostname string
	description                                     *string
	flavor                                          *Flavor
	meta                                            map[string]string
	tags                                            []string
	netMode                                         string
	nets                                            []netRequest
	sgNames                                         []string
	bdms                                            []map[string]any
	minCount, maxCount                              int
	configDrive, returnResv                         bool
	diskConfig, accessIPv4, accessIPv6, adminPass   string
	group                                           string
	keyData                                         string
}

func (n *Nova) parseCreate(r *http.Request) (*createRequest, error) {
	v := core.MicroversionOf(r)
	caller := core.IdentityOf(r)
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if err := validate(serverCreateSchema(v), body); err != nil {
		return nil, err
	}
	top := body.(map[string]any)
	in := top["server"].(map[string]any)
	cr := &createRequest{name: in["name"].(string), minCount: 1, maxCount: 1, diskConfig: "MANUAL", meta: map[string]string{}}
	cr.imageRef, _ = in["imageRef"].(string)
	cr.keyName, _ = in["key_name"].(string)
	cr.az, _ = in["availability_zone"].(string)
	cr.accessIPv4, _ = in["accessIPv4"].(string)
	cr.accessIPv6, _ = in["accessIPv6"].(string)
	cr.adminPass, _ = in["adminPass"].(string)
	cr.hostname, _ = in["hostname"].(string)
	if d, ok := in["description"].(string); ok {
		cr.description = &d
	}
	if d, ok := in["OS-DCF:diskConfig"].(string); ok {
		cr.diskConfig = d
	}
	if ud, ok := in["user_data"].(string); ok {
		if _, err := base64.StdEncoding.DecodeString(ud); err != nil {
			return nil, core.BadRequest("Invalid input for field/attribute user_data. Value: %s. %s is not a 'base64'", ud, pyRepr(ud))
		}
		cr.userData = ud
	}
	if c, ok := in["config_drive"]; ok {
		cr.configDrive, _ = asBool(c)
	}
	if c, ok := in["return_reservation_id"]; ok {
		cr.returnResv, _ = asBool(c)
	}
	if c, ok := in["min_count"]; ok {
		cr.minCount, _ = asInt(c)
		cr.maxCount = cr.minCount
	}
	if c, ok := in["max_count"]; ok {
		cr.maxCount, _ = asInt(c)
		if _, ok := in["min_count"]; !ok {
			cr.minCount = 1
		}
	}
	if cr.minCount > cr.maxCount {
		return nil, core.BadRequest("min_count must be <= max_count")
	}
	if m, ok := in["metadata"].(map[string]any); ok {
		for k, val := range m {
			sv, ok := val.(string)
			if !ok {
				return nil, core.BadRequest("Invalid input for field/attribute metadata. Value: %s. %s is not of type 'string'", pyRepr(m), pyRepr(val))
			}
			if len(k) == 0 || len(k) > 255 || len(sv) > 255 {
				return nil, core.BadRequest("Invalid input for field/attribute metadata. Value: %s. Metadata keys and values are 1 to 255 characters", pyRepr(m))
			}
			cr.meta[k] = sv
		}
	}
	if ts, ok := in["tags"].([]any); ok {
		for _, t := range ts {
			if !slices.Contains(cr.tags, t.(string)) {
				cr.tags = append(cr.tags, t.(string))
			}
		}
	}
	if sgs, ok := in["security_groups"].([]any); ok {
		for _, sg := range sgs {
			if name, ok := sg.(map[string]any)["name"].(string); ok && !slices.Contains(cr.sgNames, name) {
				cr.sgNames = append(cr.sgNames, name)
			}
		}
	}
	for _, k := range []string{"block_device_mapping_v2", "block_device_mapping"} {
		if l, ok := in[k].([]any); ok {
			for _, b := range l {
				cr.bdms = append(cr.bdms, b.(map[string]any))
			}
		}
	}
	switch nets := in["networks"].(type) {
	case string:
		if nets != "auto" && nets != "none" {
			return nil, core.BadRequest("Invalid input for field/attribute networks. Value: %s. %s is not valid under any of the given schemas", nets, pyRepr(nets))
		}
		cr.netMode = nets
	case []any:
		seenPorts := map[string]bool{}
		for _, e := range nets {
			m := e.(map[string]any)
			q := netRequest{}
			q.FixedIP, _ = m["fixed_ip"].(string)
			q.PortID, _ = m["port"].(string)
			q.Tag, _ = m["tag"].(string)
			if q.PortID != "" {
				if seenPorts[q.PortID] {
					return nil, core.BadRequest("Port ID '%s' was specified twice: you cannot attach a port multiple times.", q.PortID)
				}
				seenPorts[q.PortID] = true
				if q.FixedIP != "" {
					return nil, core.BadRequest("Specified Fixed IP '%s' cannot be used with port '%s': the two cannot be specified together.", q.FixedIP, q.PortID)
				}
			} else {
				u, ok := m["uuid"].(string)
				if !ok {
					return nil, core.BadRequest("Bad network format: missing 'uuid'")
				}
				if !uuidRE.MatchString(u) {
					return nil, core.BadRequest("Bad networks format: network uuid is not in proper format (%s)", u)
				}
				q.NetworkID = u
			}
			cr.nets = append(cr.nets, q)
		}
		if cr.maxCount > 1 {
			for _, q := range cr.nets {
				if q.PortID != "" {
					return nil, core.BadRequest("Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.")
				}
			}
		}
	}
	for _, k := range []string{"os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"} {
		if h, ok := top[k].(map[string]any); ok {
			if g, ok := h["group"].(string); ok {
				cr.group = g
			}
		}
	}
	if cr.az != "" && cr.az != AZ {
		// "nova:host" style zones name a host; only AZ exists.
		zone, _, _ := strings.Cut(cr.az, ":")
		if zone != AZ {
			return nil, core.BadRequest("The requested availability zone is not available")
		}
	}
	// The flavor.
	flavorRef := pyStr(in["flavorRef"])
	if i := strings.LastIndex(flavorRef, "/"); i >= 0 {
		flavorRef = flavorRef[i+1:]
	}
	_ = n.state.View(func(s *state) error {
		if f, err := s.flavor(caller, flavorRef); err == nil {
			cp := *f
			cr.flavor = &cp
		}
		if cr.keyName != "" {
			if kp := s.Keypairs[keypairKey(caller.UserID, cr.keyName)]; kp != nil {
				cr.keyData = kp.PublicKey
			}
		}
		return nil
	})
	if cr.flavor == nil {
		return nil, core.BadRequest("Flavor %s could not be found.", flavorRef)
	}
	if cr.flavor.Disabled {
		return nil, core.BadRequest("Flavor is disabled.")
	}
	if cr.keyName != "" && cr.keyData == "" {
		return nil, core.BadRequest("Invalid key_name provided.")
	}
	if i := strings.LastIndex(cr.imageRef, "/"); i >= 0 {
		cr.imageRef = cr.imageRef[i+1:]
	}
	return cr, nil
}

// bootVolume describes a block_device_mapping_v2 entry once checked.
type bootVolume struct {
	sourceType, destType, uuid string
	size                       int
	bootIndex                  *int
	deleteOnTermination        bool
	tag, device                string
}

func (n *Nova) checkBDMs(r *http.Request, cr *createRequest) ([]bootVolume, error) {
	var out []bootVolume
	for _, m := range cr.bdms {
		b := bootVolume{}
		b.sourceType, _ = m["source_type"].(string)
		b.destType, _ = m["destination_type"].(string)
		b.uuid, _ = m["uuid"].(string)
		b.tag, _ = m["tag"].(string)
		b.device, _ = m["device_name"].(string)
		if b.uuid == "" {
			if id, ok := m["volume_id"].(string); ok {
				b.sourceType, b.destType, b.uuid = "volume", "volume", id
			}
		}
		if s, ok := m["volume_size"]; ok && s != nil {
			var ok2 bool
			if b.size, ok2 = asInt(s); !ok2 || b.size < 0 {
				return nil, core.BadRequest("Invalid input for field/attribute volume_size. Value: %s.", pyRepr(s))
			}
		}
		if d, ok := m["delete_on_termination"]; ok {
			b.deleteOnTermination, _ = asBool(d)
		}
		if bi, ok := m["boot_index"]; ok && bi != nil {
			i, ok := asInt(bi)
			if !ok {
				return nil, core.BadRequest("Invalid input for field/attribute boot_index. Value: %s.", pyRepr(bi))
			}
			b.bootIndex = &i
		}
		if b.destType == "" {
			b.destType = "volume"
			if b.sourceType == "image" || b.sourceType == "blank" {
				b.destType = "local"
			}
		}
		switch {
		case b.destType == "local":
			continue
		case b.sourceType == "volume":
			if n.volumeType() == "" {
				return nil, core.BadRequest("Block Device Mapping is Invalid: failed to get volume %s.", b.uuid)
			}
			vol, err := n.volume(r, b.uuid)
			if err != nil {
				return nil, core.BadRequest("Block Device Mapping is Invalid: failed to get volume %s.", b.uuid)
			}
			if vol.Status != "available" {
				return nil, core.BadRequest("Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", b.uuid, vol.Status)
			}
		case b.sourceType == "image" || b.sourceType == "blank" || b.sourceType == "snapshot":
			if n.volumeType() == "" {
				return nil, core.BadRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
			}
			if b.size <= 0 && b.sourceType != "snapshot" {
				return nil, core.BadRequest("Block Device Mapping is Invalid: You specified more local devices than the limit allows")
			}
		default:
			return nil, core.BadRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
		}
		out = append(out, b)
	}
	return out, nil
}

// imageInfo is the part of a Glance image Nova checks.
type imageInfo struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	MinDisk int    `json:"min_disk"`
	MinRAM  int    `json:"min_ram"`
	Name    string `json:"name"`
	Disk    string `json:"disk_format"`
}

func (n *Nova) image(r *http.Request, id string) (*imageInfo, error) {
	var img imageInfo
	if err := n.call(r, "image", "GET", "/v2/images/"+id, nil, nil, &img); err != nil {
		if s := callStatus(err); s == http.StatusNotFound || s == http.StatusBadRequest {
			return nil, core.BadRequest("Can not find requested image")
		}
		return nil, core.BadRequest("%s", callMessage(err))
	}
	if img.Status != "active" {
		return nil, core.BadRequest("Image %s is not active.", id)
	}
	return &img, nil
}

func (n *Nova) createServer(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	v := core.MicroversionOf(r)
	cr, err := n.parseCreate(r)
	if err != nil {
		return err
	}
	bvs, err := n.checkBDMs(r, cr)
	if err != nil {
		return err
	}
	bootFromVolume := false
	for _, b := range bvs {
		if b.bootIndex != nil && *b.bootIndex == 0 {
			bootFromVolume = true
		}
	}
	if cr.imageRef == "" && !bootFromVolume {
		return core.BadRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
	}
	if cr.imageRef != "" && !bootFromVolume {
		img, err := n.image(r, cr.imageRef)
		if err != nil {
			return err
		}
		if img.MinRAM > cr.flavor.RAM {
			return core.BadRequest("Flavor's memory is too small for requested image.")
		}
		if cr.flavor.Disk > 0 && img.MinDisk > cr.flavor.Disk {
			return core.BadRequest("Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is %d bytes, minimum size is %d bytes.", cr.flavor.Disk<<30, img.MinDisk<<30)
		}
	} else if bootFromVolume {
		cr.imageRef = ""
	}
	nets, err := n.resolveNetworks(r, cr.netMode, cr.nets)
	if err != nil {
		return err
	}
	sgIDs, err := n.securityGroupIDs(r, cr.sgNames)
	if err != nil {
		return err
	}
	bareMetal := resourceClass(cr.flavor.ExtraSpecs) != ""
	host := ComputeHost
	if bareMetal {
		host = IronicHost
	}
	// Records, quota and group membership in one update.
	now := n.env.Now()
	resv := "r-" + core.NewSecret(6)
	var servers []*Server
	err = n.state.Update(func(s *state) error {
		used := map[string]int{}
		for _, o := range s.Servers {
			if o.ProjectID == caller.ProjectID && !o.gone(now) && !o.Deleting {
				used["instances"]++
				used["cores"] += o.Flavor.VCPUs
				used["ram"] += o.Flavor.RAM
			}
		}
		count := cr.maxCount
		for _, res := range []string{"instances", "cores", "ram"} {
			per := map[string]int{"instances": 1, "cores": cr.flavor.VCPUs, "ram": cr.flavor.RAM}[res]
			limit := s.Quotas.Limit(caller.ProjectID, res)
			for limit >= 0 && count >= cr.minCount && used[res]+per*count > limit {
				count--
			}
			if count < cr.minCount {
				return core.Forbidden("Quota exceeded for %s: Requested %d, but already used %d of %d %s",
					res, per*cr.minCount, used[res], limit, res)
			}
		}
		if len(cr.meta) > 0 && !s.Quotas.Allows(caller.ProjectID, "metadata_items", 0, len(cr.meta)) {
			return core.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items",
				len(cr.meta), s.Quotas.Limit(caller.ProjectID, "metadata_items"))
		}
		var group *ServerGroup
		if cr.group != "" {
			group = s.Groups[cr.group]
			if group == nil || !caller.CanSee(group.ProjectID) {
				return core.BadRequest("Instance group %s could not be found.", cr.group)
			}
			if !s.Quotas.Allows(caller.ProjectID, "server_group_members", len(group.Members), count) {
				return core.Forbidden("Quota exceeded, too many servers in group")
			}
		}
		for i := 0; i < count; i++ {
			s.Serial++
			name := cr.name
			if count > 1 {
				name = fmt.Sprintf("%s-%d", cr.name, i+1)
			}
			hostname := cr.hostname
			if hostname == "" {
				hostname = hostnameOf(name)
			}
			srv := &Server{ID: core.NewUUID(), Name: name, ProjectID: caller.ProjectID, UserID: caller.UserID,
				Lifecycle: core.Begin(n.env, "BUILD", "ACTIVE"), Task: "spawning",
				Flavor: snap(cr.flavor), ImageID: cr.imageRef, KeyName: cr.keyName, KeyData: cr.keyData,
				Metadata: cr.meta, Tags: append([]string{}, cr.tags...), SecurityGroups: cr.sgNames,
				AZ: AZ, RequestedAZ: cr.az, UserData: cr.userData, ConfigDrive: cr.configDrive, Description: cr.description,
				Hostname: hostname, AccessIPv4: cr.accessIPv4, AccessIPv6: cr.accessIPv6, DiskConfig: cr.diskConfig,
				Host: host, InstanceName: fmt.Sprintf("instance-%08x", s.Serial), ReservationID: resv, LaunchIndex: i,
				Created: now, Updated: now, BareMetal: bareMetal, Group: cr.group, AdminPass: cr.adminPass}
			if srv.Tags == nil {
				srv.Tags = []string{}
			}
			if len(srv.SecurityGroups) == 0 {
				srv.SecurityGroups = []string{"default"}
			}
			if srv.AdminPass == "" {
				srv.AdminPass = core.NewSecret(9)[:12]
			}
			if !bareMetal {
				srv.Node = ComputeHost
				launched := srv.Lifecycle.At
				if launched.IsZero() {
					launched = now
				}
				srv.Launched = &launched
			}
			if group != nil {
				group.Members = append(group.Members, srv.ID)
			}
			s.Servers[srv.ID] = srv
			servers = append(servers, copyServer(srv))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, srv := range servers {
		n.build(r, srv, nets, sgIDs, bvs)
	}
	first := servers[0]
	if cr.returnResv {
		core.WriteJSON(w, http.StatusAccepted, map[string]any{"reservation_id": resv})
		return nil
	}
	b := map[string]any{"id": first.ID, "links": links(r, "servers", first.ID), "OS-DCF:diskConfig": first.DiskConfig}
	sgs := []map[string]string{}
	for _, g := range first.SecurityGroups {
		sgs = append(sgs, map[string]string{"name": g})
	}
	b["security_groups"] = sgs
	b["adminPass"] = first.AdminPass
	_ = v
	w.Header().Set("Location", core.ServiceURL(r)+"/v2.1/servers/"+first.ID)
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"server": b})
	return nil
}

func snap(f *Flavor) FlavorSnap {
	specs := map[string]string{}
	for k, v := range f.ExtraSpecs {
		specs[k] = v
	}
	return FlavorSnap{ID: f.ID, Name: f.Name, VCPUs: f.VCPUs, RAM: f.RAM, Disk: f.Disk, Ephemeral: f.Ephemeral, Swap: f.Swap, ExtraSpecs: specs}
}

// build does what the conductor and the compute host do: place a
// bare-metal server on an Ironic node, create its ports, attach its
// volumes. A failure puts the server in ERROR with a fault, as in Nova.
func (n *Nova) build(r *http.Request, srv *Server, nets []netRequest, sgIDs []string, bvs []bootVolume) {
	fail := func(code int, msg, details string) {
		_ = n.state.Update(func(s *state) error {
			if cur := s.Servers[srv.ID]; cur != nil {
				cur.Set("ERROR")
				cur.Task = ""
				cur.Fault = &Fault{Code: code, Message: msg, Details: details, Created: n.env.Now()}
				cur.Host, cur.Node = "", ""
			}
			return nil
		})
	}
	node := ""
	if srv.BareMetal {
		var err error
		if node, err = n.placeOnNode(r, srv); err != nil {
			fail(500, "No valid host was found. There are not enough hosts available.", err.Error())
			return
		}
	}
	var ports []Port
	for _, q := range nets {
		p, err := n.allocatePort(r, srv.ID, q, sgIDs, srv.Host)
		if err != nil {
			for _, done := range ports {
				n.releasePort(r, done)
			}
			if node != "" {
				n.releaseNode(r, node)
			}
			fail(500, "Build of instance "+srv.ID+" aborted: "+callMessage(err), callMessage(err))
			return
		}
		ports = append(ports, p)
	}
	var atts []Attachment
	for i, b := range bvs {
		a, err := n.attachBootVolume(r, srv, b, i)
		if err != nil {
			fail(500, "Build of instance "+srv.ID+" aborted: Failure prepping block device.", callMessage(err))
			return
		}
		atts = append(atts, a)
	}
	_ = n.state.Update(func(s *state) error {
		cur := s.Servers[srv.ID]
		if cur == nil {
			return nil
		}
		cur.Ports = append(cur.Ports, ports...)
		cur.Volumes = append(cur.Volumes, atts...)
		if node != "" {
			cur.Node = node
			launched := cur.Lifecycle.At
			if launched.IsZero() {
				launched = n.env.Now()
			}
			cur.Launched = &launched
		}
		return nil
	})
}

// Server update.

func (n *Nova) updateServer(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props := map[string]*schema{
		"name":              {Type: "string", MinLen: 1, MaxLen: 255, Format: "name"},
		"accessIPv4":        {Type: "string"},
		"accessIPv6":        {Type: "string"},
		"OS-DCF:diskConfig": {Type: "string", Enum: []any{"AUTO", "MANUAL"}},
	}
	if v.AtLeast("2.19") {
		props["description"] = &schema{Types: []string{"string", "null"}, MaxLen: 255}
	}
	if v.AtLeast("2.90") {
		props["hostname"] = &schema{Type: "string", MinLen: 2, MaxLen: 255}
	}
	if err := validate(obj([]string{"server"}, map[string]*schema{"server": obj(nil, props)}), body); err != nil {
		return err
	}
	in := body.(map[string]any)["server"].(map[string]any)
	var out *Server
	err = n.state.Update(func(s *state) error {
		srv, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if name, ok := in["name"].(string); ok {
			srv.Name = name
		}
		if a, ok := in["accessIPv4"].(string); ok {
			srv.AccessIPv4 = a
		}
		if a, ok := in["accessIPv6"].(string); ok {
			srv.AccessIPv6 = a
		}
		if d, ok := in["OS-DCF:diskConfig"].(string); ok {
			srv.DiskConfig = d
		}
		if d, ok := in["description"]; ok {
			if s, ok := d.(string); ok {
				srv.Description = &s
			} else {
				srv.Description = nil
			}
		}
		if h, ok := in["hostname"].(string); ok {
			srv.Hostname = h
		}
		srv.Updated = n.env.Now()
		out = copyServer(srv)
		return nil
	})
	if err != nil {
		return err
	}
	rd := n.renderer(r, []*Server{out})
	var b map[string]any
	if v.AtLeast("2.75") {
		b = rd.show(out)
	} else {
		b = rd.show(out)
		for _, k := range []string{"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname",
			"OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state", "OS-EXT-AZ:availability_zone",
			"config_drive", "key_name", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "security_groups",
			"os-extended-volumes:volumes_attached", "host_status"} {
			delete(b, k)
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"server": b})
	return nil
}

// Server delete.

func (n *Nova) deleteServer(w http.ResponseWriter, r *http.Request) error {
	var srv *Server
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		if cur.Deleting {
			srv = nil
			return nil
		}
		cur.Deleting = true
		st := cur.status(n.env.Now())
		cur.Lifecycle = core.Begin(n.env, st, "deleted")
		cur.Task = "deleting"
		for _, g := range s.Groups {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == cur.ID })
		}
		srv = copyServer(cur)
		return nil
	})
	if err != nil {
		return err
	}
	if srv != nil {
		n.teardown(r, srv)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// teardown releases what a deleted server held: ports, volumes, its node.
func (n *Nova) teardown(r *http.Request, srv *Server) {
	for _, p := range srv.Ports {
		n.releasePort(r, p)
	}
	for _, a := range srv.Volumes {
		n.detach(r, srv, a)
		if a.DeleteOnTermination {
			n.deleteVolume(r, a.VolumeID)
		}
	}
	if srv.BareMetal && srv.Node != "" && srv.Node != ComputeHost {
		n.releaseNode(r, srv.Node)
	}
	// Drop servers whose deletion finished, so the state does not grow.
	now := n.env.Now()
	_ = n.state.Update(func(s *state) error {
		for id, o := range s.Servers {
			if o.gone(now) {
				delete(s.Servers, id)
			}
		}
		return nil
	})
}

func lockedCheck(r *http.Request, srv *Server) error {
	caller := core.IdentityOf(r)
	if srv.Locked && !caller.IsAdmin() {
		return core.Conflict("Instance %s is locked", srv.ID)
	}
	return nil
}
