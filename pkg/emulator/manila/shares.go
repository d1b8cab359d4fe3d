package manila

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// exportHost is the address export locations name.
const exportHost = "127.0.0.1"

func shareNotFound() error { return core.NotFound("The resource could not be found.") }

// purge drops shares and rules that finished deleting.
func (s *state) purge(now time.Time) {
	for id, sh := range s.Shares {
		if sh.Current(now) == "deleted" {
			delete(s.Shares, id)
		}
	}
	for id, r := range s.Rules {
		if r.Current(now) == "deleted" || s.Shares[r.ShareID] == nil {
			delete(s.Rules, id)
		}
	}
}

// share finds a share the caller may see: its project's, a public one,
// or any for an admin.
func (s *state) share(r *http.Request, id string, now time.Time) (*Share, error) {
	sh := s.Shares[id]
	caller := core.IdentityOf(r)
	if sh == nil || sh.Current(now) == "deleted" || !(caller.CanSee(sh.ProjectID) || sh.IsPublic) {
		return nil, shareNotFound()
	}
	return sh, nil
}

// ownedShare is share for changes: a public share of another project is
// visible but not the caller's to change (403, as the share policy says).
func (s *state) ownedShare(r *http.Request, id, policy string, now time.Time) (*Share, error) {
	sh, err := s.share(r, id, now)
	if err != nil {
		return nil, err
	}
	if !core.IdentityOf(r).CanSee(sh.ProjectID) {
		return nil, core.Forbidden("Policy doesn't allow share:%s to be performed.", policy)
	}
	return sh, nil
}

// rulesOf returns a share's live rules in creation order.
func (s *state) rulesOf(shareID string, now time.Time) []*AccessRule {
	var out []*AccessRule
	for _, r := range s.Rules {
		if r.ShareID == shareID && r.Current(now) != "deleted" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// accessRulesStatus is the share instance's access_rules_status: syncing
// while a rule is being applied or denied.
func (s *state) accessRulesStatus(shareID string, now time.Time) string {
	for _, r := range s.rulesOf(shareID, now) {
		if r.Pending(now) {
			return "syncing"
		}
	}
	return "active"
}

func exportPath(sh *Share) string {
	if sh.Proto == "CIFS" {
		return `\\` + exportHost + `\share-` + sh.InstanceID
	}
	return exportHost + ":/var/lib/manila/mnt/share-" + sh.InstanceID
}

// shareBody is the detailed view at the request's microversion
// (api/views/shares.py).
func (s *state) shareBody(r *http.Request, sh *Share, now time.Time) map[string]any {
	v := core.MicroversionOf(r)
	caller := core.IdentityOf(r)
	var typeName any
	if t := s.Types[sh.TypeID]; t != nil {
		typeName = t.Name
	}
	status := sh.Current(now)
	b := map[string]any{
		"id": sh.ID, "size": sh.Size, "availability_zone": AZ, "created_at": formatTime(sh.CreatedAt),
		"status": status, "name": sh.Name, "description": sh.Description, "project_id": sh.ProjectID,
		"snapshot_id": nil, "share_network_id": nilIfEmpty(sh.NetworkID), "share_proto": sh.Proto,
		"metadata": orEmpty(sh.Metadata), "share_type": typeName, "volume_type": typeName,
		"links": links(r, "shares", sh.ID), "is_public": sh.IsPublic,
	}
	if v.Less(core.MustVersion("2.9")) {
		if status == "available" || status == "extending" || status == "shrinking" {
			b["export_location"] = exportPath(sh)
			b["export_locations"] = []string{exportPath(sh)}
		} else {
			b["export_location"] = nil
			b["export_locations"] = []string{}
		}
	}
	t := s.Types[sh.TypeID]
	spec := func(k string) bool {
		if t == nil {
			return false
		}
		on, _ := boolValue(t.ExtraSpecs[k])
		return on
	}
	if v.AtLeast("2.2") {
		b["snapshot_support"] = spec("snapshot_support")
	}
	if v.AtLeast("2.5") {
		b["task_state"] = nil
	}
	if v.AtLeast("2.6") {
		b["share_type_name"] = typeName
		b["share_type"] = sh.TypeID
	}
	if v.AtLeast("2.10") {
		st := s.accessRulesStatus(sh.ID, now)
		if st == "syncing" && !v.AtLeast("2.28") {
			st = "out_of_sync"
		}
		b["access_rules_status"] = st
	}
	if v.AtLeast("2.11") {
		b["replication_type"] = nil
		b["has_replicas"] = false
	}
	if v.AtLeast("2.16") {
		b["user_id"] = sh.UserID
	}
	if v.AtLeast("2.24") {
		b["create_share_from_snapshot_support"] = spec("create_share_from_snapshot_support")
	}
	if v.AtLeast("2.27") {
		b["revert_to_snapshot_support"] = spec("revert_to_snapshot_support")
	}
	if v.AtLeast("2.31") {
		b["share_group_id"] = nil
		b["source_share_group_snapshot_member_id"] = nil
	}
	if v.AtLeast("2.32") {
		b["mount_snapshot_support"] = spec("mount_snapshot_support")
	}
	if v.AtLeast("2.54") {
		progress := "0%"
		if status != "creating" {
			progress = "100%"
		}
		b["progress"] = progress
	}
	if v.AtLeast("2.69") {
		b["is_soft_deleted"] = false
		b["scheduled_to_be_deleted_at"] = nil
	}
	if caller.IsAdmin() {
		b["share_server_id"] = nil
		b["host"] = "emulator@lvm#lvm-single-pool"
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (m *Manila) listShares(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseList(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		sortKey, sortDir := q.Get("sort_key"), q.Get("sort_dir")
		if sortKey == "" {
			sortKey = "created_at"
		}
		if sortDir == "" {
			sortDir = "desc"
		}
		if sortDir != "asc" && sortDir != "desc" {
			return core.BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
		}
		var meta map[string]string
		if s := q.Get("metadata"); s != "" {
			var ok bool
			if meta, ok = parseDict(s); !ok {
				return core.BadRequest("Invalid input received: metadata must be a dict.")
			}
		}
		// No share is ever soft-deleted here (no recycle bin): asking for
		// the soft-deleted ones lists none.
		softDeleted, _ := boolValue(q.Get("is_soft_deleted"))
		now := m.env.Now()
		return m.state.View(func(s *state) error {
			var shares []*Share
			for _, sh := range s.Shares {
				if sh.Current(now) == "deleted" || !(visibleProject(r, sh.ProjectID) || (sh.IsPublic && q.Get("is_public") == "true")) {
					continue
				}
				if softDeleted || !matchShare(s, sh, q, meta, now) {
					continue
				}
				shares = append(shares, sh)
			}
			val := func(sh *Share) string {
				switch sortKey {
				case "name", "display_name":
					return deref(sh.Name)
				case "size":
					return strconv.Itoa(1e9 + sh.Size)
				case "status":
					return sh.Current(now)
				case "id":
					return sh.ID
				case "share_proto":
					return sh.Proto
				case "updated_at":
					return sh.UpdatedAt.Format(time.RFC3339Nano)
				}
				return sh.CreatedAt.Format(time.RFC3339Nano)
			}
			sort.SliceStable(shares, func(i, j int) bool {
				a, b := val(shares[i]), val(shares[j])
				if a == b {
					a, b = shares[i].ID, shares[j].ID
				}
				if sortDir == "asc" {
					return a < b
				}
				return a > b
			})
			total := len(shares)
			pg, more := paginate(shares, func(sh *Share) string { return sh.ID }, lp)
			list := make([]map[string]any, 0, len(pg))
			for _, sh := range pg {
				if detail {
					list = append(list, s.shareBody(r, sh, now))
				} else {
					list = append(list, map[string]any{"id": sh.ID, "name": sh.Name, "links": links(r, "shares", sh.ID)})
				}
			}
			out := map[string]any{"shares": list}
			if len(pg) > 0 {
				if l := nextLinks(r, "shares", more, pg[len(pg)-1].ID); l != nil {
					out["shares_links"] = l
				}
			}
			if detail && core.MicroversionOf(r).AtLeast("2.42") && q.Has("with_count") {
				out["count"] = total
			}
			core.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	}
}

func matchShare(s *state, sh *Share, q map[string][]string, meta map[string]string, now time.Time) bool {
	var typeName string
	if t := s.Types[sh.TypeID]; t != nil {
		typeName = t.Name
	}
	checks := map[string]func(string) bool{
		"name":             func(v string) bool { return deref(sh.Name) == v },
		"status":           func(v string) bool { return sh.Current(now) == v },
		"share_type_id":    func(v string) bool { return sh.TypeID == v || typeName == v },
		"share_network_id": func(v string) bool { return sh.NetworkID == v },
		"name~":            func(v string) bool { return strings.Contains(deref(sh.Name), v) },
		"description~":     func(v string) bool { return strings.Contains(deref(sh.Description), v) },
		"export_location_id": func(v string) bool {
			return sh.ExportID == v
		},
		"export_location_path": func(v string) bool { return exportPath(sh) == v },
	}
	for k, check := range checks {
		if vals, ok := q[k]; ok && len(vals) > 0 && !check(vals[0]) {
			return false
		}
	}
	for k, v := range meta {
		if sh.Metadata[k] != v {
			return false
		}
	}
	return true
}

func (m *Manila) showShare(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		sh, err := s.share(r, r.PathValue("share_id"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"share": s.shareBody(r, sh, now)})
		return nil
	})
}

func (m *Manila) createShare(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["share"].(map[string]any)
	if !ok {
		return unprocessable()
	}
	caller := core.IdentityOf(r)
	name, _, err := optString(in, "name")
	if err != nil {
		return err
	}
	desc, _, err := optString(in, "description")
	if err != nil {
		return err
	}
	// Manila keeps an empty name or description as given (None).
	if name != nil && *name == "" {
		name = nil
	}
	if desc != nil && *desc == "" {
		desc = nil
	}
	public := false
	if raw, ok := in["is_public"]; ok {
		b, valid := boolValue(raw)
		if !valid {
			return core.BadRequest("Invalid value '%s' for is_public. Accepted values: True or False.", strValue(raw))
		}
		public = b
	}
	meta := map[string]string{}
	if raw, ok := in["metadata"]; ok && raw != nil {
		if meta, err = checkMetadata(raw); err != nil {
			return err
		}
	}
	if _, hasST := in["share_type"]; hasST {
		if _, hasVT := in["volume_type"]; hasVT {
			return core.BadRequest("Cannot specify both share_type and volume_type")
		}
	}
	typeRef := strValue(in["share_type"])
	if in["share_type"] == nil {
		typeRef = strValue(in["volume_type"])
		if in["volume_type"] == nil {
			typeRef = ""
		}
	}
	if az, ok := in["availability_zone"]; ok && az != nil && az != "" && az != AZ {
		return core.NotFound("Availability zone %s could not be found.", strValue(az))
	}
	if sg, ok := in["share_group_id"]; ok && sg != nil && sg != "" && core.MicroversionOf(r).AtLeast("2.31") {
		return core.NotFound("Share group %s could not be found.", strValue(sg))
	}
	if snap, ok := in["snapshot_id"]; ok && snap != nil && snap != "" {
		return core.NotFound("Snapshot %s could not be found.", strValue(snap))
	}
	netID := ""
	if n, ok := in["share_network_id"]; ok && n != nil {
		netID = strValue(n)
	}
	now := m.env.Now()
	sh := &Share{ID: core.NewUUID(), ProjectID: caller.ProjectID, UserID: caller.UserID, Name: name, Description: desc,
		IsPublic: public, Metadata: meta, InstanceID: core.NewUUID(), ExportID: core.NewUUID(), NetworkID: netID,
		CreatedAt: now, UpdatedAt: now}
	err = m.state.Update(func(s *state) error {
		s.purge(now)
		if netID != "" {
			if n := s.Networks[netID]; n == nil || !caller.CanSee(n.ProjectID) {
				return core.NotFound("Share network %s could not be found.", netID)
			}
		}
		var t *ShareType
		if typeRef != "" {
			for _, o := range s.Types {
				if (o.ID == typeRef || o.Name == typeRef) && typeVisible(r, o) {
					t = o
				}
			}
			if t == nil {
				return core.NotFound("Share type not found.")
			}
		} else {
			t = s.Types[s.DefaultType]
		}
		if t != nil && netID == "" {
			if dhss, _ := boolValue(t.ExtraSpecs["driver_handles_share_servers"]); dhss {
				return core.BadRequest("Share network must be set when the driver_handles_share_servers is true.")
			}
		}
		size, ok := sizeOf(in["size"])
		if !ok {
			return core.BadRequest("Invalid input received: Share size '%s' must be an integer and greater than 0.", strValue(in["size"]))
		}
		proto, _ := in["share_proto"].(string)
		if !slices.Contains(Protocols, strings.ToUpper(proto)) {
			return core.BadRequest("Invalid input received: Invalid share protocol provided: %s. It is either disabled or unsupported. Available protocols: ['NFS', 'CIFS'].",
				strValue(in["share_proto"]))
		}
		if l := s.Quotas.Limit(caller.ProjectID, "per_share_gigabytes"); l >= 0 && size > l {
			return quotaExceeded("Requested share size %d is larger than maximum allowed limit %d.", size, l)
		}
		u := s.usage(caller.ProjectID, now)
		if !s.Quotas.Allows(caller.ProjectID, "gigabytes", u["gigabytes"], size) {
			return quotaExceeded("Requested share exceeds allowed project/user or share type gigabytes quota.")
		}
		if !s.Quotas.Allows(caller.ProjectID, "shares", u["shares"], 1) {
			return quotaExceeded("Maximum number of shares allowed (%d) either per project/user or share type quota is exceeded.",
				s.Quotas.Limit(caller.ProjectID, "shares"))
		}
		sh.Size, sh.Proto = size, strings.ToUpper(proto)
		if t != nil {
			sh.TypeID = t.ID
		}
		sh.Lifecycle = core.Begin(m.env, "creating", "available")
		s.Shares[sh.ID] = sh
		return nil
	})
	if err != nil {
		return err
	}
	return m.state.View(func(s *state) error {
		core.WriteJSON(w, http.StatusOK, map[string]any{"share": s.shareBody(r, sh, now)})
		return nil
	})
}

// sizeOf is strutils.is_int_like(size) and int(size) > 0.
func sizeOf(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) && x > 0 {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(x)
		if err == nil && n > 0 {
			return n, true
		}
	}
	return 0, false
}

// usage is a project's consumption by quota resource.
func (s *state) usage(project string, now time.Time) map[string]int {
	u := map[string]int{}
	for _, sh := range s.Shares {
		if sh.ProjectID == project && sh.Current(now) != "deleted" {
			u["shares"]++
			u["gigabytes"] += sh.Size
		}
	}
	for _, n := range s.Networks {
		if n.ProjectID == project {
			u["share_networks"]++
		}
	}
	return u
}

func (m *Manila) updateShare(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["share"].(map[string]any)
	if !ok {
		return unprocessable()
	}
	name, setName, err := optString(in, "display_name")
	if err != nil {
		return err
	}
	desc, setDesc, err := optString(in, "display_description")
	if err != nil {
		return err
	}
	var public *bool
	if raw, ok := in["is_public"]; ok {
		b, valid := boolValue(raw)
		if !valid {
			return core.BadRequest("Invalid value '%s' for is_public. Accepted values: True or False.", strValue(raw))
		}
		public = &b
	}
	now := m.env.Now()
	var out map[string]any
	err = m.state.Update(func(s *state) error {
		s.purge(now)
		sh, err := s.ownedShare(r, r.PathValue("share_id"), "update", now)
		if err != nil {
			return err
		}
		if setName {
			sh.Name = name
		}
		if setDesc {
			sh.Description = desc
		}
		if public != nil {
			sh.IsPublic = *public
		}
		sh.UpdatedAt = now
		out = s.shareBody(r, sh, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"share": out})
	return nil
}

func (m *Manila) deleteShare(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		sh, err := s.ownedShare(r, r.PathValue("share_id"), "delete", now)
		if err != nil {
			return err
		}
		return s.deleteShare(m.env, sh, false, now)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *state) deleteShare(env *core.Env, sh *Share, force bool, now time.Time) error {
	settle(&sh.Lifecycle, now)
	if st := sh.Current(now); !force && st != "available" && st != "error" && st != "inactive" {
		return core.Forbidden("Invalid share: Share status must be one of ('available', 'error', 'inactive').")
	}
	sh.Lifecycle = core.Begin(env, "deleting", "deleted")
	sh.UpdatedAt = now
	return nil
}

// settle fixes a finished transition into the stored status.
func settle(l *core.Lifecycle, now time.Time) {
	if l.Next != "" && !l.Pending(now) {
		l.Set(l.Current(now))
	}
}

// --- export locations (2.9+)

func exportBody(r *http.Request, sh *Share, detail bool) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"id": sh.ExportID, "path": exportPath(sh)}
	if v.AtLeast("2.14") {
		b["preferred"] = true
	}
	if core.IdentityOf(r).IsAdmin() {
		b["share_instance_id"] = sh.InstanceID
		b["is_admin_only"] = false
	}
	if detail {
		b["created_at"] = formatTime(sh.CreatedAt)
		b["updated_at"] = formatTime(sh.UpdatedAt)
	}
	return b
}

func (m *Manila) listExportLocations(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		sh, err := s.share(r, r.PathValue("share_id"), now)
		if err != nil {
			return core.NotFound("Share %s could not be found.", r.PathValue("share_id"))
		}
		list := []map[string]any{}
		if st := sh.Current(now); st != "creating" && st != "error" {
			list = append(list, exportBody(r, sh, false))
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"export_locations": list})
		return nil
	})
}

func (m *Manila) showExportLocation(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		sh, err := s.share(r, r.PathValue("share_id"), now)
		if err != nil {
			return core.NotFound("Share %s could not be found.", r.PathValue("share_id"))
		}
		id := r.PathValue("export_id")
		if id != sh.ExportID || sh.Current(now) == "creating" {
			return core.NotFound("Export location %s could not be found.", id)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"export_location": exportBody(r, sh, true)})
		return nil
	})
}

// --- metadata

type metaOp int

const (
	metaIndex metaOp = iota
	metaCreate
	metaReplace
	metaShow
	metaUpdateItem
	metaDelete
)

func (m *Manila) shareMetadata(op metaOp) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in map[string]string
		if op == metaCreate || op == metaReplace || op == metaUpdateItem {
			body, err := decodeBody(r)
			if err != nil {
				return err
			}
			raw, ok := body["metadata"]
			if !ok {
				return core.BadRequest("Malformed request body")
			}
			if in, err = checkMetadata(raw); err != nil {
				return err
			}
			if op == metaUpdateItem {
				if _, ok := in[r.PathValue("key")]; !ok {
					return core.BadRequest("Request body and URI mismatch")
				}
				if len(in) > 1 {
					return core.BadRequest("Request body contains too many items")
				}
			}
		}
		now := m.env.Now()
		id, key := r.PathValue("share_id"), r.PathValue("key")
		if op == metaIndex || op == metaShow {
			return m.state.View(func(s *state) error {
				sh, err := s.share(r, id, now)
				if err != nil {
					return core.NotFound("Share not found.")
				}
				if op == metaIndex {
					core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": orEmpty(sh.Metadata)})
					return nil
				}
				v, ok := sh.Metadata[key]
				if !ok {
					return core.NotFound("Metadata item is not found.")
				}
				core.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: v}})
				return nil
			})
		}
		var out map[string]string
		err := m.state.Update(func(s *state) error {
			s.purge(now)
			sh, err := s.share(r, id, now)
			if err != nil {
				return core.NotFound("Share not found.")
			}
			if !core.IdentityOf(r).CanSee(sh.ProjectID) {
				return core.Forbidden("Policy doesn't allow share:update_share_metadata to be performed.")
			}
			if sh.Metadata == nil {
				sh.Metadata = map[string]string{}
			}
			switch op {
			case metaCreate, metaUpdateItem:
				for k, v := range in {
					sh.Metadata[k] = v
				}
			case metaReplace:
				sh.Metadata = in
			case metaDelete:
				if _, ok := sh.Metadata[key]; !ok {
					return core.NotFound("Metadata item is not found.")
				}
				delete(sh.Metadata, key)
			}
			out = map[string]string{}
			for k, v := range sh.Metadata {
				out[k] = v
			}
			sh.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if op == metaDelete {
			w.WriteHeader(http.StatusOK)
			return nil
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}
