package keystone

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

var accessMethodRE = regexp.MustCompile(`^(POST|GET|HEAD|PATCH|PUT|DELETE)$`)

func (s *state) appCredBody(r *http.Request, ac *AppCred) map[string]any {
	roles := []map[string]any{}
	for _, rid := range ac.RoleIDs {
		if ro := s.Roles[rid]; ro != nil {
			roles = append(roles, map[string]any{"id": ro.ID, "name": ro.Name, "domain_id": nil})
		}
	}
	var expires any
	if !ac.ExpiresAt.IsZero() {
		expires = core.FormatTime(ac.ExpiresAt, "2006-01-02T15:04:05.000000")
	}
	rules := []map[string]any{}
	for _, rid := range ac.AccessRuleIDs {
		if ar := s.AccessRules[rid]; ar != nil {
			rules = append(rules, map[string]any{"id": ar.ID, "service": ar.Service, "path": ar.Path, "method": ar.Method})
		}
	}
	return map[string]any{"id": ac.ID, "name": ac.Name, "description": ac.Description, "project_id": ac.ProjectID,
		"roles": roles, "unrestricted": ac.Unrestricted, "expires_at": expires, "access_rules": rules,
		"links": map[string]any{"self": selfURL(r, "/v3/users/"+ac.UserID+"/application_credentials/"+ac.ID)}}
}

// requireUnrestricted is Keystone's _check_unrestricted_application_credential.
func requireUnrestricted(id *core.Identity) error {
	if id.AppCred != nil && !id.AppCred.Unrestricted {
		return core.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.")
	}
	return nil
}

type appCredReq struct {
	AppCred *struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Secret      *string `json:"secret"`
		ExpiresAt   *string `json:"expires_at"`
		Roles       []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"roles"`
		Unrestricted *bool `json:"unrestricted"`
		AccessRules  []struct {
			ID      string  `json:"id"`
			Service string  `json:"service"`
			Method  string  `json:"method"`
			Path    *string `json:"path"`
		} `json:"access_rules"`
	} `json:"application_credential"`
}

func invalidAppCred(format string, args ...any) *core.APIError {
	return core.BadRequest("Invalid application credential: "+format, args...)
}

func (k *Keystone) createAppCred(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	var req appCredReq
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.AppCred == nil {
		return core.BadRequest("'application_credential' is a required property")
	}
	in := req.AppCred
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return core.BadRequest("Invalid input for field 'name': 'name' is a required property")
	}
	if err := requireUnrestricted(id); err != nil {
		return err
	}
	if id.UserID != r.PathValue("user_id") {
		return core.Forbidden("You are not authorized to perform the requested action: Cannot create an application credential for another user.")
	}
	if id.ProjectID == "" {
		return core.Forbidden("You are not authorized to perform the requested action: an application credential needs a project-scoped token.")
	}
	ac := &AppCred{ID: core.NewHexID(), Name: *in.Name, UserID: id.UserID, ProjectID: id.ProjectID}
	if in.Description != nil {
		ac.Description = *in.Description
	}
	if in.Unrestricted != nil {
		ac.Unrestricted = *in.Unrestricted
	}
	secret := core.NewSecret(64)
	if in.Secret != nil && *in.Secret != "" {
		secret = *in.Secret
	}
	ac.SecretHash = hashSecret(secret)
	if in.ExpiresAt != nil && *in.ExpiresAt != "" {
		t, ok := parseExpiry(*in.ExpiresAt)
		if !ok {
			return core.BadRequest("Invalid input for field 'expires_at': %q is not an ISO 8601 date", *in.ExpiresAt)
		}
		if !t.After(k.env.Now()) {
			return invalidAppCred("expires_at %s is in the past", *in.ExpiresAt)
		}
		ac.ExpiresAt = t
	}
	for _, ar := range in.AccessRules {
		if ar.ID != "" {
			continue
		}
		if !accessMethodRE.MatchString(ar.Method) {
			return core.BadRequest("Invalid input for field 'access_rules/0/method': %q does not match '^(POST|GET|HEAD|PATCH|PUT|DELETE)$'", ar.Method)
		}
		if ar.Path == nil || !strings.HasPrefix(*ar.Path, "/") || len(*ar.Path) > 225 {
			return core.BadRequest("Invalid input for field 'access_rules/0/path': the path must start with '/' and be at most 225 characters")
		}
		if ar.Service == "" || len(ar.Service) > 64 {
			return core.BadRequest("Invalid input for field 'access_rules/0/service': a service type is required")
		}
	}
	var body map[string]any
	err := k.state.Update(func(s *state) error {
		tokenRoles := s.effectiveRoles(id.UserID, id.ProjectID)
		if id.AppCred != nil {
			tokenRoles = nil
			for _, n := range id.Roles {
				tokenRoles = append(tokenRoles, s.roleByName(n))
			}
		}
		if len(in.Roles) == 0 {
			ac.RoleIDs = tokenRoles
		}
		for _, want := range in.Roles {
			rid := want.ID
			if rid == "" {
				rid = s.roleByName(want.Name)
				if rid == "" {
					return core.NotFound("Could not find role: %s.", want.Name)
				}
			}
			if !contains(tokenRoles, rid) {
				return invalidAppCred("Cannot create an application credential with unassigned role")
			}
			if !contains(ac.RoleIDs, rid) {
				ac.RoleIDs = append(ac.RoleIDs, rid)
			}
		}
		for _, o := range s.AppCreds {
			if o.UserID == ac.UserID && o.Name == ac.Name {
				return core.Conflict("Conflict occurred attempting to store application_credential - Duplicate entry found with name %s.", ac.Name)
			}
		}
		if in.AccessRules != nil {
			ac.AccessRuleIDs = []string{}
			var created []*AccessRule
			for _, want := range in.AccessRules {
				if want.ID != "" {
					ar := s.AccessRules[want.ID]
					if ar == nil || ar.UserID != id.UserID {
						return core.NotFound("Could not find Access Rule: %s.", want.ID)
					}
					ac.AccessRuleIDs = append(ac.AccessRuleIDs, ar.ID)
					continue
				}
				var found *AccessRule
				for _, ar := range s.AccessRules {
					if ar.UserID == id.UserID && ar.Service == want.Service && ar.Method == want.Method && ar.Path == *want.Path {
						found = ar
					}
				}
				for _, ar := range created {
					if ar.Service == want.Service && ar.Method == want.Method && ar.Path == *want.Path {
						found = ar
					}
				}
				if found == nil {
					found = &AccessRule{ID: core.NewHexID(), UserID: id.UserID, Service: want.Service, Method: want.Method, Path: *want.Path}
					created = append(created, found)
				}
				if !contains(ac.AccessRuleIDs, found.ID) {
					ac.AccessRuleIDs = append(ac.AccessRuleIDs, found.ID)
				}
			}
			for _, ar := range created {
				s.AccessRules[ar.ID] = ar
			}
		}
		s.AppCreds[ac.ID] = ac
		body = s.appCredBody(r, ac)
		body["secret"] = secret
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"application_credential": body})
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (k *Keystone) listAppCreds(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("user_id")
	out := []map[string]any{}
	err := k.state.View(func(s *state) error {
		if s.Users[uid] == nil {
			return core.NotFound("Could not find user: %s.", uid)
		}
		var acs []*AppCred
		for _, ac := range s.AppCreds {
			if ac.UserID == uid && core.MatchFilters(r.URL.Query(), map[string]string{"name": ac.Name}) {
				acs = append(acs, ac)
			}
		}
		sort.Slice(acs, func(i, j int) bool { return acs[i].Name < acs[j].Name })
		for _, ac := range acs {
			out = append(out, s.appCredBody(r, ac))
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"application_credentials": out, "links": links(r, r.URL.Path)})
	return nil
}

func (s *state) appCredOf(r *http.Request) (*AppCred, error) {
	ac := s.AppCreds[r.PathValue("id")]
	if ac == nil || ac.UserID != r.PathValue("user_id") {
		return nil, core.NotFound("Could not find Application Credential: %s.", r.PathValue("id"))
	}
	return ac, nil
}

func (k *Keystone) getAppCred(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		ac, err := s.appCredOf(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"application_credential": s.appCredBody(r, ac)})
		return nil
	})
}

func (k *Keystone) deleteAppCred(w http.ResponseWriter, r *http.Request) error {
	if err := requireUnrestricted(core.IdentityOf(r)); err != nil {
		return err
	}
	err := k.state.Update(func(s *state) error {
		ac, err := s.appCredOf(r)
		if err != nil {
			return err
		}
		delete(s.AppCreds, ac.ID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func accessRuleBody(r *http.Request, ar *AccessRule) map[string]any {
	return map[string]any{"id": ar.ID, "service": ar.Service, "path": ar.Path, "method": ar.Method,
		"links": map[string]any{"self": selfURL(r, "/v3/users/"+ar.UserID+"/access_rules/"+ar.ID)}}
}

func (k *Keystone) listAccessRules(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("user_id")
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		var ars []*AccessRule
		for _, ar := range s.AccessRules {
			if ar.UserID == uid && core.MatchFilters(r.URL.Query(), map[string]string{"service": ar.Service, "path": ar.Path, "method": ar.Method}) {
				ars = append(ars, ar)
			}
		}
		sort.Slice(ars, func(i, j int) bool { return ars[i].ID < ars[j].ID })
		for _, ar := range ars {
			out = append(out, accessRuleBody(r, ar))
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"access_rules": out, "links": links(r, r.URL.Path)})
	return nil
}

func (s *state) accessRuleOf(r *http.Request) (*AccessRule, error) {
	ar := s.AccessRules[r.PathValue("id")]
	if ar == nil || ar.UserID != r.PathValue("user_id") {
		return nil, core.NotFound("Could not find Access Rule: %s.", r.PathValue("id"))
	}
	return ar, nil
}

func (k *Keystone) getAccessRule(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		ar, err := s.accessRuleOf(r)
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"access_rule": accessRuleBody(r, ar)})
		return nil
	})
}

func (k *Keystone) deleteAccessRule(w http.ResponseWriter, r *http.Request) error {
	if err := requireUnrestricted(core.IdentityOf(r)); err != nil {
		return err
	}
	err := k.state.Update(func(s *state) error {
		ar, err := s.accessRuleOf(r)
		if err != nil {
			return err
		}
		for _, ac := range s.AppCreds {
			if contains(ac.AccessRuleIDs, ar.ID) {
				return core.Forbidden("You are not authorized to perform the requested action: Cannot delete access rule %s: it is in use by application credential %s.", ar.ID, ac.ID)
			}
		}
		delete(s.AccessRules, ar.ID)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
