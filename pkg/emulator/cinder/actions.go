package cinder

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// volumeAction serves POST /volumes/{id}/action: the volume actions of
// cinder/api/contrib/volume_actions.py and admin_actions.py that clients
// and Nova send.
func (c *Cinder) volumeAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	name, arg, err := action(body)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	mv := core.MicroversionOf(r)
	id := r.PathValue("volume_id")
	now := c.env.Now()

	// Arguments are validated before the volume is looked up, as the
	// schema decorators run first.
	var args map[string]any
	needsObject := map[string]bool{"os-attach": true, "os-detach": false, "os-initialize_connection": true,
		"os-terminate_connection": true, "os-extend": true, "os-retype": true, "os-set_bootable": true,
		"os-update_readonly_flag": true, "os-reset_status": true, "revert": true, "os-set_image_metadata": true,
		"os-unset_image_metadata": true}
	if required, known := needsObject[name]; known {
		m, isObj := arg.(map[string]any)
		switch {
		case isObj:
			args = m
		case arg == nil && !required:
			args = map[string]any{}
		default:
			return checkType(name, arg, "object")
		}
	}
	admin := func(policy string) error {
		if !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow volume_extension:volume_admin_actions:%s to be performed.", policy)
		}
		return nil
	}

	switch name {
	case "os-extend":
		if err := onlyKeys(name, args, "new_size"); err != nil {
			return err
		}
		raw, err := requiredArg(name, args, "new_size")
		if err != nil {
			return err
		}
		size, err := sizeParam("new_size", raw)
		if err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			st := v.Current(now)
			inUse := st == "in-use" && mv.AtLeast("3.42")
			if size <= v.Size {
				return core.BadRequest("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, size)
			}
			if st != "available" && !inUse {
				expected := "{'status': 'available'}"
				if mv.AtLeast("3.42") {
					expected = "{'status': 'in-use'}"
				}
				return core.BadRequest("Invalid volume: Volume %s status must be '%s' to extend, currently %s.", v.ID, expected, st)
			}
			if err := s.checkVolumeQuota(v.ProjectID, 0, size-v.Size, size, now); err != nil {
				return err
			}
			v.Size = size
			v.Lifecycle = core.Begin(c.env, "extending", st)
			return nil
		})
	case "os-retype":
		if err := onlyKeys(name, args, "new_type", "migration_policy"); err != nil {
			return err
		}
		ref, err := requiredString(name, args, "new_type")
		if err != nil {
			return err
		}
		if p, ok := args["migration_policy"]; ok && p != nil && p != "never" && p != "on-demand" {
			return fieldError("migration_policy", p, "%s is not one of ['on-demand', 'never']", pyRepr(p))
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			t, err := s.findType(r, ref)
			if err != nil {
				return err
			}
			st := v.Current(now)
			if (st != "available" && st != "in-use") || t.ID == v.TypeID {
				return core.BadRequest("Invalid volume: Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.")
			}
			v.TypeID = t.ID
			v.Multiattach = t.ExtraSpecs["multiattach"] == "<is> True"
			v.Lifecycle = core.Begin(c.env, "retyping", st)
			return nil
		})
	case "os-set_bootable":
		if err := onlyKeys(name, args, "bootable"); err != nil {
			return err
		}
		on, err := requiredBool(name, args, "bootable")
		if err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusOK, func(s *state, v *Volume) error {
			v.Bootable = on
			return nil
		})
	case "os-update_readonly_flag":
		if err := onlyKeys(name, args, "readonly"); err != nil {
			return err
		}
		on, err := requiredBool(name, args, "readonly")
		if err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if st := v.Current(now); st != "available" {
				return core.BadRequest("Invalid volume: Volume %s status must be available to update readonly flag, but current status is: %s.", v.ID, st)
			}
			v.Readonly = on
			return nil
		})
	case "os-reserve":
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			st := v.Current(now)
			expected := []string{"available"}
			if v.Multiattach {
				expected = append(expected, "in-use")
			}
			if !slices.Contains(expected, st) {
				return core.BadRequest("Invalid volume: Volume status must be %s to reserve, but the status is %s.", strings.Join(expected, " or "), st)
			}
			v.Set("attaching")
			return nil
		})
	case "os-unreserve":
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if v.Current(now) == "attaching" {
				v.Set(s.statusAfterAttachments(v.ID))
			}
			return nil
		})
	case "os-begin_detaching":
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if v.Current(now) != "in-use" || v.AttachStatus != "attached" {
				return core.BadRequest("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
			}
			v.Set("detaching")
			return nil
		})
	case "os-roll_detaching":
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if v.Current(now) == "detaching" {
				v.Set("in-use")
			}
			return nil
		})
	case "os-initialize_connection":
		if err := onlyKeys(name, args, "connector"); err != nil {
			return err
		}
		conn, err := requiredObject(name, args, "connector")
		if err != nil {
			return err
		}
		var info map[string]any
		err = c.updateVolumeState(nil, r, id, 0, func(s *state, v *Volume) error {
			if v.Current(now) == "maintenance" {
				return core.BadRequest("Invalid volume: The volume connection cannot be initialized in maintenance mode.")
			}
			info = map[string]any{"driver_volume_type": "iscsi", "data": iscsiData(v, conn, "")}
			return nil
		})
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"connection_info": info})
		return nil
	case "os-terminate_connection":
		if err := onlyKeys(name, args, "connector"); err != nil {
			return err
		}
		if _, err := requiredObject(name, args, "connector"); err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error { return nil })
	case "os-attach":
		if err := onlyKeys(name, args, "instance_uuid", "mountpoint", "host_name", "mode"); err != nil {
			return err
		}
		mount, err := requiredString(name, args, "mountpoint")
		if err != nil {
			return err
		}
		var instance, host *string
		if s, ok := args["instance_uuid"].(string); ok {
			if !uuidRE.MatchString(s) {
				return fieldError("instance_uuid", s, "%s is not a 'uuid'", pyRepr(s))
			}
			instance = &s
		}
		if s, ok := args["host_name"].(string); ok {
			host = &s
		}
		if instance == nil && host == nil {
			return core.BadRequest("Invalid request to attach volume to an invalid target")
		}
		mode := "rw"
		if m, ok := args["mode"]; ok {
			if m != "rw" && m != "ro" {
				return fieldError("mode", m, "%s is not one of ['rw', 'ro']", pyRepr(m))
			}
			mode = m.(string)
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			st := v.Current(now)
			if st == "maintenance" {
				return core.BadRequest("Invalid volume: The volume cannot be attached in maintenance mode.")
			}
			if v.Readonly && mode == "rw" {
				return core.BadRequest("Invalid attaching mode '%s' for volume %s.", mode, v.ID)
			}
			if st != "attaching" && st != "available" && !(st == "in-use" && v.Multiattach) {
				return core.BadRequest("Error attaching volume - InvalidVolume: Invalid volume: Volume status must be available or attaching to attach, but the status is %s.", st)
			}
			t := now
			a := &Attachment{ID: core.NewUUID(), VolumeID: v.ID, ProjectID: v.ProjectID, InstanceUUID: instance,
				Status: "attached", Mode: mode, Host: host, Mountpoint: &mount, AttachTime: &t, CreatedAt: now}
			s.Attachments[a.ID] = a
			v.Set("in-use")
			v.AttachStatus = "attached"
			return nil
		})
	case "os-detach":
		if err := onlyKeys(name, args, "attachment_id"); err != nil {
			return err
		}
		attID, _ := args["attachment_id"].(string)
		if raw, ok := args["attachment_id"]; ok && raw != nil {
			if _, isStr := raw.(string); !isStr {
				return checkType("attachment_id", raw, "string", "null")
			}
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if v.Current(now) == "maintenance" {
				return core.BadRequest("Invalid volume: The volume cannot be detached in maintenance mode.")
			}
			atts := s.sortedAttachments(v.ID)
			var target *Attachment
			switch {
			case attID != "":
				if a := s.Attachments[attID]; a != nil && a.VolumeID == v.ID {
					target = a
				}
			case len(atts) == 1:
				target = atts[0]
			case len(atts) > 1:
				return core.BadRequest("Error detaching volume - InvalidVolume: Invalid volume: Volume %s is attached to more than one instance: an attachment_id is required.", v.ID)
			}
			if target == nil {
				return core.BadRequest("Error detaching volume - VolumeAttachmentNotFound: Volume attachment could not be found with filter: attachment_id = %s.", attID)
			}
			delete(s.Attachments, target.ID)
			s.afterDetach(v)
			return nil
		})
	case "os-force_delete":
		if err := admin("force_delete"); err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			return s.deleteVolume(c.env, v, false, true, now)
		})
	case "os-reset_status":
		if err := admin("reset_status"); err != nil {
			return err
		}
		if err := onlyKeys(name, args, "status", "attach_status", "migration_status"); err != nil {
			return err
		}
		status, _ := args["status"].(string)
		attach, _ := args["attach_status"].(string)
		if status == "" && attach == "" {
			if _, ok := args["migration_status"]; !ok {
				return core.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for update.")
			}
		}
		valid := []string{"creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
			"attaching", "in-use", "detaching", "maintenance", "reserved", "downloading", "uploading", "retyping",
			"extending", "error_extending", "error_restoring", "awaiting-transfer", "backing-up", "restoring-backup"}
		if status != "" && !slices.Contains(valid, strings.ToLower(status)) {
			return core.BadRequest("Volume status: %s is invalid, valid statuses are: %s.", status, strings.Join(valid, ", "))
		}
		if attach != "" && attach != "attached" && attach != "detached" {
			return core.BadRequest("Volume attach status: %s is invalid, valid statuses are: attached, detached.", attach)
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			if status != "" {
				v.Set(strings.ToLower(status))
			}
			if attach != "" {
				v.AttachStatus = attach
				if attach == "detached" {
					for aid, a := range s.Attachments {
						if a.VolumeID == v.ID {
							delete(s.Attachments, aid)
						}
					}
				}
			}
			return nil
		})
	case "os-force_detach":
		if err := admin("force_detach"); err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			for aid, a := range s.Attachments {
				if a.VolumeID == v.ID {
					delete(s.Attachments, aid)
				}
			}
			s.afterDetach(v)
			return nil
		})
	case "revert":
		if !mv.AtLeast("3.40") {
			return noSuchAction(name)
		}
		snapID, _ := args["snapshot_id"].(string)
		return c.updateVolumeState(w, r, id, http.StatusAccepted, func(s *state, v *Volume) error {
			var latest *Snapshot
			for _, sn := range s.Snapshots {
				if sn.VolumeID == v.ID && sn.Current(now) != "deleted" && (latest == nil || sn.CreatedAt.After(latest.CreatedAt)) {
					latest = sn
				}
			}
			if latest == nil {
				return core.BadRequest("Volume %s doesn't have any snapshots.", v.ID)
			}
			if snapID != latest.ID {
				return core.BadRequest("Specified snapshot %s is None or not the latest one of volume %s.", pyStr(args["snapshot_id"]), v.ID)
			}
			if v.Size != latest.Size {
				return core.BadRequest("Can't revert volume %s to its latest snapshot %s. The volume size must be equal to the snapshot size.", v.ID, latest.ID)
			}
			if st := v.Current(now); st != "available" {
				return core.Conflict("Invalid volume: Volume status must be available to revert, current status is %s.", st)
			}
			v.Lifecycle = core.Begin(c.env, "reverting", "available")
			return nil
		})
	case "os-set_image_metadata":
		raw, err := requiredArg(name, args, "metadata")
		if err != nil {
			return err
		}
		md, err := stringMap("metadata", raw, specKeyRE, false)
		if err != nil {
			return err
		}
		var out map[string]string
		err = c.updateVolumeState(nil, r, id, 0, func(s *state, v *Volume) error {
			if v.ImageMetadata == nil {
				v.ImageMetadata = map[string]string{}
			}
			for k, val := range plainMap(md) {
				v.ImageMetadata[k] = val
			}
			out = v.ImageMetadata
			return nil
		})
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	case "os-unset_image_metadata":
		key, err := requiredString(name, args, "key")
		if err != nil {
			return err
		}
		return c.updateVolumeState(w, r, id, http.StatusOK, func(s *state, v *Volume) error {
			if _, ok := v.ImageMetadata[key]; !ok {
				return core.NotFound("Glance metadata for volume %s with key %s not found.", v.ID, key)
			}
			delete(v.ImageMetadata, key)
			return nil
		})
	case "os-show_image_metadata":
		return c.state.View(func(s *state) error {
			v, err := s.volume(r, id, now)
			if err != nil {
				return err
			}
			core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": orEmpty(v.ImageMetadata)})
			return nil
		})
	}
	return noSuchAction(name)
}

// updateVolumeState runs fn on the caller's visible volume under the
// lock and, when w is not nil, answers status with no body.
func (c *Cinder) updateVolumeState(w http.ResponseWriter, r *http.Request, id string, status int, fn func(*state, *Volume) error) error {
	now := c.env.Now()
	err := c.state.Update(func(s *state) error {
		s.purge(now)
		v, err := s.volume(r, id, now)
		if err != nil {
			return err
		}
		settle(&v.Lifecycle, now)
		if err := fn(s, v); err != nil {
			return err
		}
		v.UpdatedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	if w != nil {
		w.WriteHeader(status)
	}
	return nil
}

// statusAfterAttachments is what db.volume_detached leaves a volume in.
func (s *state) statusAfterAttachments(volumeID string) string {
	atts := s.sortedAttachments(volumeID)
	if len(atts) == 0 {
		return "available"
	}
	for _, a := range atts {
		if a.Status == "attached" {
			return "in-use"
		}
	}
	for _, a := range atts {
		if a.Status == "attaching" {
			return "attaching"
		}
	}
	return "reserved"
}

// afterDetach sets a volume's status and attach_status from the
// attachments it has left.
func (s *state) afterDetach(v *Volume) {
	v.Set(s.statusAfterAttachments(v.ID))
	v.AttachStatus = "detached"
	for _, a := range s.sortedAttachments(v.ID) {
		if a.Status == "attached" {
			v.AttachStatus = "attached"
		}
	}
}

func (s *state) sortedAttachments(volumeID string) []*Attachment {
	var out []*Attachment
	for _, a := range s.Attachments {
		if a.VolumeID == volumeID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *Attachment) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// iscsiData is the "data" of an LVM/iSCSI connection (what lvmdriver-1
// answers), for the connector the client gave.
func iscsiData(v *Volume, connector map[string]any, attachmentID string) map[string]any {
	mode := "rw"
	if v.Readonly {
		mode = "ro"
	}
	if m, ok := connector["mode"].(string); ok && (m == "ro" || m == "rw") {
		mode = m
	}
	d := map[string]any{
		"target_discovered": false, "target_portal": "127.0.0.1:3260",
		"target_iqn": "iqn.2010-10.org.openstack:volume-" + v.ID, "target_lun": 0,
		"volume_id": v.ID, "auth_method": "CHAP", "auth_username": "emulator",
		"auth_password": "emulator", "encrypted": false, "qos_specs": nil, "access_mode": mode,
		"cacheable": false,
	}
	if attachmentID != "" {
		d["attachment_id"] = attachmentID
	}
	return d
}

// --- the v3 attachments API (3.27+; os-complete 3.44+)

func (a *Attachment) id() string { return a.ID }

func (a *Attachment) sortValue(key string) (any, bool) {
	switch key {
	case "id":
		return a.ID, true
	case "created_at":
		return a.CreatedAt, true
	case "volume_id":
		return a.VolumeID, true
	case "attach_status", "status":
		return a.Status, true
	case "instance_uuid", "instance_id":
		return a.InstanceUUID, true
	}
	return nil, false
}

func attachmentNotFound(id string) error {
	return core.NotFound("Volume attachment could not be found with filter: attachment_id = %s.", id)
}

func (a *Attachment) summary() map[string]any {
	return map[string]any{"id": a.ID, "status": a.Status, "instance": a.InstanceUUID, "volume_id": a.VolumeID}
}

func (a *Attachment) detail() map[string]any {
	b := a.summary()
	b["attached_at"] = ""
	if a.AttachTime != nil {
		b["attached_at"] = formatTime(*a.AttachTime)
	}
	b["detached_at"] = ""
	b["attach_mode"] = a.Mode
	ci := a.ConnectionInfo
	if ci == nil {
		ci = map[string]any{}
	}
	b["connection_info"] = ci
	return b
}

func newAttachAPI(r *http.Request) error {
	if !core.MicroversionOf(r).AtLeast("3.27") {
		return core.NotFound("The resource could not be found.")
	}
	return nil
}

func (s *state) attachment(r *http.Request, id string) (*Attachment, error) {
	a := s.Attachments[id]
	if a == nil || !core.IdentityOf(r).CanSee(a.ProjectID) {
		return nil, attachmentNotFound(id)
	}
	return a, nil
}

func (c *Cinder) listAttachments(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := newAttachAPI(r); err != nil {
			return err
		}
		lp, err := parseList(r, "created_at")
		if err != nil {
			return err
		}
		f := filtersOf(r, "volume_id", "status", "instance_id", "attach_status")
		return c.state.View(func(s *state) error {
			var atts []*Attachment
			for _, a := range s.Attachments {
				if !visibleProject(r, a.ProjectID) {
					continue
				}
				fields := map[string]string{"volume_id": a.VolumeID, "status": a.Status, "attach_status": a.Status,
					"instance_id": deref(a.InstanceUUID)}
				if !core.MatchFilters(f, fields) {
					continue
				}
				atts = append(atts, a)
			}
			pg, _, err := page(atts, lp, attachmentNotFound)
			if err != nil {
				return err
			}
			list := make([]map[string]any, 0, len(pg))
			for _, a := range pg {
				if detail {
					list = append(list, a.detail())
				} else {
					list = append(list, a.summary())
				}
			}
			core.WriteJSON(w, http.StatusOK, map[string]any{"attachments": list})
			return nil
		})
	}
}

func (c *Cinder) showAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := newAttachAPI(r); err != nil {
		return err
	}
	return c.state.View(func(s *state) error {
		a, err := s.attachment(r, r.PathValue("attachment_id"))
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"attachment": a.detail()})
		return nil
	})
}

func (c *Cinder) createAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := newAttachAPI(r); err != nil {
		return err
	}
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "attachment"); err != nil {
		return err
	}
	in, err := checkObject(body, "attachment")
	if err != nil {
		return err
	}
	mv := core.MicroversionOf(r)
	allowed := []string{"instance_uuid", "connector", "volume_uuid"}
	if mv.AtLeast("3.54") {
		allowed = append(allowed, "mode")
	}
	if err := onlyKeys("attachment", in, allowed...); err != nil {
		return err
	}
	volID, err := requiredString("attachment", in, "volume_uuid")
	if err != nil {
		return err
	}
	if !uuidRE.MatchString(volID) {
		return fieldError("volume_uuid", volID, "%s is not a 'uuid'", pyRepr(volID))
	}
	var instance *string
	if raw, ok := in["instance_uuid"]; ok {
		s, isStr := raw.(string)
		if !isStr {
			return checkType("instance_uuid", raw, "string")
		}
		if !uuidRE.MatchString(s) {
			return fieldError("instance_uuid", s, "%s is not a 'uuid'", pyRepr(s))
		}
		instance = &s
	}
	var connector map[string]any
	if raw, ok := in["connector"]; ok && raw != nil {
		m, isObj := raw.(map[string]any)
		if !isObj {
			return checkType("connector", raw, "object", "null")
		}
		connector = m
	}
	mode := "null"
	if raw, ok := in["mode"]; ok {
		if raw != "rw" && raw != "ro" {
			return fieldError("mode", raw, "%s is not one of ['rw', 'ro']", pyRepr(raw))
		}
		mode = raw.(string)
	}
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		v, err := s.volume(r, volID, now)
		if err != nil {
			return err
		}
		settle(&v.Lifecycle, now)
		st := v.Current(now)
		if strings.Contains(st, "error") {
			return core.BadRequest("Invalid volume: Volume attachments can not be created if the volume is in an error state. The Volume %s currently has a status of: %s ", v.ID, st)
		}
		expected := []string{"available", "downloading"}
		if v.Multiattach {
			expected = []string{"available", "in-use", "downloading"}
		}
		if !slices.Contains(expected, st) {
			override := false
			if instance != nil && (st == "in-use" || st == "reserved") {
				for _, a := range s.sortedAttachments(v.ID) {
					if a.InstanceUUID != nil && *a.InstanceUUID == *instance {
						override = true
					}
				}
			}
			if !override {
				return core.BadRequest("Invalid volume: Volume %s status must be %s to reserve, but the current status is %s.", v.ID, strings.Join(expected, " or "), st)
			}
		}
		if v.Readonly {
			mode = "ro"
		}
		a := &Attachment{ID: core.NewUUID(), VolumeID: v.ID, ProjectID: v.ProjectID, InstanceUUID: instance,
			Status: "reserved", Mode: mode, CreatedAt: now}
		if st != "in-use" {
			v.Set("reserved")
		}
		if connector != nil {
			s.connect(v, a, connector, now)
		}
		s.Attachments[a.ID] = a
		v.UpdatedAt = now
		out = a.detail()
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"attachment": out})
	return nil
}

// connect is volume manager's attachment_update: the connection is made,
// the attachment and the volume are "attaching" until os-complete.
func (s *state) connect(v *Volume, a *Attachment, connector map[string]any, now time.Time) {
	if a.Mode != "null" && a.Mode != "" {
		connector["mode"] = a.Mode
	}
	mode, _ := connector["mode"].(string)
	if mode == "" {
		mode = "rw"
	}
	ci := iscsiData(v, connector, a.ID)
	ci["driver_volume_type"] = "iscsi"
	a.Connector, a.ConnectionInfo = connector, ci
	a.Status, a.Mode = "attaching", mode
	if h, ok := connector["host"].(string); ok {
		a.Host = &h
	}
	mp := "na"
	if m, ok := connector["mountpoint"].(string); ok {
		mp = m
	}
	a.Mountpoint = &mp
	t := now
	a.AttachTime = &t
	if v.Current(now) != "in-use" {
		v.Set("attaching")
	}
}

func (c *Cinder) updateAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := newAttachAPI(r); err != nil {
		return err
	}
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "attachment"); err != nil {
		return err
	}
	in, err := checkObject(body, "attachment")
	if err != nil {
		return err
	}
	if err := onlyKeys("attachment", in, "connector"); err != nil {
		return err
	}
	connector, err := requiredObject("attachment", in, "connector")
	if err != nil {
		return err
	}
	if len(connector) == 0 {
		return fieldError("connector", connector, "{} does not have enough properties")
	}
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		a, err := s.attachment(r, r.PathValue("attachment_id"))
		if err != nil {
			return err
		}
		v := s.Volumes[a.VolumeID]
		if v == nil {
			return attachmentNotFound(a.ID)
		}
		settle(&v.Lifecycle, now)
		if st := v.Current(now); strings.Contains(st, "error") {
			return core.BadRequest("Invalid volume: Volume attachments can not be updated if the volume is in an error state. The Volume %s currently has a status of: %s ", v.ID, st)
		}
		host, _ := connector["host"].(string)
		if !v.Multiattach {
			for _, o := range s.sortedAttachments(v.ID) {
				if o.ID != a.ID && o.ConnectionInfo != nil && o.Host != nil && *o.Host == host {
					return core.BadRequest("Invalid volume: duplicate connectors detected on volume %s", v.ID)
				}
			}
		}
		s.connect(v, a, connector, now)
		v.UpdatedAt = now
		out = a.detail()
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"attachment": out})
	return nil
}

func (c *Cinder) attachmentAction(w http.ResponseWriter, r *http.Request) error {
	if err := newAttachAPI(r); err != nil {
		return err
	}
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	name, _, err := action(body)
	if err != nil {
		return err
	}
	if name != "os-complete" || !core.MicroversionOf(r).AtLeast("3.44") {
		return noSuchAction(name)
	}
	now := c.env.Now()
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		a, err := s.attachment(r, r.PathValue("attachment_id"))
		if err != nil {
			return err
		}
		a.Status = "attached"
		if v := s.Volumes[a.VolumeID]; v != nil {
			v.Set("in-use")
			v.AttachStatus = "attached"
			v.UpdatedAt = now
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Cinder) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := newAttachAPI(r); err != nil {
		return err
	}
	id := r.PathValue("attachment_id")
	// Bug #2004555: a user (not Nova with its service token) may not
	// delete an attachment Nova still uses. Nova is asked, outside the
	// lock, whether the server still has this attachment.
	var server, volumeID string
	var connected bool
	err := c.state.View(func(s *state) error {
		a, err := s.attachment(r, id)
		if err != nil {
			return err
		}
		volumeID, connected = a.VolumeID, a.ConnectionInfo != nil
		if a.InstanceUUID != nil {
			server = *a.InstanceUUID
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !core.IsServiceCall(r) && server != "" && connected {
		var out struct {
			VolumeAttachment struct {
				AttachmentID string `json:"attachment_id"`
			} `json:"volumeAttachment"`
		}
		hdr := http.Header{}
		hdr.Set("OpenStack-API-Version", "compute 2.89")
		err := c.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "compute", Method: "GET",
			Path: fmt.Sprintf("/v2.1/servers/%s/os-volume_attachments/%s", server, volumeID), Header: hdr}, &out)
		if err == nil && out.VolumeAttachment.AttachmentID == id {
			return core.Conflict("Detach volume from instance %s using the Compute API", server)
		}
	}
	now := c.env.Now()
	var left []map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		a, err := s.attachment(r, id)
		if err != nil {
			return err
		}
		delete(s.Attachments, a.ID)
		if v := s.Volumes[a.VolumeID]; v != nil {
			settle(&v.Lifecycle, now)
			s.afterDetach(v)
			v.UpdatedAt = now
		}
		left = []map[string]any{}
		for _, o := range s.sortedAttachments(a.VolumeID) {
			left = append(left, o.summary())
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"attachments": left})
	return nil
}

// requiredArg is args[key], or jsonschema's "'key' is a required
// property" for the action (or object) named field.
func requiredArg(field string, args map[string]any, key string) (any, error) {
	v, ok := args[key]
	if !ok {
		return nil, fieldError(field, args, "'%s' is a required property", key)
	}
	return v, nil
}

func requiredString(field string, args map[string]any, key string) (string, error) {
	raw, err := requiredArg(field, args, key)
	if err != nil {
		return "", err
	}
	s, ok := raw.(string)
	if !ok {
		return "", checkType(key, raw, "string")
	}
	return s, nil
}

func requiredObject(field string, args map[string]any, key string) (map[string]any, error) {
	raw, err := requiredArg(field, args, key)
	if err != nil {
		return nil, err
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, checkType(key, raw, "object")
	}
	return m, nil
}

func requiredBool(field string, args map[string]any, key string) (bool, error) {
	raw, err := requiredArg(field, args, key)
	if err != nil {
		return false, err
	}
	return boolParam(key, raw)
}
