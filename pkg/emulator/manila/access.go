package manila

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// shareAction serves POST /shares/{id}/action: access rules, extend,
// shrink, and the admin actions, under their pre-2.7 (os-) or 2.7+ names.
func (m *Manila) shareAction(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if len(body) != 1 {
		return core.BadRequest("Malformed request body")
	}
	var name string
	var arg any
	for k, v := range body {
		name, arg = k, v
	}
	v := core.MicroversionOf(r)
	legacy := strings.HasPrefix(name, "os-")
	base := strings.TrimPrefix(name, "os-")
	switch base {
	case "allow_access", "deny_access", "access_list", "extend", "shrink", "force_delete", "reset_status":
	default:
		return noSuchAction(name)
	}
	// The os- names live until 2.6, the plain ones from 2.7; access_list
	// ends at 2.44 (the share-access-rules API replaces it).
	if legacy == v.AtLeast("2.7") || (base == "access_list" && v.AtLeast("2.45")) {
		return core.NotFound("The resource could not be found.")
	}
	args, _ := arg.(map[string]any)
	switch base {
	case "allow_access":
		return m.allowAccess(w, r, args)
	case "deny_access":
		return m.denyAccess(w, r, args)
	case "access_list":
		now := m.env.Now()
		return m.state.View(func(s *state) error {
			sh, err := s.share(r, r.PathValue("share_id"), now)
			if err != nil {
				return err
			}
			list := []map[string]any{}
			for _, rule := range s.rulesOf(sh.ID, now) {
				list = append(list, s.ruleBody(r, rule, false, now))
			}
			core.WriteJSON(w, http.StatusOK, map[string]any{"access_list": list})
			return nil
		})
	case "extend", "shrink":
		return m.resize(w, r, base, args)
	case "force_delete":
		if !core.IdentityOf(r).IsAdmin() {
			return core.Forbidden("Policy doesn't allow share:force_delete to be performed.")
		}
		now := m.env.Now()
		err := m.state.Update(func(s *state) error {
			s.purge(now)
			sh, err := s.share(r, r.PathValue("share_id"), now)
			if err != nil {
				return err
			}
			return s.deleteShare(m.env, sh, true, now)
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	case "reset_status":
		if !core.IdentityOf(r).IsAdmin() {
			return core.Forbidden("Policy doesn't allow share:reset_status to be performed.")
		}
		status, _ := args["status"].(string)
		valid := []string{"creating", "available", "deleting", "error_deleting", "error", "inactive", "manage_error",
			"unmanage_error", "extending_error", "shrinking_error", "shrinking_possible_data_loss_error", "migrating",
			"migrating_to", "replication_change", "reverting", "reverting_error", "restoring", "backup_creating",
			"backup_restoring", "backup_restoring_error"}
		if status == "" {
			return core.BadRequest("Must specify 'status'")
		}
		found := false
		for _, s := range valid {
			found = found || s == status
		}
		if !found {
			return core.BadRequest("Invalid state. Valid states: %s.", strings.Join(valid, ", "))
		}
		now := m.env.Now()
		err := m.state.Update(func(s *state) error {
			s.purge(now)
			sh, err := s.share(r, r.PathValue("share_id"), now)
			if err != nil {
				return err
			}
			sh.Set(status)
			sh.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return noSuchAction(name)
}

func (m *Manila) resize(w http.ResponseWriter, r *http.Request, op string, args map[string]any) error {
	v := core.MicroversionOf(r)
	var size int
	sizeOK := false
	switch x := args["new_size"].(type) {
	case float64:
		size, sizeOK = int(x), x == float64(int(x))
	case string:
		n, err := parseInt(x)
		size, sizeOK = n, err == nil
	}
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		sh, err := s.ownedShare(r, r.PathValue("share_id"), op, now)
		if err != nil {
			return err
		}
		if !sizeOK {
			return core.BadRequest("New share size must be specified as an integer.")
		}
		if raw, ok := args["force"]; ok && op == "extend" {
			force, valid := boolValue(raw)
			if !valid {
				return core.BadRequest("Invalid boolean force : %s", strValue(raw))
			}
			if force && (!v.AtLeast("2.64") || !core.IdentityOf(r).IsAdmin()) {
				return core.Forbidden("Policy doesn't allow share:extend_additional_option to be performed.")
			}
		}
		settle(&sh.Lifecycle, now)
		st := sh.Current(now)
		if op == "extend" {
			if st != "available" {
				return core.BadRequest("Invalid share: Share %s status must be 'available' to extend, but current status is: %s..", sh.ID, st)
			}
			if size <= sh.Size {
				return core.BadRequest("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", sh.Size, size)
			}
			if l := s.Quotas.Limit(sh.ProjectID, "per_share_gigabytes"); l >= 0 && size > l {
				return quotaExceeded("Requested share size %d is larger than maximum allowed limit %d.", size, l)
			}
			u := s.usage(sh.ProjectID, now)
			if !s.Quotas.Allows(sh.ProjectID, "gigabytes", u["gigabytes"], size-sh.Size) {
				return core.Forbidden("Requested share exceeds allowed project/user or share type gigabytes quota.")
			}
			sh.Lifecycle = core.Begin(m.env, "extending", "available")
		} else {
			if st != "available" && st != "shrinking_possible_data_loss_error" {
				return core.BadRequest("Invalid share: Share %s status must in (available, shrinking_possible_data_loss_error) to shrink, but current status is: %s..", sh.ID, st)
			}
			if size <= 0 || size >= sh.Size {
				return core.BadRequest("Invalid input received: New size for shrink must be less than current size and greater than 0 (current: %d, new: %d)", sh.Size, size)
			}
			sh.Lifecycle = core.Begin(m.env, "shrinking", "available")
		}
		sh.Size = size
		sh.UpdatedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func parseInt(s string) (int, error) {
	var n int
	err := json.Unmarshal([]byte(strings.TrimSpace(s)), &n)
	return n, err
}

// ruleBody is the access rule view: summary (access_list) or full
// (allow_access, share-access-rules show), at the request's version.
func (s *state) ruleBody(r *http.Request, rule *AccessRule, full bool, now time.Time) map[string]any {
	v := core.MicroversionOf(r)
	state := rule.Current(now)
	b := map[string]any{"id": rule.ID, "access_level": rule.Level, "access_to": rule.To, "access_type": rule.Type, "state": state}
	if full {
		b["share_id"] = rule.ShareID
	}
	if v.AtLeast("2.21") {
		b["access_key"] = nil
		if rule.Type == "cephx" {
			b["access_key"] = "AQ" + strings.ReplaceAll(rule.ID, "-", "") + "=="
		}
	}
	if !v.AtLeast("2.28") {
		// Before 2.28 a rule shows its share's access_rules_status.
		if s.accessRulesStatus(rule.ShareID, now) == "syncing" {
			b["state"] = "new"
		} else {
			b["state"] = "active"
		}
	}
	if v.AtLeast("2.33") {
		b["created_at"] = formatTime(rule.CreatedAt)
		b["updated_at"] = formatTime(rule.UpdatedAt)
	}
	if v.AtLeast("2.45") {
		b["metadata"] = orEmpty(rule.Metadata)
	}
	return b
}

var (
	usernameRE = regexp.MustCompile(`^.[^"/\\\[\]:;|=,+*?<>]{3,254}$`)
	blankRE    = regexp.MustCompile(`^[\s|.]+$`)
)

// validateAccess is api.common.validate_access at the request's version.
func validateAccess(v core.Version, accessType, accessTo string) error {
	ceph, ipv6 := v.AtLeast("2.13"), v.AtLeast("2.38")
	switch {
	case accessType == "ip":
		ip, n, err := net.ParseCIDR(accessTo)
		if err != nil {
			ip = net.ParseIP(accessTo)
		}
		switch {
		case ip == nil && ipv6:
			return core.BadRequest("'%s' does not appear to be an IPv4 or IPv6 network", accessTo)
		case ip == nil:
			return core.BadRequest("Expected 4 octets in '%s'", accessTo)
		case ip.To4() == nil && !ipv6:
			return core.BadRequest("Expected 4 octets in '%s'", accessTo)
		case n != nil && !ip.Equal(n.IP):
			return core.BadRequest("%s has host bits set", accessTo)
		}
	case accessType == "user":
		if blankRE.MatchString(accessTo) {
			return core.BadRequest("Invalid user or group name,cannot consist solely of periods or spaces.")
		}
		if !usernameRE.MatchString(accessTo) {
			return core.BadRequest(`Invalid user or group name. Must be 4-255 characters and consist of alphanumeric characters and exclude special characters "/\[]:;|=,+*?<>`)
		}
	case accessType == "cert":
		if n := len(strings.TrimSpace(accessTo)); n < 1 || n > 64 {
			return core.BadRequest("Invalid CN (common name). Must be 1-64 chars long.")
		}
	case accessType == "cephx" && ceph:
		switch {
		case accessTo == "":
			return core.BadRequest("Ceph IDs may not be empty.")
		case strings.Contains(accessTo, "."):
			return core.BadRequest("Ceph IDs may not contain periods.")
		}
	case ceph:
		return core.BadRequest("Only 'ip', 'user', 'cert' or 'cephx' access types are supported.")
	default:
		return core.BadRequest("Only 'ip', 'user' or 'cert' access types are supported.")
	}
	return nil
}

func (m *Manila) allowAccess(w http.ResponseWriter, r *http.Request, args map[string]any) error {
	v := core.MicroversionOf(r)
	if args == nil {
		return core.BadRequest("Malformed request body")
	}
	accessType, okType := args["access_type"].(string)
	accessTo, okTo := args["access_to"].(string)
	if !okType || !okTo {
		return core.BadRequest("Malformed request body")
	}
	level := "rw"
	if raw, ok := args["access_level"]; ok && raw != nil {
		l, _ := raw.(string)
		if l != "rw" && l != "ro" {
			return core.BadRequest("Invalid access rule: Invalid share access level: %s.", strValue(raw))
		}
		level = l
	}
	var meta map[string]string
	if raw, ok := args["metadata"]; ok && raw != nil && v.AtLeast("2.45") {
		var err error
		if meta, err = checkMetadata(raw); err != nil {
			return err
		}
	}
	caller := core.IdentityOf(r)
	now := m.env.Now()
	var out map[string]any
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		sh, err := s.share(r, r.PathValue("share_id"), now)
		if err != nil {
			return err
		}
		if !caller.CanSee(sh.ProjectID) {
			return core.Forbidden("Policy doesn't allow share:allow_access to be performed.")
		}
		if err := validateAccess(v, accessType, accessTo); err != nil {
			return err
		}
		for _, o := range s.rulesOf(sh.ID, now) {
			if o.Type == accessType && o.To == accessTo && o.Current(now) != "queued_to_deny" {
				return core.BadRequest("Share access %s:%s exists.", accessType, accessTo)
			}
		}
		if st := sh.Current(now); st != "available" {
			return core.BadRequest("New access rules cannot be applied while the share or any of its replicas or migration copies lacks a valid host or is in an invalid state.")
		}
		rule := &AccessRule{ID: core.NewUUID(), ShareID: sh.ID, ProjectID: sh.ProjectID, Type: accessType, To: accessTo,
			Level: level, Metadata: meta, CreatedAt: now, UpdatedAt: now}
		rule.Lifecycle = core.Begin(m.env, "queued_to_apply", "active")
		s.Rules[rule.ID] = rule
		out = s.ruleBody(r, rule, true, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"access": out})
	return nil
}

func (m *Manila) denyAccess(w http.ResponseWriter, r *http.Request, args map[string]any) error {
	id, ok := args["access_id"].(string)
	if !ok {
		return core.BadRequest("Malformed request body")
	}
	now := m.env.Now()
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		sh, err := s.share(r, r.PathValue("share_id"), now)
		if err != nil {
			return err
		}
		if !core.IdentityOf(r).CanSee(sh.ProjectID) {
			return core.Forbidden("Policy doesn't allow share:deny_access to be performed.")
		}
		rule := s.Rules[id]
		if rule == nil || rule.ShareID != sh.ID || rule.Current(now) == "deleted" {
			return core.NotFound("Resource could not be found.")
		}
		if st := sh.Current(now); st != "available" {
			return core.BadRequest("Access rules cannot be denied while the share, any of its replicas or migration copies lacks a valid host or is in an invalid state.")
		}
		rule.Lifecycle = core.Begin(m.env, "queued_to_deny", "deleted")
		rule.UpdatedAt = now
		if rule.Current(now) == "deleted" {
			delete(s.Rules, rule.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// --- the share-access-rules API (2.45+)

func (m *Manila) listAccessRules(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if !q.Has("share_id") {
		return core.BadRequest("The field 'share_id' has to be specified.")
	}
	shareID := q.Get("share_id")
	var meta map[string]string
	if s := q.Get("metadata"); s != "" {
		var ok bool
		if meta, ok = parseDict(s); !ok {
			return core.BadRequest("Invalid input received: metadata must be a dict.")
		}
	}
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		sh, err := s.share(r, shareID, now)
		if err != nil {
			return core.BadRequest("Share %s not found.", shareID)
		}
		list := []map[string]any{}
		for _, rule := range s.rulesOf(sh.ID, now) {
			match := true
			for _, f := range []string{"access_type", "access_to", "access_level", "state"} {
				if want, ok := q[f]; ok {
					got := map[string]string{"access_type": rule.Type, "access_to": rule.To, "access_level": rule.Level, "state": rule.Current(now)}[f]
					match = match && got == want[0]
				}
			}
			for k, v := range meta {
				match = match && rule.Metadata[k] == v
			}
			if match {
				list = append(list, s.ruleBody(r, rule, false, now))
			}
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"access_list": list})
		return nil
	})
}

// rule finds an access rule whose share the caller may see.
func (s *state) rule(r *http.Request, id string, now time.Time) (*AccessRule, error) {
	rule := s.Rules[id]
	if rule == nil || rule.Current(now) == "deleted" {
		return nil, core.NotFound("Share access rule %s not found.", id)
	}
	if _, err := s.share(r, rule.ShareID, now); err != nil {
		return nil, core.NotFound("Share access rule %s not found.", id)
	}
	return rule, nil
}

func (m *Manila) showAccessRule(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	return m.state.View(func(s *state) error {
		rule, err := s.rule(r, r.PathValue("access_id"), now)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"access": s.ruleBody(r, rule, true, now)})
		return nil
	})
}

func (m *Manila) setAccessMetadata(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	raw, ok := body["metadata"]
	if !ok {
		return core.BadRequest("Malformed request body")
	}
	in, err := checkMetadata(raw)
	if err != nil {
		return err
	}
	now := m.env.Now()
	var out map[string]string
	err = m.state.Update(func(s *state) error {
		s.purge(now)
		rule, err := s.rule(r, r.PathValue("access_id"), now)
		if err != nil {
			return err
		}
		if rule.Metadata == nil {
			rule.Metadata = map[string]string{}
		}
		for k, v := range in {
			rule.Metadata[k] = v
		}
		rule.UpdatedAt = now
		out = map[string]string{}
		for k, v := range rule.Metadata {
			out[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
	return nil
}

func (m *Manila) deleteAccessMetadata(w http.ResponseWriter, r *http.Request) error {
	now := m.env.Now()
	key := r.PathValue("key")
	err := m.state.Update(func(s *state) error {
		s.purge(now)
		rule, err := s.rule(r, r.PathValue("access_id"), now)
		if err != nil {
			return err
		}
		if _, ok := rule.Metadata[key]; !ok {
			return core.NotFound("Metadata item %s could not be found.", key)
		}
		delete(rule.Metadata, key)
		rule.UpdatedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// parseDict reads a filter given as a Python dict literal, as
// ast.literal_eval would (JSON works too).
func parseDict(s string) (map[string]string, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		if err := json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &m); err != nil {
			return nil, false
		}
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = strValue(v)
	}
	return out, true
}
