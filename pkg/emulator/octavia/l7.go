package octavia

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// ------------------------------------------------------------ L7 policies

func (s *state) policyRules(policyID string, now time.Time) []*L7Rule {
	var out []*L7Rule
	for _, r := range s.L7Rules {
		if r.PolicyID == policyID && !r.gone(now) {
			out = append(out, r)
		}
	}
	sortByCreation(out, func(r *L7Rule) *common { return &r.common })
	return out
}

func (s *state) l7policyBody(p *L7Policy, now time.Time) map[string]any {
	b := p.baseBody(now)
	b["description"] = p.Description
	b["operating_status"] = "ONLINE"
	if p.Current(now) == "PENDING_CREATE" || !p.AdminStateUp {
		b["operating_status"] = "OFFLINE"
	}
	b["action"] = p.Action
	b["listener_id"] = p.ListenerID
	b["redirect_pool_id"] = ptrOrNil(p.RedirectPoolID)
	b["redirect_url"] = ptrOrNil(p.RedirectURL)
	b["redirect_prefix"] = ptrOrNil(p.RedirectPrefix)
	b["redirect_http_code"] = ptrOrNil(p.RedirectHTTPCode)
	b["position"] = p.Position
	var ids []string
	for _, r := range s.policyRules(p.ID, now) {
		ids = append(ids, r.ID)
	}
	b["rules"] = idList(ids)
	return b
}

func invalidL7Args(msg string) *core.APIError {
	return core.BadRequest("Invalid L7 Policy arguments: %s", msg)
}

// validURL is validate.url: a scheme and a host.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// sanitizePolicy is validate.sanitize_l7policy_api_args on the fields of
// a create (cur nil) or an update (cur the policy): it returns the
// resulting action and redirect settings.
func sanitizePolicy(b body, cur *L7Policy, creating bool) (action string, pool, rurl, prefix *string, code *int, err error) {
	if cur != nil {
		action, pool, rurl, prefix, code = cur.Action, cur.RedirectPoolID, cur.RedirectURL, cur.RedirectPrefix, cur.RedirectHTTPCode
	}
	get := func(k string) *string {
		if b.has(k) {
			return b.strPtr(k)
		}
		return nil
	}
	reqPool, reqURL, reqPrefix := get("redirect_pool_id"), get("redirect_url"), get("redirect_prefix")
	hasPool := reqPool != nil || b.obj("redirect_pool") != nil
	if b.has("action") && b.str("action") != "" {
		action = b.str("action")
		switch action {
		case "REJECT":
			pool, rurl, prefix, code = nil, nil, nil, nil
		case "REDIRECT_TO_URL":
			if reqURL == nil {
				return "", nil, nil, nil, nil, invalidL7Args("redirect_url must not be None")
			}
			pool = nil
		case "REDIRECT_TO_POOL":
			if !hasPool {
				return "", nil, nil, nil, nil, invalidL7Args("redirect_pool_id or redirect_pool must not be None")
			}
			rurl = nil
		case "REDIRECT_PREFIX":
			if reqPrefix == nil {
				return "", nil, nil, nil, nil, invalidL7Args("redirect_prefix must not be None")
			}
		}
	}
	if hasPool && (reqURL != nil || reqPrefix != nil) {
		return "", nil, nil, nil, nil, invalidL7Args("Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time")
	}
	if b.has("redirect_http_code") && b.str("redirect_http_code") != "" {
		c, _ := strconv.Atoi(b.str("redirect_http_code"))
		code = &c
	}
	switch {
	case hasPool:
		action, pool, rurl, prefix, code = "REDIRECT_TO_POOL", reqPool, nil, nil, nil
	case reqURL != nil:
		if !validURL(*reqURL) {
			return "", nil, nil, nil, nil, core.BadRequest("Not a valid URL: %s", *reqURL)
		}
		action, rurl, pool, prefix = "REDIRECT_TO_URL", reqURL, nil, nil
		if code == nil {
			c := 302
			code = &c
		}
	case reqPrefix != nil:
		if !validURL(*reqPrefix) {
			return "", nil, nil, nil, nil, core.BadRequest("Not a valid URL: %s", *reqPrefix)
		}
		action, prefix, pool, rurl = "REDIRECT_PREFIX", reqPrefix, nil, nil
		if code == nil {
			c := 302
			code = &c
		}
	}
	if creating && action == "" {
		return "", nil, nil, nil, nil, core.BadRequest("Invalid L7 Policy action specified: None")
	}
	return action, pool, rurl, prefix, code, nil
}

// renumber keeps a listener's policy positions 1..n, p at its position.
func (s *state) renumber(listenerID string, p *L7Policy, now time.Time) {
	var others []*L7Policy
	for _, x := range s.listenerPolicies(listenerID, now) {
		if x != p {
			others = append(others, x)
		}
	}
	if p != nil {
		pos := p.Position
		if pos < 1 || pos > len(others)+1 {
			pos = len(others) + 1
		}
		others = append(others[:pos-1], append([]*L7Policy{p}, others[pos-1:]...)...)
	}
	for i, x := range others {
		x.Position = i + 1
	}
}

// newL7Policy validates a policy of l and adds it (PENDING_CREATE).
func (o *Octavia) newL7Policy(s *state, l *Listener, b body, now time.Time) (*L7Policy, error) {
	if l.Protocol == "PROMETHEUS" {
		return nil, core.BadRequest("Protocol PROMETHEUS listeners cannot have child objects.")
	}
	action, pool, rurl, prefix, code, err := sanitizePolicy(b, nil, true)
	if err != nil {
		return nil, err
	}
	if pool != nil {
		p := s.pool(*pool, now)
		if p == nil {
			return nil, notFound("Pool", *pool)
		}
		if err := checkProtocols(l.Protocol, p.Protocol); err != nil {
			return nil, err
		}
	}
	if rs, ok := b["rules"].([]body); ok && len(rs) > maxRulesPerPolicy {
		return nil, core.Conflict("Too many rules on L7 policy %s", "")
	}
	pol := &L7Policy{common: common{ID: core.NewUUID(), ProjectID: l.ProjectID, Name: b.str("name"),
		Description: b.str("description"), AdminStateUp: b.bool("admin_state_up", true), Tags: b.list("tags"), Created: now},
		ListenerID: l.ID, Action: action, Position: b.int("position", 0), RedirectPoolID: pool, RedirectURL: rurl,
		RedirectPrefix: prefix, RedirectHTTPCode: code}
	o.begin(&pol.common, "PENDING_CREATE")
	s.L7Policies[pol.ID] = pol
	s.renumber(l.ID, pol, now)
	if rs, ok := b["rules"].([]body); ok {
		for _, rb := range rs {
			if _, err := o.newL7Rule(s, pol, rb, now); err != nil {
				return nil, err
			}
		}
	}
	return pol, nil
}

func (o *Octavia) createL7Policy(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, "l7policy_", "l7policy", l7PolicyPOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		lid := b.str("listener_id")
		l := s.listener(lid, now)
		if l == nil {
			return notFound("Listener", lid)
		}
		if err := authorize(r, l.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(l.ProjectID, "l7policy", 1, now); err != nil {
			return err
		}
		if rs, ok := b["rules"].([]body); ok && len(rs) > 0 {
			if err := s.checkQuota(l.ProjectID, "l7rule", len(rs), now); err != nil {
				return err
			}
		}
		lb := s.LBs[l.LBID]
		if err := lbMutable(lb, now, &l.common); err != nil {
			return err
		}
		scratch, err := s.clone()
		if err != nil {
			return err
		}
		pol, err := o.newL7Policy(scratch, scratch.Listeners[l.ID], b, now)
		if err != nil {
			return err
		}
		*s = *scratch
		o.touch(&s.Listeners[l.ID].common, &s.LBs[l.LBID].common)
		answer = s.l7policyBody(s.L7Policies[pol.ID], now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"l7policy": answer})
	return nil
}

func (o *Octavia) showL7Policy(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("policy_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		p := s.l7policy(id, now)
		if p == nil {
			return notFound("L7 Policy", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"l7policy": showFields(r, s.l7policyBody(p, now))})
		return nil
	})
}

func (o *Octavia) listL7Policies(w http.ResponseWriter, r *http.Request) error {
	project, err := listProject(r)
	if err != nil {
		return err
	}
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		var items []listItem
		for _, p := range s.L7Policies {
			if s.l7policy(p.ID, now) == nil || (project != "" && p.ProjectID != project) {
				continue
			}
			items = append(items, listItem{body: s.l7policyBody(p, now), id: p.ID, created: p.Created})
		}
		return writeList(w, r, "l7policies", items, listItem{body: s.l7policyBody(&L7Policy{}, now)})
	})
}

func (o *Octavia) updateL7Policy(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("policy_id")
	b, err := decodeBody(r, "l7policy_", "l7policy", l7PolicyPUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		p := s.l7policy(id, now)
		if p == nil {
			return notFound("L7 Policy", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		action, pool, rurl, prefix, code, err := sanitizePolicy(b, p, false)
		if err != nil {
			return err
		}
		l := s.Listeners[p.ListenerID]
		if pool != nil && (p.RedirectPoolID == nil || *pool != *p.RedirectPoolID) {
			rp := s.pool(*pool, now)
			if rp == nil {
				return notFound("Pool", *pool)
			}
			if err := checkProtocols(l.Protocol, rp.Protocol); err != nil {
				return err
			}
		}
		if err := lbMutable(s.LBs[l.LBID], now, &l.common, &p.common); err != nil {
			return err
		}
		p.Action, p.RedirectPoolID, p.RedirectURL, p.RedirectPrefix, p.RedirectHTTPCode = action, pool, rurl, prefix, code
		if b.has("name") {
			p.Name = b.str("name")
		}
		if b.has("description") {
			p.Description = b.str("description")
		}
		if b.has("admin_state_up") {
			p.AdminStateUp = b.bool("admin_state_up", true)
		}
		if b.has("tags") {
			p.Tags = b.list("tags")
		}
		if b.has("position") {
			p.Position = b.int("position", 0)
			s.renumber(l.ID, p, now)
		}
		o.begin(&p.common, "PENDING_UPDATE")
		o.updated(&p.common)
		o.touch(&l.common, &s.LBs[l.LBID].common)
		answer = s.l7policyBody(p, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"l7policy": answer})
	return nil
}

func (o *Octavia) deleteL7Policy(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("policy_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		p := s.l7policy(id, now)
		if p == nil {
			return notFound("L7 Policy", id)
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		l := s.Listeners[p.ListenerID]
		if err := lbMutable(s.LBs[l.LBID], now, &l.common, &p.common); err != nil {
			return err
		}
		o.begin(&p.common, "PENDING_DELETE")
		o.touch(&l.common, &s.LBs[l.LBID].common)
		s.purge(now)
		s.renumber(l.ID, nil, now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// -------------------------------------------------------------- L7 rules

func (s *state) l7ruleBody(x *L7Rule, now time.Time) map[string]any {
	b := x.baseBody(now)
	delete(b, "name")
	b["operating_status"] = "ONLINE"
	if x.Current(now) == "PENDING_CREATE" || !x.AdminStateUp {
		b["operating_status"] = "OFFLINE"
	}
	b["type"] = x.Type
	b["compare_type"] = x.CompareType
	b["key"] = ptrOrNil(x.Key)
	b["value"] = x.Value
	b["invert"] = x.Invert
	return b
}

var headerNameRE = regexp.MustCompile(`^[!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+$`)

func l7RuleError(msg string) *core.APIError {
	return core.BadRequest("Error parsing L7Rule: Invalid L7 Rule: %s", msg)
}

// checkL7Rule is validate.l7rule_data.
func checkL7Rule(typ, compare, key, value string) error {
	if value == "" {
		return l7RuleError("L7 rule type requires a value")
	}
	badCompare := l7RuleError("invalid comparison type for rule type")
	checkRegex := func() error {
		if _, err := regexp.Compile(value); err != nil {
			return l7RuleError("Unable to parse regular expression: " + err.Error())
		}
		return nil
	}
	switch typ {
	case "HEADER", "COOKIE":
		if key == "" {
			return l7RuleError("L7 rule type requires a key")
		}
		if !headerNameRE.MatchString(key) {
			return l7RuleError("Invalid characters in key")
		}
		switch compare {
		case "REGEX":
			return checkRegex()
		case "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO":
			return nil
		}
		return badCompare
	case "HOST_NAME", "PATH":
		switch compare {
		case "REGEX":
			return checkRegex()
		case "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO":
			return nil
		}
		return badCompare
	case "FILE_TYPE":
		switch compare {
		case "REGEX":
			return checkRegex()
		case "EQUAL_TO":
			return nil
		}
		return badCompare
	case "SSL_CONN_HAS_CERT":
		if compare != "EQUAL_TO" || value != "True" {
			return l7RuleError("L7 rule type SSL_CONN_HAS_CERT only supports EQUAL_TO comparison with value 'True'")
		}
		return nil
	case "SSL_VERIFY_RESULT", "SSL_DN_FIELD":
		if compare != "EQUAL_TO" && compare != "REGEX" && typ == "SSL_VERIFY_RESULT" {
			return badCompare
		}
		return nil
	}
	return l7RuleError("invalid rule type")
}

// newL7Rule validates a rule of pol and adds it (PENDING_CREATE).
func (o *Octavia) newL7Rule(s *state, pol *L7Policy, b body, now time.Time) (*L7Rule, error) {
	if err := checkL7Rule(b.str("type"), b.str("compare_type"), b.str("key"), b.str("value")); err != nil {
		return nil, err
	}
	if len(s.policyRules(pol.ID, now)) >= maxRulesPerPolicy {
		return nil, core.Conflict("Too many rules on L7 policy %s", pol.ID)
	}
	x := &L7Rule{common: common{ID: core.NewUUID(), ProjectID: pol.ProjectID, AdminStateUp: b.bool("admin_state_up", true),
		Tags: b.list("tags"), Created: now}, PolicyID: pol.ID, Type: b.str("type"), CompareType: b.str("compare_type"),
		Key: b.strPtr("key"), Value: b.str("value"), Invert: b.bool("invert", false)}
	o.begin(&x.common, "PENDING_CREATE")
	s.L7Rules[x.ID] = x
	return x, nil
}

// policyFor finds the L7 policy of a rules request (404 "L7 Policy x not
// found." as L7PolicyController._lookup answers).
func (s *state) policyFor(r *http.Request, now time.Time) (*L7Policy, error) {
	id := r.PathValue("policy_id")
	p := s.l7policy(id, now)
	if p == nil {
		return nil, notFound("L7 Policy", id)
	}
	return p, nil
}

func (o *Octavia) ruleMutable(s *state, p *L7Policy, now time.Time, x *L7Rule) error {
	if p.Current(now) != "ACTIVE" {
		return immutable("L7Policy", p.ID)
	}
	l := s.Listeners[p.ListenerID]
	var rc *common
	if x != nil {
		rc = &x.common
	}
	return lbMutable(s.LBs[l.LBID], now, &l.common, rc)
}

func (o *Octavia) touchPolicy(s *state, p *L7Policy) {
	l := s.Listeners[p.ListenerID]
	o.touch(&p.common, &l.common, &s.LBs[l.LBID].common)
}

func (o *Octavia) createL7Rule(w http.ResponseWriter, r *http.Request) error {
	if err := o.state.View(func(s *state) error { _, err := s.policyFor(r, o.env.Now()); return err }); err != nil {
		return err
	}
	b, err := decodeBody(r, "rule_", "rule", l7RulePOST)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		s.purge(now)
		p, err := s.policyFor(r, now)
		if err != nil {
			return err
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		if err := checkL7Rule(b.str("type"), b.str("compare_type"), b.str("key"), b.str("value")); err != nil {
			return err
		}
		if err := s.checkQuota(p.ProjectID, "l7rule", 1, now); err != nil {
			return err
		}
		if err := o.ruleMutable(s, p, now, nil); err != nil {
			return err
		}
		x, err := o.newL7Rule(s, p, b, now)
		if err != nil {
			return err
		}
		o.touchPolicy(s, p)
		answer = s.l7ruleBody(x, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusCreated, map[string]any{"rule": answer})
	return nil
}

func (o *Octavia) showL7Rule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("rule_id")
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		p, err := s.policyFor(r, now)
		if err != nil {
			return err
		}
		x := s.l7rule(id, now)
		if x == nil || x.PolicyID != p.ID {
			return notFound("L7 Rule", id)
		}
		if err := authorize(r, x.ProjectID); err != nil {
			return err
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"rule": showFields(r, s.l7ruleBody(x, now))})
		return nil
	})
}

func (o *Octavia) listL7Rules(w http.ResponseWriter, r *http.Request) error {
	now := o.env.Now()
	return o.state.View(func(s *state) error {
		p, err := s.policyFor(r, now)
		if err != nil {
			return err
		}
		if err := authorize(r, p.ProjectID); err != nil {
			return err
		}
		var items []listItem
		for _, x := range s.policyRules(p.ID, now) {
			items = append(items, listItem{body: s.l7ruleBody(x, now), id: x.ID, created: x.Created,
				hidden: map[string]string{"l7policy_id": x.PolicyID}})
		}
		return writeList(w, r, "rules", items, listItem{body: s.l7ruleBody(&L7Rule{}, now), hidden: map[string]string{"l7policy_id": ""}})
	})
}

func (o *Octavia) updateL7Rule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("rule_id")
	if err := o.state.View(func(s *state) error { _, err := s.policyFor(r, o.env.Now()); return err }); err != nil {
		return err
	}
	b, err := decodeBody(r, "l7rule_", "rule", l7RulePUT)
	if err != nil {
		return err
	}
	var answer map[string]any
	err = o.state.Update(func(s *state) error {
		now := o.env.Now()
		p, err := s.policyFor(r, now)
		if err != nil {
			return err
		}
		x := s.l7rule(id, now)
		if x == nil || x.PolicyID != p.ID {
			return notFound("L7 Rule", id)
		}
		if err := authorize(r, x.ProjectID); err != nil {
			return err
		}
		typ, cmp, key, val := x.Type, x.CompareType, "", x.Value
		if x.Key != nil {
			key = *x.Key
		}
		if b.has("type") {
			typ = b.str("type")
		}
		if b.has("compare_type") {
			cmp = b.str("compare_type")
		}
		if b.has("key") {
			key = b.str("key")
		}
		if b.has("value") {
			val = b.str("value")
		}
		if err := checkL7Rule(typ, cmp, key, val); err != nil {
			return err
		}
		if err := o.ruleMutable(s, p, now, x); err != nil {
			return err
		}
		x.Type, x.CompareType, x.Value = typ, cmp, val
		if b.has("key") {
			x.Key = b.strPtr("key")
		}
		if b.has("invert") {
			x.Invert = b["invert"] == true
		}
		if b.has("admin_state_up") {
			x.AdminStateUp = b.bool("admin_state_up", true)
		}
		if b.has("tags") {
			x.Tags = b.list("tags")
		}
		o.begin(&x.common, "PENDING_UPDATE")
		o.updated(&x.common)
		o.touchPolicy(s, p)
		answer = s.l7ruleBody(x, now)
		return nil
	})
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"rule": answer})
	return nil
}

func (o *Octavia) deleteL7Rule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("rule_id")
	err := o.state.Update(func(s *state) error {
		now := o.env.Now()
		p, err := s.policyFor(r, now)
		if err != nil {
			return err
		}
		x := s.l7rule(id, now)
		if x == nil || x.PolicyID != p.ID {
			return notFound("L7 Rule", id)
		}
		if err := authorize(r, x.ProjectID); err != nil {
			return err
		}
		if err := o.ruleMutable(s, p, now, x); err != nil {
			return err
		}
		o.begin(&x.common, "PENDING_DELETE")
		o.touchPolicy(s, p)
		s.purge(now)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
