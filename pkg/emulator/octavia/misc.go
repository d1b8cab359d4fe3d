package octavia

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// ------------------------------------------------------------- providers

func (o *Octavia) listProviders(w http.ResponseWriter, r *http.Request) error {
	fields := listFields(r.URL.Query())
	out := []map[string]any{}
	for _, p := range providers {
		out = append(out, selectFields(map[string]any{"name": p.Name, "description": p.Description}, fields))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
	return nil
}

// The amphora driver's capabilities (octavia/api/drivers/amphora_driver).
var flavorCapabilities = []map[string]any{
	{"name": "loadbalancer_topology", "description": "The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer."},
	{"name": "compute_flavor", "description": "The compute driver flavor ID."},
	{"name": "amp_image_tag", "description": "The amphora image tag."},
	{"name": "sriov_vip", "description": "When true, the VIP port will be created using an SR-IOV VF port."},
}

var azCapabilities = []map[string]any{
	{"name": "compute_zone", "description": "The compute availability zone."},
	{"name": "management_network", "description": "The management network ID for the amphora."},
	{"name": "valid_vip_networks", "description": "List of network IDs that are allowed for VIP use. This overrides/replaces the list of allowed networks configured in `octavia.conf`."},
}

func (o *Octavia) capabilities(w http.ResponseWriter, r *http.Request, key string, caps []map[string]any) error {
	name := r.PathValue("provider")
	if !providerEnabled(name) {
		return core.Errorf(http.StatusNotImplemented, "Provider '%s' was not found.", name)
	}
	fields := listFields(r.URL.Query())
	out := []map[string]any{}
	for _, c := range caps {
		out = append(out, selectFields(c, fields))
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{key: out})
	return nil
}

func (o *Octavia) providerCapabilities(w http.ResponseWriter, r *http.Request) error {
	return o.capabilities(w, r, "flavor_capabilities", flavorCapabilities)
}

func (o *Octavia) providerAZCapabilities(w http.ResponseWriter, r *http.Request) error {
	return o.capabilities(w, r, "availability_zone_capabilities", azCapabilities)
}

// --------------------------------------------------------------- flavors

func flavorBody(f *Flavor) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "description": f.Description,
		"enabled": f.Enabled, "flavor_profile_id": f.ProfileID}
}

func profileBody(p *FlavorProfile) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "provider_name": p.Provider, "flavor_data": p.Data}
}

func (o *Octavia) listFlavors(w http.ResponseWriter, r *http.Request) error {
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, f := range s.Flavors {
			items = append(items, listItem{body: flavorBody(f), id: f.ID})
		}
		return writeList(w, r, "flavors", sortedItems(items), listItem{body: flavorBody(&Flavor{})})
	})
}

// sortedItems orders objects without a creation time by id.
func sortedItems(items []listItem) []listItem {
	sort.Slice(items, func(i, j int) bool { return items[i].id < items[j].id })
	return items
}

func (o *Octavia) showFlavor(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("flavor_id")
	return o.state.View(func(s *state) error {
		f := s.Flavors[id]
		if f == nil {
			return notFound("Flavor", id)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": showFields(r, flavorBody(f))})
		return nil
	})
}

func (o *Octavia) createFlavor(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "flavor_", "flavor", flavorPOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		for _, f := range s.Flavors {
			if f.Name == b.str("name") {
				return core.Conflict("A flavor of %s already exists.", f.Name)
			}
		}
		pid := b.str("flavor_profile_id")
		if s.FlavorProfiles[pid] == nil {
			return invalidOption(pid, "flavor_profile_id")
		}
		f := &Flavor{ID: core.NewUUID(), Name: b.str("name"), Description: b.str("description"), ProfileID: pid,
			Enabled: b.bool("enabled", true)}
		s.Flavors[f.ID] = f
		answer = flavorBody(f)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"flavor": answer})
	return nil
}

func (o *Octavia) updateFlavor(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("flavor_id")
	b, err := decodeBody(r, "flavor_", "flavor", flavorPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		f := s.Flavors[id]
		if f == nil {
			return notFound("Flavor", id)
		}
		if b.has("name") {
			f.Name = b.str("name")
		}
		if b.has("description") {
			f.Description = b.str("description")
		}
		if b.has("enabled") {
			f.Enabled = b.bool("enabled", true)
		}
		answer = flavorBody(f)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavor": answer})
	return nil
}

func (o *Octavia) deleteFlavor(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("flavor_id")
	now := o.env.Now()
	err := o.state.Update(func(s *state) error {
		if s.Flavors[id] == nil {
			return notFound("Flavor", id)
		}
		for _, lb := range s.LBs {
			if lb.FlavorID != nil && *lb.FlavorID == id && !lb.gone(now) {
				return core.Conflict("Flavor %s is in use and cannot be modified.", id)
			}
		}
		delete(s.Flavors, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (o *Octavia) listFlavorProfiles(w http.ResponseWriter, r *http.Request) error {
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, p := range s.FlavorProfiles {
			items = append(items, listItem{body: profileBody(p), id: p.ID})
		}
		return writeList(w, r, "flavorprofiles", sortedItems(items), listItem{body: profileBody(&FlavorProfile{})})
	})
}

func (o *Octavia) showFlavorProfile(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("profile_id")
	return o.state.View(func(s *state) error {
		p := s.FlavorProfiles[id]
		if p == nil {
			return notFound("Flavor profile", id)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"flavorprofile": showFields(r, profileBody(p))})
		return nil
	})
}

// checkFlavorData is the driver's validate_flavor: a JSON object.
func checkFlavorData(data string) error {
	if !strings.HasPrefix(strings.TrimSpace(data), "{") {
		return core.BadRequest("Provider 'amphora' reports error: Flavor metadata is not valid JSON: %s", data)
	}
	return nil
}

func (o *Octavia) createFlavorProfile(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "flavorprofile_", "flavorprofile", flavorProfilePOST)
	if err != nil {
		return err
	}
	if !providerEnabled(b.str("provider_name")) {
		return core.BadRequest("Provider '%s' is not enabled.", b.str("provider_name"))
	}
	if err := checkFlavorData(b.str("flavor_data")); err != nil {
		return err
	}
	p := &FlavorProfile{ID: core.NewUUID(), Name: b.str("name"), Provider: b.str("provider_name"), Data: b.str("flavor_data")}
	if err := o.state.Update(func(s *state) error { s.FlavorProfiles[p.ID] = p; return nil }); err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"flavorprofile": profileBody(p)})
	return nil
}

func (o *Octavia) updateFlavorProfile(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("profile_id")
	b, err := decodeBody(r, "flavorprofile_", "flavorprofile", flavorProfilePUT)
	if err != nil {
		return err
	}
	if b.has("provider_name") && !providerEnabled(b.str("provider_name")) {
		return core.BadRequest("Provider '%s' is not enabled.", b.str("provider_name"))
	}
	if b.has("flavor_data") {
		if err := checkFlavorData(b.str("flavor_data")); err != nil {
			return err
		}
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		p := s.FlavorProfiles[id]
		if p == nil {
			return notFound("Flavor profile", id)
		}
		for _, f := range s.Flavors {
			if f.ProfileID == id && (b.has("provider_name") || b.has("flavor_data")) {
				return core.Conflict("Flavor profile %s is in use and cannot be modified.", id)
			}
		}
		if b.has("name") {
			p.Name = b.str("name")
		}
		if b.has("provider_name") {
			p.Provider = b.str("provider_name")
		}
		if b.has("flavor_data") {
			p.Data = b.str("flavor_data")
		}
		answer = profileBody(p)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"flavorprofile": answer})
	return nil
}

func (o *Octavia) deleteFlavorProfile(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("profile_id")
	err := o.state.Update(func(s *state) error {
		if s.FlavorProfiles[id] == nil {
			return notFound("Flavor profile", id)
		}
		for _, f := range s.Flavors {
			if f.ProfileID == id {
				return core.Conflict("Flavor profile %s is in use and cannot be modified.", id)
			}
		}
		delete(s.FlavorProfiles, id)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---------------------------------------------------- availability zones

// The emulator has no Octavia availability zones (none are made by
// devstack either): the lists are empty.

func (o *Octavia) listAZs(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"availability_zones": []any{}, "availability_zones_links": []any{}})
	return nil
}

func (o *Octavia) showAZ(w http.ResponseWriter, r *http.Request) error {
	return notFound("Availability Zone", r.PathValue("az"))
}

func (o *Octavia) listAZProfiles(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"availability_zone_profiles": []any{}, "availability_zone_profiles_links": []any{}})
	return nil
}

func (o *Octavia) showAZProfile(w http.ResponseWriter, r *http.Request) error {
	return notFound("Availability zone profile", r.PathValue("profile_id"))
}

// --------------------------------------------------------------- amphorae

// derivedUUID is a stable UUID made from a seed (an amphora's id from its
// load balancer's).
func derivedUUID(seed string) string {
	h := sha1.Sum([]byte(seed))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// amphorae are the amphora of each load balancer (SINGLE topology: one,
// STANDALONE), made up from the load balancer: nothing boots.
func (s *state) amphorae(now time.Time) []map[string]any {
	var out []map[string]any
	lbs := make([]*LoadBalancer, 0, len(s.LBs))
	for _, lb := range s.LBs {
		if !lb.gone(now) {
			lbs = append(lbs, lb)
		}
	}
	sortByCreation(lbs, func(lb *LoadBalancer) *common { return &lb.common })
	for i, lb := range lbs {
		out = append(out, amphoraBody(lb, i, now))
	}
	return out
}

func amphoraBody(lb *LoadBalancer, i int, now time.Time) map[string]any {
	status := "ALLOCATED"
	if lb.Current(now) == "PENDING_CREATE" {
		status = "BOOTING"
	}
	expires := lb.Created.AddDate(2, 0, 0)
	return map[string]any{
		"id": derivedUUID("amphora:" + lb.ID), "loadbalancer_id": lb.ID, "compute_id": derivedUUID("compute:" + lb.ID),
		"lb_network_ip": fmt.Sprintf("192.168.0.%d", 10+i%240), "vrrp_ip": nil, "ha_ip": lb.VIPAddress,
		"vrrp_port_id": nil, "ha_port_id": lb.VIPPortID, "cert_expiration": core.FormatTime(expires, timeLayout),
		"cert_busy": false, "role": "STANDALONE", "status": status, "vrrp_interface": nil, "vrrp_id": 1,
		"vrrp_priority": nil, "cached_zone": "nova", "created_at": core.FormatTime(lb.Created, timeLayout),
		"updated_at": formatTime(lb.Updated), "image_id": derivedUUID("image:amphora"), "compute_flavor": "amphora",
	}
}

func (o *Octavia) listAmphorae(w http.ResponseWriter, r *http.Request) error {
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, a := range s.amphorae(now) {
			items = append(items, listItem{body: a, id: a["id"].(string)})
		}
		return writeList(w, r, "amphorae", items, listItem{body: amphoraBody(&LoadBalancer{}, 0, now)})
	})
}

func (o *Octavia) findAmphora(id string) (map[string]any, error) {
	now := o.env.Now()
	var found map[string]any
	_ = o.state.View(func(s *state) error {
		for _, a := range s.amphorae(now) {
			if a["id"] == id {
				found = a
			}
		}
		return nil
	})
	if found == nil {
		return nil, notFound("Amphora", id)
	}
	return found, nil
}

func (o *Octavia) showAmphora(w http.ResponseWriter, r *http.Request) error {
	a, err := o.findAmphora(r.PathValue("amphora_id"))
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"amphora": showFields(r, a)})
	return nil
}

func (o *Octavia) amphoraStats(w http.ResponseWriter, r *http.Request) error {
	a, err := o.findAmphora(r.PathValue("amphora_id"))
	if err != nil {
		return err
	}
	var stats []map[string]any
	_ = o.state.View(func(s *state) error {
		for _, l := range s.lbListeners(a["loadbalancer_id"].(string), o.env.Now()) {
			st := map[string]any{"id": a["id"], "listener_id": l.ID, "loadbalancer_id": l.LBID}
			for k, v := range zeroStats {
				st[k] = v
			}
			stats = append(stats, st)
		}
		return nil
	})
	if stats == nil {
		stats = []map[string]any{}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"amphora_stats": stats})
	return nil
}

// amphoraAction is failover and configure: accepted, nothing to do.
func (o *Octavia) amphoraAction(w http.ResponseWriter, r *http.Request) error {
	if _, err := o.findAmphora(r.PathValue("amphora_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
