package keystone

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (k *Keystone) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", k.versions, core.Public)
	rt.Handle("GET /v3", k.version, core.Public)
	rt.Handle("GET /v3/{$}", k.version, core.Public)

	rt.Handle("POST /v3/auth/tokens", k.issue, core.Public)
	rt.Handle("GET /v3/auth/tokens", k.validate)
	rt.Handle("DELETE /v3/auth/tokens", k.revoke)
	rt.Handle("GET /v3/auth/catalog", k.authCatalog)
	rt.Handle("GET /v3/auth/projects", k.authProjects)
	rt.Handle("GET /v3/auth/domains", k.authDomains)
	rt.Handle("GET /v3/auth/system", k.authSystem)

	rt.Handle("GET /v3/domains", k.admin(k.listDomains))
	rt.Handle("GET /v3/domains/{domain_id}", k.getDomain)

	rt.Handle("GET /v3/projects", k.admin(k.listProjects))
	rt.Handle("POST /v3/projects", k.admin(k.createProject))
	rt.Handle("GET /v3/projects/{project_id}", k.getProject)
	rt.Handle("PATCH /v3/projects/{project_id}", k.admin(k.updateProject))
	rt.Handle("DELETE /v3/projects/{project_id}", k.admin(k.deleteProject))
	rt.Handle("GET /v3/projects/{project_id}/users/{user_id}/roles", k.admin(k.listGrants))
	rt.Handle("GET /v3/projects/{project_id}/users/{user_id}/roles/{role_id}", k.admin(k.checkGrant))
	rt.Handle("PUT /v3/projects/{project_id}/users/{user_id}/roles/{role_id}", k.admin(k.grant))
	rt.Handle("DELETE /v3/projects/{project_id}/users/{user_id}/roles/{role_id}", k.admin(k.revokeGrant))

	rt.Handle("GET /v3/users", k.admin(k.listUsers))
	rt.Handle("POST /v3/users", k.admin(k.createUser))
	rt.Handle("GET /v3/users/{user_id}", k.self(k.getUser))
	rt.Handle("PATCH /v3/users/{user_id}", k.admin(k.updateUser))
	rt.Handle("DELETE /v3/users/{user_id}", k.admin(k.deleteUser))
	rt.Handle("GET /v3/users/{user_id}/projects", k.self(k.userProjects))

	rt.Handle("GET /v3/roles", k.admin(k.listRoles))
	rt.Handle("POST /v3/roles", k.admin(k.createRole))
	rt.Handle("GET /v3/roles/{role_id}", k.admin(k.getRole))
	rt.Handle("DELETE /v3/roles/{role_id}", k.admin(k.deleteRole))
	rt.Handle("GET /v3/role_assignments", k.admin(k.listAssignments))

	rt.Handle("GET /v3/users/{user_id}/application_credentials", k.self(k.listAppCreds))
	rt.Handle("POST /v3/users/{user_id}/application_credentials", k.createAppCred)
	rt.Handle("GET /v3/users/{user_id}/application_credentials/{id}", k.self(k.getAppCred))
	rt.Handle("DELETE /v3/users/{user_id}/application_credentials/{id}", k.self(k.deleteAppCred))
	rt.Handle("GET /v3/users/{user_id}/access_rules", k.self(k.listAccessRules))
	rt.Handle("GET /v3/users/{user_id}/access_rules/{id}", k.self(k.getAccessRule))
	rt.Handle("DELETE /v3/users/{user_id}/access_rules/{id}", k.self(k.deleteAccessRule))

	rt.Handle("GET /v3/services", k.admin(k.listServices))
	rt.Handle("GET /v3/endpoints", k.admin(k.listEndpoints))
	rt.Handle("GET /v3/regions", k.listRegions)
}

// admin wraps a handler that needs the admin role (Keystone's
// admin_required) and a scoped token.
func (k *Keystone) admin(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !core.IdentityOf(r).IsAdmin() {
			return forbidden()
		}
		return h(w, r)
	}
}

// self wraps a handler under /v3/users/{user_id}: the user itself or an
// admin.
func (k *Keystone) self(h core.HandlerFunc) core.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := core.IdentityOf(r)
		if id.UserID != r.PathValue("user_id") && !id.IsAdmin() {
			return forbidden()
		}
		return h(w, r)
	}
}

func versionDoc(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]any{{"rel": "self", "href": "http://" + r.Host + "/v3/"}},
		"media-types": []map[string]any{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (k *Keystone) versions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{versionDoc(r)}}})
	return nil
}

func (k *Keystone) version(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"version": versionDoc(r)})
	return nil
}

func selfURL(r *http.Request, path string) string { return "http://" + r.Host + path }

func links(r *http.Request, path string) map[string]any {
	return map[string]any{"self": selfURL(r, path), "previous": nil, "next": nil}
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

func projectBody(r *http.Request, p *Project) map[string]any {
	b := map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "description": p.Description,
		"enabled": p.Enabled, "parent_id": p.ParentID, "is_domain": false, "tags": nonNilS(p.Tags), "options": map[string]any{},
		"links": map[string]any{"self": selfURL(r, "/v3/projects/"+p.ID)}}
	for key, v := range p.Extra {
		b[key] = v
	}
	return b
}

func nonNilS(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func userBody(r *http.Request, u *User) map[string]any {
	b := map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": nil, "options": map[string]any{},
		"links": map[string]any{"self": selfURL(r, "/v3/users/"+u.ID)}}
	if u.DefaultProjectID != "" {
		b["default_project_id"] = u.DefaultProjectID
	}
	if u.Email != "" {
		b["email"] = u.Email
	}
	if u.Description != "" {
		b["description"] = u.Description
	}
	for key, v := range u.Extra {
		b[key] = v
	}
	return b
}

func roleBody(r *http.Request, ro *Role) map[string]any {
	b := map[string]any{"id": ro.ID, "name": ro.Name, "domain_id": nil, "options": map[string]any{},
		"links": map[string]any{"self": selfURL(r, "/v3/roles/"+ro.ID)}}
	if ro.Description != "" {
		b["description"] = ro.Description
	}
	return b
}

func domainBody(r *http.Request, d *Domain) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": []string{}, "options": map[string]any{}, "links": map[string]any{"self": selfURL(r, "/v3/domains/"+d.ID)}}
}

func (s *state) sortedProjects() []*Project {
	ps := make([]*Project, 0, len(s.Projects))
	for _, p := range s.Projects {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

func (s *state) sortedUsers() []*User {
	us := make([]*User, 0, len(s.Users))
	for _, u := range s.Users {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	return us
}

// --- domains

func (k *Keystone) listDomains(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		for _, d := range s.Domains {
			if core.MatchFilters(r.URL.Query(), map[string]string{"name": d.Name}) {
				out = append(out, domainBody(r, d))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"domains": out, "links": links(r, "/v3/domains")})
	return nil
}

func (k *Keystone) getDomain(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	return k.state.View(func(s *state) error {
		d := s.Domains[r.PathValue("domain_id")]
		if d == nil {
			if !id.IsAdmin() {
				return forbidden()
			}
			return core.NotFound("Could not find domain: %s.", r.PathValue("domain_id"))
		}
		// Users may read the domain they or their project belong to.
		if !id.IsAdmin() && id.UserDomainID != d.ID && id.ProjectDomainID != d.ID {
			return forbidden()
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"domain": domainBody(r, d)})
		return nil
	})
}

// --- projects

func (k *Keystone) listProjects(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	q := r.URL.Query()
	_ = k.state.View(func(s *state) error {
		for _, p := range s.sortedProjects() {
			f := map[string]string{"name": p.Name, "domain_id": p.DomainID, "parent_id": p.ParentID}
			if q.Has("enabled") {
				f["enabled"] = boolString(p.Enabled)
			}
			if core.MatchFilters(q, f) {
				out = append(out, projectBody(r, p))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"projects": out, "links": links(r, "/v3/projects")})
	return nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (k *Keystone) getProject(w http.ResponseWriter, r *http.Request) error {
	id := core.IdentityOf(r)
	pid := r.PathValue("project_id")
	if !id.IsAdmin() && id.ProjectID != pid {
		return forbidden()
	}
	return k.state.View(func(s *state) error {
		p := s.Projects[pid]
		if p == nil {
			return core.NotFound("Could not find project: %s.", pid)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"project": projectBody(r, p)})
		return nil
	})
}

type projectReq struct {
	Project *struct {
		Name        *string  `json:"name"`
		DomainID    *string  `json:"domain_id"`
		Description *string  `json:"description"`
		Enabled     *bool    `json:"enabled"`
		ParentID    *string  `json:"parent_id"`
		Tags        []string `json:"tags"`
		IsDomain    *bool    `json:"is_domain"`
	} `json:"project"`
}

func (k *Keystone) createProject(w http.ResponseWriter, r *http.Request) error {
	var req projectReq
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Project == nil {
		return core.BadRequest("'project' is a required property")
	}
	in := req.Project
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return core.BadRequest("Invalid input for field 'name': 'name' is a required property")
	}
	if in.IsDomain != nil && *in.IsDomain {
		return core.BadRequest("Invalid input for field 'is_domain': projects acting as domains are not emulated")
	}
	p := &Project{ID: core.NewHexID(), Name: *in.Name, DomainID: DefaultDomainID, Enabled: true, Tags: in.Tags}
	if in.DomainID != nil {
		p.DomainID = *in.DomainID
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.Enabled != nil {
		p.Enabled = *in.Enabled
	}
	p.ParentID = p.DomainID
	err := k.state.Update(func(s *state) error {
		if s.Domains[p.DomainID] == nil {
			return core.NotFound("Could not find domain: %s.", p.DomainID)
		}
		if in.ParentID != nil && *in.ParentID != "" {
			if s.Projects[*in.ParentID] == nil && s.Domains[*in.ParentID] == nil {
				return core.NotFound("Could not find project: %s.", *in.ParentID)
			}
			p.ParentID = *in.ParentID
		}
		for _, o := range s.Projects {
			if o.Name == p.Name && o.DomainID == p.DomainID {
				return core.Conflict("Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : %s.", p.Name)
			}
		}
		s.Projects[p.ID] = p
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"project": projectBody(r, p)})
	return nil
}

func (k *Keystone) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req projectReq
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Project == nil {
		return core.BadRequest("'project' is a required property")
	}
	in := req.Project
	var body map[string]any
	err := k.state.Update(func(s *state) error {
		p := s.Projects[r.PathValue("project_id")]
		if p == nil {
			return core.NotFound("Could not find project: %s.", r.PathValue("project_id"))
		}
		if in.DomainID != nil && *in.DomainID != p.DomainID {
			return core.BadRequest("Update of `domain_id` is not allowed.")
		}
		if in.Name != nil {
			for _, o := range s.Projects {
				if o.ID != p.ID && o.Name == *in.Name && o.DomainID == p.DomainID {
					return core.Conflict("Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : %s.", *in.Name)
				}
			}
			p.Name = *in.Name
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.Enabled != nil {
			p.Enabled = *in.Enabled
		}
		if in.Tags != nil {
			p.Tags = in.Tags
		}
		body = projectBody(r, p)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"project": body})
	return nil
}

func (k *Keystone) deleteProject(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		pid := r.PathValue("project_id")
		if s.Projects[pid] == nil {
			return core.NotFound("Could not find project: %s.", pid)
		}
		delete(s.Projects, pid)
		s.Assignments = slices.DeleteFunc(s.Assignments, func(a Assignment) bool { return a.ProjectID == pid })
		for id, ac := range s.AppCreds {
			if ac.ProjectID == pid {
				delete(s.AppCreds, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- grants

func (k *Keystone) grantTarget(s *state, r *http.Request) (string, string, string, error) {
	pid, uid, rid := r.PathValue("project_id"), r.PathValue("user_id"), r.PathValue("role_id")
	if s.Projects[pid] == nil {
		return "", "", "", core.NotFound("Could not find project: %s.", pid)
	}
	if s.Users[uid] == nil {
		return "", "", "", core.NotFound("Could not find user: %s.", uid)
	}
	if rid != "" && s.Roles[rid] == nil {
		return "", "", "", core.NotFound("Could not find role: %s.", rid)
	}
	return pid, uid, rid, nil
}

func (k *Keystone) listGrants(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		pid, uid, _, err := k.grantTarget(s, r)
		if err != nil {
			return err
		}
		out := []map[string]any{}
		for _, a := range s.Assignments {
			if a.UserID == uid && a.ProjectID == pid {
				out = append(out, roleBody(r, s.Roles[a.RoleID]))
			}
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"roles": out, "links": links(r, r.URL.Path)})
		return nil
	})
}

func (k *Keystone) checkGrant(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		pid, uid, rid, err := k.grantTarget(s, r)
		if err != nil {
			return err
		}
		if !slices.Contains(s.Assignments, Assignment{UserID: uid, ProjectID: pid, RoleID: rid}) {
			return core.NotFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.", rid, uid, pid)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (k *Keystone) grant(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		pid, uid, rid, err := k.grantTarget(s, r)
		if err != nil {
			return err
		}
		a := Assignment{UserID: uid, ProjectID: pid, RoleID: rid}
		if !slices.Contains(s.Assignments, a) {
			s.Assignments = append(s.Assignments, a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (k *Keystone) revokeGrant(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		pid, uid, rid, err := k.grantTarget(s, r)
		if err != nil {
			return err
		}
		a := Assignment{UserID: uid, ProjectID: pid, RoleID: rid}
		i := slices.Index(s.Assignments, a)
		if i < 0 {
			return core.NotFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.", rid, uid, pid)
		}
		s.Assignments = slices.Delete(s.Assignments, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (k *Keystone) listAssignments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	names := q.Has("include_names")
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		for _, a := range s.Assignments {
			roleIDs := []string{a.RoleID}
			if q.Has("effective") {
				roleIDs = s.expand(roleIDs)
			}
			for _, rid := range roleIDs {
				ro, u, p := s.Roles[rid], s.Users[a.UserID], s.Projects[a.ProjectID]
				if ro == nil || u == nil || p == nil {
					continue
				}
				if !core.MatchFilters(q, map[string]string{"user.id": u.ID, "scope.project.id": p.ID, "role.id": ro.ID}) {
					continue
				}
				role := map[string]any{"id": ro.ID}
				user := map[string]any{"id": u.ID}
				project := map[string]any{"id": p.ID}
				if names {
					role["name"] = ro.Name
					user["name"] = u.Name
					user["domain"] = map[string]any{"id": u.DomainID, "name": s.Domains[u.DomainID].Name}
					project["name"] = p.Name
					project["domain"] = map[string]any{"id": p.DomainID, "name": s.Domains[p.DomainID].Name}
				}
				out = append(out, map[string]any{"role": role, "user": user, "scope": map[string]any{"project": project},
					"links": map[string]any{"assignment": selfURL(r, "/v3/projects/"+p.ID+"/users/"+u.ID+"/roles/"+ro.ID)}})
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"role_assignments": out, "links": links(r, "/v3/role_assignments")})
	return nil
}

// --- users

func (k *Keystone) listUsers(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		for _, u := range s.sortedUsers() {
			if core.MatchFilters(r.URL.Query(), map[string]string{"name": u.Name, "domain_id": u.DomainID}) {
				out = append(out, userBody(r, u))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"users": out, "links": links(r, "/v3/users")})
	return nil
}

func (k *Keystone) getUser(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		u := s.Users[r.PathValue("user_id")]
		if u == nil {
			return core.NotFound("Could not find user: %s.", r.PathValue("user_id"))
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"user": userBody(r, u)})
		return nil
	})
}

type userReq struct {
	User *struct {
		Name             *string `json:"name"`
		DomainID         *string `json:"domain_id"`
		Password         *string `json:"password"`
		DefaultProjectID *string `json:"default_project_id"`
		Enabled          *bool   `json:"enabled"`
		Email            *string `json:"email"`
		Description      *string `json:"description"`
	} `json:"user"`
}

func (k *Keystone) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userReq
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.User == nil {
		return core.BadRequest("'user' is a required property")
	}
	in := req.User
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return core.BadRequest("Invalid input for field 'name': 'name' is a required property")
	}
	u := &User{ID: core.NewHexID(), Name: *in.Name, DomainID: DefaultDomainID, Enabled: true}
	if in.DomainID != nil {
		u.DomainID = *in.DomainID
	}
	if in.Enabled != nil {
		u.Enabled = *in.Enabled
	}
	if in.Password != nil {
		u.PasswordHash = hashSecret(*in.Password)
	}
	if in.DefaultProjectID != nil {
		u.DefaultProjectID = *in.DefaultProjectID
	}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if in.Description != nil {
		u.Description = *in.Description
	}
	err := k.state.Update(func(s *state) error {
		if s.Domains[u.DomainID] == nil {
			return core.NotFound("Could not find domain: %s.", u.DomainID)
		}
		if u.DefaultProjectID != "" && s.Projects[u.DefaultProjectID] == nil {
			return core.NotFound("Could not find project: %s.", u.DefaultProjectID)
		}
		for _, o := range s.Users {
			if o.Name == u.Name && o.DomainID == u.DomainID {
				return core.Conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
			}
		}
		s.Users[u.ID] = u
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"user": userBody(r, u)})
	return nil
}

func (k *Keystone) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req userReq
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.User == nil {
		return core.BadRequest("'user' is a required property")
	}
	in := req.User
	var body map[string]any
	err := k.state.Update(func(s *state) error {
		u := s.Users[r.PathValue("user_id")]
		if u == nil {
			return core.NotFound("Could not find user: %s.", r.PathValue("user_id"))
		}
		if in.DefaultProjectID != nil && *in.DefaultProjectID != "" && s.Projects[*in.DefaultProjectID] == nil {
			return core.NotFound("Could not find project: %s.", *in.DefaultProjectID)
		}
		if in.Name != nil {
			for _, o := range s.Users {
				if o.ID != u.ID && o.Name == *in.Name && o.DomainID == u.DomainID {
					return core.Conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", *in.Name, u.DomainID)
				}
			}
			u.Name = *in.Name
		}
		if in.Password != nil {
			u.PasswordHash = hashSecret(*in.Password)
		}
		if in.Enabled != nil {
			u.Enabled = *in.Enabled
		}
		if in.DefaultProjectID != nil {
			u.DefaultProjectID = *in.DefaultProjectID
		}
		if in.Email != nil {
			u.Email = *in.Email
		}
		if in.Description != nil {
			u.Description = *in.Description
		}
		body = userBody(r, u)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"user": body})
	return nil
}

func (k *Keystone) deleteUser(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		uid := r.PathValue("user_id")
		if s.Users[uid] == nil {
			return core.NotFound("Could not find user: %s.", uid)
		}
		delete(s.Users, uid)
		s.Assignments = slices.DeleteFunc(s.Assignments, func(a Assignment) bool { return a.UserID == uid })
		for id, ac := range s.AppCreds {
			if ac.UserID == uid {
				delete(s.AppCreds, id)
			}
		}
		for id, ar := range s.AccessRules {
			if ar.UserID == uid {
				delete(s.AccessRules, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (k *Keystone) userProjects(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	uid := r.PathValue("user_id")
	err := k.state.View(func(s *state) error {
		if s.Users[uid] == nil {
			return core.NotFound("Could not find user: %s.", uid)
		}
		for _, p := range s.sortedProjects() {
			if len(s.effectiveRoles(uid, p.ID)) > 0 {
				out = append(out, projectBody(r, p))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"projects": out, "links": links(r, r.URL.Path)})
	return nil
}

// --- roles

func (k *Keystone) listRoles(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	_ = k.state.View(func(s *state) error {
		var roles []*Role
		for _, ro := range s.Roles {
			roles = append(roles, ro)
		}
		sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
		for _, ro := range roles {
			if core.MatchFilters(r.URL.Query(), map[string]string{"name": ro.Name}) {
				out = append(out, roleBody(r, ro))
			}
		}
		return nil
	})
	core.WriteJSON(w, http.StatusOK, map[string]any{"roles": out, "links": links(r, "/v3/roles")})
	return nil
}

func (k *Keystone) getRole(w http.ResponseWriter, r *http.Request) error {
	return k.state.View(func(s *state) error {
		ro := s.Roles[r.PathValue("role_id")]
		if ro == nil {
			return core.NotFound("Could not find role: %s.", r.PathValue("role_id"))
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"role": roleBody(r, ro)})
		return nil
	})
}

func (k *Keystone) createRole(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role *struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"role"`
	}
	if err := core.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Role == nil || strings.TrimSpace(req.Role.Name) == "" {
		return core.BadRequest("Invalid input for field 'name': 'name' is a required property")
	}
	ro := &Role{ID: core.NewHexID(), Name: req.Role.Name, Description: req.Role.Description}
	err := k.state.Update(func(s *state) error {
		for _, o := range s.Roles {
			if strings.EqualFold(o.Name, ro.Name) {
				return core.Conflict("Conflict occurred attempting to store role - Duplicate entry found with name %s.", ro.Name)
			}
		}
		s.Roles[ro.ID] = ro
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"role": roleBody(r, ro)})
	return nil
}

func (k *Keystone) deleteRole(w http.ResponseWriter, r *http.Request) error {
	err := k.state.Update(func(s *state) error {
		rid := r.PathValue("role_id")
		if s.Roles[rid] == nil {
			return core.NotFound("Could not find role: %s.", rid)
		}
		delete(s.Roles, rid)
		s.Assignments = slices.DeleteFunc(s.Assignments, func(a Assignment) bool { return a.RoleID == rid })
		delete(s.Implied, rid)
		for p, imp := range s.Implied {
			s.Implied[p] = slices.DeleteFunc(imp, func(x string) bool { return x == rid })
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- catalog administration (read-only)

func (k *Keystone) listServices(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	for _, sp := range k.env.Specs() {
		if sp.Hidden {
			continue
		}
		if core.MatchFilters(r.URL.Query(), map[string]string{"type": sp.Type}) {
			out = append(out, map[string]any{"id": stableID(sp.Name), "name": sp.Name, "type": sp.Type, "enabled": true,
				"links": map[string]any{"self": selfURL(r, "/v3/services/"+stableID(sp.Name))}})
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"services": out, "links": links(r, "/v3/services")})
	return nil
}

func (k *Keystone) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	for _, sp := range k.env.Specs() {
		if sp.Hidden {
			continue
		}
		ep := sp.Endpoint
		if ep == "" {
			ep = sp.Prefix
		}
		for _, iface := range []string{"public", "internal", "admin"} {
			if !core.MatchFilters(r.URL.Query(), map[string]string{"interface": iface, "service_id": stableID(sp.Name), "region_id": Region}) {
				continue
			}
			out = append(out, map[string]any{"id": stableID(sp.Name, iface), "interface": iface, "region": Region,
				"region_id": Region, "service_id": stableID(sp.Name), "url": "http://" + r.Host + ep, "enabled": true,
				"links": map[string]any{"self": selfURL(r, "/v3/endpoints/"+stableID(sp.Name, iface))}})
		}
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"endpoints": out, "links": links(r, "/v3/endpoints")})
	return nil
}

func (k *Keystone) listRegions(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"regions": []map[string]any{{"id": Region, "description": "",
		"parent_region_id": nil, "links": map[string]any{"self": selfURL(r, "/v3/regions/"+Region)}}}, "links": links(r, "/v3/regions")})
	return nil
}

// parseExpiry accepts the ISO 8601 forms clients send.
func parseExpiry(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999Z07:00"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
