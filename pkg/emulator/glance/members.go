package glance

import (
	"net/http"
	"sort"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func memberBody(imageID string, m *Member) map[string]any {
	return map[string]any{"image_id": imageID, "member_id": m.MemberID, "status": m.Status,
		"created_at": core.FormatTime(m.CreatedAt, core.TimeSeconds), "updated_at": core.FormatTime(m.UpdatedAt, core.TimeSeconds),
		"schema": "/v2/schemas/member"}
}

func (g *Glance) listMembers(w http.ResponseWriter, r *http.Request) error {
	return g.state.View(func(s *state) error {
		img, err := s.find(r)
		if err != nil {
			return err
		}
		if img.Visibility != "shared" {
			return core.Forbidden("Only shared images have members.")
		}
		caller := core.IdentityOf(r)
		out := []map[string]any{}
		ids := make([]string, 0, len(img.Members))
		for id := range img.Members {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			// A member sees only its own membership; the owner sees all.
			if caller.Owns(img.Owner) || caller.IsAdmin() || id == caller.ProjectID {
				out = append(out, memberBody(img.ID, img.Members[id]))
			}
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"members": out, "schema": "/v2/schemas/members"})
		return nil
	})
}

func (g *Glance) addMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Member *string `json:"member"`
	}
	if err := core.DecodeJSON(r, &req); err != nil {
		return core.BadRequest("Body expected in request.")
	}
	if req.Member == nil || *req.Member == "" {
		return core.BadRequest("Member to be added not specified")
	}
	var out map[string]any
	err := g.state.Update(func(s *state) error {
		img, err := s.findOwned(r, "add_member")
		if err != nil {
			return err
		}
		if img.Visibility != "shared" {
			return core.Forbidden("Only shared images have members.")
		}
		if img.Members[*req.Member] != nil {
			return core.Conflict("Member %s already exists for image %s", *req.Member, img.ID)
		}
		now := g.env.Now()
		m := &Member{MemberID: *req.Member, Status: "pending", CreatedAt: now, UpdatedAt: now}
		if img.Members == nil {
			img.Members = map[string]*Member{}
		}
		img.Members[m.MemberID] = m
		out = memberBody(img.ID, m)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *state) member(r *http.Request) (*Image, *Member, error) {
	img, err := s.find(r)
	if err != nil {
		return nil, nil, err
	}
	caller := core.IdentityOf(r)
	mid := r.PathValue("member_id")
	m := img.Members[mid]
	if m == nil || !(caller.Owns(img.Owner) || caller.IsAdmin() || mid == caller.ProjectID) {
		return nil, nil, core.NotFound("%s is not a member of image %s", mid, img.ID)
	}
	return img, m, nil
}

func (g *Glance) showMember(w http.ResponseWriter, r *http.Request) error {
	return g.state.View(func(s *state) error {
		img, m, err := s.member(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, memberBody(img.ID, m))
		return nil
	})
}

func (g *Glance) updateMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status *string `json:"status"`
	}
	if err := core.DecodeJSON(r, &req); err != nil {
		return core.BadRequest("Body expected in request.")
	}
	if req.Status == nil || (*req.Status != "pending" && *req.Status != "accepted" && *req.Status != "rejected") {
		return core.BadRequest("Provided object does not match schema 'member': status must be one of pending, accepted, rejected")
	}
	var out map[string]any
	err := g.state.Update(func(s *state) error {
		img, m, err := s.member(r)
		if err != nil {
			return err
		}
		// Only the member itself accepts or rejects.
		if m.MemberID != core.IdentityOf(r).ProjectID {
			return core.Forbidden("You are not permitted to modify 'status' on this image member.")
		}
		m.Status = *req.Status
		m.UpdatedAt = g.env.Now()
		out = memberBody(img.ID, m)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (g *Glance) deleteMember(w http.ResponseWriter, r *http.Request) error {
	err := g.state.Update(func(s *state) error {
		img, m, err := s.member(r)
		if err != nil {
			return err
		}
		caller := core.IdentityOf(r)
		if !caller.Owns(img.Owner) && !caller.IsAdmin() {
			return core.Forbidden("You are not authorized to complete delete_member action.")
		}
		delete(img.Members, m.MemberID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The schemas are the parts clients read (glanceclient validates against
// them); additionalProperties are strings, as in Glance.
func imageSchemaDoc() map[string]any {
	str := map[string]any{"type": []string{"null", "string"}}
	return map[string]any{
		"name": "image", "additionalProperties": map[string]any{"type": "string"},
		"properties": map[string]any{
			"id":   map[string]any{"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
			"name": str, "owner": str, "checksum": str, "os_hash_algo": str, "os_hash_value": str,
			"status": map[string]any{"type": "string", "readOnly": true,
				"enum": []string{"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"}},
			"visibility":       map[string]any{"type": "string", "enum": visibilities},
			"protected":        map[string]any{"type": "boolean"},
			"os_hidden":        map[string]any{"type": "boolean"},
			"disk_format":      map[string]any{"type": []string{"null", "string"}, "enum": append([]any{nil}, anySlice(diskFormats)...)},
			"container_format": map[string]any{"type": []string{"null", "string"}, "enum": append([]any{nil}, anySlice(containerFormats)...)},
			"min_ram":          map[string]any{"type": "integer"},
			"min_disk":         map[string]any{"type": "integer"},
			"size":             map[string]any{"type": []string{"null", "integer"}, "readOnly": true},
			"virtual_size":     map[string]any{"type": []string{"null", "integer"}, "readOnly": true},
			"tags":             map[string]any{"type": "array", "items": map[string]any{"type": "string", "maxLength": 255}},
			"created_at":       map[string]any{"type": "string", "readOnly": true},
			"updated_at":       map[string]any{"type": "string", "readOnly": true},
			"self":             map[string]any{"type": "string", "readOnly": true},
			"file":             map[string]any{"type": "string", "readOnly": true},
			"schema":           map[string]any{"type": "string", "readOnly": true},
		},
		"links": []map[string]string{{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"}},
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func (g *Glance) imageSchema(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, imageSchemaDoc())
	return nil
}

func (g *Glance) imagesSchema(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"name": "images",
		"properties": map[string]any{"images": map[string]any{"type": "array", "items": imageSchemaDoc()},
			"schema": map[string]any{"type": "string"}, "first": map[string]any{"type": "string"}, "next": map[string]any{"type": "string"}},
		"links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}})
	return nil
}

func memberSchemaDoc() map[string]any {
	return map[string]any{"name": "member", "properties": map[string]any{
		"created_at": map[string]any{"type": "string"}, "image_id": map[string]any{"type": "string"},
		"member_id": map[string]any{"type": "string"}, "schema": map[string]any{"type": "string", "readOnly": true},
		"status":     map[string]any{"type": "string", "enum": []string{"pending", "accepted", "rejected"}},
		"updated_at": map[string]any{"type": "string"}}}
}

func (g *Glance) memberSchema(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, memberSchemaDoc())
	return nil
}

func (g *Glance) membersSchema(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"name": "members", "properties": map[string]any{
		"members": map[string]any{"type": "array", "items": memberSchemaDoc()}, "schema": map[string]any{"type": "string"}},
		"links": []map[string]string{{"rel": "describedby", "href": "{schema}"}}})
	return nil
}
