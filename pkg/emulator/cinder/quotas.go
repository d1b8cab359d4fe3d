package cinder

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// quotaKeys are the quota resources of a project: the fixed ones and the
// per-volume-type ones (volumes_<type>, snapshots_<type>,
// gigabytes_<type>), which default to unlimited.
func (s *state) quotaKeys() []string {
	keys := []string{"volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "per_volume_gigabytes", "groups"}
	var typed []string
	for _, t := range s.Types {
		typed = append(typed, "volumes_"+t.Name, "snapshots_"+t.Name, "gigabytes_"+t.Name)
	}
	sort.Strings(typed)
	return append(keys, typed...)
}

// quotaSet is the quota_set of a project, limits only or with usage.
func (s *state) quotaSet(project string, usage, defaults bool, now time.Time) map[string]any {
	out := map[string]any{"id": project}
	used := map[string]int{}
	if usage {
		used = s.usage(project, now)
	}
	for _, k := range s.quotaKeys() {
		limit := s.Quotas.Limit(project, k)
		if defaults {
			if l, ok := s.Quotas.Defaults[k]; ok {
				limit = l
			} else {
				limit = -1
			}
		}
		if usage {
			out[k] = map[string]int{"limit": limit, "in_use": used[k], "reserved": 0, "allocated": 0}
		} else {
			out[k] = limit
		}
	}
	return out
}

func (c *Cinder) quotaTarget(r *http.Request) (string, error) {
	target := r.PathValue("target")
	caller := core.IdentityOf(r)
	if target != caller.ProjectID && !caller.IsAdmin() {
		return "", core.Forbidden("Policy doesn't allow volume_extension:quotas:show to be performed.")
	}
	return target, nil
}

func (c *Cinder) showQuotas(w http.ResponseWriter, r *http.Request) error {
	target, err := c.quotaTarget(r)
	if err != nil {
		return err
	}
	usage, err := boolQuery("usage", r.URL.Query().Get("usage"))
	if err != nil {
		return err
	}
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": s.quotaSet(target, usage, false, now)})
		return nil
	})
}

func (c *Cinder) quotaDefaults(w http.ResponseWriter, r *http.Request) error {
	target, err := c.quotaTarget(r)
	if err != nil {
		return err
	}
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": s.quotaSet(target, false, true, now)})
		return nil
	})
}

func (c *Cinder) updateQuotas(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if err := onlyKeys("", body, "quota_set"); err != nil {
		return err
	}
	in, err := checkObject(body, "quota_set")
	if err != nil {
		return err
	}
	if len(in) == 0 {
		return fieldError("quota_set", in, "{} does not have enough properties")
	}
	target := r.PathValue("target")
	now := c.env.Now()
	var out map[string]any
	err = c.state.Update(func(s *state) error {
		s.purge(now)
		valid := map[string]bool{"tenant_id": true, "id": true}
		for _, k := range s.quotaKeys() {
			valid[k] = true
		}
		var bad []string
		values := map[string]int{}
		keys := make([]string, 0, len(in))
		for k := range in {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !valid[k] {
				bad = append(bad, k)
				continue
			}
			if k == "tenant_id" || k == "id" {
				continue
			}
			n, err := quotaValue(k, in[k])
			if err != nil {
				return err
			}
			values[k] = n
		}
		if len(bad) > 0 {
			return core.BadRequest("Invalid input received: Bad key(s) in quota set: %s", strings.Join(bad, ", "))
		}
		used := s.usage(target, now)
		for _, k := range keys {
			n, ok := values[k]
			if !ok || k == "per_volume_gigabytes" || n == -1 {
				continue
			}
			if n < used[k] {
				return core.BadRequest("Quota %s limit must be equal or greater than existing resources. Current usage is %d and the requested limit is %d.", k, used[k], n)
			}
		}
		for k, n := range values {
			s.Quotas.Set(target, k, n)
		}
		out = s.quotaSet(target, false, false, now)
		delete(out, "id")
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

// quotaValue is api_utils.validate_integer(value, key, -1, MAX_INT).
func quotaValue(key string, v any) (int, error) {
	var n int
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return 0, core.BadRequest("%s must be an integer.", key)
		}
		n = int(x)
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, core.BadRequest("%s must be an integer.", key)
		}
		n = i
	default:
		return 0, core.BadRequest("%s must be an integer.", key)
	}
	if n < -1 {
		return 0, core.BadRequest("%s must be >= -1", key)
	}
	if n > math.MaxInt32 {
		return 0, core.BadRequest("%s must be <= %d", key, math.MaxInt32)
	}
	return n, nil
}

func (c *Cinder) deleteQuotas(w http.ResponseWriter, r *http.Request) error {
	target := r.PathValue("target")
	err := c.state.Update(func(s *state) error {
		delete(s.Quotas.Projects, target)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// limits is GET /limits: the project's absolute limits and usage.
func (c *Cinder) limits(w http.ResponseWriter, r *http.Request) error {
	project := core.IdentityOf(r).ProjectID
	if p := r.URL.Query().Get("project_id"); p != "" && core.IdentityOf(r).IsAdmin() && core.MicroversionOf(r).AtLeast("3.39") {
		project = p
	}
	now := c.env.Now()
	return c.state.View(func(s *state) error {
		u := s.usage(project, now)
		abs := map[string]int{
			"maxTotalVolumeGigabytes":  s.Quotas.Limit(project, "gigabytes"),
			"maxTotalBackupGigabytes":  s.Quotas.Limit(project, "backup_gigabytes"),
			"maxTotalVolumes":          s.Quotas.Limit(project, "volumes"),
			"maxTotalSnapshots":        s.Quotas.Limit(project, "snapshots"),
			"maxTotalBackups":          s.Quotas.Limit(project, "backups"),
			"totalVolumesUsed":         u["volumes"],
			"totalGigabytesUsed":       u["gigabytes"],
			"totalSnapshotsUsed":       u["snapshots"],
			"totalBackupsUsed":         u["backups"],
			"totalBackupGigabytesUsed": u["backup_gigabytes"],
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
		return nil
	})
}

func (c *Cinder) availabilityZones(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []map[string]any{
		{"zoneName": AZ, "zoneState": map[string]bool{"available": true}}}})
	return nil
}

// extensions lists the API extensions Cinder loads (the ones this
// emulator implements).
func (c *Cinder) extensions(w http.ResponseWriter, r *http.Request) error {
	ext := func(name, alias, desc, updated string) map[string]any {
		return map[string]any{"name": name, "alias": alias, "description": desc, "updated": updated, "links": []any{}}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"extensions": []map[string]any{
		ext("AdminActions", "os-admin-actions", "Enable admin actions.", "2012-08-25T00:00:00+00:00"),
		ext("AvailabilityZones", "os-availability-zone", "Describe Availability Zones.", "2013-06-27T00:00:00+00:00"),
		ext("Backups", "backups", "Backups support.", "2012-12-12T00:00:00+00:00"),
		ext("ExtendedSnapshotAttributes", "os-extended-snapshot-attributes", "Extended SnapshotAttributes support.", "2012-06-19T00:00:00+00:00"),
		ext("Quotas", "os-quota-sets", "Quota management support.", "2011-08-08T00:00:00+00:00"),
		ext("TypesExtraSpecs", "os-types-extra-specs", "Type extra specs support.", "2011-08-24T00:00:00+00:00"),
		ext("TypesManage", "os-types-manage", "Types manage support.", "2011-08-24T00:00:00+00:00"),
		ext("UsedLimits", "os-used-limits", "Provide data on limited resources that are being used.", "2013-10-03T00:00:00+00:00"),
		ext("VolumeActions", "os-volume-actions", "Enable volume actions.", "2012-05-31T00:00:00+00:00"),
		ext("VolumeHostAttribute", "os-vol-host-attr", "Expose host as an attribute of a volume.", "2011-11-03T00:00:00+00:00"),
		ext("VolumeTenantAttribute", "os-vol-tenant-attr", "Expose the internal project_id as an attribute of a volume.", "2011-11-03T00:00:00+00:00"),
		ext("VolumeTypeAccess", "os-volume-type-access", "Volume type access support.", "2014-06-26T00:00:00Z"),
	}})
	return nil
}
