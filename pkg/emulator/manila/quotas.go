package manila

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// quotaKeys are the quota resources shown at a microversion.
func quotaKeys(v core.Version) []string {
	keys := []string{"shares", "gigabytes", "snapshots", "snapshot_gigabytes", "share_networks"}
	if v.AtLeast("2.40") {
		keys = append(keys, "share_groups", "share_group_snapshots")
	}
	if v.AtLeast("2.53") {
		keys = append(keys, "share_replicas", "replica_gigabytes")
	}
	if v.AtLeast("2.62") {
		keys = append(keys, "per_share_gigabytes")
	}
	return keys
}

func (s *state) quotaSet(r *http.Request, project string, detail, defaults bool, now time.Time) map[string]any {
	out := map[string]any{"id": project}
	used := s.usage(project, now)
	for _, k := range quotaKeys(core.MicroversionOf(r)) {
		limit := s.Quotas.Limit(project, k)
		if defaults {
			limit = s.Quotas.Defaults[k]
		}
		if detail {
			out[k] = map[string]int{"in_use": used[k], "limit": limit, "reserved": 0}
		} else {
			out[k] = limit
		}
	}
	return out
}

// quotaTarget: a project's own quotas, or any for an admin
// (authorize_project_context; webob's default 403 otherwise).
func quotaTarget(r *http.Request) (string, error) {
	target := r.PathValue("target")
	caller := core.IdentityOf(r)
	if target != caller.ProjectID && !caller.IsAdmin() {
		return "", core.Forbidden("Access was denied to this resource.")
	}
	return target, nil
}

func (m *Manila) showQuotas(w http.ResponseWriter, r *http.Request) error {
	return m.quotas(w, r, false, false)
}

func (m *Manila) quotaDetail(w http.ResponseWriter, r *http.Request) error {
	return m.quotas(w, r, true, false)
}

func (m *Manila) quotaDefaults(w http.ResponseWriter, r *http.Request) error {
	return m.quotas(w, r, false, true)
}

func (m *Manila) quotas(w http.ResponseWriter, r *http.Request, detail, defaults bool) error {
	target, err := quotaTarget(r)
	if err != nil {
		return err
	}
	if st := r.URL.Query().Get("share_type"); st != "" {
		if !core.MicroversionOf(r).AtLeast("2.39") {
			return core.BadRequest("'share_type' key is not supported by this microversion. Use 2.39 or greater microversion to be able to use 'share_type' quotas.")
		}
	}
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		if st := r.URL.Query().Get("share_type"); st != "" {
			if _, err := s.typeByRef(r, st); err != nil {
				return core.NotFound("Share type with name or id '%s' not found.", st)
			}
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": s.quotaSet(r, target, detail, defaults, now)})
		return nil
	})
}

func (m *Manila) updateQuotas(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	in, ok := body["quota_set"].(map[string]any)
	if !ok {
		return core.BadRequest("Malformed request body")
	}
	v := core.MicroversionOf(r)
	valid := map[string]bool{}
	for _, k := range quotaKeys(v) {
		valid[k] = true
	}
	force := false
	values := map[string]int{}
	var bad []string
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := in[k]
		switch {
		case k == "tenant_id" || k == "id":
		case k == "force":
			force, _ = boolValue(val)
		case !valid[k]:
			bad = append(bad, k)
		default:
			n, err := strconv.Atoi(strValue(val))
			if err != nil {
				return core.BadRequest("Quota '%s' for %s should be integer.", strValue(val), k)
			}
			values[k] = n
		}
	}
	if len(bad) > 0 {
		return core.BadRequest("Bad key(s) %s in quota_set.", strings.Join(bad, ","))
	}
	if len(values) == 0 {
		return core.BadRequest("Must supply at least one quota field to update.")
	}
	target := r.PathValue("target")
	now := m.env.Now()
	var out map[string]any
	err = m.state.Update(func(s *state) error {
		s.purge(now)
		used := s.usage(target, now)
		for _, k := range keys {
			n, ok := values[k]
			if !ok {
				continue
			}
			if !force && n >= 0 && s.Quotas.Limit(target, k) >= 0 && used[k] > n {
				return core.BadRequest("Quota value %d for %s is smaller than already used and reserved %d.", n, k, used[k])
			}
			if n < -1 {
				return core.BadRequest("Quota limit must be -1 or greater.")
			}
		}
		for k, n := range values {
			s.Quotas.Set(target, k, n)
		}
		out = s.quotaSet(r, target, false, false, now)
		delete(out, "id")
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

func (m *Manila) deleteQuotas(w http.ResponseWriter, r *http.Request) error {
	target := r.PathValue("target")
	err := m.state.Update(func(s *state) error {
		delete(s.Quotas.Projects, target)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (m *Manila) limits(w http.ResponseWriter, r *http.Request) error {
	project := core.IdentityOf(r).ProjectID
	v := core.MicroversionOf(r)
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		u := s.usage(project, now)
		abs := map[string]int{
			"maxTotalShareGigabytes":     s.Quotas.Limit(project, "gigabytes"),
			"maxTotalSnapshotGigabytes":  s.Quotas.Limit(project, "snapshot_gigabytes"),
			"maxTotalShares":             s.Quotas.Limit(project, "shares"),
			"maxTotalShareSnapshots":     s.Quotas.Limit(project, "snapshots"),
			"maxTotalShareNetworks":      s.Quotas.Limit(project, "share_networks"),
			"totalSharesUsed":            u["shares"],
			"totalShareSnapshotsUsed":    0,
			"totalShareNetworksUsed":     u["share_networks"],
			"totalShareGigabytesUsed":    u["gigabytes"],
			"totalSnapshotGigabytesUsed": 0,
		}
		if v.AtLeast("2.53") {
			abs["maxTotalShareReplicas"] = s.Quotas.Limit(project, "share_replicas")
			abs["maxTotalReplicaGigabytes"] = s.Quotas.Limit(project, "replica_gigabytes")
			abs["totalShareReplicasUsed"] = 0
			abs["totalReplicaGigabytesUsed"] = 0
		}
		if v.AtLeast("2.58") {
			abs["maxTotalShareGroups"] = s.Quotas.Limit(project, "share_groups")
			abs["maxTotalShareGroupSnapshots"] = s.Quotas.Limit(project, "share_group_snapshots")
			abs["totalShareGroupsUsed"] = 0
			abs["totalShareGroupSnapshotsUsed"] = 0
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
		return nil
	})
}

func (m *Manila) availabilityZones(w http.ResponseWriter, r *http.Request) error {
	return m.state.View(func(s *state) error {
		// The zone exists since the service started: the default type's
		// creation time stands for it.
		created := formatTime(time.Time{})
		if t := s.Types[s.DefaultType]; t != nil {
			created = formatTime(t.CreatedAt)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"availability_zones": []map[string]any{
			{"id": s.AZID, "name": AZ, "created_at": created, "updated_at": nil}}})
		return nil
	})
}
