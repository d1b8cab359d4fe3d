package trove

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// The guest's reserved names (trove/common/cfg.py ignore_dbs and
// ignore_users of the mysql section).
var (
	ignoredDBs   = []string{"mysql", "information_schema", "performance_schema", "sys"}
	ignoredUsers = []string{"os_admin", "root"}
	// userDatastores are load_and_verify's default: Trove 18 manages
	// databases and users on MySQL and MariaDB only; root also on
	// PostgreSQL.
	userDatastores = []string{"mysql", "mariadb"}
	rootDatastores = []string{"mysql", "mariadb", "postgresql"}
)

// guest is extensions/common/models.py's load_and_verify before a guest
// call: the instance (404), a datastore the extension supports (422),
// a running database (422). fn runs under the write lock when write.
func (t *Trove) guest(r *http.Request, supported []string, write bool, fn func(s *state, in *Instance) error) error {
	now := t.env.Now()
	run := func(s *state) error {
		in, err := s.find(r, now)
		if err != nil {
			return err
		}
		if !contains(supported, in.Datastore) {
			return core.Errorf(http.StatusUnprocessableEntity, "Operation not supported for datastore %s.", in.Datastore)
		}
		if st := in.status(now); st != "ACTIVE" && st != "RESIZE" {
			return core.Errorf(http.StatusUnprocessableEntity, "Instance %s is not ready, status: %s.", in.ID, guestStatus(st))
		}
		return fn(s, in)
	}
	if write {
		return t.state.Update(run)
	}
	return t.state.View(run)
}

// guestStatus is the datastore service status's description (str()).
func guestStatus(status string) string {
	switch status {
	case "BUILD":
		return "new"
	case "REBOOT":
		return "restarting"
	case "UPGRADE":
		return "upgrading"
	case "SHUTDOWN":
		return "shutdown"
	}
	return "failed to spawn"
}

// ------------------------------------------------------------------ validation

var dbNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+[\s?#@]*[A-Za-z0-9_-]+$`)

// parseDatabases checks apischema's databases_def: a list of objects
// with a non-empty name and optional character_set and collate.
func parseDatabases(path string, v any) ([]*Database, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, validation(path, "%s is not of type 'array'", pyRepr(v))
	}
	out := make([]*Database, 0, len(list))
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, validation(p, "%s is not of type 'object'", pyRepr(e))
		}
		if _, ok := m["name"]; !ok {
			return nil, validation(p, "'name' is a required property")
		}
		d := &Database{}
		var err error
		if d.Name, err = nonEmptyString(p+"['name']", m["name"]); err != nil {
			return nil, err
		}
		for key, dst := range map[string]*string{"character_set": &d.CharacterSet, "collate": &d.Collate} {
			if x, ok := m[key]; ok && x != nil {
				if *dst, err = nonEmptyString(p+"['"+key+"']", x); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// schemaName checks MySQLSchema's name rules.
func schemaName(name string) error {
	if len(name) > 64 {
		return core.BadRequest("Schema name '%s' is too long. Max length = 64.", name)
	}
	if !dbNameRE.MatchString(name) || strings.Contains(name, `\`) {
		return core.BadRequest("'%s' is not a valid schema name.", name)
	}
	return nil
}

// validateNewDatabases is populate_validated_databases: names, reserved
// names, duplicates, and the MySQL character set and collation (utf8 /
// utf8_general_ci when neither is given).
func validateNewDatabases(dbs []*Database) ([]*Database, error) {
	seen := map[string]bool{}
	for _, d := range dbs {
		if err := schemaName(d.Name); err != nil {
			return nil, err
		}
		if contains(ignoredDBs, d.Name) {
			return nil, core.BadRequest("Database name \"%s\" is on the reserved list: %s.", d.Name, pyList(ignoredDBs))
		}
		if seen[d.Name] {
			return nil, core.BadRequest("Two or more databases share the same name in the initial databases list. Please correct the names or remove the duplicate entries.")
		}
		seen[d.Name] = true
		if d.CharacterSet != "" {
			if _, ok := charsets[d.CharacterSet]; !ok {
				return nil, core.BadRequest("'%s' not a valid character set.", d.CharacterSet)
			}
		}
		switch {
		case d.Collate != "" && d.CharacterSet != "":
			if !contains(charsets[d.CharacterSet], d.Collate) {
				return nil, core.BadRequest("%s not a valid collation for charset %s.", d.Collate, d.CharacterSet)
			}
		case d.Collate != "":
			cs, ok := collations[d.Collate]
			if !ok {
				return nil, core.BadRequest("'%s' not a valid collation.", d.Collate)
			}
			d.CharacterSet = cs
		case d.CharacterSet != "":
			d.Collate = charsets[d.CharacterSet][0]
		default:
			d.CharacterSet, d.Collate = "utf8", "utf8_general_ci"
		}
	}
	return dbs, nil
}

var hostRE = regexp.MustCompile(`^%?[\w()\-.]*%?$`)

// userName checks MySQLUser's name rules (ValueError messages).
func userName(name string) error {
	if name == "" {
		return fmt.Errorf("User name empty.")
	}
	if len(name) > 16 {
		return fmt.Errorf("User name '%s' is too long. Max length = 16.", name)
	}
	if !validString(name) {
		return fmt.Errorf("'%s' is not a valid user name.", name)
	}
	return nil
}

// validString is MySQLUser._is_valid_string: no leading or trailing
// space, no quotes, semicolons, backticks, commas, slashes or backslashes.
func validString(s string) bool {
	if s == "" || strings.TrimSpace(s[:1]) == "" || strings.TrimSpace(s[len(s)-1:]) == "" {
		return false
	}
	return !strings.ContainsAny(s, "'\";`,/\\")
}

// validHost is MySQLUser._is_valid_host_name with
// hostname_require_valid_ip: "%" or an address/network, '%' standing
// for a digit.
func validHost(h string) bool {
	if h == "%" || h == "" {
		return true
	}
	h = strings.ReplaceAll(h, "%", "1")
	if _, _, err := net.ParseCIDR(h); err == nil {
		return true
	}
	if net.ParseIP(h) != nil {
		return true
	}
	// netaddr accepts partial IPv4 ("192.168.1").
	parts := strings.Split(h, ".")
	if len(parts) < 4 {
		for _, p := range parts {
			if p == "" || strings.Trim(p, "0123456789") != "" || len(p) > 3 {
				return false
			}
		}
		return true
	}
	return false
}

// parseUsers checks apischema's users_list and populate_users: wrap
// turns a guest-model ValueError into the endpoint's message ("User
// create error: %s"), initial (non-nil at instance create) is the
// instance's initial databases a user may be given access to.
func parseUsers(path string, v any, initial map[string]bool) ([]*User, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, validation(path, "%s is not of type 'array'", pyRepr(v))
	}
	wrap := func(err error) error {
		if initial == nil {
			return core.BadRequest("User create error: %v", err)
		}
		return core.BadRequest("%v", err)
	}
	seen := map[string]bool{}
	out := make([]*User, 0, len(list))
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, validation(p, "%s is not of type 'object'", pyRepr(e))
		}
		for _, req := range []string{"name", "password"} {
			if _, ok := m[req]; !ok {
				return nil, validation(p, "'%s' is a required property", req)
			}
		}
		name, ok := m["name"].(string)
		if !ok || name == "" || !strings.ContainsFunc(name, isAlnum) {
			return nil, validation(p+"['name']", "%s is not valid", pyRepr(m["name"]))
		}
		password, err := nonEmptyString(p+"['password']", m["password"])
		if err != nil {
			return nil, err
		}
		host := "%"
		if h, ok := m["host"]; ok && h != nil {
			hs, ok := h.(string)
			if !ok || hs == "" || !hostRE.MatchString(hs) {
				return nil, validation(p+"['host']", "%s does not match '^[%%]?[\\\\w(-).]*[%%]?$'", pyRepr(h))
			}
			host = hs
		}
		dbs, err := parseDatabases(p+"['databases']", m["databases"])
		if err != nil {
			return nil, err
		}
		if err := userName(name); err != nil {
			return nil, wrap(err)
		}
		if !validHost(host) {
			return nil, wrap(fmt.Errorf("'%s' is not a valid hostname.", host))
		}
		if contains(ignoredUsers, name) {
			return nil, wrap(fmt.Errorf("User name \"%s\" is on the reserved list: %s.", name, pyList(ignoredUsers)))
		}
		if seen[userKey(name, host)] {
			return nil, core.BadRequest("Two or more users share the same name and host in the initial users list. Please correct the names or remove the duplicate entries.")
		}
		seen[userKey(name, host)] = true
		if !validString(password) {
			return nil, wrap(fmt.Errorf("'%s' is not a valid password.", password))
		}
		u := &User{Name: name, Host: host, Password: password, Databases: []string{}}
		for _, d := range dbs {
			if initial != nil && !initial[d.Name] {
				return nil, core.BadRequest("The request indicates that user %s should have access to database %s, but database %s is not included in the initial databases list.",
					name, d.Name, d.Name)
			}
			if err := schemaName(d.Name); err != nil {
				e, _ := core.AsAPIError(err)
				return nil, wrap(fmt.Errorf("%s", e.Message))
			}
			if !contains(u.Databases, d.Name) {
				u.Databases = append(u.Databases, d.Name)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// splitUser is unquote_user_host: "name" or "name@host" (host "%" when
// absent), URL-unquoted.
func splitUser(id string) (string, string) {
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	if !strings.Contains(id, "@") || strings.HasSuffix(id, "@") {
		return id, "%"
	}
	i := strings.LastIndex(id, "@")
	return id[:i], id[i+1:]
}

// ------------------------------------------------------------------ databases

func (t *Trove) listDatabases(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	var names []string
	err = t.guest(r, userDatastores, false, func(s *state, in *Instance) error {
		for n := range in.Databases {
			names = append(names, n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	page, next := pageByKey(names, func(s string) string { return s }, r.URL.Query().Get("marker"), limit)
	out := make([]map[string]any, 0, len(page))
	for _, n := range page {
		out = append(out, map[string]any{"name": n})
	}
	writePage(w, r, "databases", out, next)
	return nil
}

func (t *Trove) createDatabases(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if !hasKey(body, "databases") {
		return core.BadRequest("Validation error: 'databases' is a required property")
	}
	dbs, err := parseDatabases("databases", body["databases"])
	if err != nil {
		return err
	}
	if dbs, err = validateNewDatabases(dbs); err != nil {
		return err
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		for _, d := range dbs {
			if in.Databases[d.Name] != nil {
				return core.BadRequest("A database with the name \"%s\" already exists.", d.Name)
			}
		}
		for _, d := range dbs {
			in.Databases[d.Name] = d
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

func (t *Trove) deleteDatabase(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("db")
	if err := schemaName(name); err != nil {
		e, _ := core.AsAPIError(err)
		return core.BadRequest("Database delete error: %s", e.Message)
	}
	if contains(ignoredDBs, name) {
		return core.BadRequest("Database delete error: Cannot delete database: Database name \"%s\" is on the reserved list: %s.", name, pyList(ignoredDBs))
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		if in.Databases[name] == nil {
			return core.NotFound("Database %s cannot be found on the instance.", name)
		}
		delete(in.Databases, name)
		for _, u := range in.Users {
			u.Databases = remove(u.Databases, name)
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, e := range list {
		if e != s {
			out = append(out, e)
		}
	}
	return out
}

// ------------------------------------------------------------------ users

func userBody(u *User) map[string]any {
	dbs := make([]map[string]string, 0, len(u.Databases))
	for _, d := range u.Databases {
		dbs = append(dbs, map[string]string{"name": d})
	}
	return map[string]any{"name": u.Name, "host": u.Host, "databases": dbs}
}

func (t *Trove) listUsers(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	var users []*User
	err = t.guest(r, userDatastores, false, func(s *state, in *Instance) error {
		for _, u := range in.Users {
			cp := *u
			cp.Databases = append([]string(nil), u.Databases...)
			users = append(users, &cp)
		}
		return nil
	})
	if err != nil {
		return err
	}
	page, next := pageByKey(users, func(u *User) string { return userKey(u.Name, u.Host) }, r.URL.Query().Get("marker"), limit)
	out := make([]map[string]any, 0, len(page))
	for _, u := range page {
		out = append(out, userBody(u))
	}
	writePage(w, r, "users", out, next)
	return nil
}

func (t *Trove) createUsers(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if !hasKey(body, "users") {
		return core.BadRequest("Validation error: 'users' is a required property")
	}
	users, err := parseUsers("users", body["users"], nil)
	if err != nil {
		return err
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		for _, u := range users {
			if in.Users[userKey(u.Name, u.Host)] != nil {
				return core.BadRequest("A user with the name \"%s\" already exists.", u.Name)
			}
		}
		for _, u := range users {
			in.Users[userKey(u.Name, u.Host)] = u
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// lookupUser finds the user named by the path's {user} (name or
// name@host); prefix is the endpoint's error wording ("User show error").
func lookupUser(r *http.Request, in *Instance, prefix string) (*User, error) {
	id := r.PathValue("user")
	name, host := splitUser(id)
	if err := userName(name); err != nil {
		return nil, core.BadRequest("%s: %v", prefix, err)
	}
	if !validHost(host) {
		return nil, core.BadRequest("%s: '%s' is not a valid hostname.", prefix, host)
	}
	if contains(ignoredUsers, name) {
		return nil, core.BadRequest("%s: User name \"%s\" is on the reserved list: %s.", prefix, name, pyList(ignoredUsers))
	}
	u := in.Users[userKey(name, host)]
	if u == nil {
		return nil, core.NotFound("User %s cannot be found on the instance.", id)
	}
	return u, nil
}

func (t *Trove) showUser(w http.ResponseWriter, r *http.Request) error {
	return t.guest(r, userDatastores, false, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "User show error")
		if err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"user": userBody(u)})
		return nil
	})
}

func (t *Trove) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "User delete error")
		if err != nil {
			return err
		}
		delete(in.Users, userKey(u.Name, u.Host))
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// updateUser is PUT /users/{user} {"user": {"name", "password", "host"}}.
func (t *Trove) updateUser(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	attrs, ok := body["user"].(map[string]any)
	if !ok {
		if !hasKey(body, "user") {
			return core.BadRequest("Validation error: 'user' is a required property")
		}
		return validation("user", "%s is not of type 'object'", pyRepr(body["user"]))
	}
	if len(attrs) == 0 {
		return validation("user", "{} does not have enough properties")
	}
	str := func(key string) (string, bool, error) {
		v, ok := attrs[key]
		if !ok || v == nil {
			return "", false, nil
		}
		s, isStr := v.(string)
		if !isStr || s == "" {
			return "", false, validation("user['"+key+"']", "%s is not valid", pyRepr(v))
		}
		return s, true, nil
	}
	newName, hasName, err := str("name")
	if err != nil {
		return err
	}
	newHost, hasHost, err := str("host")
	if err != nil {
		return err
	}
	password, hasPassword, err := str("password")
	if err != nil {
		return err
	}
	if hasHost && !hostRE.MatchString(newHost) {
		return validation("user['host']", "%s does not match", pyRepr(newHost))
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "Error loading user")
		if err != nil {
			return err
		}
		name, host := u.Name, u.Host
		if hasName {
			name = newName
		}
		if hasHost {
			host = newHost
		}
		if err := userName(name); err != nil {
			return core.BadRequest("User update error: %v", err)
		}
		if !validHost(host) {
			return core.BadRequest("User update error: '%s' is not a valid hostname.", host)
		}
		if contains(ignoredUsers, name) {
			return core.BadRequest("User update error: User name \"%s\" is on the reserved list: %s.", name, pyList(ignoredUsers))
		}
		if hasPassword && !validString(password) {
			return core.BadRequest("User update error: '%s' is not a valid password.", password)
		}
		if (hasName || hasHost) && userKey(name, host) != userKey(u.Name, u.Host) && in.Users[userKey(name, host)] != nil {
			return core.BadRequest("A user with the name \"%s\" already exists.", name)
		}
		delete(in.Users, userKey(u.Name, u.Host))
		u.Name, u.Host = name, host
		if hasPassword {
			u.Password = password
		}
		in.Users[userKey(name, host)] = u
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// changePasswords is PUT /users {"users": [{"name", "password"}]}.
func (t *Trove) changePasswords(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if !hasKey(body, "users") {
		return core.BadRequest("Validation error: 'users' is a required property")
	}
	users, err := parseUsers("users", body["users"], nil)
	if err != nil {
		return err
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		for _, u := range users {
			if in.Users[userKey(u.Name, u.Host)] == nil {
				id := u.Name
				if u.Host != "%" {
					id += "@" + u.Host
				}
				return core.NotFound("User %s cannot be found on the instance.", id)
			}
		}
		for _, u := range users {
			in.Users[userKey(u.Name, u.Host)].Password = u.Password
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

func (t *Trove) userAccess(w http.ResponseWriter, r *http.Request) error {
	var dbs []map[string]string
	err := t.guest(r, userDatastores, false, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "Error loading user")
		if err != nil {
			return err
		}
		dbs = make([]map[string]string, 0, len(u.Databases))
		names := append([]string(nil), u.Databases...)
		sort.Strings(names)
		for _, d := range names {
			dbs = append(dbs, map[string]string{"name": d})
		}
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"databases": dbs})
	return nil
}

func (t *Trove) grantAccess(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(r)
	if err != nil {
		return err
	}
	if !hasKey(body, "databases") {
		return validation("databases", "'databases' is a required property")
	}
	dbs, err := parseDatabases("databases", body["databases"])
	if err != nil {
		return err
	}
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "Error loading user")
		if err != nil {
			return err
		}
		for _, d := range dbs {
			if !contains(u.Databases, d.Name) {
				u.Databases = append(u.Databases, d.Name)
			}
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

func (t *Trove) revokeAccess(w http.ResponseWriter, r *http.Request) error {
	db := r.PathValue("db")
	return t.guest(r, userDatastores, true, func(s *state, in *Instance) error {
		u, err := lookupUser(r, in, "Error loading user")
		if err != nil {
			return err
		}
		if !contains(u.Databases, db) {
			return core.NotFound("Database %s cannot be found on the instance.", db)
		}
		u.Databases = remove(u.Databases, db)
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// ------------------------------------------------------------------ root

func (t *Trove) rootShow(w http.ResponseWriter, r *http.Request) error {
	return t.guest(r, rootDatastores, false, func(s *state, in *Instance) error {
		core.WriteJSON(w, http.StatusOK, map[string]any{"rootEnabled": in.RootEnabled})
		return nil
	})
}

// rootEnable sets root's password (the body's, or a generated one) and
// answers it; rootEnabled stays true from then on (Trove keeps the
// history).
func (t *Trove) rootEnable(w http.ResponseWriter, r *http.Request) error {
	password := ""
	if b, err := core.ReadBody(r, core.MaxJSONBody); err != nil {
		return err
	} else if len(strings.TrimSpace(string(b))) > 0 {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(b))
		body, err := decodeBody(r2)
		if err != nil {
			return err
		}
		if p, ok := body["password"]; ok && p != nil {
			s, ok := p.(string)
			if !ok || !validString(s) {
				return core.BadRequest("'%v' is not a valid password.", p)
			}
			password = s
		}
	}
	if password == "" {
		password = core.NewSecret(24)
	}
	return t.guest(r, rootDatastores, true, func(s *state, in *Instance) error {
		in.RootEnabled = true
		core.WriteJSON(w, http.StatusOK, map[string]any{"user": map[string]any{"name": "root", "password": password}})
		return nil
	})
}

func (t *Trove) rootDisable(w http.ResponseWriter, r *http.Request) error {
	return t.guest(r, rootDatastores, true, func(s *state, in *Instance) error {
		if !in.RootEnabled {
			return core.NotFound("Root user has never been enabled on the instance.")
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
