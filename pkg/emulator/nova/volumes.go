package nova

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Cinder is reached with the caller's token at /v3/{project_id}, the
// attachments API at microversion 3.44 as Nova (nova/volume/cinder.py)
// uses it: the attachment is created with the connector (whose
// mountpoint is the device) and no "mode", which Cinder accepts only from
// 3.54; Cinder makes it "rw".

type cinderVolume struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Size        int    `json:"size"`
	Multiattach bool   `json:"multiattach"`
	Bootable    string `json:"bootable"`
}

func (n *Nova) cinder(r *http.Request, method, path string, body, out any) error {
	typ := n.volumeType()
	if typ == "" {
		return fmt.Errorf("no block storage service in this emulator")
	}
	return n.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: typ, Method: method,
		Path: "/v3/" + core.IdentityOf(r).ProjectID + path, Body: body,
		Header: http.Header{"OpenStack-API-Version": {"volume 3.44"}}}, out)
}

func (n *Nova) volume(r *http.Request, id string) (*cinderVolume, error) {
	var out struct {
		Volume cinderVolume `json:"volume"`
	}
	if err := n.cinder(r, "GET", "/volumes/"+id, nil, &out); err != nil {
		return nil, err
	}
	return &out.Volume, nil
}

// attach reserves and completes a Cinder attachment of volumeID to the
// server (the attachments API; the legacy os-attach action when Cinder
// does not have it).
func (n *Nova) attach(r *http.Request, srv *Server, volumeID, device string) (string, error) {
	var out struct {
		Attachment struct {
			ID string `json:"id"`
		} `json:"attachment"`
	}
	connector := map[string]any{"host": srv.Host, "initiator": "iqn.1993-08.org.debian:01:emulator", "ip": "127.0.0.1",
		"platform": "x86_64", "os_type": "linux", "multipath": false, "mountpoint": device}
	err := n.cinder(r, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": volumeID, "instance_uuid": srv.ID, "connector": connector}}, &out)
	if err == nil {
		if err := n.cinder(r, "POST", "/attachments/"+out.Attachment.ID+"/action", map[string]any{"os-complete": nil}, nil); err != nil &&
			callStatus(err) != http.StatusNotFound {
			return "", err
		}
		return out.Attachment.ID, nil
	}
	if s := callStatus(err); s != http.StatusNotFound && s != http.StatusMethodNotAllowed {
		return "", err
	}
	if err := n.cinder(r, "POST", "/volumes/"+volumeID+"/action", map[string]any{"os-reserve": nil}, nil); err != nil && callStatus(err) != http.StatusNotFound {
		return "", err
	}
	if err := n.cinder(r, "POST", "/volumes/"+volumeID+"/action", map[string]any{"os-attach": map[string]any{
		"instance_uuid": srv.ID, "mountpoint": device, "mode": "rw"}}, nil); err != nil {
		return "", err
	}
	return "", nil
}

// detach removes the Cinder attachment (or calls os-detach).
func (n *Nova) detach(r *http.Request, srv *Server, a Attachment) {
	if n.volumeType() == "" {
		return
	}
	var err error
	if a.AttachmentID != "" {
		err = n.cinder(r, "DELETE", "/attachments/"+a.AttachmentID, nil, nil)
	} else {
		err = n.cinder(r, "POST", "/volumes/"+a.VolumeID+"/action", map[string]any{"os-detach": map[string]any{}}, nil)
	}
	if err != nil && callStatus(err) != http.StatusNotFound {
		n.env.Log.Info("nova: detaching a volume", "server", srv.ID, "volume", a.VolumeID, "err", err)
	}
}

func (n *Nova) deleteVolume(r *http.Request, id string) {
	if err := n.cinder(r, "DELETE", "/volumes/"+id, nil, nil); err != nil && callStatus(err) != http.StatusNotFound {
		n.env.Log.Info("nova: deleting a volume", "volume", id, "err", err)
	}
}

// attachBootVolume makes the volume of a block_device_mapping_v2 entry
// (creating it from an image, a snapshot or blank) and attaches it.
func (n *Nova) attachBootVolume(r *http.Request, srv *Server, b bootVolume, i int) (Attachment, error) {
	device := b.device
	if device == "" {
		device = "/dev/vd" + string(rune('a'+i))
	}
	volID := b.uuid
	if b.sourceType != "volume" {
		v := map[string]any{"size": b.size, "name": ""}
		switch b.sourceType {
		case "image":
			v["imageRef"] = b.uuid
		case "snapshot":
			v["snapshot_id"] = b.uuid
		}
		var out struct {
			Volume cinderVolume `json:"volume"`
		}
		if err := n.cinder(r, "POST", "/volumes", map[string]any{"volume": v}, &out); err != nil {
			return Attachment{}, err
		}
		volID = out.Volume.ID
		// The volume is "creating" for the emulator's delay: Nova waits
		// for it, so attach it once it is available.
		if n.env.Delay > 0 {
			a := Attachment{ID: core.NewUUID(), VolumeID: volID, Device: device, Tag: b.tag, DeleteOnTermination: b.deleteOnTermination, BootIndex: b.bootIndex}
			n.attachLater(r, srv, a)
			return a, nil
		}
	}
	attID, err := n.attach(r, srv, volID, device)
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{ID: core.NewUUID(), VolumeID: volID, AttachmentID: attID, Device: device, Tag: b.tag,
		DeleteOnTermination: b.deleteOnTermination, BootIndex: b.bootIndex}, nil
}

// attachLater attaches a volume being created once the delay has passed.
func (n *Nova) attachLater(r *http.Request, srv *Server, a Attachment) {
	id := core.IdentityOf(r)
	req := r.Clone(core.WithIdentity(context0(), id))
	n.env.After(n.env.Delay+n.env.Delay/10, func() {
		attID, err := n.attach(req, srv, a.VolumeID, a.Device)
		if err != nil {
			n.env.Log.Info("nova: attaching a new boot volume", "server", srv.ID, "err", err)
			return
		}
		_ = n.state.Update(func(s *state) error {
			if cur := s.Servers[srv.ID]; cur != nil {
				for i := range cur.Volumes {
					if cur.Volumes[i].ID == a.ID {
						cur.Volumes[i].AttachmentID = attID
					}
				}
			}
			return nil
		})
	})
}

// os-volume_attachments

func (a Attachment) body(r *http.Request, serverID string) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"device": a.Device, "serverId": serverID, "volumeId": a.VolumeID}
	if !v.AtLeast("2.89") {
		b["id"] = a.VolumeID
	}
	if v.AtLeast("2.70") {
		b["tag"] = nilIfEmpty(a.Tag)
	}
	if v.AtLeast("2.79") {
		b["delete_on_termination"] = a.DeleteOnTermination
	}
	if v.AtLeast("2.89") {
		b["attachment_id"], b["bdm_uuid"] = nilIfEmpty(a.AttachmentID), a.ID
	}
	return b
}

func (n *Nova) listVolumeAttachments(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	list := srv.Volumes
	if page.Marker == "" && page.Limit > 0 && len(list) > page.Limit {
		list = list[:page.Limit]
	}
	out := []any{}
	for _, a := range list {
		out = append(out, a.body(r, srv.ID))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachments": out})
	return nil
}

func (n *Nova) showVolumeAttachment(w http.ResponseWriter, r *http.Request) error {
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	for _, a := range srv.Volumes {
		if a.VolumeID == r.PathValue("volume_id") {
			core.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": a.body(r, srv.ID)})
			return nil
		}
	}
	return core.NotFound("volume_id not found: %s", r.PathValue("volume_id"))
}

func (n *Nova) attachVolume(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props := map[string]*schema{"volumeId": {Type: "string", Format: "uuid"}, "device": {Types: []string{"string", "null"}, Pattern: `(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$`}}
	if v.AtLeast("2.49") {
		props["tag"] = &schema{Type: "string", MaxLen: 60}
	}
	if v.AtLeast("2.79") {
		props["delete_on_termination"] = boolSchema
	}
	if err := validate(obj([]string{"volumeAttachment"}, map[string]*schema{"volumeAttachment": obj([]string{"volumeId"}, props)}), body); err != nil {
		return err
	}
	in := body.(map[string]any)["volumeAttachment"].(map[string]any)
	volID := in["volumeId"].(string)
	srv, err := n.getServer(r)
	if err != nil {
		return err
	}
	if err := lockedCheck(r, srv); err != nil {
		return err
	}
	st := srv.status(n.env.Now())
	if !slices.Contains([]string{"ACTIVE", "PAUSED", "SHUTOFF", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED", "RESIZE", "VERIFY_RESIZE"}, st) {
		return core.Conflict("Cannot 'attach_volume' instance %s while it is in vm_state %s", srv.ID, vmStates[st].vm)
	}
	for _, a := range srv.Volumes {
		if a.VolumeID == volID {
			return core.BadRequest("Invalid volume: volume %s already attached", volID)
		}
	}
	if n.volumeType() == "" {
		return core.NotFound("Volume %s could not be found.", volID)
	}
	vol, err := n.volume(r, volID)
	if err != nil {
		if callStatus(err) == http.StatusNotFound {
			return core.NotFound("Volume %s could not be found.", volID)
		}
		return core.BadRequest("%s", callMessage(err))
	}
	if vol.Status != "available" && !(vol.Multiattach && vol.Status == "in-use") {
		return core.BadRequest("Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", volID, vol.Status)
	}
	device, _ := in["device"].(string)
	if device == "" {
		device = "/dev/vd" + string(rune('b'+len(srv.Volumes)))
	}
	attID, err := n.attach(r, srv, volID, device)
	if err != nil {
		return core.BadRequest("Invalid volume: %s", callMessage(err))
	}
	a := Attachment{ID: core.NewUUID(), VolumeID: volID, AttachmentID: attID, Device: device}
	a.Tag, _ = in["tag"].(string)
	if d, ok := in["delete_on_termination"]; ok {
		a.DeleteOnTermination, _ = asBool(d)
	}
	err = n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		cur.Volumes = append(cur.Volumes, a)
		return nil
	})
	if err != nil {
		n.detach(r, srv, a)
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": a.body(r, srv.ID)})
	return nil
}

func (n *Nova) updateVolumeAttachment(w http.ResponseWriter, r *http.Request) error {
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props := map[string]*schema{"volumeId": {Type: "string", Format: "uuid"}}
	if v.AtLeast("2.85") {
		props["delete_on_termination"] = boolSchema
		for _, k := range []string{"device", "tag", "id", "serverId"} {
			props[k] = &schema{}
		}
	}
	if err := validate(obj([]string{"volumeAttachment"}, map[string]*schema{"volumeAttachment": obj([]string{"volumeId"}, props)}), body); err != nil {
		return err
	}
	in := body.(map[string]any)["volumeAttachment"].(map[string]any)
	if in["volumeId"].(string) != r.PathValue("volume_id") {
		if !core.IdentityOf(r).IsAdmin() {
			return core.Forbidden("Policy doesn't allow os_compute_api:os-volumes-attachments:swap to be performed.")
		}
		return core.BadRequest("Swapping volumes is not supported by the emulator's hypervisor.")
	}
	err = n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		for i := range cur.Volumes {
			if cur.Volumes[i].VolumeID == r.PathValue("volume_id") {
				if d, ok := in["delete_on_termination"]; ok {
					cur.Volumes[i].DeleteOnTermination, _ = asBool(d)
				}
				return nil
			}
		}
		return core.NotFound("volume_id not found: %s", r.PathValue("volume_id"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (n *Nova) detachVolume(w http.ResponseWriter, r *http.Request) error {
	volID := r.PathValue("volume_id")
	var a Attachment
	var srv *Server
	err := n.state.Update(func(s *state) error {
		cur, err := s.server(r, n.env.Now())
		if err != nil {
			return err
		}
		if err := lockedCheck(r, cur); err != nil {
			return err
		}
		for i, x := range cur.Volumes {
			if x.VolumeID == volID {
				if x.BootIndex != nil && *x.BootIndex == 0 {
					return core.BadRequest("Cannot detach a root device volume")
				}
				a = x
				cur.Volumes = append(cur.Volumes[:i], cur.Volumes[i+1:]...)
				srv = copyServer(cur)
				return nil
			}
		}
		return core.NotFound("volume_id not found: %s", volID)
	})
	if err != nil {
		return err
	}
	n.detach(r, srv, a)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func trimDev(d string) string { return strings.TrimPrefix(d, "/dev/") }
