package swift

import (
	"net/http"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func (s *Swift) serveContainer(w http.ResponseWriter, rq *request) error {
	r := rq.r
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := s.authorize(rq, s.acl(rq, "read")); err != nil {
			return err
		}
		return s.listContainer(w, rq)
	case http.MethodPut:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.putContainer(w, rq)
	case http.MethodPost:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.postContainer(w, rq)
	case http.MethodDelete:
		if err := s.authorize(rq, ""); err != nil {
			return err
		}
		return s.deleteContainer(w, rq)
	case http.MethodOptions:
		w.Header().Set("Allow", containerMethods)
		empty(w, r, http.StatusOK)
		return nil
	}
	return allowOnly(containerMethods)
}

// acl returns the container's read or write ACL ("" when it does not
// exist).
func (s *Swift) acl(rq *request, which string) string {
	var acl string
	_ = s.state.View(func(st *state) error {
		if c := st.container(rq.account, rq.container); c != nil {
			acl = c.Read
			if which == "write" {
				acl = c.Write
			}
		}
		return nil
	})
	return acl
}

// containerHeaders are the container server's response headers; ACLs and
// temp URL keys only for the owner.
func containerHeaders(h http.Header, c *Container, rq *request) {
	count, bytes := c.usage(rq.now)
	h.Set("X-Container-Object-Count", itoa(count))
	h.Set("X-Container-Bytes-Used", itoa(bytes))
	h.Set("X-Timestamp", xTimestamp(c.Created))
	h.Set("X-Put-Timestamp", xTimestamp(c.PutTime))
	h.Set("X-Storage-Policy", PolicyName)
	h.Set("Last-Modified", lastModified(c.PutTime))
	h.Set("Accept-Ranges", "bytes")
	for k, v := range c.Meta {
		if !rq.owner && strings.HasPrefix(k, "temp-url-key") {
			continue
		}
		h.Set("X-Container-Meta-"+k, v)
	}
	if rq.owner {
		if c.Read != "" {
			h.Set("X-Container-Read", c.Read)
		}
		if c.Write != "" {
			h.Set("X-Container-Write", c.Write)
		}
	}
	if loc := c.Sysmeta["versions-location"]; loc != "" {
		if c.Sysmeta["versions-mode"] == "history" {
			h.Set("X-History-Location", loc)
		} else {
			h.Set("X-Versions-Location", loc)
		}
	}
}

func (s *Swift) listContainer(w http.ResponseWriter, rq *request) error {
	ctype, err := listingType(rq.r)
	if err != nil {
		return err
	}
	lp, err := parseListParams(rq.r, ContainerListingLimit)
	if err != nil {
		return err
	}
	var entries []entry
	found := false
	_ = s.state.View(func(st *state) error {
		c := st.container(rq.account, rq.container)
		if c == nil {
			return nil
		}
		found = true
		containerHeaders(w.Header(), c, rq)
		names := make([]string, 0, len(c.Objects))
		for n, o := range c.Objects {
			if !o.expired(rq.now) {
				names = append(names, n)
			}
		}
		entries = list(names, lp, func(n string) any { return listingRecord(c.Objects[n]) })
		return nil
	})
	if !found {
		return fail(http.StatusNotFound, "")
	}
	if rq.r.Method == http.MethodHead {
		if !rq.r.URL.Query().Has("format") {
			w.Header().Set("Vary", "Accept")
		}
		w.Header().Set("Content-Type", ctype+"; charset=utf-8")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	renderListing(w, rq.r, ctype, entries, "container", "object", rq.container, []string{"name", "hash", "bytes", "content_type", "last_modified"})
	return nil
}

// listingRecord is one object as a container listing shows it.
func listingRecord(o *Object) core.Ordered {
	if o.Segments != nil {
		m := core.Obj("bytes", o.size(), "hash", o.ETag, "name", o.Name, "content_type", o.ContentType,
			"last_modified", isoformat(o.LastModified), "slo_etag", `"`+sloETag(o.Segments)+`"`)
		return m
	}
	return core.Obj("bytes", int64(len(o.Data)), "hash", o.ETag, "name", o.Name, "content_type", o.ContentType,
		"last_modified", isoformat(o.LastModified))
}

// containerChange is what a container PUT or POST sets.
type containerChange struct {
	meta              metaChange
	read, write       *string
	versions, history *string
	removeVersions    bool
}

func parseContainerChange(rq *request) (containerChange, error) {
	r := rq.r
	var cc containerChange
	for _, name := range []string{"X-Container-Read", "X-Container-Write"} {
		vals, set := r.Header[name]
		if !set {
			continue
		}
		v, err := cleanACL(name, strings.Join(vals, ","))
		if err != nil {
			return cc, err
		}
		if name == "X-Container-Read" {
			cc.read = &v
		} else {
			cc.write = &v
		}
	}
	for _, name := range []string{"X-Remove-Container-Read", "X-Remove-Container-Write"} {
		if r.Header.Get(name) != "" {
			empty := ""
			if strings.HasSuffix(name, "Read") {
				cc.read = &empty
			} else {
				cc.write = &empty
			}
		}
	}
	mc, err := parseMeta(r.Header, "container")
	if err != nil {
		return cc, err
	}
	cc.meta = mc
	// container_quotas validates its metadata.
	if v := r.Header.Get("X-Container-Meta-Quota-Bytes"); v != "" && !isDigits(v) {
		return cc, fail(http.StatusBadRequest, "Invalid bytes quota.")
	}
	if v := r.Header.Get("X-Container-Meta-Quota-Count"); v != "" && !isDigits(v) {
		return cc, fail(http.StatusBadRequest, "Invalid count quota.")
	}
	// X-Storage-Policy names the one policy or nothing.
	if p := r.Header.Get("X-Storage-Policy"); p != "" && r.Method == http.MethodPut && !strings.EqualFold(p, PolicyName) {
		return cc, failText(http.StatusBadRequest, "Invalid X-Storage-Policy '%s'", p)
	}
	// versioned_writes.
	_, hasV := r.Header["X-Versions-Location"]
	_, hasH := r.Header["X-History-Location"]
	if hasV && hasH {
		return cc, fail(http.StatusBadRequest, "Only one of X-Versions-Location or X-History-Location may be specified")
	}
	for _, name := range []string{"X-Versions-Location", "X-History-Location"} {
		if _, ok := r.Header[name]; !ok {
			continue
		}
		v := r.Header.Get(name)
		if v == "" {
			cc.removeVersions = true
			continue
		}
		if strings.Contains(v, "/") {
			return cc, fail(http.StatusPreconditionFailed, "Container name cannot contain slashes")
		}
		if name == "X-Versions-Location" {
			cc.versions = &v
		} else {
			cc.history = &v
		}
	}
	if r.Header.Get("X-Remove-Versions-Location") != "" || r.Header.Get("X-Remove-History-Location") != "" {
		cc.removeVersions = true
	}
	if !rq.owner {
		cc.read, cc.write = nil, nil
		for _, k := range []string{"temp-url-key", "temp-url-key-2"} {
			delete(cc.meta.set, k)
		}
	}
	return cc, nil
}

func (cc containerChange) apply(c *Container) {
	c.Meta = cc.meta.apply(c.Meta)
	if cc.read != nil {
		c.Read = *cc.read
	}
	if cc.write != nil {
		c.Write = *cc.write
	}
	if cc.removeVersions {
		delete(c.Sysmeta, "versions-location")
		delete(c.Sysmeta, "versions-mode")
	}
	for mode, loc := range map[string]*string{"stack": cc.versions, "history": cc.history} {
		if loc == nil {
			continue
		}
		if c.Sysmeta == nil {
			c.Sysmeta = map[string]string{}
		}
		c.Sysmeta["versions-location"] = *loc
		c.Sysmeta["versions-mode"] = mode
	}
}

func (s *Swift) putContainer(w http.ResponseWriter, rq *request) error {
	if n := len(rq.container); n > MaxContainerNameLength {
		return fail(http.StatusBadRequest, "Container name length of "+itoa(int64(n))+" longer than "+itoa(MaxContainerNameLength))
	}
	cc, err := parseContainerChange(rq)
	if err != nil {
		return err
	}
	created := false
	_ = s.state.Update(func(st *state) error {
		a := st.account(rq.account, rq.now)
		c := a.Containers[rq.container]
		if c == nil {
			c = &Container{Name: rq.container, Created: rq.now, Objects: map[string]*Object{}}
			a.Containers[rq.container] = c
			created = true
		}
		c.PutTime = rq.now
		cc.apply(c)
		return nil
	})
	if created {
		empty(w, rq.r, http.StatusCreated)
	} else {
		accepted(w, rq.r)
	}
	return nil
}

func (s *Swift) postContainer(w http.ResponseWriter, rq *request) error {
	cc, err := parseContainerChange(rq)
	if err != nil {
		return err
	}
	err = s.state.Update(func(st *state) error {
		c := st.container(rq.account, rq.container)
		if c == nil {
			return fail(http.StatusNotFound, "")
		}
		cc.apply(c)
		return nil
	})
	if err != nil {
		return err
	}
	empty(w, rq.r, http.StatusNoContent)
	return nil
}

func (s *Swift) deleteContainer(w http.ResponseWriter, rq *request) error {
	if err := s.doDeleteContainer(rq); err != nil {
		return err
	}
	empty(w, rq.r, http.StatusNoContent)
	return nil
}

// doDeleteContainer deletes the request's container: 404 when missing,
// 409 while it holds objects.
func (s *Swift) doDeleteContainer(rq *request) error {
	return s.state.Update(func(st *state) error {
		a := st.Accounts[rq.account]
		var c *Container
		if a != nil {
			c = a.Containers[rq.container]
		}
		if c == nil {
			return fail(http.StatusNotFound, "")
		}
		if n, _ := c.usage(rq.now); n > 0 {
			return fail(http.StatusConflict, "")
		}
		delete(a.Containers, rq.container)
		a.PutTime = rq.now
		return nil
	})
}
