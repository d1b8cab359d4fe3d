package glance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (g *Glance) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", g.versions, core.Public)
	rt.Handle("GET /versions", g.versions, core.Public)
	rt.Handle("GET /v2", g.versions, core.Public)
	rt.Handle("GET /v2/{$}", g.versions, core.Public)

	rt.Handle("GET /v2/images", g.list)
	rt.Handle("POST /v2/images", g.create)
	rt.Handle("GET /v2/images/{image_id}", g.show)
	rt.Handle("PATCH /v2/images/{image_id}", g.update)
	rt.Handle("DELETE /v2/images/{image_id}", g.delete)
	rt.Handle("PUT /v2/images/{image_id}/file", g.upload)
	rt.Handle("GET /v2/images/{image_id}/file", g.download)
	rt.Handle("PUT /v2/images/{image_id}/tags/{tag}", g.addTag)
	rt.Handle("DELETE /v2/images/{image_id}/tags/{tag}", g.deleteTag)
	rt.Handle("GET /v2/images/{image_id}/members", g.listMembers)
	rt.Handle("POST /v2/images/{image_id}/members", g.addMember)
	rt.Handle("GET /v2/images/{image_id}/members/{member_id}", g.showMember)
	rt.Handle("PUT /v2/images/{image_id}/members/{member_id}", g.updateMember)
	rt.Handle("DELETE /v2/images/{image_id}/members/{member_id}", g.deleteMember)
	rt.Handle("GET /v2/schemas/image", g.imageSchema)
	rt.Handle("GET /v2/schemas/images", g.imagesSchema)
	rt.Handle("GET /v2/schemas/member", g.memberSchema)
	rt.Handle("GET /v2/schemas/members", g.membersSchema)
}

// versions is Glance's version document: 300 at the root (200 when asked
// for explicitly at /versions, as Glance does).
func (g *Glance) versions(w http.ResponseWriter, r *http.Request) error {
	href := core.ServiceURL(r) + "/v2/"
	var vs []map[string]any
	for minor := 16; minor >= 0; minor-- {
		status := "SUPPORTED"
		if minor == 16 {
			status = "CURRENT"
		}
		vs = append(vs, map[string]any{"id": "v2." + strconv.Itoa(minor), "status": status,
			"links": []map[string]any{{"rel": "self", "href": href}}})
	}
	status := http.StatusMultipleChoices
	if r.URL.Path == "/versions" {
		status = http.StatusOK
	}
	core.WriteJSON(w, status, map[string]any{"versions": vs})
	return nil
}

// body renders an image as Glance's API shows it: extra properties at
// the top level, next to the base ones.
func (img *Image) body() map[string]any {
	b := map[string]any{}
	for k, v := range img.Properties {
		b[k] = v
	}
	var size, hashAlgo, hashValue, checksum any
	if img.Checksum != "" {
		size, hashAlgo, hashValue, checksum = len(img.Data), "sha512", img.HashValue, img.Checksum
	}
	for k, v := range map[string]any{
		"id": img.ID, "name": img.Name, "status": img.Status, "visibility": img.Visibility,
		"owner": nilIfEmpty(img.Owner), "protected": img.Protected, "os_hidden": img.Hidden,
		"disk_format": img.DiskFormat, "container_format": img.ContainerFormat,
		"min_disk": img.MinDisk, "min_ram": img.MinRAM, "tags": img.Tags,
		"size": size, "virtual_size": nil, "checksum": checksum, "os_hash_algo": hashAlgo, "os_hash_value": hashValue,
		"created_at": core.FormatTime(img.CreatedAt, core.TimeSeconds), "updated_at": core.FormatTime(img.UpdatedAt, core.TimeSeconds),
		"self": "/v2/images/" + img.ID, "file": "/v2/images/" + img.ID + "/file", "schema": "/v2/schemas/image",
	} {
		b[k] = v
	}
	if img.Checksum != "" {
		b["stores"] = "file"
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// visible is Glance's default visibility rule for reads by id: public and
// community images, the caller's own, those shared with the caller; an
// admin sees everything.
func (img *Image) visible(id *core.Identity) bool {
	switch {
	case id.IsAdmin(), img.Visibility == "public", img.Visibility == "community", id.Owns(img.Owner):
		return true
	case img.Visibility == "shared":
		return img.Members[id.ProjectID] != nil
	}
	return false
}

// inDefaultList: a list without a visibility filter shows public images,
// the caller's own and shared ones the caller accepted.
func (img *Image) inDefaultList(id *core.Identity) bool {
	switch {
	case id.IsAdmin(), img.Visibility == "public", id.Owns(img.Owner):
		return true
	case img.Visibility == "shared":
		m := img.Members[id.ProjectID]
		return m != nil && m.Status == "accepted"
	}
	return false
}

func notFound(id string) error { return core.NotFound("No image found with ID %s", id) }

// find returns the image the caller may see, else Glance's 404 (an image
// of another project does not exist for the caller).
func (s *state) find(r *http.Request) (*Image, error) {
	id := r.PathValue("image_id")
	img := s.Images[id]
	if img == nil || !img.visible(core.IdentityOf(r)) {
		return nil, notFound(id)
	}
	return img, nil
}

// findOwned is find for changes: the owner or an admin only (403 for
// others who can see it).
func (s *state) findOwned(r *http.Request, action string) (*Image, error) {
	img, err := s.find(r)
	if err != nil {
		return nil, err
	}
	caller := core.IdentityOf(r)
	if !caller.Owns(img.Owner) && !caller.IsAdmin() {
		return nil, core.Forbidden("You are not authorized to complete %s action.", action)
	}
	return img, nil
}

var sortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

func (g *Glance) list(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	q := r.URL.Query()
	page, err := core.ParsePage(r, 1000)
	if err != nil {
		return core.BadRequest("limit param must be an integer")
	}
	if page.Limit == 0 && !q.Has("limit") {
		page.Limit = 25
	}
	key, dir := "created_at", "desc"
	if s := q.Get("sort_key"); s != "" {
		key = s
	}
	if s := q.Get("sort_dir"); s != "" {
		dir = s
	}
	if s := q.Get("sort"); s != "" {
		k, d, _ := strings.Cut(strings.Split(s, ",")[0], ":")
		key, dir = k, d
		if dir == "" {
			dir = "desc"
		}
	}
	if !slices.Contains(sortKeys, key) {
		return core.BadRequest("Invalid sort key: %s. It must be one of the following: %s.", key, strings.Join(sortKeys, ", "))
	}
	if dir != "asc" && dir != "desc" {
		return core.BadRequest("Invalid sort direction: %s", dir)
	}
	vis := q.Get("visibility")
	if vis != "" && vis != "all" && !slices.Contains([]string{"public", "private", "shared", "community"}, vis) {
		return core.BadRequest("Invalid visibility value: %s", vis)
	}
	var imgs []*Image
	_ = g.state.View(func(s *state) error {
		for _, img := range s.Images {
			switch {
			case vis == "":
				if !img.inDefaultList(caller) {
					continue
				}
			case vis == "all":
				if !img.visible(caller) {
					continue
				}
			default:
				if img.Visibility != vis || !img.visible(caller) {
					continue
				}
			}
			if img.Hidden && q.Get("os_hidden") != "true" {
				continue
			}
			fields := map[string]string{"name": deref(img.Name), "status": img.Status, "owner": img.Owner,
				"disk_format": deref(img.DiskFormat), "container_format": deref(img.ContainerFormat), "id": img.ID}
			if q.Has("protected") {
				fields["protected"] = strconv.FormatBool(img.Protected)
			}
			if !core.MatchFilters(q, fields) {
				continue
			}
			if !hasTags(img, q["tag"]) {
				continue
			}
			if ms := q.Get("member_status"); ms != "" && ms != "all" {
				m := img.Members[caller.ProjectID]
				if img.Visibility != "shared" || m == nil || m.Status != ms {
					continue
				}
			}
			cp := *img
			imgs = append(imgs, &cp)
		}
		return nil
	})
	sortImages(imgs, key, dir)
	pageImgs, _, err := core.Paginate(imgs, func(i *Image) string { return i.ID }, page)
	if err != nil {
		return core.BadRequest("The marker %s could not be found.", page.Marker)
	}
	out := map[string]any{"images": bodies(pageImgs), "schema": "/v2/schemas/images", "first": "/v2/images"}
	rest := url0(q)
	if rest != "" {
		out["first"] = "/v2/images?" + rest
	}
	// Glance gives a next link whenever a page is full.
	if page.Limit > 0 && len(pageImgs) == page.Limit {
		out["next"] = core.NextPath(r, pageImgs[len(pageImgs)-1].ID)
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

// url0 is the query without its marker (Glance's "first" link).
func url0(q url.Values) string {
	c := url.Values{}
	for k, v := range q {
		if k != "marker" {
			c[k] = v
		}
	}
	return c.Encode()
}

func bodies(imgs []*Image) []map[string]any {
	out := make([]map[string]any, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, img.body())
	}
	return out
}

func hasTags(img *Image, want []string) bool {
	for _, t := range want {
		if !slices.Contains(img.Tags, t) {
			return false
		}
	}
	return true
}

func sortImages(imgs []*Image, key, dir string) {
	val := func(i *Image) string {
		switch key {
		case "name":
			return deref(i.Name)
		case "status":
			return i.Status
		case "container_format":
			return deref(i.ContainerFormat)
		case "disk_format":
			return deref(i.DiskFormat)
		case "size":
			return strconv.FormatInt(int64(len(i.Data))+1e15, 10)
		case "id":
			return i.ID
		case "updated_at":
			return i.UpdatedAt.Format(time.RFC3339Nano)
		}
		return i.CreatedAt.Format(time.RFC3339Nano)
	}
	sort.SliceStable(imgs, func(a, b int) bool {
		va, vb := val(imgs[a]), val(imgs[b])
		if va == vb {
			va, vb = imgs[a].ID, imgs[b].ID
		}
		if dir == "asc" {
			return va < vb
		}
		return va > vb
	})
}

func (g *Glance) show(w http.ResponseWriter, r *http.Request) error {
	return g.state.View(func(s *state) error {
		img, err := s.find(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, img.body())
		return nil
	})
}

var (
	diskFormats      = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
	containerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
	visibilities     = []string{"public", "private", "shared", "community"}
	uuidRE           = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
)

var (
	disallowed = []string{"direct_url", "self", "file", "schema", "stores"}
	readOnly   = []string{"created_at", "updated_at", "status", "checksum", "size", "virtual_size", "direct_url",
		"self", "file", "schema", "id", "os_hash_algo", "os_hash_value"}
	reserved = []string{"location", "deleted", "deleted_at", "locations"}
)

// setAttr applies one attribute (create or patch) after validation;
// it reports the Glance error without changing img when invalid.
func setAttr(img *Image, caller *core.Identity, key string, v any) error {
	str := func() (*string, error) {
		if v == nil {
			return nil, nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, core.BadRequest("Provided object does not match schema 'image': %v is not of type 'string'", jsonText(v))
		}
		return &s, nil
	}
	integer := func() (int, error) {
		f, ok := v.(float64)
		if !ok || f != float64(int(f)) || f < 0 {
			return 0, core.BadRequest("Provided object does not match schema 'image': %v is not of type 'integer'", jsonText(v))
		}
		return int(f), nil
	}
	boolean := func() (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, core.BadRequest("Provided object does not match schema 'image': %v is not of type 'boolean'", jsonText(v))
		}
		return b, nil
	}
	enum := func(allowed []string) (*string, error) {
		s, err := str()
		if err != nil || s == nil {
			return s, err
		}
		if !slices.Contains(allowed, *s) {
			return nil, core.BadRequest("Invalid value '%s' for parameter '%s': Provided object does not match schema 'image': '%s' is not one of %s",
				*s, key, *s, jsonText(allowed))
		}
		return s, nil
	}
	switch key {
	case "name":
		s, err := str()
		if err != nil {
			return err
		}
		if s != nil && len(*s) > 255 {
			return core.BadRequest("Provided object does not match schema 'image': name is longer than 255 characters")
		}
		img.Name = s
	case "visibility":
		s, err := enum(visibilities)
		if err != nil {
			return err
		}
		if s == nil {
			return core.BadRequest("Provided object does not match schema 'image': None is not one of %s", jsonText(visibilities))
		}
		if *s == "public" && !caller.IsAdmin() {
			return core.Forbidden("You are not authorized to complete publicize_image action.")
		}
		img.Visibility = *s
	case "disk_format":
		s, err := enum(diskFormats)
		if err != nil {
			return err
		}
		img.DiskFormat = s
	case "container_format":
		s, err := enum(containerFormats)
		if err != nil {
			return err
		}
		img.ContainerFormat = s
	case "min_disk":
		n, err := integer()
		if err != nil {
			return err
		}
		img.MinDisk = n
	case "min_ram":
		n, err := integer()
		if err != nil {
			return err
		}
		img.MinRAM = n
	case "protected":
		b, err := boolean()
		if err != nil {
			return err
		}
		img.Protected = b
	case "os_hidden":
		b, err := boolean()
		if err != nil {
			return err
		}
		img.Hidden = b
	case "owner":
		s, err := str()
		if err != nil {
			return err
		}
		if !caller.IsAdmin() && (s == nil || *s != caller.ProjectID) {
			return core.Forbidden("You are not permitted to modify 'owner' on this image.")
		}
		img.Owner = deref(s)
	case "tags":
		list, ok := v.([]any)
		if !ok {
			return core.BadRequest("Provided object does not match schema 'image': %s is not of type 'array'", jsonText(v))
		}
		tags := []string{}
		for _, t := range list {
			s, ok := t.(string)
			if !ok || len(s) > 255 {
				return core.BadRequest("Provided object does not match schema 'image': %s is not of type 'string'", jsonText(t))
			}
			if !slices.Contains(tags, s) {
				tags = append(tags, s)
			}
		}
		img.Tags = tags
	default:
		if len(key) > 255 {
			return core.BadRequest("Custom property should not be greater than 255 characters.")
		}
		if v == nil {
			delete(img.Properties, key)
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return core.BadRequest("Provided object does not match schema 'image': %s is not of type 'string'", jsonText(v))
		}
		img.Properties[key] = s
	}
	return nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func checkAttrName(key string) error {
	switch {
	case slices.Contains(readOnly, key):
		return core.Forbidden("Attribute '%s' is read-only.", key)
	case slices.Contains(reserved, key), strings.HasPrefix(key, "os_glance"):
		return core.Forbidden("Attribute '%s' is reserved.", key)
	}
	return nil
}

func (g *Glance) create(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	var in map[string]any
	if err := core.DecodeJSON(r, &in); err != nil {
		return core.BadRequest("Body expected in request.")
	}
	for _, k := range disallowed {
		if _, ok := in[k]; ok {
			return core.Forbidden("Attribute '%s' is read-only.", k)
		}
	}
	now := g.env.Now()
	img := &Image{ID: core.NewUUID(), Status: "queued", Visibility: "shared", Owner: caller.ProjectID,
		Tags: []string{}, Properties: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	if v, ok := in["id"]; ok {
		s, isStr := v.(string)
		if !isStr || !uuidRE.MatchString(s) {
			return core.BadRequest("Provided object does not match schema 'image': %s is not a 'uuid'", jsonText(v))
		}
		img.ID = strings.ToLower(s)
		delete(in, "id")
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := checkAttrName(k); err != nil {
			return err
		}
		if err := setAttr(img, caller, k, in[k]); err != nil {
			return err
		}
	}
	err := g.state.Update(func(s *state) error {
		if s.Images[img.ID] != nil {
			return core.Conflict("An image with identifier %s already exists", img.ID)
		}
		s.Images[img.ID] = img
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", core.AbsoluteURL(r, "/v2/images/"+img.ID))
	core.WriteJSON(w, http.StatusCreated, img.body())
	return nil
}

// patchOp is one operation of an openstack-images-v2.1-json-patch body.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

func (g *Glance) update(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if ct = strings.TrimSpace(ct); ct != patchV21 && ct != patchV20 {
		e := core.Errorf(http.StatusUnsupportedMediaType, "Unsupported Content-Type")
		e.Header = http.Header{"Accept-Patch": {patchV20 + ", " + patchV21}}
		return e
	}
	body, err := core.ReadBody(r, core.MaxJSONBody)
	if err != nil {
		return err
	}
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(body, &ops); err != nil {
		return core.BadRequest("Request body must be a JSON array of operation objects.")
	}
	var parsed []patchOp
	for _, raw := range ops {
		var op patchOp
		if err := json.Unmarshal(raw["op"], &op.Op); err != nil || op.Op == "" {
			return core.BadRequest("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
		}
		if op.Op != "add" && op.Op != "remove" && op.Op != "replace" {
			return core.BadRequest("Invalid operation: `%s`. It must be one of the following: add, remove, replace.", op.Op)
		}
		if err := json.Unmarshal(raw["path"], &op.Path); err != nil || op.Path == "" {
			return core.BadRequest("Unable to find '%s' in JSON Schema change", "path")
		}
		if !strings.HasPrefix(op.Path, "/") || strings.Count(op.Path, "/") != 1 {
			return core.BadRequest("Invalid JSON pointer for this resource: '%s'", op.Path)
		}
		v, hasValue := raw["value"]
		if op.Op != "remove" && !hasValue {
			return core.BadRequest("Operation \"%s\" requires a member named \"value\".", op.Op)
		}
		op.Value = v
		if err := checkAttrName(op.Path[1:]); err != nil {
			return err
		}
		parsed = append(parsed, op)
	}
	var out map[string]any
	err = g.state.Update(func(s *state) error {
		cur, err := s.findOwned(r, "modify_image")
		if err != nil {
			return err
		}
		// Work on a copy: a failing operation leaves the image untouched.
		img := cur.clone()
		for _, op := range parsed {
			key := op.Path[1:]
			_, isProp := img.Properties[key]
			base := isBase(key)
			switch op.Op {
			case "remove":
				if !isProp {
					if base {
						return core.Forbidden("Properties %s must be set prior to saving data.", key)
					}
					return core.Conflict("Property %s does not exist.", key)
				}
				delete(img.Properties, key)
			case "replace", "add":
				if op.Op == "replace" && !base && !isProp {
					return core.Conflict("Property %s does not exist.", key)
				}
				var v any
				if err := json.Unmarshal(op.Value, &v); err != nil {
					return core.BadRequest("Request body must be a JSON array of operation objects.")
				}
				if err := setAttr(img, caller, key, v); err != nil {
					return err
				}
			}
		}
		img.UpdatedAt = g.env.Now()
		s.Images[img.ID] = img
		out = img.body()
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, out)
	return nil
}

func isBase(key string) bool {
	return slices.Contains([]string{"name", "visibility", "disk_format", "container_format", "min_disk", "min_ram",
		"protected", "os_hidden", "owner", "tags"}, key)
}

func (img *Image) clone() *Image {
	cp := *img
	cp.Tags = slices.Clone(img.Tags)
	cp.Properties = map[string]string{}
	for k, v := range img.Properties {
		cp.Properties[k] = v
	}
	cp.Members = map[string]*Member{}
	for k, m := range img.Members {
		mc := *m
		cp.Members[k] = &mc
	}
	return &cp
}

func (g *Glance) delete(w http.ResponseWriter, r *http.Request) error {
	err := g.state.Update(func(s *state) error {
		img, err := s.findOwned(r, "delete_image")
		if err != nil {
			return err
		}
		if img.Protected {
			return core.Forbidden("Image %s is protected and cannot be deleted.", img.ID)
		}
		delete(s.Images, img.ID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Glance) upload(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/octet-stream") {
		return core.Errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/octet-stream")
	}
	// Check before reading the data: the image must exist and be queued.
	err := g.state.View(func(s *state) error {
		img, err := s.findOwned(r, "upload_image")
		if err != nil {
			return err
		}
		if img.Status != "queued" {
			return core.Conflict("Image status transition from %s to saving is not allowed", img.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	data, err := core.ReadBody(r, MaxImageSize)
	if err != nil {
		return err
	}
	err = g.state.Update(func(s *state) error {
		img, err := s.findOwned(r, "upload_image")
		if err != nil {
			return err
		}
		if img.Status != "queued" {
			return core.Conflict("Image status transition from %s to saving is not allowed", img.Status)
		}
		if img.DiskFormat == nil || img.ContainerFormat == nil {
			return core.BadRequest("Properties container_format, disk_format must be set prior to saving data.")
		}
		img.setData(data)
		img.Status = "active"
		img.UpdatedAt = g.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Glance) download(w http.ResponseWriter, r *http.Request) error {
	var data []byte
	var checksum string
	err := g.state.View(func(s *state) error {
		img, err := s.find(r)
		if err != nil {
			return err
		}
		if img.Status == "deactivated" && !core.IdentityOf(r).IsAdmin() {
			return core.Forbidden("The requested image has been deactivated. Image data download is forbidden.")
		}
		data, checksum = img.Data, img.Checksum
		return nil
	})
	if err != nil {
		return err
	}
	if checksum == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-MD5", checksum)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
	return nil
}

func (g *Glance) addTag(w http.ResponseWriter, r *http.Request) error {
	tag := r.PathValue("tag")
	if len(tag) > 255 {
		return core.BadRequest("Provided object does not match schema 'image': tag is longer than 255 characters")
	}
	err := g.state.Update(func(s *state) error {
		img, err := s.findOwned(r, "modify_image")
		if err != nil {
			return err
		}
		if !slices.Contains(img.Tags, tag) {
			img.Tags = append(img.Tags, tag)
			img.UpdatedAt = g.env.Now()
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Glance) deleteTag(w http.ResponseWriter, r *http.Request) error {
	tag := r.PathValue("tag")
	err := g.state.Update(func(s *state) error {
		img, err := s.findOwned(r, "modify_image")
		if err != nil {
			return err
		}
		i := slices.Index(img.Tags, tag)
		if i < 0 {
			return core.NotFound("Tag %s not found.", tag)
		}
		img.Tags = slices.Delete(img.Tags, i, i+1)
		img.UpdatedAt = g.env.Now()
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
