package nova

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// schema is the part of JSON Schema Nova's request schemas use
// (nova/api/openstack/compute/schemas), checked in the order jsonschema
// does closely enough that the first error a client sees is Nova's, in
// Nova's words: "Invalid input for field/attribute <key>. Value: <python
// repr>. <jsonschema message>".
type schema struct {
	Type       string // "object", "string", "integer", "number", "boolean", "array", "" (any)
	Types      []string
	Properties map[string]*schema
	Required   []string
	// Additional false refuses keys not in Properties.
	Additional bool
	Pattern    string
	MinLen     int
	MaxLen     int
	Min, Max   *float64
	Enum       []any
	Items      *schema
	MinItems   int
	MaxItems   int
	Unique     bool
	// Format "uuid": a UUID; "name": no leading/trailing whitespace.
	Format string
	// IntString accepts an integer or a string holding one (Nova's
	// parameter_types.positive_integer / non_negative_integer).
	IntString bool
	// BoolString accepts a boolean or Nova's boolean strings.
	BoolString bool
	// Nullable also accepts null.
	Nullable bool
}

func f64(v float64) *float64 { return &v }

func obj(required []string, props map[string]*schema) *schema {
	return &schema{Type: "object", Properties: props, Required: required}
}

func str(min, max int) *schema { return &schema{Type: "string", MinLen: min, MaxLen: max} }

func nameSchema() *schema { return &schema{Type: "string", MinLen: 1, MaxLen: 255, Format: "name"} }

func intRange(min, max float64) *schema {
	return &schema{IntString: true, Min: f64(min), Max: f64(max)}
}

var boolSchema = &schema{BoolString: true}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// validate checks body against s and returns Nova's 400.
func validate(s *schema, body any) error {
	if msg, path, val, ok := s.check(body, "", nil); !ok {
		if path == "" {
			return core.BadRequest("%s", msg)
		}
		return core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s", path, pyRepr(val), msg)
	}
	return nil
}

// check returns the first error: the message, the last path element and
// the failing instance.
func (s *schema) check(v any, key string, parent any) (string, string, any, bool) {
	fail := func(msg string) (string, string, any, bool) { return msg, key, v, false }
	if v == nil && s.Nullable {
		return "", "", nil, true
	}
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	switch {
	case s.IntString:
		n, ok := asInt(v)
		if !ok {
			if _, isStr := v.(string); isStr {
				return fail(fmt.Sprintf("%s is not of type 'integer'", pyRepr(v)))
			}
			return fail(fmt.Sprintf("%s is not of type 'integer', 'string'", pyRepr(v)))
		}
		if s.Min != nil && float64(n) < *s.Min {
			return fail(fmt.Sprintf("%d is less than the minimum of %s", n, num(*s.Min)))
		}
		if s.Max != nil && float64(n) > *s.Max {
			return fail(fmt.Sprintf("%d is greater than the maximum of %s", n, num(*s.Max)))
		}
		return "", "", nil, true
	case s.BoolString:
		if _, ok := asBool(v); !ok {
			return fail(fmt.Sprintf("%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']", pyRepr(v)))
		}
		return "", "", nil, true
	}
	if len(types) > 0 {
		ok := false
		for _, t := range types {
			if isType(v, t) {
				ok = true
			}
		}
		if !ok {
			quoted := make([]string, len(types))
			for i, t := range types {
				quoted[i] = "'" + t + "'"
			}
			return fail(fmt.Sprintf("%s is not of type %s", pyRepr(v), strings.Join(quoted, ", ")))
		}
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if fmt.Sprint(e) == fmt.Sprint(v) && isType(v, typeOf(e)) {
				found = true
			}
		}
		if !found {
			return fail(fmt.Sprintf("%s is not one of %s", pyRepr(v), pyRepr(s.Enum)))
		}
	}
	switch x := v.(type) {
	case string:
		n := len([]rune(x))
		if s.MinLen > 0 && n < s.MinLen {
			return fail(fmt.Sprintf("%s is too short", pyRepr(v)))
		}
		if s.MaxLen > 0 && n > s.MaxLen {
			return fail(fmt.Sprintf("%s is too long", pyRepr(v)))
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(x) {
			return fail(fmt.Sprintf("%s does not match %s", pyRepr(v), pyRepr(s.Pattern)))
		}
		switch s.Format {
		case "uuid":
			if !uuidRE.MatchString(x) {
				return fail(fmt.Sprintf("%s is not a 'uuid'", pyRepr(v)))
			}
		case "name":
			if strings.TrimSpace(x) != x {
				return "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.", "", nil, false
			}
		}
	case json.Number, float64:
		f, _ := toFloat(x)
		if s.Min != nil && f < *s.Min {
			return fail(fmt.Sprintf("%s is less than the minimum of %s", pyRepr(v), num(*s.Min)))
		}
		if s.Max != nil && f > *s.Max {
			return fail(fmt.Sprintf("%s is greater than the maximum of %s", pyRepr(v), num(*s.Max)))
		}
	case []any:
		if s.MinItems > 0 && len(x) < s.MinItems {
			return fail(fmt.Sprintf("%s is too short", pyRepr(v)))
		}
		if s.MaxItems > 0 && len(x) > s.MaxItems {
			return fail(fmt.Sprintf("%s is too long", pyRepr(v)))
		}
		if s.Unique {
			seen := map[string]bool{}
			for _, e := range x {
				k := pyRepr(e)
				if seen[k] {
					return fail(fmt.Sprintf("%s has non-unique elements", pyRepr(v)))
				}
				seen[k] = true
			}
		}
		if s.Items != nil {
			for _, e := range x {
				if msg, p, val, ok := s.Items.check(e, key, x); !ok {
					return msg, p, val, false
				}
			}
		}
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				if key == "" {
					return fmt.Sprintf("'%s' is a required property", r), "", nil, false
				}
				return fail(fmt.Sprintf("'%s' is a required property", r))
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if s.Properties != nil && !s.Additional {
			var extra []string
			for _, k := range keys {
				if _, ok := s.Properties[k]; !ok {
					extra = append(extra, "'"+k+"'")
				}
			}
			if len(extra) > 0 {
				verb := "was"
				if len(extra) > 1 {
					verb = "were"
				}
				msg := fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(extra, ", "), verb)
				if key == "" {
					return msg, "", nil, false
				}
				return fail(msg)
			}
		}
		for _, k := range keys {
			if ps := s.Properties[k]; ps != nil {
				if msg, p, val, ok := ps.check(x[k], k, x); !ok {
					return msg, p, val, false
				}
			}
		}
	}
	return "", "", nil, true
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, json.Number, int:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return ""
}

func isType(v any, t string) bool {
	switch t {
	case "integer":
		f, ok := toFloat(v)
		return ok && f == math.Trunc(f)
	case "number":
		_, ok := toFloat(v)
		return ok
	case "null":
		return v == nil
	}
	return typeOf(v) == t
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// asInt reads an integer or a string holding one, as Nova's int-or-string
// parameters accept.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	default:
		f, ok := toFloat(v)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int(f), true
	}
}

// asBool reads Nova's parameter_types.boolean values.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch x {
		case "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes":
			return true, true
		case "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no":
			return false, true
		}
	}
	return false, false
}

// pyRepr renders a decoded JSON value as Python's repr, as Nova's
// messages print the offending value.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			return `"` + x + `"`
		}
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
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

// readBody decodes a request body for validate ("Malformed request body"
// when it is not JSON).
func readBody(r *http.Request) (any, error) {
	var v any
	if err := core.DecodeJSON(r, &v); err != nil {
		return nil, err
	}
	return v, nil
}
