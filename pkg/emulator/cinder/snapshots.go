package cinder

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (sn *Snapshot) id() string { return sn.ID }

func (sn *Snapshot) sortValue(key string) (any, bool) {
	switch key {
	case "id":
		return sn.ID, true
	case "name", "display_name":
		return sn.Name, true
	case "size", "volume_size":
		return sn.Size, true
	case "status":
		return sn.Status, true
	case "created_at":
		return sn.CreatedAt, true
	case "updated_at":
		return sn.UpdatedAt, true
	case "volume_id":
		return sn.VolumeID, true
	case "project_id":
		return sn.ProjectID, true
	}
	return nil, false
}

func snapshotNotFound(id string) error { return core.NotFound("Snapshot %s could not be found.", id) }

func (s *state) snapshot(r *http.Request, id string, now time.Time) (*Snapshot, error) {
	sn := s.Snapshots[id]
	if sn == nil || !core.IdentityOf(r).CanSee(sn.ProjectID) || sn.Current(now) == "deleted" {
		return nil, snapshotNotFound(id)
	}
	return sn, nil
}

// snapshotBody is the snapshot view with the extended attributes
// (os-extended-snapshot-attributes) and the microversioned fields.
func snapshotBody(r *http.Request, sn *Snapshot, now time.Time) map[string]any {
	mv := core.MicroversionOf(r)
	status := sn.Current(now)
	progress := "0%"
	if status == "available" {
		progress = "100%"
	}
	b := map[string]any{
		"id": sn.ID, "created_at": formatTime(sn.CreatedAt), "updated_at": formatTime(sn.UpdatedAt),
		"name": sn.Name, "description": sn.Description, "volume_id": sn.VolumeID, "status": status,
		"size": sn.Size, "metadata": orEmpty(sn.Metadata),
		"os-extended-snapshot-attributes:progress":   progress,
		"os-extended-snapshot-attributes:project_id": sn.ProjectID,
	}
	if mv.AtLeast("3.14") {
		b["group_snapshot_id"] = nil
	}
	if mv.AtLeast("3.41") {
		b["user_id"] = sn.UserID
	}
	if mv.AtLeast("3.65") {
		b["consumes_quota"] = true
	}
	return b
}

func (c *Cinder) listSnapshots(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseList(r, "created_at")
		if err != nil {
			return err
		}
		f := filtersOf(r, "name", "status", "volume_id", "metadata", "availability_zone")
		var meta map[string]string
		if s := f.Get("metadata"); s != "" {
			var ok bool
			if meta, ok = parseDictQuery(s); !ok {
				return core.BadRequest("Invalid input received: Invalid filter metadata")
			}
		}
		now := c.env.Now()
		return c.state.View(func(s *state) error {
			var snaps []*Snapshot
			for _, sn := range s.Snapshots {
				if !visibleProject(r, sn.ProjectID) || sn.Current(now) == "deleted" {
					continue
				}
				if names, ok := f["name"]; ok && !slices.Contains(names, deref(sn.Name)) {
					continue
				}
				if !core.MatchFilters(f, map[string]string{"status": sn.Current(now), "volume_id": sn.VolumeID, "availability_zone": AZ}) {
					continue
				}
				match := true
				for k, v := range meta {
					if sn.Metadata[k] != v {
						match = false
					}
				}
				if match {
					snaps = append(snaps, sn)
				}
			}
			pg, more, err := page(snaps, lp, snapshotNotFound)
			if err != nil {
				return err
			}
			list := make([]map[string]any, 0, len(pg))
			for _, sn := range pg {
				list = append(list, snapshotBody(r, sn, now))
			}
			out := map[string]any{"snapshots": list}
			coll := "snapshots"
			if detail {
				coll = "snapshots/detail"
			}
			if len(pg) > 0 {
				if l := nextLinks(r, coll, more, pg[len(pg)-1].ID); l != nil {
					out["snapshots_links"] = l
				}
			}
			if core.MicroversionOf(r).AtLeast("3.45") && r.URL.Query().Has("with_count") {
				out["count"] = len(snaps)
			}
			core.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	}
}

func (c *Cinder) showSnapshot(w http.ResponseWriter, r *http.Request) error {
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		sn, err := s.snapshot(r, r.PathValue("snapshot_id"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotBody(r, sn, now)})
		return nil
	})
}

const snapshotInUseFlagMsg = "Since microversion 3.66 the 'force' flag is invalid for this request. For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored."

func (c *Cinder) createSnapshot(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "snapshot"); err != nil {
		return err
	}
	in, err := checkObject(body, "snapshot")
	if err != nil {
		return err
	}
	if err := onlyKeys("snapshot", in, "name", "display_name", "description", "volume_id", "force", "metadata"); err != nil {
		return err
	}
	rawVol, ok := in["volume_id"]
	if !ok {
		return fieldError("snapshot", in, "'volume_id' is a required property")
	}
	volID, _ := rawVol.(string)
	if rawVol != nil && (volID == "" || !uuidRE.MatchString(volID)) {
		return fieldError("volume_id", rawVol, "%s is not valid under any of the given schemas", pyRepr(rawVol))
	}
	var name, desc *string
	for _, k := range []string{"display_name", "name"} {
		s, ok, err := optString(in, k, 255)
		if err != nil {
			return err
		}
		if ok {
			name = s
		}
	}
	if s, _, err := optString(in, "description", 255); err != nil {
		return err
	} else {
		desc = s
	}
	force := false
	if raw, ok := in["force"]; ok {
		if force, err = boolParam("force", raw); err != nil {
			return err
		}
		if core.MicroversionOf(r).AtLeast("3.66") && !force {
			return core.BadRequest(snapshotInUseFlagMsg)
		}
	}
	meta := map[string]string{}
	if raw, ok := in["metadata"]; ok && raw != nil {
		md, err := stringMap("metadata", raw, specKeyRE, false)
		if err != nil {
			return err
		}
		meta = plainMap(md)
	}
	allowInUse := force || core.MicroversionOf(r).AtLeast("3.66")
	caller := core.IdentityOf(r)
	now := c.env.Now()
	sn := &Snapshot{ID: core.NewUUID(), ProjectID: caller.ProjectID, UserID: caller.UserID, VolumeID: volID,
		Name: name, Description: desc, Metadata: meta, CreatedAt: now, UpdatedAt: now}
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		v, err := s.volume(r, volID, now)
		if err != nil {
			return err
		}
		st := v.Current(now)
		valid := []string{"available"}
		if allowInUse {
			valid = append(valid, "in-use")
		}
		if st == "maintenance" {
			return core.BadRequest("Invalid volume: The snapshot cannot be created when the volume is in maintenance mode.")
		}
		if !slices.Contains(valid, st) {
			return core.BadRequest("Invalid volume: Volume %s status must be %s, but current status is: %s.", v.ID, strings.Join(valid, ", "), st)
		}
		u := s.usage(caller.ProjectID, now)
		if !s.Quotas.Allows(caller.ProjectID, "snapshots", u["snapshots"], 1) {
			return quotaExceeded("Maximum number of snapshots allowed (%d) exceeded", s.Quotas.Limit(caller.ProjectID, "snapshots"))
		}
		if !s.Quotas.Allows(caller.ProjectID, "gigabytes", u["gigabytes"], v.Size) {
			return quotaExceeded("Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
				v.Size, s.Quotas.Limit(caller.ProjectID, "gigabytes"), u["gigabytes"])
		}
		sn.Size = v.Size
		sn.Lifecycle = core.Begin(c.env, "creating", "available")
		s.Snapshots[sn.ID] = sn
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": snapshotBody(r, sn, now)})
	return nil
}

func (c *Cinder) updateSnapshot(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "snapshot"); err != nil {
		return err
	}
	in, err := checkObject(body, "snapshot")
	if err != nil {
		return err
	}
	if err := onlyKeys("snapshot", in, "name", "description", "display_name", "display_description"); err != nil {
		return err
	}
	if len(in) == 0 {
		return fieldError("snapshot", in, "{} is not valid under any of the given schemas")
	}
	var name, desc *string
	var setName, setDesc bool
	for _, k := range []string{"display_name", "name"} {
		s, ok, err := optString(in, k, 255)
		if err != nil {
			return err
		}
		if ok {
			name, setName = s, true
		}
	}
	for _, k := range []string{"display_description", "description"} {
		s, ok, err := optString(in, k, 255)
		if err != nil {
			return err
		}
		if ok {
			desc, setDesc = s, true
		}
	}
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		sn, err := s.snapshot(r, r.PathValue("snapshot_id"), now)
		if err != nil {
			return err
		}
		if setName {
			sn.Name = name
		}
		if setDesc {
			sn.Description = desc
		}
		sn.UpdatedAt = now
		out = snapshotBody(r, sn, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": out})
	return nil
}

func (c *Cinder) deleteSnapshot(w http.ResponseWriter, r *http.Request) error {
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		sn, err := s.snapshot(r, r.PathValue("snapshot_id"), now)
		if err != nil {
			return err
		}
		return s.deleteSnapshot(c.env, sn, false, now)
	})
}

func (s *state) deleteSnapshot(env *core.Env, sn *Snapshot, force bool, now time.Time) error {
	settle(&sn.Lifecycle, now)
	if st := sn.Current(now); !force && st != "available" && st != "error" {
		return core.BadRequest("Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")
	}
	for _, v := range s.Volumes {
		if v.SnapshotID == sn.ID && v.Current(now) == "creating" {
			return core.BadRequest("Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")
		}
	}
	sn.Lifecycle = core.Begin(env, "deleting", "deleted")
	sn.UpdatedAt = now
	return nil
}

// snapshotAction: os-reset_status and os-force_delete (admin),
// os-update_snapshot_status (the Nova-assisted snapshot flow's).
func (c *Cinder) snapshotAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	name, arg, err := action(body)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	var status string
	switch name {
	case "os-reset_status", "os-update_snapshot_status":
		m, ok := arg.(map[string]any)
		if !ok {
			return checkType(name, arg, "object")
		}
		status, _ = m["status"].(string)
		if status == "" {
			return fieldError(name, m, "'status' is a required property")
		}
		valid := []string{"creating", "available", "deleting", "error", "error_deleting", "unmanaging", "backing-up", "restoring"}
		if !slices.Contains(valid, status) {
			return core.BadRequest("Snapshot status: %s is invalid, valid statuses are: %s.", status, strings.Join(valid, ", "))
		}
		if name == "os-reset_status" && !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.")
		}
	case "os-force_delete":
		if !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed.")
		}
	default:
		return noSuchAction(name)
	}
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		sn, err := s.snapshot(r, r.PathValue("snapshot_id"), now)
		if err != nil {
			return err
		}
		if name == "os-force_delete" {
			return s.deleteSnapshot(c.env, sn, true, now)
		}
		sn.Set(status)
		sn.UpdatedAt = now
		return nil
	})
}

func (c *Cinder) snapshotMetadata(op metaOp) core.HandlerFunc {
	return c.metadataHandler(op, func(s *state, r *http.Request, now time.Time) (*map[string]string, *time.Time, func(string) error, error) {
		sn, err := s.snapshot(r, r.PathValue("snapshot_id"), now)
		if err != nil {
			return nil, nil, nil, err
		}
		noKey := func(k string) error { return core.NotFound("Snapshot %s has no metadata with key %s.", sn.ID, k) }
		return &sn.Metadata, &sn.UpdatedAt, noKey, nil
	})
}
