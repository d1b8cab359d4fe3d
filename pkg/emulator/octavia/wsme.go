package octavia

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Octavia's API types are WSME types: a body is converted attribute by
// attribute (wsme/rest/json.py fromjson) and every attribute validated by
// its type (wsme/types.py). This file does the same for the attributes
// Octavia declares, with WSME's messages:
//
//	Unknown attribute for argument load_balancer.loadbalancer: foo
//	Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1
//	Invalid input for field/attribute protocol. Value: 'None'. Mandatory field missing.
//
// A null value is accepted for any attribute (WSME sets None without
// validating it), as Octavia does.

type kind int

const (
	kString kind = iota
	kUUID
	kIP
	kInt
	kBool
	kEnum
	kFloatEnum
	kStrList
	kEnumList
	kCIDRList
	kStrDict
	kObject
	kObjList
	kURLPath
)

// attr is one attribute of a WSME type.
type attr struct {
	name      string
	kind      kind
	min, max  *int64 // string lengths for kString, values for kInt
	enum      []string
	floats    []float64
	pattern   *regexp.Regexp
	mandatory bool
	sub       *wtype
}

// wtype is a WSME complex type: its attributes by name.
type wtype struct {
	attrs map[string]*attr
}

func newType(attrs ...*attr) *wtype {
	t := &wtype{attrs: map[string]*attr{}}
	for _, a := range attrs {
		t.attrs[a.name] = a
	}
	return t
}

// extend returns a copy of t with more (or replaced) attributes.
func (t *wtype) extend(attrs ...*attr) *wtype {
	n := &wtype{attrs: map[string]*attr{}}
	for k, v := range t.attrs {
		n.attrs[k] = v
	}
	for _, a := range attrs {
		n.attrs[a.name] = a
	}
	return n
}

// without returns a copy of t lacking the named attributes.
func (t *wtype) without(names ...string) *wtype {
	n := t.extend()
	for _, k := range names {
		delete(n.attrs, k)
	}
	return n
}

func i64(v int64) *int64 { return &v }

func str(name string, maxLen int) *attr {
	return &attr{name: name, kind: kString, max: i64(int64(maxLen))}
}
func uuidAttr(name string) *attr { return &attr{name: name, kind: kUUID} }
func ipAttr(name string) *attr   { return &attr{name: name, kind: kIP} }
func boolAttr(name string) *attr { return &attr{name: name, kind: kBool} }
func intAttr(name string, min, max *int64) *attr {
	return &attr{name: name, kind: kInt, min: min, max: max}
}
func enumAttr(name string, values ...string) *attr {
	return &attr{name: name, kind: kEnum, enum: values}
}
func tagsAttr() *attr { return &attr{name: "tags", kind: kStrList, max: i64(255)} }
func strList(name string, maxLen int) *attr {
	return &attr{name: name, kind: kStrList, max: i64(int64(maxLen))}
}
func object(name string, t *wtype) *attr  { return &attr{name: name, kind: kObject, sub: t} }
func objList(name string, t *wtype) *attr { return &attr{name: name, kind: kObjList, sub: t} }
func (a *attr) required() *attr {
	c := *a
	c.mandatory = true
	return &c
}

// wsmeInvalid is wsme.exc.InvalidInput.
func wsmeInvalid(field string, value any, msg string) *core.APIError {
	return core.BadRequest("Invalid input for field/attribute %s. Value: '%s'. %s", field, pyStr(value), msg)
}

// body is a decoded, validated request body: attribute -> converted value
// (string, int64, bool, float64, []string, map[string]string, body,
// []body, or nil for JSON null). Absent attributes are absent.
type body map[string]any

func (b body) has(k string) bool { _, ok := b[k]; return ok }

// str returns a string attribute ("" when absent or null).
func (b body) str(k string) string { s, _ := b[k].(string); return s }

// strPtr returns a string attribute, nil when absent or null.
func (b body) strPtr(k string) *string {
	if s, ok := b[k].(string); ok {
		return &s
	}
	return nil
}

func (b body) int(k string, def int) int {
	if v, ok := b[k].(int64); ok {
		return int(v)
	}
	return def
}

func (b body) bool(k string, def bool) bool {
	v, ok := b[k]
	if !ok {
		return def
	}
	if bv, ok := v.(bool); ok {
		return bv
	}
	// null: Octavia's to_dict turns admin_state_up None into False.
	return false
}

func (b body) list(k string) []string {
	if l, ok := b[k].([]string); ok {
		return l
	}
	return nil
}

func (b body) obj(k string) body { o, _ := b[k].(body); return o }

// decodeBody parses a request body as WSME does for a controller method
// whose body argument is argName and whose root type holds one attribute
// root of type t (e.g. load_balancer / loadbalancer / LoadBalancerPOST).
func decodeBody(r *http.Request, argName, root string, t *wtype) (body, error) {
	top, err := decodeTop(r, argName, newType(object(root, t).required()))
	if err != nil {
		return nil, err
	}
	inner, _ := top[root].(body)
	if inner == nil {
		return nil, wsmeInvalid(root, nil, "Mandatory field missing.")
	}
	return inner, nil
}

// decodeTop parses a body whose root type is t.
func decodeTop(r *http.Request, argName string, t *wtype) (body, error) {
	raw, err := core.ReadBody(r, core.MaxJSONBody)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, core.BadRequest(`Missing argument: "%s"`, argName)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, core.BadRequest("Request is not in valid JSON format")
	}
	return convertObject(argName, argName, v, v, t)
}

func unknownKeys(m map[string]any, attrs map[string]*attr) []string {
	var out []string
	for k := range m {
		if _, ok := attrs[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func unknownAttr(path string, names []string) *core.APIError {
	if len(names) > 1 {
		return core.BadRequest("Unknown attributes for argument %s: %s", path, strings.Join(names, ", "))
	}
	return core.BadRequest("Unknown attribute for argument %s: %s", path, strings.Join(names, ", "))
}

// convertObject converts one complex value. path names it for unknown
// attributes; a conversion error WSME raises as a ValueError out of
// fromjson (a bad integer or boolean) is reported against the body
// argument argName with the whole body, as wsme/rest/json.py parse does.
func convertObject(path, argName string, whole, v any, t *wtype) (body, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, wsmeInvalid(argName, whole, "Value not a valid dict")
	}
	if unknown := unknownKeys(m, t.attrs); len(unknown) > 0 {
		return nil, unknownAttr(path, unknown)
	}
	out := body{}
	names := make([]string, 0, len(t.attrs))
	for n := range t.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := t.attrs[n]
		val, present := m[n]
		if !present {
			if a.mandatory {
				return nil, wsmeInvalid(n, nil, "Mandatory field missing.")
			}
			continue
		}
		if val == nil {
			out[n] = nil
			continue
		}
		c, err := convert(path+"."+n, argName, whole, a, val)
		if err != nil {
			return nil, err
		}
		out[n] = c
	}
	return out, nil
}

var (
	enumTrue  = map[string]bool{"true": true, "t": true, "yes": true, "y": true, "on": true, "1": true}
	enumFalse = map[string]bool{"false": true, "f": true, "no": true, "n": true, "off": true, "0": true}
)

func convert(path, argName string, whole any, a *attr, v any) (any, error) {
	switch a.kind {
	case kString, kURLPath:
		s, ok := v.(string)
		if !ok {
			return nil, wsmeInvalid(a.name, v, "Value should be string")
		}
		if a.min != nil && int64(len([]rune(s))) < *a.min {
			return nil, wsmeInvalid(a.name, s, fmt.Sprintf("Value should have a minimum character requirement of %d", *a.min))
		}
		if a.max != nil && int64(len([]rune(s))) > *a.max {
			return nil, wsmeInvalid(a.name, s, fmt.Sprintf("Value should have a maximum character requirement of %d", *a.max))
		}
		if a.pattern != nil && !a.pattern.MatchString(s) {
			return nil, wsmeInvalid(a.name, s, "Value should match the pattern "+a.pattern.String())
		}
		if a.kind == kURLPath && !validURLPath(s) {
			return nil, wsmeInvalid(a.name, s, "Value must be a valid URL Path string")
		}
		return s, nil
	case kUUID:
		s, ok := v.(string)
		if !ok || !uuidLike(s) {
			return nil, wsmeInvalid(a.name, v, "Value should be UUID format")
		}
		return canonicalUUID(s), nil
	case kIP:
		s, ok := v.(string)
		if !ok {
			return nil, wsmeInvalid(a.name, v, "Value should be IPv4 or IPv6 format")
		}
		if _, err := netip.ParseAddr(s); err != nil || strings.Contains(s, "%") {
			return nil, wsmeInvalid(a.name, s, "Value should be IPv4 or IPv6 format")
		}
		return s, nil
	case kInt:
		n, err := pyInt(v)
		if err != nil {
			return nil, wsmeInvalid(argName, whole, err.Error())
		}
		if a.min != nil && n < *a.min {
			return nil, wsmeInvalid(a.name, n, fmt.Sprintf("Value should be greater or equal to %d", *a.min))
		}
		if a.max != nil && n > *a.max {
			return nil, wsmeInvalid(a.name, n, fmt.Sprintf("Value should be lower or equal to %d", *a.max))
		}
		return n, nil
	case kBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case json.Number:
			f, _ := b.Float64()
			return f != 0, nil
		case string:
			if enumTrue[b] {
				return true, nil
			}
			if enumFalse[b] {
				return false, nil
			}
		}
		return nil, wsmeInvalid(argName, whole, "Value not an unambiguous boolean: "+pyStr(v))
	case kEnum:
		s, ok := v.(string)
		if !ok || !contains(a.enum, s) {
			return nil, wsmeInvalid(a.name, v, "Value should be one of: "+strings.Join(sortedCopy(a.enum), ", "))
		}
		return s, nil
	case kFloatEnum:
		var f float64
		switch n := v.(type) {
		case json.Number:
			f, _ = n.Float64()
		case string:
			x, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return nil, wsmeInvalid(argName, whole, fmt.Sprintf("could not convert string to float: '%s'", n))
			}
			f = x
		default:
			return nil, wsmeInvalid(a.name, v, "Value should be one of: 1.0, 1.1")
		}
		for _, x := range a.floats {
			if x == f {
				return f, nil
			}
		}
		return nil, wsmeInvalid(a.name, f, "Value should be one of: 1.0, 1.1")
	case kStrList, kEnumList, kCIDRList:
		l, ok := v.([]any)
		if !ok {
			return nil, wsmeInvalid(argName, whole, "Value not a valid list: "+pyStr(v))
		}
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, wsmeInvalid(a.name, v, "Value should be string")
			}
			switch a.kind {
			case kStrList:
				if a.max != nil && int64(len([]rune(s))) > *a.max {
					return nil, wsmeInvalid(a.name, v, fmt.Sprintf("Value should have a maximum character requirement of %d", *a.max))
				}
			case kEnumList:
				if !contains(a.enum, s) {
					return nil, wsmeInvalid(a.name, v, "Value should be a valid ALPN protocol ID")
				}
			case kCIDRList:
				p, err := netip.ParsePrefix(s)
				if err != nil {
					addr, aerr := netip.ParseAddr(s)
					if aerr != nil {
						return nil, wsmeInvalid(a.name, v, "Value should be IPv4 or IPv6 CIDR format")
					}
					p = netip.PrefixFrom(addr, addr.BitLen())
				}
				s = p.Masked().String()
			}
			out = append(out, s)
		}
		return out, nil
	case kStrDict:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, wsmeInvalid(argName, whole, "Value not a valid dict: "+pyStr(v))
		}
		out := map[string]string{}
		for k, e := range m {
			s, ok := e.(string)
			if !ok {
				if n, isNum := e.(json.Number); isNum {
					s = n.String()
				} else {
					return nil, wsmeInvalid(a.name, v, "Value should be string")
				}
			}
			if a.max != nil && int64(len([]rune(s))) > *a.max {
				return nil, wsmeInvalid(a.name, v, fmt.Sprintf("Value should have a maximum character requirement of %d", *a.max))
			}
			out[k] = s
		}
		return out, nil
	case kObject:
		return convertObject(path, argName, whole, v, a.sub)
	case kObjList:
		l, ok := v.([]any)
		if !ok {
			return nil, wsmeInvalid(argName, whole, "Value not a valid list: "+pyStr(v))
		}
		out := make([]body, 0, len(l))
		for _, e := range l {
			if e == nil {
				continue
			}
			o, err := convertObject(path, argName, whole, e, a.sub)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	}
	return nil, fmt.Errorf("octavia: attribute %s has no kind", a.name)
}

// pyInt is Python's int() of a JSON value, as WSME's numeric_fromjson
// applies it.
func pyInt(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("invalid literal for int() with base 10: '%s'", n)
		}
		return int64(f), nil
	case bool:
		if n {
			return 1, nil
		}
		return 0, nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(n, "_", "")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid literal for int() with base 10: '%s'", n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("int() argument must be a string, a bytes-like object or a real number, not '%s'", pyTypeName(v))
}

func pyTypeName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case nil:
		return "NoneType"
	}
	return "str"
}

// pyStr is Python's str() of a decoded JSON value (keys sorted).
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return pyStr(v)
}

var uuidRE = regexp.MustCompile(`^(urn:uuid:)?\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`)

// uuidLike is what Python's uuid.UUID accepts (WSME's UuidType).
func uuidLike(s string) bool { return uuidRE.MatchString(s) }

// canonicalUUID is str(uuid.UUID(s)): lower case with dashes.
func canonicalUUID(s string) string {
	h := strings.ToLower(strings.NewReplacer("urn:uuid:", "", "{", "", "}", "", "-", "").Replace(s))
	if len(h) != 32 {
		return s
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// validURLPath is octavia.common.validate.url_path: an absolute path with
// no whitespace, no scheme or host.
func validURLPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\r\n") || strings.HasPrefix(p, "//") {
		return false
	}
	return !strings.ContainsAny(p, "<>\"\\^`{|}")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sortedCopy(l []string) []string {
	c := append([]string(nil), l...)
	sort.Strings(c)
	return c
}
