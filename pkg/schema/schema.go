// Package schema validates request parameters against the draft-04 JSON
// schemas pkg/apb puts in the catalog. It implements exactly that subset:
// type, enum, pattern, minLength/maxLength, minimum/maximum with the draft-4
// exclusive flags, multipleOf, required, properties, additionalProperties
// false, items, dependencies (schema form, with oneOf branches).
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validate checks params against an object schema and returns every
// problem, each naming the parameter (`parameter "size": must be <= 100`,
// `parameter "color": not allowed`, `parameter "db_name": required`),
// sorted by parameter name so the text is the same on every call.
func Validate(schema map[string]any, params map[string]any) error {
	if schema == nil {
		return nil
	}
	v := &validator{}
	v.object(schema, params, "", true)
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].path < v.errs[j].path })
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = fmt.Errorf("parameter %q: %s", e.path, e.msg)
	}
	return errors.Join(errs...)
}

type problem struct{ path, msg string }

type validator struct{ errs []problem }

func (v *validator) fail(path, format string, a ...any) {
	if path == "" {
		path = "(parameters)"
	}
	v.errs = append(v.errs, problem{path, fmt.Sprintf(format, a...)})
}

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object validates an object value. root says whether this is the whole
// parameter schema: pkg/apb writes "additionalProperties": false on every
// object-typed parameter as the Automation Broker did, although apb.yml
// cannot declare their members; enforcing it there would make object
// parameters unusable, so it is enforced only where properties are known.
func (v *validator) object(s map[string]any, obj map[string]any, path string, root bool) {
	props, _ := s["properties"].(map[string]any)
	allowed := map[string]bool{}
	for name := range props {
		allowed[name] = true
	}
	for _, name := range sortedKeys(obj) {
		if ps, ok := props[name].(map[string]any); ok {
			v.value(ps, obj[name], child(path, name))
		}
	}
	for _, name := range strs(s["required"]) {
		if _, ok := obj[name]; !ok {
			v.fail(child(path, name), "required")
		}
	}
	deps, _ := s["dependencies"].(map[string]any)
	for _, key := range sortedKeys(deps) {
		if _, present := obj[key]; !present {
			continue
		}
		switch d := deps[key].(type) {
		case map[string]any:
			v.dependency(d, obj, path, key, allowed)
		case []any, []string:
			for _, name := range strs(d) {
				if _, ok := obj[name]; !ok {
					v.fail(child(path, name), "required when %q is set", key)
				}
			}
		}
	}
	if ap, ok := s["additionalProperties"].(bool); ok && !ap && (root || props != nil) {
		// allowed also holds what the applicable dependencies declare: a
		// parameter that depends on another one is accepted only with it.
		for _, name := range sortedKeys(obj) {
			if !allowed[name] {
				v.fail(child(path, name), "not allowed")
			}
		}
	}
}

// dependency applies a schema dependency: its own properties/required, or
// exactly one matching oneOf branch.
func (v *validator) dependency(d map[string]any, obj map[string]any, path, key string, allowed map[string]bool) {
	if branches, ok := d["oneOf"].([]any); ok {
		var matched []map[string]any
		for _, b := range branches {
			bm, _ := b.(map[string]any)
			if bm != nil && v.quiet(bm, obj, path) {
				matched = append(matched, bm)
			}
		}
		switch len(matched) {
		case 1:
			for name := range props(matched[0]) {
				allowed[name] = true
			}
		case 0:
			// Report against the branch selected by the key's value, if
			// any, which says what is actually missing or wrong.
			for _, b := range branches {
				bm, _ := b.(map[string]any)
				if kp, ok := props(bm)[key].(map[string]any); ok && inEnum(kp["enum"], obj[key]) {
					for name := range props(bm) {
						allowed[name] = true
					}
					v.check(bm, obj, path)
					return
				}
			}
			v.fail(child(path, key), "its value matches none of the allowed combinations")
		default:
			v.fail(child(path, key), "its value matches more than one allowed combination")
		}
		return
	}
	for name := range props(d) {
		allowed[name] = true
	}
	v.check(d, obj, path)
}

// check validates obj against a dependency branch (properties + required).
func (v *validator) check(s map[string]any, obj map[string]any, path string) {
	ps := props(s)
	for _, name := range sortedKeys(obj) {
		if p, ok := ps[name].(map[string]any); ok {
			v.value(p, obj[name], child(path, name))
		}
	}
	for _, name := range strs(s["required"]) {
		if _, ok := obj[name]; !ok {
			v.fail(child(path, name), "required")
		}
	}
}

// quiet reports whether obj satisfies a branch without recording errors.
func (v *validator) quiet(s map[string]any, obj map[string]any, path string) bool {
	q := &validator{}
	q.check(s, obj, path)
	return len(q.errs) == 0
}

func props(s map[string]any) map[string]any {
	p, _ := s["properties"].(map[string]any)
	return p
}

// value validates one parameter value against its property schema.
func (v *validator) value(s map[string]any, val any, path string) {
	if t, ok := s["type"].(string); ok && !hasType(t, val) {
		v.fail(path, "must be of type %s, got %s", t, typeName(val))
		return
	}
	if e, ok := s["enum"]; ok && !inEnum(e, val) {
		v.fail(path, "must be one of %s", showEnum(e))
	}
	switch x := val.(type) {
	case string:
		v.str(s, x, path)
	case map[string]any:
		v.object(s, x, path, false)
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				v.value(items, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	default:
		if n, ok := number(val); ok {
			v.num(s, n, path)
		}
	}
}

func (v *validator) str(s map[string]any, x, path string) {
	n := utf8.RuneCountInString(x)
	if m, ok := number(s["maxLength"]); ok && float64(n) > m {
		v.fail(path, "must be at most %s characters long", fmtNum(m))
	}
	if m, ok := number(s["minLength"]); ok && float64(n) < m {
		v.fail(path, "must be at least %s characters long", fmtNum(m))
	}
	if p, ok := s["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err == nil && !re.MatchString(x) {
			v.fail(path, "must match the pattern %s", p)
		}
	}
}

func (v *validator) num(s map[string]any, n float64, path string) {
	if m, ok := number(s["maximum"]); ok {
		if excl, _ := s["exclusiveMaximum"].(bool); excl && n >= m {
			v.fail(path, "must be < %s", fmtNum(m))
		} else if n > m {
			v.fail(path, "must be <= %s", fmtNum(m))
		}
	}
	if m, ok := number(s["minimum"]); ok {
		if excl, _ := s["exclusiveMinimum"].(bool); excl && n <= m {
			v.fail(path, "must be > %s", fmtNum(m))
		} else if n < m {
			v.fail(path, "must be >= %s", fmtNum(m))
		}
	}
	if m, ok := number(s["multipleOf"]); ok && m > 0 {
		q := n / m
		if math.Abs(q-math.Round(q)) > 1e-9*math.Max(1, math.Abs(q)) {
			v.fail(path, "must be a multiple of %s", fmtNum(m))
		}
	}
}

func hasType(t string, val any) bool {
	switch t {
	case "string":
		_, ok := val.(string)
		return ok
	case "boolean":
		_, ok := val.(bool)
		return ok
	case "null":
		return val == nil
	case "object":
		_, ok := val.(map[string]any)
		return ok
	case "array":
		_, ok := val.([]any)
		return ok
	case "number":
		_, ok := number(val)
		return ok
	case "integer":
		n, ok := number(val)
		return ok && n == math.Trunc(n) && !math.IsInf(n, 0)
	}
	return true // a type this subset does not produce: no opinion
}

func typeName(val any) string {
	switch x := val.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	default:
		if n, ok := number(x); ok {
			if n == math.Trunc(n) {
				return "integer"
			}
			return "number"
		}
	}
	return fmt.Sprintf("%T", val)
}

// number accepts what JSON decoding and Go code produce for numbers.
func number(val any) (float64, bool) {
	switch x := val.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func inEnum(enum, val any) bool {
	for _, e := range list(enum) {
		if equal(e, val) {
			return true
		}
	}
	return false
}

// equal is JSON equality: numbers compare by value whatever their Go type.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func list(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return nil
}

func strs(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func showEnum(e any) string {
	items := list(e)
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = show(it)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
