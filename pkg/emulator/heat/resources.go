package heat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// prop is a property schema (heat/engine/properties.py Schema).
type prop struct {
	typ      string // string, integer, number, boolean, list, map
	required bool
	def      any
	update   bool // update_allowed: changed in place, else the resource is replaced
	allowed  []string
	schema   map[string]*prop // a map's keys
	items    *prop            // a list's items
	desc     string
}

func pStr() *prop  { return &prop{typ: "string"} }
func pInt() *prop  { return &prop{typ: "integer"} }
func pNum() *prop  { return &prop{typ: "number"} }
func pBool() *prop { return &prop{typ: "boolean"} }
func pMap() *prop  { return &prop{typ: "map"} }
func pList(items *prop) *prop {
	return &prop{typ: "list", items: items}
}
func pObj(schema map[string]*prop) *prop { return &prop{typ: "map", schema: schema} }
func (p *prop) req() *prop               { c := *p; c.required = true; return &c }
func (p *prop) upd() *prop               { c := *p; c.update = true; return &c }
func (p *prop) dflt(v any) *prop         { c := *p; c.def = v; return &c }
func (p *prop) only(v ...string) *prop   { c := *p; c.allowed = v; return &c }

// rtype is a resource type: its schema and how it is made on the
// emulator's services.
type rtype struct {
	name    string
	service string // the catalog type it needs ("" for Heat's own)
	props   map[string]*prop
	attrs   []string
	// create makes the resource (sets r.PhysicalID, r.Data).
	create func(c *rctx, r *Resource, p map[string]any) error
	// ready reports whether the service finished making (or updating) it.
	ready func(c *rctx, r *Resource) (bool, error)
	// update changes update_allowed properties in place.
	update func(c *rctx, r *Resource, p map[string]any, changed []string) error
	// del deletes it (a resource already gone is not an error); gone
	// reports whether the service finished deleting it.
	del  func(c *rctx, r *Resource) error
	gone func(c *rctx, r *Resource) (bool, error)
	// show is the service's view of the resource (the "show" attribute).
	show func(c *rctx, r *Resource) (map[string]any, error)
	// attr resolves an attribute (default: the key of show).
	attr func(c *rctx, r *Resource, name string) (any, error)
	// ref is get_resource's value (default: the physical id).
	ref func(r *Resource) any
}

// registry is every resource type the emulator knows, by name.
var registry = map[string]*rtype{}

func register(t *rtype) {
	if t.attrs == nil {
		t.attrs = []string{}
	}
	if t.show != nil && !containsStr(t.attrs, "show") {
		t.attrs = append(t.attrs, "show")
	}
	registry[t.name] = t
}

// rctx is one engine step's view: the caller's identity and a cache of
// the services' answers.
type rctx struct {
	h     *Heat
	ctx   context.Context
	id    *core.Identity
	stack *Stack
	shows map[string]map[string]any
}

// svcErr is a service's error answer, as a client library raises it
// (typ, when set, is the exception Heat names instead of the status's).
type svcErr struct {
	status int
	msg    string
	typ    string
}

// errRetry: the service is busy with the object's parent (Octavia's 409
// on an immutable load balancer); the engine tries again on its next step,
// as Heat's check_create_complete does.
var errRetry = errors.New("retry")

// inError is Heat's ResourceInError: the object went to an error status.
func inError(status, reason string) error {
	return &svcErr{typ: "ResourceInError", msg: fmt.Sprintf("Went to status %s due to \"%s\"", status, reason)}
}

func (e *svcErr) Error() string { return e.msg }

// excName is the client exception class Heat reports for a status.
func excName(status int) string {
	switch status {
	case 400:
		return "BadRequest"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "NotFound"
	case 409:
		return "Conflict"
	case 413:
		return "OverLimit"
	case 429:
		return "OverLimit"
	}
	if status >= 500 {
		return "ClientException"
	}
	return "HttpException"
}

// errorMessage digs the message out of any OpenStack error body.
func errorMessage(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		s := strings.TrimSpace(string(body))
		if i := strings.Index(s, "<p>"); i >= 0 {
			s = s[i+3:]
			if j := strings.Index(s, "</p>"); j >= 0 {
				s = s[:j]
			}
		}
		return s
	}
	var find func(v any) string
	find = func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		for _, k := range []string{"message", "faultstring", "description", "title"} {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s := find(m[k]); s != "" {
				return s
			}
		}
		return ""
	}
	if s := find(v); s != "" {
		return s
	}
	return strings.TrimSpace(string(body))
}

// call sends a request to another service with the stack's identity.
func (c *rctx) call(service, method, path string, q url.Values, body, out any) error {
	return c.callH(service, method, path, q, nil, body, out)
}

// callH is call with request headers.
func (c *rctx) callH(service, method, path string, q url.Values, hdr http.Header, body, out any) error {
	err := c.h.env.Do(c.ctx, core.Call{Identity: c.id, Service: service, Method: method, Path: path, Query: q, Header: hdr, Body: body}, out)
	var ce *core.CallError
	if errors.As(err, &ce) {
		return &svcErr{status: ce.Status, msg: fmt.Sprintf("%s (HTTP %d)", errorMessage(ce.Body), ce.Status)}
	}
	return err
}

// get reads a service object; 404 is (nil, nil).
func (c *rctx) get(service, path, key string) (map[string]any, error) {
	var out map[string]any
	err := c.call(service, http.MethodGet, path, nil, nil, &out)
	if isStatus(err, 404) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if key == "" {
		return out, nil
	}
	m, _ := out[key].(map[string]any)
	return m, nil
}

func isStatus(err error, status int) bool {
	var se *svcErr
	return errors.As(err, &se) && se.status == status
}

// showOf caches a resource type's show for one step.
func (c *rctx) showOf(rt *rtype, r *Resource) (map[string]any, error) {
	if rt.show == nil || r.PhysicalID == "" {
		return nil, nil
	}
	key := r.Type + "/" + r.PhysicalID
	if s, ok := c.shows[key]; ok {
		return s, nil
	}
	s, err := rt.show(c, r)
	if err != nil {
		return nil, err
	}
	if c.shows == nil {
		c.shows = map[string]map[string]any{}
	}
	c.shows[key] = s
	return s, nil
}

// attribute resolves get_attr on a resource.
func (c *rctx) attribute(r *Resource, name string) (any, error) {
	rt := registry[r.Type]
	if rt == nil {
		return nil, nil
	}
	if name == "" || name == "show" {
		return c.showOf(rt, r)
	}
	if rt.attr != nil {
		return rt.attr(c, r, name)
	}
	s, err := c.showOf(rt, r)
	if err != nil || s == nil {
		return nil, err
	}
	return s[name], nil
}

// physName is Resource.physical_resource_name: stack-resource-<12>.
func physName(stackName, resName string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 12)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	name := stackName + "-" + resName
	if len(name) > 242 {
		name = name[:242]
	}
	return name + "-" + string(b)
}

// nameOr returns the "name" property or the physical resource name.
func (c *rctx) nameOr(p map[string]any, r *Resource) string {
	if s, ok := p["name"].(string); ok && s != "" {
		return s
	}
	return physName(c.stack.Name, r.Name)
}

// ----------------------------------------------------- property checking

// propErr is StackValidationFailed("Property error", path, message).
func propErr(res string, path []string, format string, args ...any) error {
	p := "resources." + res + ".properties"
	if len(path) > 0 {
		p += "." + strings.Join(path, ".")
	}
	return validationFailed("Property error: %s: %s", p, fmt.Sprintf(format, args...))
}

// checkProps validates resolved properties against a type's schema and
// fills in defaults. deferred names the properties whose values come
// from other resources and are not known yet (not type-checked).
func checkProps(rt *rtype, res string, raw map[string]any, deferred map[string]bool) (map[string]any, error) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := rt.props[k]; !ok {
			return nil, propErr(res, nil, "Unknown Property %s", k)
		}
	}
	names := make([]string, 0, len(rt.props))
	for k := range rt.props {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]any{}
	for _, k := range names {
		p := rt.props[k]
		v, present := raw[k]
		if deferred[k] {
			out[k] = v
			continue
		}
		if !present || v == nil {
			if p.required {
				return nil, propErr(res, nil, "Property %s not assigned", k)
			}
			if p.def != nil {
				out[k] = deepCopy(p.def)
			}
			continue
		}
		cv, err := convertProp(p, v, res, []string{k})
		if err != nil {
			return nil, err
		}
		out[k] = cv
	}
	return out, nil
}

func convertProp(p *prop, v any, res string, path []string) (any, error) {
	if v == nil {
		return nil, nil
	}
	var out any
	switch p.typ {
	case "string":
		switch x := v.(type) {
		case string:
			out = x
		case bool, int64, float64:
			out = pyStr(x)
		default:
			return nil, propErr(res, path, "Value must be a string; got %s", pyRepr(v))
		}
	case "integer":
		switch x := v.(type) {
		case int64:
			out = x
		case bool:
			if x {
				out = int64(1)
			} else {
				out = int64(0)
			}
		case float64:
			out = int64(x)
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, propErr(res, path, "Value '%s' is not an integer", x)
			}
			out = i
		default:
			return nil, propErr(res, path, "Value '%s' is not an integer", pyStr(v))
		}
	case "number":
		n, err := strToNum(v)
		if err != nil {
			return nil, propErr(res, path, "%s", err.Error())
		}
		out = n
	case "boolean":
		switch x := v.(type) {
		case bool:
			out = x
		case string:
			switch strings.ToLower(x) {
			case "true":
				out = true
			case "false":
				out = false
			default:
				return nil, propErr(res, path, "\"%s\" is not a valid boolean", strings.ToLower(x))
			}
		default:
			return nil, propErr(res, path, "\"%s\" is not a valid boolean", pyStr(v))
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			if s, isStr := v.(string); isStr && p.items != nil && p.items.typ == "string" {
				var parts []any
				for _, e := range strings.Split(s, ",") {
					parts = append(parts, strings.TrimSpace(e))
				}
				l = parts
			} else {
				return nil, propErr(res, path, "\"%s\" is not a list", pyRepr(v))
			}
		}
		conv := make([]any, 0, len(l))
		for i, e := range l {
			if p.items == nil {
				conv = append(conv, e)
				continue
			}
			ce, err := convertProp(p.items, e, res, append(append([]string{}, path...), strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			conv = append(conv, ce)
		}
		out = conv
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, propErr(res, path, "\"%s\" is not a map", pyStr(v))
		}
		if p.schema == nil {
			out = m
			break
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := p.schema[k]; !ok {
				return nil, propErr(res, path, "Unknown Property %s", k)
			}
		}
		conv := map[string]any{}
		names := make([]string, 0, len(p.schema))
		for k := range p.schema {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sp := p.schema[k]
			e, present := m[k]
			if !present || e == nil {
				if sp.required {
					return nil, propErr(res, path, "Property %s not assigned", k)
				}
				if sp.def != nil {
					conv[k] = deepCopy(sp.def)
				}
				continue
			}
			ce, err := convertProp(sp, e, res, append(append([]string{}, path...), k))
			if err != nil {
				return nil, err
			}
			conv[k] = ce
		}
		out = conv
	default:
		out = v
	}
	if len(p.allowed) > 0 {
		s := pyStr(out)
		if !containsStr(p.allowed, s) {
			parts := make([]string, len(p.allowed))
			for i, a := range p.allowed {
				parts[i] = jsonStr(a)
			}
			return nil, propErr(res, path, "%s is not an allowed value [%s]", jsonStr(out), strings.Join(parts, ", "))
		}
	}
	return out, nil
}

// ------------------------------------------------------ value helpers

func str(p map[string]any, k string) string {
	if s, ok := p[k].(string); ok {
		return s
	}
	if p[k] == nil {
		return ""
	}
	return pyStr(p[k])
}

func num(p map[string]any, k string) int64 {
	switch x := p[k].(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func list(p map[string]any, k string) []any {
	l, _ := p[k].([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// setIf copies p[k] into dst[to] when it is set.
func setIf(dst map[string]any, p map[string]any, k, to string) {
	if v, ok := p[k]; ok && v != nil {
		dst[to] = v
	}
}

// -------------------------------------------------- Heat's own resources

func init() {
	register(&rtype{name: "OS::Heat::None", props: map[string]*prop{},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			r.PhysicalID = core.NewUUID()
			return nil
		}})
	// OS::Heat::None takes any property (it stands in for any resource).
	registry["OS::Heat::None"].props = nil

	register(&rtype{name: "OS::Heat::Value", attrs: []string{"value"},
		props: map[string]*prop{"value": {typ: "any", required: true, update: true},
			"type": pStr().upd().only("string", "number", "comma_delimited_list", "json", "boolean")},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			r.PhysicalID = physName(c.stack.Name, r.Name)
			return nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error { return nil },
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			if name == "value" {
				return r.Props["value"], nil
			}
			return nil, nil
		}})

	register(&rtype{name: "OS::Heat::RandomString", attrs: []string{"value"},
		props: map[string]*prop{"length": pInt().dflt(int64(32)), "sequence": pStr(), "salt": pStr().upd(),
			"character_classes":   pList(pObj(map[string]*prop{"class": pStr().dflt("lettersdigits").only("lettersdigits", "letters", "lowercase", "uppercase", "digits", "hexdigits", "octdigits"), "min": pInt().dflt(int64(1))})),
			"character_sequences": pList(pObj(map[string]*prop{"sequence": pStr().req(), "min": pInt().dflt(int64(1))}))},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			v, err := randomString(p)
			if err != nil {
				return err
			}
			r.PhysicalID = physName(c.stack.Name, r.Name)
			r.Data = map[string]string{"value": v}
			return nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			v, err := randomString(p)
			if err != nil {
				return err
			}
			r.Data = map[string]string{"value": v}
			return nil
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			if name == "value" {
				return r.Data["value"], nil
			}
			return nil, nil
		},
		ref: func(r *Resource) any { return r.Data["value"] }})

	register(&rtype{name: "OS::Heat::TestResource", attrs: []string{"output"},
		props: map[string]*prop{"value": pStr().upd().dflt("test_string"), "update_replace": pBool().upd().dflt(false),
			"fail": pBool().upd().dflt(false), "client_name": pStr().dflt(""), "entity_name": pStr().dflt(""),
			"wait_secs": pNum().upd().dflt(int64(0)), "action_wait_secs": pMap().upd(), "attr_wait_secs": pNum().upd().dflt(int64(0)),
			"update_replace_value": pStr().upd(), "constraint_prop_secs": pNum().upd().dflt(int64(0))},
		create: func(c *rctx, r *Resource, p map[string]any) error {
			if p["fail"] == true {
				return &svcErr{status: 0, msg: "Test Resource failed " + r.Name}
			}
			r.PhysicalID = physName(c.stack.Name, r.Name)
			r.Data = map[string]string{"value": str(p, "value")}
			return nil
		},
		update: func(c *rctx, r *Resource, p map[string]any, changed []string) error {
			if p["fail"] == true {
				return &svcErr{status: 0, msg: "Test Resource failed " + r.Name}
			}
			r.Data = map[string]string{"value": str(p, "value")}
			return nil
		},
		attr: func(c *rctx, r *Resource, name string) (any, error) {
			if name == "output" {
				return r.Data["value"], nil
			}
			return nil, nil
		}})
}

// randomString is OS::Heat::RandomString's generator.
func randomString(p map[string]any) (string, error) {
	classes := map[string]string{
		"lettersdigits": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"letters":       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		"lowercase":     "abcdefghijklmnopqrstuvwxyz", "uppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"digits": "0123456789", "hexdigits": "0123456789abcdefABCDEF", "octdigits": "01234567",
	}
	length := int(num(p, "length"))
	pick := func(chars string) byte {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		return chars[n.Int64()]
	}
	var out []byte
	all := ""
	if seq := str(p, "sequence"); seq != "" {
		all = classes[seq]
		if all == "" {
			all = classes["lettersdigits"]
		}
	}
	for _, cc := range list(p, "character_classes") {
		m := obj(cc)
		chars := classes[str(m, "class")]
		for i := int64(0); i < num(m, "min"); i++ {
			out = append(out, pick(chars))
		}
		all += chars
	}
	for _, cs := range list(p, "character_sequences") {
		m := obj(cs)
		chars := str(m, "sequence")
		for i := int64(0); i < num(m, "min"); i++ {
			out = append(out, pick(chars))
		}
		all += chars
	}
	if all == "" {
		all = classes["lettersdigits"]
	}
	if len(out) > length {
		return "", validationFailed("Length property cannot be smaller than combined character class and character sequence minimums")
	}
	for len(out) < length {
		out = append(out, pick(all))
	}
	// Shuffle so the class minimums are not all at the front.
	for i := len(out) - 1; i > 0; i-- {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		j := int(n.Int64())
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}
