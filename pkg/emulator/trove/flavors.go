package trove

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// flavor is a Nova flavor as Trove reads it.
type flavor struct {
	ID        string
	Name      string
	RAM       int
	VCPUs     int
	Disk      int
	Ephemeral int
}

// ownFlavors are Trove's flavors when the emulator has no Nova: the ones
// devstack's Trove plugin creates for its guests.
var ownFlavors = []flavor{
	{ID: "10", Name: "ds512M", RAM: 512, VCPUs: 1, Disk: 5},
	{ID: "11", Name: "ds1G", RAM: 1024, VCPUs: 1, Disk: 10},
	{ID: "12", Name: "ds2G", RAM: 2048, VCPUs: 2, Disk: 10},
	{ID: "13", Name: "ds4G", RAM: 4096, VCPUs: 2, Disk: 20},
}

// flavors lists Nova's flavors with the caller's token, as Trove does;
// the emulator without Nova answers with ownFlavors.
func (t *Trove) flavors(r *http.Request) ([]flavor, error) {
	if !t.hasService("compute") {
		return ownFlavors, nil
	}
	var out struct {
		Flavors []struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			RAM        int    `json:"ram"`
			VCPUs      int    `json:"vcpus"`
			Disk       int    `json:"disk"`
			Ephemeral  *int   `json:"OS-FLV-EXT-DATA:ephemeral"`
			Ephemeral2 *int   `json:"ephemeral"`
		} `json:"flavors"`
	}
	err := t.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "compute", Method: "GET",
		Path: "/v2.1/flavors/detail"}, &out)
	if err != nil {
		// Trove answers what novaclient raised; a 4xx keeps the
		// emulator's promise of no 500 for a fault injected into Nova.
		var ce *core.CallError
		if errors.As(err, &ce) {
			return nil, core.BadRequest("Compute service error (HTTP %d): %s", ce.Status, strings.TrimSpace(string(ce.Body)))
		}
		return nil, err
	}
	fs := make([]flavor, 0, len(out.Flavors))
	for _, f := range out.Flavors {
		fl := flavor{ID: f.ID, Name: f.Name, RAM: f.RAM, VCPUs: f.VCPUs, Disk: f.Disk}
		if f.Ephemeral != nil {
			fl.Ephemeral = *f.Ephemeral
		} else if f.Ephemeral2 != nil {
			fl.Ephemeral = *f.Ephemeral2
		}
		fs = append(fs, fl)
	}
	return fs, nil
}

// findFlavor returns the flavor with that id (nil when there is none).
func (t *Trove) findFlavor(r *http.Request, id string) (*flavor, error) {
	fs, err := t.flavors(r)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if fs[i].ID == id {
			return &fs[i], nil
		}
	}
	return nil, nil
}

func (f *flavor) body(r *http.Request) map[string]any {
	// Trove 1.0 gives an integer id when the Nova id is one, else null
	// (str_id always has it).
	var id any
	if n, err := strconv.Atoi(f.ID); err == nil && !strings.HasPrefix(f.ID, "0") && n >= 0 {
		id = n
	}
	return map[string]any{"id": id, "str_id": f.ID, "name": f.Name, "ram": f.RAM, "vcpus": f.VCPUs,
		"disk": f.Disk, "ephemeral": f.Ephemeral, "links": links(r, "flavors", f.ID)}
}

func (t *Trove) listFlavors(w http.ResponseWriter, r *http.Request) error {
	fs, err := t.flavors(r)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(fs))
	for i := range fs {
		out = append(out, fs[i].body(r))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavors": out})
	return nil
}

func (t *Trove) showFlavor(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("flavor_id")
	f, err := t.findFlavor(r, id)
	if err != nil {
		return err
	}
	if f == nil {
		return core.NotFound("Resource %s cannot be found.", id)
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": f.body(r)})
	return nil
}

// idFromHref is trove.common.utils.get_id_from_href: a flavorRef may be
// an id or a URL ending with it.
func idFromHref(ref string) string {
	ref = strings.TrimRight(ref, "/")
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}
