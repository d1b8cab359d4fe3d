package cinder

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (v *Volume) id() string { return v.ID }

func (v *Volume) sortValue(key string) (any, bool) {
	switch key {
	case "id":
		return v.ID, true
	case "name", "display_name":
		return v.Name, true
	case "size":
		return v.Size, true
	case "status":
		return v.Status, true
	case "created_at":
		return v.CreatedAt, true
	case "updated_at":
		return v.UpdatedAt, true
	case "availability_zone":
		return v.AZ, true
	case "bootable":
		return v.Bootable, true
	case "volume_type_id":
		return v.TypeID, true
	case "project_id":
		return v.ProjectID, true
	case "user_id":
		return v.UserID, true
	}
	return nil, false
}

func volumeNotFound(id string) error { return core.NotFound("Volume %s could not be found.", id) }

// purge drops what finished deleting; every Update starts with it.
func (s *state) purge(now time.Time) {
	for id, v := range s.Volumes {
		if v.Current(now) == "deleted" {
			delete(s.Volumes, id)
			for aid, a := range s.Attachments {
				if a.VolumeID == id {
					delete(s.Attachments, aid)
				}
			}
		}
	}
	for id, sn := range s.Snapshots {
		if sn.Current(now) == "deleted" {
			delete(s.Snapshots, id)
		}
	}
	for id, b := range s.Backups {
		if b.Current(now) == "deleted" {
			delete(s.Backups, id)
		}
	}
}

// volume finds a volume the caller may see (another project's does not
// exist for a non-admin).
func (s *state) volume(r *http.Request, id string, now time.Time) (*Volume, error) {
	v := s.Volumes[id]
	if v == nil || !core.IdentityOf(r).CanSee(v.ProjectID) || v.Current(now) == "deleted" {
		return nil, volumeNotFound(id)
	}
	return v, nil
}

// settle fixes a finished transition into the stored status, so that a
// state change starts from what clients saw.
func settle(l *core.Lifecycle, now time.Time) {
	if l.Next != "" && !l.Pending(now) {
		l.Set(l.Current(now))
	}
}

// usage is what a project consumes, by quota resource.
func (s *state) usage(project string, now time.Time) map[string]int {
	u := map[string]int{}
	for _, v := range s.Volumes {
		if v.ProjectID == project && v.Current(now) != "deleted" {
			u["volumes"]++
			u["gigabytes"] += v.Size
			if t := s.Types[v.TypeID]; t != nil {
				u["volumes_"+t.Name]++
				u["gigabytes_"+t.Name] += v.Size
			}
		}
	}
	for _, sn := range s.Snapshots {
		if sn.ProjectID == project && sn.Current(now) != "deleted" {
			u["snapshots"]++
			u["gigabytes"] += sn.Size
		}
	}
	for _, b := range s.Backups {
		if b.ProjectID == project && b.Current(now) != "deleted" {
			u["backups"]++
			u["backup_gigabytes"] += b.Size
		}
	}
	return u
}

// checkVolumeQuota is the reservation of a new volume (or an extension):
// volumes count, gigabytes and per_volume_gigabytes.
func (s *state) checkVolumeQuota(project string, newVolumes, deltaGB, size int, now time.Time) error {
	if l := s.Quotas.Limit(project, "per_volume_gigabytes"); l >= 0 && size > l {
		return quotaExceeded("Requested volume size %dG is larger than maximum allowed limit %dG.", size, l)
	}
	u := s.usage(project, now)
	if newVolumes > 0 && !s.Quotas.Allows(project, "volumes", u["volumes"], newVolumes) {
		return quotaExceeded("Maximum number of volumes allowed (%d) exceeded for quota 'volumes'.", s.Quotas.Limit(project, "volumes"))
	}
	if !s.Quotas.Allows(project, "gigabytes", u["gigabytes"], deltaGB) {
		return quotaExceeded("Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
			deltaGB, s.Quotas.Limit(project, "gigabytes"), u["gigabytes"])
	}
	return nil
}

// volumeBody is the detailed view (cinder/api/v3/views/volumes.py with
// the tenant, host, migration and image-metadata extensions).
func (c *Cinder) volumeBody(r *http.Request, s *state, v *Volume, now time.Time) map[string]any {
	caller := core.IdentityOf(r)
	mv := core.MicroversionOf(r)
	var typeName any
	if t := s.Types[v.TypeID]; t != nil {
		typeName = t.Name
	}
	attachments := []map[string]any{}
	for _, a := range s.sortedAttachments(v.ID) {
		if a.Status != "attached" {
			continue
		}
		at := map[string]any{"id": v.ID, "attachment_id": a.ID, "volume_id": v.ID, "server_id": a.InstanceUUID,
			"host_name": a.Host, "device": a.Mountpoint, "attached_at": optTime(a.AttachTime)}
		if !caller.IsAdmin() {
			at["host_name"] = nil
		}
		attachments = append(attachments, at)
	}
	b := map[string]any{
		"id": v.ID, "status": v.Current(now), "size": v.Size, "availability_zone": v.AZ,
		"created_at": formatTime(v.CreatedAt), "updated_at": formatTime(v.UpdatedAt),
		"name": v.Name, "description": v.Description, "volume_type": typeName,
		"snapshot_id": nilIfEmpty(v.SnapshotID), "source_volid": nilIfEmpty(v.SourceVolID),
		"metadata": orEmpty(v.Metadata), "links": links(r, "volumes", v.ID), "user_id": v.UserID,
		"bootable": strconv.FormatBool(v.Bootable), "encrypted": false, "replication_status": "disabled",
		"consistencygroup_id": nil, "multiattach": v.Multiattach, "attachments": attachments,
		"os-vol-tenant-attr:tenant_id": v.ProjectID,
	}
	if len(v.ImageMetadata) > 0 {
		b["volume_image_metadata"] = v.ImageMetadata
	}
	if caller.IsAdmin() {
		b["migration_status"] = nil
		b["os-vol-host-attr:host"] = "emulator@lvmdriver-1#lvmdriver-1"
		b["os-vol-mig-status-attr:migstat"] = nil
		b["os-vol-mig-status-attr:name_id"] = nil
	}
	if mv.AtLeast("3.13") {
		b["group_id"] = nil
	}
	if caller.IsAdmin() && mv.AtLeast("3.21") {
		b["provider_id"] = nil
	}
	if mv.AtLeast("3.48") {
		b["shared_targets"] = false
		b["service_uuid"] = serviceUUID
	}
	if caller.IsAdmin() && mv.AtLeast("3.61") {
		b["cluster_name"] = nil
	}
	if mv.AtLeast("3.63") {
		b["volume_type_id"] = v.TypeID
	}
	if mv.AtLeast("3.65") {
		b["consumes_quota"] = true
	}
	return b
}

// serviceUUID is the one cinder-volume service's uuid.
const serviceUUID = "3d2a1c52-7e1f-4b8e-9a55-0c6f1d7e9b10"

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (c *Cinder) listVolumes(detail bool) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseList(r, "created_at")
		if err != nil {
			return err
		}
		filters := filtersOf(r, "name", "status", "metadata", "bootable", "migration_status", "availability_zone", "group_id", "size", "created_at", "updated_at")
		var meta map[string]string
		if s := filters.Get("metadata"); s != "" {
			var ok bool
			if meta, ok = parseDictQuery(s); !ok {
				return core.BadRequest("Invalid input received: Invalid filter metadata")
			}
		}
		now := c.env.Now()
		return c.state.View(func(s *state) error {
			var vols []*Volume
			for _, v := range s.Volumes {
				if !visibleProject(r, v.ProjectID) || v.Current(now) == "deleted" {
					continue
				}
				if !matchVolume(v, filters, meta, now) {
					continue
				}
				vols = append(vols, v)
			}
			pg, more, err := page(vols, lp, volumeNotFound)
			if err != nil {
				return err
			}
			list := make([]map[string]any, 0, len(pg))
			for _, v := range pg {
				if detail {
					list = append(list, c.volumeBody(r, s, v, now))
				} else {
					list = append(list, map[string]any{"id": v.ID, "name": v.Name, "links": links(r, "volumes", v.ID)})
				}
			}
			out := map[string]any{"volumes": list}
			coll := "volumes"
			if detail {
				coll = "volumes/detail"
			}
			if len(pg) > 0 {
				if l := nextLinks(r, coll, more, pg[len(pg)-1].ID); l != nil {
					out["volumes_links"] = l
				}
			}
			if core.MicroversionOf(r).AtLeast("3.45") && r.URL.Query().Has("with_count") {
				out["count"] = len(vols)
			}
			core.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	}
}

func matchVolume(v *Volume, f map[string][]string, meta map[string]string, now time.Time) bool {
	fields := map[string]string{"status": v.Current(now), "availability_zone": v.AZ, "size": strconv.Itoa(v.Size)}
	if names, ok := f["name"]; ok && !slices.Contains(names, deref(v.Name)) {
		return false
	}
	if b, ok := f["bootable"]; ok && len(b) > 0 {
		want, err := boolQuery("bootable", b[0])
		if err != nil || want != v.Bootable {
			return false
		}
	}
	for k, val := range meta {
		if v.Metadata[k] != val {
			return false
		}
	}
	return core.MatchFilters(f, fields)
}

func (c *Cinder) volumeSummary(w http.ResponseWriter, r *http.Request) error {
	mv := core.MicroversionOf(r)
	if !mv.AtLeast("3.12") {
		return core.NotFound("The resource could not be found.")
	}
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		count, size := 0, 0
		meta := map[string][]string{}
		for _, v := range s.Volumes {
			if !visibleProject(r, v.ProjectID) || v.Current(now) == "deleted" {
				continue
			}
			count++
			size += v.Size
			for k, val := range v.Metadata {
				if !slices.Contains(meta[k], val) {
					meta[k] = append(meta[k], val)
				}
			}
		}
		sum := map[string]any{"total_count": count, "total_size": size}
		if mv.AtLeast("3.36") {
			sum["metadata"] = meta
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"volume-summary": sum})
		return nil
	})
}

func (c *Cinder) showVolume(w http.ResponseWriter, r *http.Request) error {
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		v, err := s.volume(r, r.PathValue("volume_id"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"volume": c.volumeBody(r, s, v, now)})
		return nil
	})
}

// volumeRequest is a validated create body.
type volumeRequest struct {
	name, description *string
	size              int
	typeRef           string
	metadata          map[string]string
	snapshotID        string
	sourceVolID       string
	backupID          string
	imageRef          string
	az                string
}

func parseCreateVolume(r *http.Request) (*volumeRequest, error) {
	body, err := decodeBody(r)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys("", body, "volume", "OS-SCH-HNT:scheduler_hints"); err != nil {
		return nil, err
	}
	vol, err := checkObject(body, "volume")
	if err != nil {
		return nil, err
	}
	if h, ok := body["OS-SCH-HNT:scheduler_hints"]; ok && h != nil {
		if err := checkType("OS-SCH-HNT:scheduler_hints", h, "object", "null"); err != nil {
			return nil, err
		}
	}
	mv := core.MicroversionOf(r)
	if mv.AtLeast("3.53") {
		allowed := []string{"name", "description", "display_name", "display_description", "volume_type", "metadata",
			"snapshot_id", "source_volid", "consistencygroup_id", "size", "availability_zone", "multiattach",
			"image_id", "imageRef", "group_id", "backup_id", "scheduler_hints"}
		if err := onlyKeys("volume", vol, allowed...); err != nil {
			return nil, err
		}
	}
	req := &volumeRequest{}
	for _, k := range []string{"name", "display_name"} {
		s, ok, err := nameOrDescription(vol, k, "name")
		if err != nil {
			return nil, err
		}
		if ok && (req.name == nil || k == "name") {
			req.name = s
		}
	}
	for _, k := range []string{"description", "display_description"} {
		s, ok, err := nameOrDescription(vol, k, "description")
		if err != nil {
			return nil, err
		}
		if ok && (req.description == nil || k == "description") {
			req.description = s
		}
	}
	if s, _, err := optString(vol, "volume_type", 255); err != nil {
		return nil, err
	} else if s != nil {
		req.typeRef = *s
	}
	if m, ok := vol["metadata"]; ok && m != nil {
		md, err := stringMap("metadata", m, specKeyRE, false)
		if err != nil {
			return nil, err
		}
		req.metadata = plainMap(md)
	}
	for key, dst := range map[string]*string{"snapshot_id": &req.snapshotID, "source_volid": &req.sourceVolID, "consistencygroup_id": new(string)} {
		id, err := optUUID(vol, key)
		if err != nil {
			return nil, err
		}
		*dst = id
	}
	if mv.AtLeast("3.47") {
		id, err := optUUID(vol, "backup_id")
		if err != nil {
			return nil, err
		}
		req.backupID = id
	}
	if s, ok := vol["size"]; ok && s != nil {
		n, err := sizeParam("size", s)
		if err != nil {
			return nil, err
		}
		req.size = n
	}
	if s, ok, err := optString(vol, "availability_zone", 255); err != nil {
		return nil, err
	} else if ok && s != nil {
		if *s == "" {
			return nil, fieldError("availability_zone", "", "'' is too short")
		}
		req.az = *s
	}
	if m, ok := vol["multiattach"]; ok && m != nil {
		on, err := boolParam("multiattach", m)
		if err != nil {
			return nil, err
		}
		if on {
			return nil, core.BadRequest("multiattach parameter has been removed. The default behavior is to use multiattach enabled volume types. Contact your administrator to create a multiattach enabled volume type and use it to create multiattach volumes.")
		}
	}
	for _, k := range []string{"imageRef", "image_id"} {
		s, _, err := optString(vol, k, 255)
		if err != nil {
			return nil, err
		}
		if s != nil && req.imageRef == "" {
			req.imageRef = *s
		}
	}
	if g, ok := vol["consistencygroup_id"]; ok && g != nil {
		return nil, core.NotFound("Group %s could not be found.", pyStr(g))
	}
	if mv.AtLeast("3.13") {
		if g, ok := vol["group_id"]; ok && g != nil {
			return nil, core.NotFound("Group %s could not be found.", pyStr(g))
		}
	}
	return req, nil
}

// findType finds a volume type by id or name, as
// VolumeType.get_by_name_or_id does.
func (s *state) findType(r *http.Request, ref string) (*VolumeType, error) {
	if t := s.Types[ref]; t != nil && typeVisible(r, t) {
		return t, nil
	}
	for _, t := range s.Types {
		if t.Name == ref && typeVisible(r, t) {
			return t, nil
		}
	}
	if uuidRE.MatchString(ref) {
		return nil, core.NotFound("Volume type %s could not be found.", ref)
	}
	return nil, core.NotFound("Volume type with name %s could not be found.", ref)
}

func typeVisible(r *http.Request, t *VolumeType) bool {
	id := core.IdentityOf(r)
	return t.IsPublic || id.IsAdmin() || slices.Contains(t.Projects, id.ProjectID)
}

// glanceImage is what Cinder reads of an image.
type glanceImage struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	Size            int64  `json:"size"`
	MinDisk         int    `json:"min_disk"`
	MinRAM          int    `json:"min_ram"`
	DiskFormat      string `json:"disk_format"`
	ContainerFormat string `json:"container_format"`
	Checksum        string `json:"checksum"`
}

// image resolves imageRef through Glance (with the caller's token) as
// _image_uuid_from_ref does: an id, else a unique name; anything else is
// "Invalid image identifier or unable to access requested image."
func (c *Cinder) image(r *http.Request, ref string) (*glanceImage, error) {
	id := ref[strings.LastIndex(ref, "/")+1:]
	caller := core.IdentityOf(r)
	invalid := core.BadRequest("Invalid image identifier or unable to access requested image.")
	if uuidRE.MatchString(id) {
		var img glanceImage
		if err := c.env.Do(r.Context(), core.Call{Identity: caller, Service: "image", Method: "GET", Path: "/v2/images/" + id}, &img); err == nil {
			return &img, nil
		}
	}
	var list struct {
		Images []glanceImage `json:"images"`
	}
	q := map[string][]string{"name": {ref}}
	if err := c.env.Do(r.Context(), core.Call{Identity: caller, Service: "image", Method: "GET", Path: "/v2/images", Query: q}, &list); err != nil {
		return nil, invalid
	}
	if len(list.Images) > 1 {
		return nil, core.Conflict("Multiple matches found for '%s', use an ID to be more specific.", ref)
	}
	if len(list.Images) == 1 {
		return &list.Images[0], nil
	}
	return nil, invalid
}

func (c *Cinder) createVolume(w http.ResponseWriter, r *http.Request) error {
	req, err := parseCreateVolume(r)
	if err != nil {
		return err
	}
	caller := core.IdentityOf(r)
	// Glance is asked before taking the lock (it may be slow, and services
	// never call each other under their own lock).
	var img *glanceImage
	if req.imageRef != "" {
		if img, err = c.image(r, req.imageRef); err != nil {
			return err
		}
	}
	now := c.env.Now()
	v := &Volume{ID: core.NewUUID(), ProjectID: caller.ProjectID, UserID: caller.UserID, Name: req.name,
		Description: req.description, AZ: AZ, Metadata: req.metadata, AttachStatus: "detached",
		CreatedAt: now, UpdatedAt: now}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		var t *VolumeType
		if req.typeRef != "" {
			var err error
			if t, err = s.findType(r, req.typeRef); err != nil {
				return err
			}
		}
		size := req.size
		switch {
		case req.snapshotID != "":
			sn := s.Snapshots[req.snapshotID]
			if sn == nil || !caller.CanSee(sn.ProjectID) || sn.Current(now) == "deleted" {
				return core.NotFound("Snapshot %s could not be found.", req.snapshotID)
			}
			if st := sn.Current(now); st != "available" {
				return core.BadRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values")
			}
			if size == 0 {
				size = sn.Size
			}
			if size < sn.Size {
				return core.BadRequest("Invalid input received: Volume size '%d'GB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.", size, sn.Size)
			}
			src := s.Volumes[sn.VolumeID]
			if src != nil && t == nil {
				t = s.Types[src.TypeID]
			}
			if src != nil {
				v.Bootable = src.Bootable
				v.ImageMetadata = src.ImageMetadata
			}
			v.SnapshotID = sn.ID
		case req.sourceVolID != "":
			src, err := s.volume(r, req.sourceVolID, now)
			if err != nil {
				return err
			}
			if st := src.Current(now); st != "available" && st != "in-use" {
				return core.BadRequest("Invalid volume: Unable to clone volumes that are in an error state or not available, source volume status: %s", st)
			}
			if size == 0 {
				size = src.Size
			}
			if size < src.Size {
				return core.BadRequest("Invalid input received: Volume size '%d'GB cannot be smaller than original volume size  %dGB. They must be >= original volume size.", size, src.Size)
			}
			if t == nil {
				t = s.Types[src.TypeID]
			}
			v.Bootable, v.ImageMetadata, v.SourceVolID = src.Bootable, src.ImageMetadata, src.ID
		case req.backupID != "":
			b := s.Backups[req.backupID]
			if b == nil || !caller.CanSee(b.ProjectID) || b.Current(now) == "deleted" {
				return core.NotFound("Backup %s could not be found.", req.backupID)
			}
			if b.Current(now) != "available" {
				return core.BadRequest("Invalid backup: Backup status must be available")
			}
			if size == 0 {
				size = b.Size
			}
			if size < b.Size {
				return core.BadRequest("Invalid input received: Volume size %dGB cannot be smaller than the backup size %dGB. It must be >= backup size.", size, b.Size)
			}
			v.BackupID = b.ID
		}
		if size <= 0 {
			return core.BadRequest("Invalid input received: Volume size 'None' must be an integer and greater than 0")
		}
		if img != nil {
			if img.Status != "active" {
				return core.BadRequest("Invalid input received: Image %s is not active.", img.ID)
			}
			gb := int((img.Size + 1<<30 - 1) >> 30)
			if gb > size {
				return core.BadRequest("Invalid input received: Size of specified image %d is larger than volume size %d.", gb, size)
			}
			if img.MinDisk > size {
				return core.BadRequest("Invalid input received: Volume size %dGB cannot be smaller than the image minDisk size %dGB.", size, img.MinDisk)
			}
			v.Bootable = true
			v.ImageMetadata = map[string]string{"image_id": img.ID, "image_name": img.Name, "checksum": img.Checksum,
				"container_format": img.ContainerFormat, "disk_format": img.DiskFormat,
				"min_disk": strconv.Itoa(img.MinDisk), "min_ram": strconv.Itoa(img.MinRAM), "size": strconv.FormatInt(img.Size, 10)}
		}
		if req.az != "" && req.az != AZ {
			return core.BadRequest("Invalid input received: Availability zone '%s' is invalid.", req.az)
		}
		if t == nil {
			t = s.Types[s.DefaultType]
		}
		if err := s.checkVolumeQuota(caller.ProjectID, 1, size, size, now); err != nil {
			return err
		}
		v.Size, v.TypeID = size, t.ID
		v.Multiattach = t.ExtraSpecs["multiattach"] == "<is> True"
		v.Lifecycle = core.Begin(c.env, "creating", "available")
		s.Volumes[v.ID] = v
		return nil
	})
	if err != nil {
		return err
	}
	return c.state.View(func(s *state) error {
		core.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": c.volumeBody(r, s, v, now)})
		return nil
	})
}

func (c *Cinder) updateVolume(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "volume"); err != nil {
		return err
	}
	upd, err := checkObject(body, "volume")
	if err != nil {
		return err
	}
	if err := onlyKeys("volume", upd, "name", "description", "display_name", "display_description", "metadata"); err != nil {
		return err
	}
	if core.MicroversionOf(r).AtLeast("3.53") && len(upd) == 0 {
		return fieldError("volume", upd, "{} is not valid under any of the given schemas")
	}
	var name, desc *string
	var setName, setDesc bool
	for _, k := range []string{"display_name", "name"} {
		s, ok, err := nameOrDescription(upd, k, "name")
		if err != nil {
			return err
		}
		if ok {
			name, setName = s, true
		}
	}
	for _, k := range []string{"display_description", "description"} {
		s, ok, err := nameOrDescription(upd, k, "description")
		if err != nil {
			return err
		}
		if ok {
			desc, setDesc = s, true
		}
	}
	var meta map[string]string
	if m, ok := upd["metadata"]; ok {
		md, err := stringMap("metadata", m, specKeyRE, false)
		if err != nil {
			return err
		}
		meta = plainMap(md)
	}
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		v, err := s.volume(r, r.PathValue("volume_id"), now)
		if err != nil {
			return err
		}
		if setName {
			v.Name = name
		}
		if setDesc {
			v.Description = desc
		}
		if meta != nil {
			v.Metadata = meta
		}
		v.UpdatedAt = now
		out = c.volumeBody(r, s, v, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volume": out})
	return nil
}

// deletableStatuses are the statuses a volume may be deleted from
// without force.
var deletableStatuses = []string{"available", "error", "error_restoring", "error_extending", "error_managing"}

func (c *Cinder) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	cascade, err := boolQuery("cascade", q.Get("cascade"))
	if err != nil {
		return err
	}
	force := false
	if core.MicroversionOf(r).AtLeast("3.23") {
		if force, err = boolQuery("force", q.Get("force")); err != nil {
			return err
		}
	}
	return c.mutate(w, http.StatusAccepted, func(s *state, now time.Time) error {
		v, err := s.volume(r, r.PathValue("volume_id"), now)
		if err != nil {
			return err
		}
		if force && !core.IdentityOf(r).IsAdmin() {
			return core.Forbidden("Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed.")
		}
		return s.deleteVolume(c.env, v, cascade, force, now)
	})
}

// deleteVolume starts a volume's deletion after volume.api.delete's
// checks (status unless forced; never attached; snapshots only with
// cascade).
func (s *state) deleteVolume(env *core.Env, v *Volume, cascade, force bool, now time.Time) error {
	settle(&v.Lifecycle, now)
	status := v.Current(now)
	var snaps []*Snapshot
	for _, sn := range s.Snapshots {
		if sn.VolumeID == v.ID && sn.Current(now) != "deleted" {
			snaps = append(snaps, sn)
		}
	}
	blocked := v.AttachStatus == "attached" || (!force && !slices.Contains(deletableStatuses, status))
	if !cascade && len(snaps) > 0 {
		blocked = true
	}
	if cascade && !force {
		for _, sn := range snaps {
			if st := sn.Current(now); st != "available" && st != "error" && st != "deleting" {
				blocked = true
			}
		}
	}
	if blocked {
		cond := ""
		if !force {
			cond = "status must be " + strings.Join(deletableStatuses, " or ") + " and"
		}
		return core.BadRequest("Invalid volume: Volume %s must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.", cond)
	}
	if cascade {
		for _, sn := range snaps {
			sn.Lifecycle = core.Begin(env, "deleting", "deleted")
			sn.UpdatedAt = now
		}
	}
	v.Lifecycle = core.Begin(env, "deleting", "deleted")
	v.UpdatedAt = now
	return nil
}

// --- metadata (volumes and snapshots share the controller's logic)

type metaOp int

const (
	metaIndex metaOp = iota
	metaCreate
	metaReplace
	metaShow
	metaUpdateItem
	metaDelete
)

// metadataOp runs one metadata request on a resource's metadata map
// (already found and visible): reads answer from it, writes change it.
func metadataOp(w http.ResponseWriter, r *http.Request, op metaOp, md *map[string]string, notFoundKey func(string) error) (bool, error) {
	key := r.PathValue("key")
	switch op {
	case metaIndex:
		core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": orEmpty(*md)})
		return false, nil
	case metaShow:
		val, ok := (*md)[key]
		if !ok {
			return false, notFoundKey(key)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
		return false, nil
	case metaDelete:
		if _, ok := (*md)[key]; !ok {
			return false, notFoundKey(key)
		}
		delete(*md, key)
		w.WriteHeader(http.StatusOK)
		return true, nil
	}
	return false, nil
}

// parseMetadataBody validates a metadata write body before any change.
func parseMetadataBody(r *http.Request, op metaOp) (map[string]string, error) {
	body, err := decodeBody(r)
	if err != nil {
		return nil, err
	}
	field := "metadata"
	if op == metaUpdateItem {
		field = "meta"
	}
	if err := onlyKeys("", body, field); err != nil {
		return nil, err
	}
	v, ok := body[field]
	if !ok {
		return nil, core.BadRequest("'%s' is a required property", field)
	}
	md, err := stringMap(field, v, specKeyRE, false)
	if err != nil {
		return nil, err
	}
	if op == metaUpdateItem {
		if len(md) == 0 {
			return nil, fieldError(field, v, "{} does not have enough properties")
		}
		if len(md) > 1 {
			return nil, fieldError(field, v, "%s has too many properties", pyRepr(v))
		}
		key := r.PathValue("key")
		if _, ok := md[key]; !ok {
			return nil, core.BadRequest("Request body and URI mismatch")
		}
	}
	return plainMap(md), nil
}

// writeMetadata applies a validated write and answers it.
func writeMetadata(w http.ResponseWriter, op metaOp, md *map[string]string, in map[string]string) {
	if *md == nil {
		*md = map[string]string{}
	}
	switch op {
	case metaCreate:
		for k, v := range in {
			(*md)[k] = v
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": *md})
	case metaReplace:
		*md = in
		core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": in})
	case metaUpdateItem:
		for k, v := range in {
			(*md)[k] = v
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"meta": in})
	}
}

// metadataTarget finds the resource whose metadata a request is about:
// its metadata map, its updated_at, and the not-found error of a key.
type metadataTarget func(s *state, r *http.Request, now time.Time) (md *map[string]string, updated *time.Time, noKey func(string) error, err error)

// metadataHandler serves the metadata API of volumes and snapshots
// (cinder/api/v3/volume_metadata.py, snapshot_metadata.py).
func (c *Cinder) metadataHandler(op metaOp, find metadataTarget) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in map[string]string
		if op == metaCreate || op == metaReplace || op == metaUpdateItem {
			var err error
			if in, err = parseMetadataBody(r, op); err != nil {
				return err
			}
		}
		now := c.env.Now()
		if op == metaIndex || op == metaShow {
			return c.state.View(func(s *state) error {
				md, _, noKey, err := find(s, r, now)
				if err != nil {
					return err
				}
				cp := *md
				_, err = metadataOp(w, r, op, &cp, noKey)
				return err
			})
		}
		return c.state.Update(func(s *state) error {
			s.purge(now)
			md, updated, noKey, err := find(s, r, now)
			if err != nil {
				return err
			}
			if in != nil {
				writeMetadata(w, op, md, in)
			} else if _, err := metadataOp(w, r, op, md, noKey); err != nil {
				return err
			}
			*updated = now
			return nil
		})
	}
}

func (c *Cinder) volumeMetadata(op metaOp) core.HandlerFunc {
	return c.metadataHandler(op, func(s *state, r *http.Request, now time.Time) (*map[string]string, *time.Time, func(string) error, error) {
		v, err := s.volume(r, r.PathValue("volume_id"), now)
		if err != nil {
			return nil, nil, nil, err
		}
		noKey := func(k string) error { return core.NotFound("Volume %s has no metadata with key %s.", v.ID, k) }
		return &v.Metadata, &v.UpdatedAt, noKey, nil
	})
}

// mutate runs fn on the state under the lock (after purging what
// finished deleting) and answers status with no body.
func (c *Cinder) mutate(w http.ResponseWriter, status int, fn func(s *state, now time.Time) error) error {
	now := c.env.Now()
	err := c.state.Update(func(s *state) error {
		s.purge(now)
		return fn(s, now)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(status)
	return nil
}
