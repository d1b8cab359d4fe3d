package octavia

import (
	"net/http"
	"strconv"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// udpMinDelay is udp_connect_min_interval_health_monitor's default.
const udpMinDelay = 3

func (s *state) hmOperating(h *HealthMonitor, now time.Time) string {
	if h.Current(now) == "PENDING_CREATE" || !h.AdminStateUp {
		return "OFFLINE"
	}
	return "ONLINE"
}

func (s *state) hmBody(h *HealthMonitor, now time.Time) map[string]any {
	b := h.baseBody(now)
	b["operating_status"] = s.hmOperating(h, now)
	b["type"] = h.Type
	b["delay"] = h.Delay
	b["timeout"] = h.Timeout
	b["max_retries"] = h.MaxRetries
	b["max_retries_down"] = h.MaxRetriesDown
	b["http_method"] = ptrOrNil(h.HTTPMethod)
	b["url_path"] = ptrOrNil(h.URLPath)
	b["expected_codes"] = ptrOrNil(h.ExpectedCodes)
	b["pools"] = idList([]string{h.PoolID})
	b["http_version"] = ptrOrNil(h.HTTPVersion)
	b["domain_name"] = ptrOrNil(h.DomainName)
	return b
}

func isHTTPMonitor(t string) bool { return t == "HTTP" || t == "HTTPS" }

// checkHMType is the UDP/SCTP part of HealthMonitorController.post.
func checkHMType(poolProtocol, typ string, delay int) error {
	if poolProtocol == "UDP" || poolProtocol == "SCTP" {
		switch typ {
		case "UDP-CONNECT", "SCTP", "TCP", "HTTP":
		default:
			return validation("The associated pool protocol is %s, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.", poolProtocol)
		}
		if typ == "UDP-CONNECT" && delay < udpMinDelay {
			return validation("The request delay value %d should be larger than %d for UDP-CONNECT health monitor type.", delay, udpMinDelay)
		}
		return nil
	}
	if typ == "UDP-CONNECT" || typ == "SCTP" {
		return validation("The %s type is only supported for pools of type UDP/SCTP.", typ)
	}
	return nil
}

// checkHTTPFields is _validate_create_hm / _validate_update_hm's check
// that HTTP settings only go on HTTP(S) monitors.
func checkHTTPFields(typ string, b body) error {
	if isHTTPMonitor(typ) {
		return nil
	}
	for _, k := range []string{"http_method", "url_path", "expected_codes"} {
		if b.str(k) != "" {
			return invalidOption(k, "health monitors of type "+typ)
		}
	}
	return nil
}

func checkDomain(b body, version *float64) error {
	if b.str("domain_name") != "" && version == nil {
		return validation("'http_version' must be specified when 'domain_name' is provided.")
	}
	if b.str("domain_name") != "" && version != nil && *version < 1.1 {
		return invalidOption("http_version "+strconv.FormatFloat(*version, 'f', -1, 64), "health monitors HTTP 1.1 domain name health check")
	}
	return nil
}

func floatPtr(b body, k string) *float64 {
	if f, ok := b[k].(float64); ok {
		return &f
	}
	return nil
}

// newHM validates a health monitor of p and adds it (PENDING_CREATE).
func (o *Octavia) newHM(s *state, p *Pool, b body, now time.Time) (*HealthMonitor, error) {
	typ := b.str("type")
	if err := checkHMType(p.Protocol, typ, b.int("delay", 0)); err != nil {
		return nil, err
	}
	if err := checkHTTPFields(typ, b); err != nil {
		return nil, err
	}
	for _, k := range []string{"delay", "timeout"} {
		if b[k] == nil {
			return nil, invalidOption("None", k)
		}
	}
	if b["max_retries"] == nil {
		return nil, invalidOption("None", "max_retries")
	}
	version := floatPtr(b, "http_version")
	if err := checkDomain(b, version); err != nil {
		return nil, err
	}
	if s.poolHM(p.ID, now) != nil {
		return nil, core.Conflict("This pool already has a health monitor")
	}
	h := &HealthMonitor{common: common{ID: core.NewUUID(), ProjectID: p.ProjectID, Name: b.str("name"),
		AdminStateUp: b.bool("admin_state_up", true), Tags: b.list("tags"), Created: now},
		PoolID: p.ID, Type: typ, Delay: b.int("delay", 0), Timeout: b.int("timeout", 0),
		MaxRetries: b.int("max_retries", 3), MaxRetriesDown: b.int("max_retries_down", 3),
		HTTPVersion: version, DomainName: b.strPtr("domain_name")}
	if isHTTPMonitor(typ) {
		def := func(k, v string) *string {
			if s := b.str(k); s != "" {
				return &s
			}
			return &v
		}
		h.HTTPMethod, h.URLPath, h.ExpectedCodes = def("http_method", "GET"), def("url_path", "/"), def("expected_codes", "200")
	}
	o.begin(&h.common, "PENDING_CREATE")
	s.HMs[h.ID] = h
	return h, nil
}

func (o *Octavia) createHM(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "health_monitor_", "healthmonitor", hmPOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		pid := b.str("pool_id")
		p := s.pool(pid, now)
		if p == nil {
			return notFound("Pool", pid)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		if err := checkHMType(p.Protocol, b.str("type"), b.int("delay", 0)); err != nil {
			return err
		}
		if err := s.checkQuota(p.ProjectID, "health_monitor", 1, now); err != nil {
			return err
		}
		if err := s.memberMutable(p, now, nil); err != nil {
			return err
		}
		h, err := o.newHM(s, p, b, now)
		if err != nil {
			return err
		}
		o.touchPool(s, p, now)
		answer = s.hmBody(h, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"healthmonitor": answer})
	return nil
}

func (o *Octavia) showHM(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("hm_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		h := s.hm(id, now)
		if h == nil {
			return notFound("Health Monitor", id)
		}
		if err := authorize(r, h.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"healthmonitor": showFields(r, s.hmBody(h, now))})
		return nil
	})
}

func (o *Octavia) listHMs(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, h := range s.HMs {
			if s.hm(h.ID, now) == nil || (project != "" && h.ProjectID != project) {
				continue
			}
			items = append(items, listItem{body: s.hmBody(h, now), id: h.ID, created: h.Created,
				hidden: map[string]string{"pool_id": h.PoolID}})
		}
		return writeList(w, r, "healthmonitors", items, listItem{body: s.hmBody(&HealthMonitor{}, now), hidden: map[string]string{"pool_id": ""}})
	})
}

func (o *Octavia) updateHM(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("hm_id")
	b, err := decodeBody(r, "health_monitor_", "healthmonitor", hmPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		h := s.hm(id, now)
		if h == nil {
			return notFound("Health Monitor", id)
		}
		if err := authorize(r, h.ProjectID); err != nil {
			return err
		}
		if err := checkHTTPFields(h.Type, b); err != nil {
			return err
		}
		for _, k := range []string{"delay", "max_retries", "timeout"} {
			if b.has(k) && b[k] == nil {
				return invalidOption("None", k)
			}
		}
		version := h.HTTPVersion
		if b.has("http_version") {
			version = floatPtr(b, "http_version")
		}
		if err := checkDomain(b, version); err != nil {
			return err
		}
		p := s.Pools[h.PoolID]
		if err := s.memberMutable(p, now, nil); err != nil {
			return err
		}
		if h.pending(now) {
			return immutable("Load Balancer", p.LBID)
		}
		if b.has("name") {
			h.Name = b.str("name")
		}
		for k, dst := range map[string]*int{"delay": &h.Delay, "timeout": &h.Timeout, "max_retries": &h.MaxRetries} {
			if b.has(k) {
				*dst = b.int(k, *dst)
			}
		}
		if b.has("max_retries_down") {
			h.MaxRetriesDown = b.int("max_retries_down", 3)
		}
		if isHTTPMonitor(h.Type) {
			for k, def := range map[string]string{"http_method": "GET", "url_path": "/", "expected_codes": "200"} {
				if !b.has(k) {
					continue
				}
				v := b.str(k)
				if v == "" {
					v = def
				}
				switch k {
				case "http_method":
					h.HTTPMethod = &v
				case "url_path":
					h.URLPath = &v
				default:
					h.ExpectedCodes = &v
				}
			}
		}
		if b.has("admin_state_up") {
			h.AdminStateUp = b.bool("admin_state_up", true)
		}
		if b.has("tags") {
			h.Tags = b.list("tags")
		}
		h.HTTPVersion = version
		if b.has("domain_name") {
			h.DomainName = b.strPtr("domain_name")
		}
		o.begin(&h.common, "PENDING_UPDATE")
		o.updated(&h.common)
		o.touchPool(s, p, now)
		answer = s.hmBody(h, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"healthmonitor": answer})
	return nil
}

func (o *Octavia) deleteHM(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("hm_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		h := s.hm(id, now)
		if h == nil {
			return notFound("Health Monitor", id)
		}
		if err := authorize(r, h.ProjectID); err != nil {
			return err
		}
		p := s.Pools[h.PoolID]
		if err := s.memberMutable(p, now, nil); err != nil {
			return err
		}
		if h.pending(now) {
			return immutable("Load Balancer", p.LBID)
		}
		o.begin(&h.common, "PENDING_DELETE")
		o.touchPool(s, p, now)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
