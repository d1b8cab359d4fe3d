package cinder

import (
	"net/http"
	"slices"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (b *Backup) id() string { return b.ID }

func (b *Backup) sortValue(key string) (any, bool) {
	switch key {
	case "id":
		return b.ID, true
	case "name", "display_name":
		return b.Name, true
	case "size":
		return b.Size, true
	case "status":
		return b.Status, true
	case "created_at":
		return b.CreatedAt, true
	case "updated_at":
		return b.UpdatedAt, true
	case "volume_id":
		return b.VolumeID, true
	}
	return nil, false
}

func backupNotFound(id string) error { return core.NotFound("Backup %s could not be found.", id) }

func (s *state) backup(r *http.Request, id string, now time.Time) (*Backup, error) {
	b := s.Backups[id]
	if b == nil || !core.IdentityOf(r).CanSee(b.ProjectID) || b.Current(now) == "deleted" {
		return nil, backupNotFound(id)
	}
	return b, nil
}

func backupBody(r *http.Request, b *Backup, now time.Time) map[string]any {
	mv := core.MicroversionOf(r)
	status := b.Current(now)
	objects := 0
	if status == "available" {
		objects = b.Size
	}
	out := map[string]any{
		"id": b.ID, "status": status, "size": b.Size, "object_count": objects, "availability_zone": AZ,
		"container": b.Container, "created_at": formatTime(b.CreatedAt), "updated_at": formatTime(b.UpdatedAt),
		"name": b.Name, "description": b.Description, "fail_reason": nil, "volume_id": b.VolumeID,
		"links": links(r, "backups", b.ID), "is_incremental": b.Incremental, "has_dependent_backups": b.HasDependent,
		"snapshot_id": b.SnapshotID, "data_timestamp": formatTime(b.CreatedAt),
	}
	if mv.AtLeast("3.18") {
		out["os-backup-project-attr:project_id"] = b.ProjectID
	}
	if mv.AtLeast("3.43") {
		out["metadata"] = orEmpty(b.Metadata)
	}
	if mv.AtLeast("3.56") {
		out["user_id"] = b.UserID
	}
	return out
}

func (c *Cinder) listBackups(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseList(r, "created_at")
		if err != nil {
			return err
		}
		f := filtersOf(r, "name", "status", "volume_id")
		now := c.env.Now()
		return c.state.View(func(s *state) error {
			var list []*Backup
			for _, b := range s.Backups {
				if !visibleProject(r, b.ProjectID) || b.Current(now) == "deleted" {
					continue
				}
				if names, ok := f["name"]; ok && !slices.Contains(names, deref(b.Name)) {
					continue
				}
				if core.MatchFilters(f, map[string]string{"status": b.Current(now), "volume_id": b.VolumeID}) {
					list = append(list, b)
				}
			}
			pg, more, err := page(list, lp, backupNotFound)
			if err != nil {
				return err
			}
			bodies := make([]map[string]any, 0, len(pg))
			for _, b := range pg {
				if detail {
					bodies = append(bodies, backupBody(r, b, now))
				} else {
					bodies = append(bodies, map[string]any{"id": b.ID, "name": b.Name, "links": links(r, "backups", b.ID)})
				}
			}
			out := map[string]any{"backups": bodies}
			coll := "backups"
			if detail {
				coll = "backups/detail"
			}
			if len(pg) > 0 {
				if l := nextLinks(r, coll, more, pg[len(pg)-1].ID); l != nil {
					out["backups_links"] = l
				}
			}
			core.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	}
}

func (c *Cinder) showBackup(w http.ResponseWriter, r *http.Request) error {
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		b, err := s.backup(r, r.PathValue("backup_id"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"backup": backupBody(r, b, now)})
		return nil
	})
}

func (c *Cinder) createBackup(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "backup"); err != nil {
		return err
	}
	in, err := checkObject(body, "backup")
	if err != nil {
		return err
	}
	mv := core.MicroversionOf(r)
	allowed := []string{"volume_id", "container", "description", "incremental", "force", "name", "snapshot_id"}
	if mv.AtLeast("3.43") {
		allowed = append(allowed, "metadata")
	}
	if mv.AtLeast("3.51") {
		allowed = append(allowed, "availability_zone")
	}
	if err := onlyKeys("backup", in, allowed...); err != nil {
		return err
	}
	rawVol, ok := in["volume_id"]
	if !ok {
		return fieldError("backup", in, "'volume_id' is a required property")
	}
	volID, isStr := rawVol.(string)
	if !isStr {
		return checkType("volume_id", rawVol, "string")
	}
	if !uuidRE.MatchString(volID) {
		return fieldError("volume_id", rawVol, "%s is not a 'uuid'", pyRepr(rawVol))
	}
	name, _, err := optString(in, "name", 255)
	if err != nil {
		return err
	}
	desc, _, err := optString(in, "description", 255)
	if err != nil {
		return err
	}
	container, _, err := optString(in, "container", 255)
	if err != nil {
		return err
	}
	var incremental, force bool
	if raw, ok := in["incremental"]; ok {
		if incremental, err = boolParam("incremental", raw); err != nil {
			return err
		}
	}
	if raw, ok := in["force"]; ok {
		if force, err = boolParam("force", raw); err != nil {
			return err
		}
	}
	snapID, err := optUUID(in, "snapshot_id")
	if err != nil {
		return err
	}
	meta := map[string]string{}
	if raw, ok := in["metadata"]; ok && raw != nil {
		md, err := stringMap("metadata", raw, specKeyRE, false)
		if err != nil {
			return err
		}
		meta = plainMap(md)
	}
	caller := core.IdentityOf(r)
	now := c.env.Now()
	b := &Backup{ID: core.NewUUID(), ProjectID: caller.ProjectID, UserID: caller.UserID, VolumeID: volID,
		Name: name, Description: desc, Incremental: incremental, Metadata: meta, CreatedAt: now, UpdatedAt: now}
	if snapID != "" {
		b.SnapshotID = &snapID
	}
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		v, err := s.volume(r, volID, now)
		if err != nil {
			return err
		}
		settle(&v.Lifecycle, now)
		st := v.Current(now)
		if snapID != "" {
			sn, err := s.snapshot(r, snapID, now)
			if err != nil {
				return err
			}
			if sn.VolumeID != v.ID {
				return core.BadRequest("Invalid volume: Volume %s does not match with snapshot.volume_id %s.", v.ID, sn.VolumeID)
			}
			if sst := sn.Current(now); sst != "available" {
				return core.BadRequest("Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"%s\".", sst)
			}
		} else if st != "available" && st != "in-use" {
			return core.BadRequest("Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"%s\".", st)
		} else if st == "in-use" && !force {
			return core.BadRequest("Invalid volume: Backing up an in-use volume must use the force flag.")
		}
		if incremental {
			var parent *Backup
			for _, o := range s.Backups {
				if o.VolumeID == v.ID && o.Current(now) != "deleted" && (parent == nil || o.CreatedAt.After(parent.CreatedAt)) {
					parent = o
				}
			}
			if parent == nil {
				return core.BadRequest("Invalid backup: No backups available to do an incremental backup.")
			}
			if parent.Current(now) != "available" {
				return core.BadRequest("Invalid backup: The parent backup must be available for incremental backup.")
			}
			parent.HasDependent = true
		}
		u := s.usage(caller.ProjectID, now)
		if !s.Quotas.Allows(caller.ProjectID, "backups", u["backups"], 1) {
			return quotaExceeded("Maximum number of backups allowed (%d) exceeded", s.Quotas.Limit(caller.ProjectID, "backups"))
		}
		if !s.Quotas.Allows(caller.ProjectID, "backup_gigabytes", u["backup_gigabytes"], v.Size) {
			return quotaExceeded("Requested backup exceeds allowed Backup gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
				v.Size, s.Quotas.Limit(caller.ProjectID, "backup_gigabytes"), u["backup_gigabytes"])
		}
		if container == nil {
			def := "volumebackups"
			container = &def
		}
		b.Container, b.Size = container, v.Size
		b.Lifecycle = core.Begin(c.env, "creating", "available")
		if snapID == "" {
			v.Lifecycle = core.Begin(c.env, "backing-up", st)
		}
		s.Backups[b.ID] = b
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"backup": map[string]any{"id": b.ID, "name": b.Name, "links": links(r, "backups", b.ID)}})
	return nil
}

func (c *Cinder) updateBackup(w http.ResponseWriter, r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("3.9") {
		return core.NotFound("The resource could not be found.")
	}
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "backup"); err != nil {
		return err
	}
	in, err := checkObject(body, "backup")
	if err != nil {
		return err
	}
	allowed := []string{"name", "description"}
	if core.MicroversionOf(r).AtLeast("3.43") {
		allowed = append(allowed, "metadata")
	}
	if err := onlyKeys("backup", in, allowed...); err != nil {
		return err
	}
	name, setName, err := optString(in, "name", 255)
	if err != nil {
		return err
	}
	desc, setDesc, err := optString(in, "description", 255)
	if err != nil {
		return err
	}
	var meta map[string]string
	if raw, ok := in["metadata"]; ok && raw != nil {
		md, err := stringMap("metadata", raw, specKeyRE, false)
		if err != nil {
			return err
		}
		meta = plainMap(md)
	}
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		b, err := s.backup(r, r.PathValue("backup_id"), now)
		if err != nil {
			return err
		}
		if setName {
			b.Name = name
		}
		if setDesc {
			b.Description = desc
		}
		if meta != nil {
			b.Metadata = meta
		}
		b.UpdatedAt = now
		out = backupBody(r, b, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"backup": out})
	return nil
}

func (c *Cinder) deleteBackup(w http.ResponseWriter, r *http.Request) error {
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		b, err := s.backup(r, r.PathValue("backup_id"), now)
		if err != nil {
			return err
		}
		return s.deleteBackup(c.env, b, false, now)
	})
}

func (s *state) deleteBackup(env *core.Env, b *Backup, force bool, now time.Time) error {
	settle(&b.Lifecycle, now)
	if st := b.Current(now); !force && st != "available" && st != "error" {
		return core.BadRequest("Invalid backup: Backup status must be available or error")
	}
	if b.HasDependent {
		for _, o := range s.Backups {
			if o.VolumeID == b.VolumeID && o.Incremental && o.CreatedAt.After(b.CreatedAt) && o.Current(now) != "deleted" {
				return core.BadRequest("Invalid backup: Incremental backups exist for this backup.")
			}
		}
	}
	b.Lifecycle = core.Begin(env, "deleting", "deleted")
	b.UpdatedAt = now
	return nil
}

func (c *Cinder) restoreBackup(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "restore"); err != nil {
		return err
	}
	in, err := checkObject(body, "restore")
	if err != nil {
		return err
	}
	if err := onlyKeys("restore", in, "volume_id", "name"); err != nil {
		return err
	}
	volID, err := optUUID(in, "volume_id")
	if err != nil {
		return err
	}
	name, _, err := optString(in, "name", 255)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		b, err := s.backup(r, r.PathValue("backup_id"), now)
		if err != nil {
			return err
		}
		if b.Current(now) != "available" {
			return core.BadRequest("Invalid backup: Backup status must be available")
		}
		var v *Volume
		if volID != "" {
			if v, err = s.volume(r, volID, now); err != nil {
				return err
			}
			settle(&v.Lifecycle, now)
			if v.Current(now) != "available" {
				return core.BadRequest("Invalid volume: Volume to be restored to must be available")
			}
			if v.Size < b.Size {
				return core.BadRequest("Invalid volume: volume size %d is too small to restore backup of size %d.", v.Size, b.Size)
			}
		} else {
			if err := s.checkVolumeQuota(caller.ProjectID, 1, b.Size, b.Size, now); err != nil {
				return err
			}
			if name == nil {
				n := "restore_backup_" + b.ID
				name = &n
			}
			desc := "auto-created_from_restore_from_backup"
			v = &Volume{ID: core.NewUUID(), ProjectID: caller.ProjectID, UserID: caller.UserID, Name: name, Description: &desc,
				Size: b.Size, AZ: AZ, TypeID: s.DefaultType, Metadata: map[string]string{}, AttachStatus: "detached",
				CreatedAt: now, UpdatedAt: now}
			s.Volumes[v.ID] = v
		}
		v.Lifecycle = core.Begin(c.env, "restoring-backup", "available")
		b.Lifecycle = core.Begin(c.env, "restoring", "available")
		out = map[string]any{"backup_id": b.ID, "volume_id": v.ID, "volume_name": v.Name}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusAccepted, map[string]any{"restore": out})
	return nil
}

// backupAction: os-reset_status and os-force_delete (admin).
func (c *Cinder) backupAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	name, arg, err := action(body)
	if err != nil {
		return err
	}
	if name != "os-reset_status" && name != "os-force_delete" {
		return noSuchAction(name)
	}
	if !core.IdentityOf(r).IsAdmin() {
		return core.Forbidden("Policy doesn't allow volume_extension:backup_admin_actions:%s to be performed.", name[3:])
	}
	var status string
	if name == "os-reset_status" {
		m, _ := arg.(map[string]any)
		status, _ = m["status"].(string)
		if status != "available" && status != "error" {
			return core.BadRequest("Backup status: %s is invalid, valid statuses are: available, error.", status)
		}
	}
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		b, err := s.backup(r, r.PathValue("backup_id"), now)
		if err != nil {
			return err
		}
		if name == "os-force_delete" {
			return s.deleteBackup(c.env, b, true, now)
		}
		b.Set(status)
		b.UpdatedAt = now
		return nil
	})
}
