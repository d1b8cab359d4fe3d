package trove

import (
	"net/http"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// datastore is one datastore an operator registered (trove-manage
// datastore_update): fixed in the emulator, the same in every project.
type datastore struct {
	ID, Name, Manager, DefaultVersion string
	Versions                          []dsVersion
}

type dsVersion struct {
	ID, Name, Version, Image string
}

// datastores are the emulator's: MySQL, MariaDB and PostgreSQL, each
// with two active versions, as a devstack with Trove's guest images has.
var datastores = []datastore{
	{ID: "3c0a8b7e-8d2d-4d7f-9a63-0f2f3c6d7a01", Name: "mysql", Manager: "mysql", DefaultVersion: "8.0",
		Versions: []dsVersion{
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d11", Name: "8.0", Version: "8.0.29", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a01"},
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d12", Name: "5.7", Version: "5.7.29", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a02"},
		}},
	{ID: "3c0a8b7e-8d2d-4d7f-9a63-0f2f3c6d7a02", Name: "mariadb", Manager: "mariadb", DefaultVersion: "10.11",
		Versions: []dsVersion{
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d21", Name: "10.11", Version: "10.11.2", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a03"},
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d22", Name: "10.6", Version: "10.6.12", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a04"},
		}},
	{ID: "3c0a8b7e-8d2d-4d7f-9a63-0f2f3c6d7a03", Name: "postgresql", Manager: "postgresql", DefaultVersion: "14",
		Versions: []dsVersion{
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d31", Name: "14", Version: "14.7", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a05"},
			{ID: "0b8f1d5e-1c4a-4f0e-8e8a-5a2a9b7c8d32", Name: "13", Version: "13.10", Image: "a9b8c7d6-0001-4e5f-8a9b-0c1d2e3f4a06"},
		}},
}

// findDatastore is Datastore.load: by id, then by name.
func findDatastore(idOrName string) (*datastore, error) {
	for i := range datastores {
		if datastores[i].ID == idOrName {
			return &datastores[i], nil
		}
	}
	for i := range datastores {
		if datastores[i].Name == idOrName {
			return &datastores[i], nil
		}
	}
	return nil, core.NotFound("Datastore '%s' cannot be found.", idOrName)
}

// findVersion is DatastoreVersion.load: by id, then by name (and
// version number when given). Trove answers 400 for a missing version
// (DatastoreVersionNotFound is not in its 404 map).
func (ds *datastore) findVersion(idOrName, number string) (*dsVersion, error) {
	for i := range ds.Versions {
		if ds.Versions[i].ID == idOrName {
			return &ds.Versions[i], nil
		}
	}
	for i := range ds.Versions {
		v := &ds.Versions[i]
		if v.Name == idOrName && (number == "" || number == v.Version) {
			return v, nil
		}
	}
	return nil, core.BadRequest("Datastore version '%s' cannot be found.", idOrName)
}

// versionByID is DatastoreVersion.load_by_uuid.
func versionByID(id string) (*datastore, *dsVersion, error) {
	for i := range datastores {
		for j := range datastores[i].Versions {
			if datastores[i].Versions[j].ID == id {
				return &datastores[i], &datastores[i].Versions[j], nil
			}
		}
	}
	return nil, nil, core.BadRequest("Datastore version '%s' cannot be found.", id)
}

// resolveDatastore is get_datastore_version: the datastore named in a
// create request (default mysql, as devstack configures
// default_datastore) and its version (the datastore's default).
func resolveDatastore(typ, version, number string) (*datastore, *dsVersion, error) {
	if typ == "" {
		typ = "mysql"
	}
	ds, err := findDatastore(typ)
	if err != nil {
		return nil, nil, err
	}
	if version == "" {
		version = ds.DefaultVersion
	}
	v, err := ds.findVersion(version, number)
	if err != nil {
		return nil, nil, err
	}
	return ds, v, nil
}

func (ds *datastore) defaultVersionID() string {
	for _, v := range ds.Versions {
		if v.Name == ds.DefaultVersion {
			return v.ID
		}
	}
	return ""
}

func (ds *datastore) body(r *http.Request) map[string]any {
	vs := make([]map[string]any, 0, len(ds.Versions))
	for i := range ds.Versions {
		vs = append(vs, ds.Versions[i].body(r, ds, false))
	}
	return map[string]any{"id": ds.ID, "name": ds.Name, "links": links(r, "datastores", ds.ID),
		"versions": vs, "default_version": ds.defaultVersionID()}
}

func (v *dsVersion) body(r *http.Request, ds *datastore, withDatastore bool) map[string]any {
	b := map[string]any{"id": v.ID, "name": v.Name, "version": v.Version, "links": links(r, "datastores/versions", v.ID)}
	if withDatastore {
		b["datastore"] = ds.ID
	}
	if core.IdentityOf(r).IsAdmin() {
		b["active"] = true
		b["packages"] = ""
		b["image"] = v.Image
		b["image_tags"] = []string{}
	}
	return b
}

func (t *Trove) listDatastores(w http.ResponseWriter, r *http.Request) error {
	out := make([]map[string]any, 0, len(datastores))
	for i := range datastores {
		out = append(out, datastores[i].body(r))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"datastores": out})
	return nil
}

func (t *Trove) showDatastore(w http.ResponseWriter, r *http.Request) error {
	ds, err := findDatastore(r.PathValue("datastore"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"datastore": ds.body(r)})
	return nil
}

func (t *Trove) listVersions(w http.ResponseWriter, r *http.Request) error {
	ds, err := findDatastore(r.PathValue("datastore"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ds.Versions))
	for i := range ds.Versions {
		out = append(out, ds.Versions[i].body(r, ds, true))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": out})
	return nil
}

func (t *Trove) datastoreSub(w http.ResponseWriter, r *http.Request) error {
	a, b := r.PathValue("a"), r.PathValue("b")
	switch {
	case b == "versions":
		r.SetPathValue("datastore", a)
		return t.listVersions(w, r)
	case a == "versions":
		r.SetPathValue("version", b)
		return t.showVersionByID(w, r)
	}
	return core.NotFound("The resource could not be found.")
}

func (t *Trove) showVersion(w http.ResponseWriter, r *http.Request) error {
	ds, err := findDatastore(r.PathValue("datastore"))
	if err != nil {
		return err
	}
	v, err := ds.findVersion(r.PathValue("version"), "")
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"version": v.body(r, ds, true)})
	return nil
}

func (t *Trove) showVersionByID(w http.ResponseWriter, r *http.Request) error {
	ds, v, err := versionByID(r.PathValue("version"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"version": v.body(r, ds, true)})
	return nil
}

// versionFlavors: every flavor is allowed for every version (no
// datastore_version_metadata restricts them).
func (t *Trove) versionFlavors(w http.ResponseWriter, r *http.Request) error {
	ds, err := findDatastore(r.PathValue("datastore"))
	if err != nil {
		return err
	}
	if _, err := ds.findVersion(r.PathValue("version"), ""); err != nil {
		return err
	}
	return t.listFlavors(w, r)
}

// versionVolumeTypes: every Cinder volume type is allowed; the emulator's
// Cinder, when it has one, says which exist.
func (t *Trove) versionVolumeTypes(w http.ResponseWriter, r *http.Request) error {
	ds, err := findDatastore(r.PathValue("datastore"))
	if err != nil {
		return err
	}
	if _, err := ds.findVersion(r.PathValue("version"), ""); err != nil {
		return err
	}
	types := []map[string]any{}
	cinder := ""
	for _, typ := range []string{"block-storage", "volumev3"} {
		if t.hasService(typ) {
			cinder = typ
		}
	}
	if cinder != "" {
		var out struct {
			VolumeTypes []struct {
				ID          string  `json:"id"`
				Name        string  `json:"name"`
				IsPublic    bool    `json:"os-volume-type-access:is_public"`
				Description *string `json:"description"`
			} `json:"volume_types"`
		}
		id := core.IdentityOf(r)
		err := t.env.Do(r.Context(), core.Call{Identity: id, Service: cinder, Method: "GET",
			Path: "/v3/" + id.ProjectID + "/types"}, &out)
		if err != nil {
			return core.BadRequest("Failed to list the volume types: %v", err)
		}
		for _, vt := range out.VolumeTypes {
			types = append(types, map[string]any{"id": vt.ID, "name": vt.Name, "is_public": vt.IsPublic, "description": vt.Description})
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volume_types": types})
	return nil
}

// hasService reports whether the emulator runs a service of that
// catalog type.
func (t *Trove) hasService(typ string) bool {
	for _, s := range t.env.Specs() {
		if s.Type == typ {
			return true
		}
	}
	return false
}
