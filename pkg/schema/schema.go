package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a compiled parameter schema.
type Schema struct {
	s *jsonschema.Schema
}

// Compile translates and compiles an object schema of the catalog. A nil
// schema compiles to nil, which accepts anything.
func Compile(schema map[string]any) (*Schema, error) {
	if schema == nil {
		return nil, nil
	}
	doc, err := normalize(schema)
	if err != nil {
		return nil, fmt.Errorf("parameter schema: %w", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("parameter schema: not an object")
	}
	t := translate(m, true)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const loc = "urn:osb:parameters"
	if err := c.AddResource(loc, t); err != nil {
		return nil, fmt.Errorf("parameter schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("parameter schema: %w", err)
	}
	return &Schema{s: s}, nil
}

// Validate checks params against schema (Compile, then Schema.Validate).
func Validate(schema map[string]any, params map[string]any) error {
	s, err := Compile(schema)
	if err != nil {
		return err
	}
	return s.Validate(params)
}

// Validate checks params and returns every problem, one line each, naming
// the parameter and the rule, sorted by parameter so the text is the same
// on every call. A nil Schema accepts anything.
func (s *Schema) Validate(params map[string]any) error {
	if s == nil {
		return nil
	}
	if params == nil {
		params = map[string]any{}
	}
	v, err := normalize(params)
	if err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	w := &wording{params: v}
	w.walk(ve)
	return w.err()
}

// normalize makes Go values (ints, []string, json.Number) the JSON values
// the validator takes, by a JSON round trip that keeps numbers exact.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// translate returns a draft 2020-12 copy of a draft-04 schema, with the
// Automation Broker's meaning (see the package comment). root is the whole
// parameter object, whose additionalProperties false always holds.
func translate(s map[string]any, root bool) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		switch k {
		case "$schema", "exclusiveMinimum", "exclusiveMaximum", "additionalItems", "dependencies", "id":
			// handled below
		case "properties", "patternProperties", "definitions", "$defs":
			out[k] = translateEach(v)
		case "additionalProperties", "not":
			out[k] = translateOne(v)
		case "items":
			if list, ok := v.([]any); ok {
				out["prefixItems"] = translateList(list)
				if ai, ok := s["additionalItems"]; ok {
					out["items"] = translateOne(ai)
				}
			} else {
				out[k] = translateOne(v)
			}
		case "allOf", "anyOf", "oneOf":
			if list, ok := v.([]any); ok {
				out[k] = translateList(list)
			} else {
				out[k] = v
			}
		default:
			out[k] = v
		}
	}
	if id, ok := s["id"]; ok {
		out["$id"] = id
	}
	for _, b := range []struct{ flag, bound string }{{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}} {
		switch x := s[b.flag].(type) {
		case bool:
			if bound, ok := s[b.bound]; ok && x {
				out[b.flag] = bound
				delete(out, b.bound)
			}
		case nil:
		default:
			out[b.flag] = x // already a number (a later draft's form)
		}
	}
	if deps, ok := s["dependencies"].(map[string]any); ok {
		schemas, required := map[string]any{}, map[string]any{}
		for key, d := range deps {
			switch x := d.(type) {
			case []any:
				required[key] = x
			case map[string]any:
				schemas[key] = translate(x, false)
			}
		}
		if len(schemas) > 0 {
			out["dependentSchemas"] = schemas
		}
		if len(required) > 0 {
			out["dependentRequired"] = required
		}
	}
	if ap, ok := s["additionalProperties"].(bool); ok && !ap {
		delete(out, "additionalProperties")
		_, props := s["properties"]
		_, pattern := s["patternProperties"]
		_, deps := s["dependencies"]
		if root || props || pattern || deps {
			out["unevaluatedProperties"] = false
		}
	}
	return out
}

func translateOne(v any) any {
	if m, ok := v.(map[string]any); ok {
		return translate(m, false)
	}
	return v
}

func translateList(list []any) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = translateOne(v)
	}
	return out
}

func translateEach(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = translateOne(x)
	}
	return out
}

// wording turns the validator's error tree into one line per problem.
type wording struct {
	params   any
	problems []problem
}

type problem struct {
	path, msg  string
	unexpected bool // "not allowed": dropped when the path has other problems
}

func (w *wording) add(loc []string, unexpected bool, format string, args ...any) {
	w.problems = append(w.problems, problem{path: w.path(loc), msg: fmt.Sprintf(format, args...), unexpected: unexpected})
}

// path names a parameter: a.b for members, a[1] for items.
func (w *wording) path(loc []string) string {
	var b strings.Builder
	cur := w.params
	for _, tok := range loc {
		switch x := cur.(type) {
		case []any:
			fmt.Fprintf(&b, "[%s]", tok)
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(x) {
				cur = x[i]
			} else {
				cur = nil
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			if m, ok := x.(map[string]any); ok {
				cur = m[tok]
			} else {
				cur = nil
			}
		}
	}
	if b.Len() == 0 {
		return "(parameters)"
	}
	return b.String()
}

// typeAt names the JSON type of the value at loc, telling integers from
// other numbers (the validator calls both number).
func (w *wording) typeAt(loc []string, got string) string {
	cur := w.params
	for _, tok := range loc {
		switch x := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return got
			}
			cur = x[i]
		case map[string]any:
			cur = x[tok]
		default:
			return got
		}
	}
	if n, ok := cur.(json.Number); ok {
		if r, ok := new(big.Rat).SetString(n.String()); ok && r.IsInt() {
			return "integer"
		}
		return "number"
	}
	return got
}

func child(loc []string, name string) []string {
	return append(slices.Clip(loc), name)
}

func (w *wording) walk(e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Group, *kind.Schema, *kind.Reference, *kind.AllOf, *kind.AnyOf:
		for _, c := range e.Causes {
			w.walk(c)
		}
	case *kind.OneOf:
		w.oneOf(e, k)
	case *kind.FalseSchema:
		w.add(loc, true, "not allowed")
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			w.add(child(loc, p), true, "not allowed")
		}
	case *kind.Required:
		for _, p := range k.Missing {
			w.add(child(loc, p), false, "required")
		}
	case *kind.DependentRequired:
		for _, p := range k.Missing {
			w.add(child(loc, p), false, "required when %q is set", k.Prop)
		}
	case *kind.Dependency:
		for _, p := range k.Missing {
			w.add(child(loc, p), false, "required when %q is set", k.Prop)
		}
	case *kind.Type:
		w.add(loc, false, "must be of type %s, got %s", strings.Join(k.Want, " or "), w.typeAt(loc, k.Got))
	case *kind.Enum:
		w.add(loc, false, "must be one of %s", showList(k.Want))
	case *kind.Const:
		w.add(loc, false, "must be %s", show(k.Want))
	case *kind.MinLength:
		w.add(loc, false, "must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		w.add(loc, false, "must be at most %d characters long", k.Want)
	case *kind.Pattern:
		w.add(loc, false, "must match the pattern %s", k.Want)
	case *kind.Minimum:
		w.add(loc, false, "must be >= %s", num(k.Want))
	case *kind.Maximum:
		w.add(loc, false, "must be <= %s", num(k.Want))
	case *kind.ExclusiveMinimum:
		w.add(loc, false, "must be > %s", num(k.Want))
	case *kind.ExclusiveMaximum:
		w.add(loc, false, "must be < %s", num(k.Want))
	case *kind.MultipleOf:
		w.add(loc, false, "must be a multiple of %s", num(k.Want))
	default:
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				w.walk(c)
			}
			return
		}
		w.add(loc, false, "%s", e.ErrorKind.LocalizedString(printer))
	}
}

var printer = message.NewPrinter(language.English)

// oneOf reports a failed oneOf. With no branch matching, the branch the
// parameters chose by a value (the one whose enum or const checks passed)
// says what is missing or wrong; when none was chosen, the value that
// should choose one is at fault: the key of the dependency the oneOf is in.
func (w *wording) oneOf(e *jsonschema.ValidationError, k *kind.OneOf) {
	key := dependencyKey(e.SchemaURL)
	at := e.InstanceLocation
	if key != "" {
		at = child(at, key)
	}
	if len(k.Subschemas) > 1 {
		w.add(at, false, "its value matches more than one allowed combination")
		return
	}
	var chosen []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if !choiceFailed(c) {
			chosen = append(chosen, c)
		}
	}
	if len(chosen) != 1 {
		w.add(at, false, "its value matches none of the allowed combinations")
		return
	}
	w.walk(chosen[0])
}

// dependencyKey is the parameter whose dependency is the schema at url
// (".../dependentSchemas/<key>"), or "".
func dependencyKey(url string) string {
	parts := strings.Split(url, "/")
	for i := len(parts) - 1; i >= 1; i-- {
		if parts[i-1] == "dependentSchemas" {
			return parts[i]
		}
	}
	return ""
}

// choiceFailed reports whether a oneOf branch failed on the value that
// chooses it (an enum or const), rather than on what it asks of the rest.
func choiceFailed(e *jsonschema.ValidationError) bool {
	switch e.ErrorKind.(type) {
	case *kind.Enum, *kind.Const:
		return true
	}
	for _, c := range e.Causes {
		if choiceFailed(c) {
			return true
		}
	}
	return false
}

// err sorts the problems by parameter and drops "not allowed" for a
// parameter that has other problems: a parameter that is checked against
// rules is known, and only failed to be counted as evaluated because its
// value broke one of them.
func (w *wording) err() error {
	other := map[string]bool{}
	for _, p := range w.problems {
		if !p.unexpected {
			other[p.path] = true
		}
	}
	seen := map[string]bool{}
	var lines []string
	slices.SortStableFunc(w.problems, func(a, b problem) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.msg, b.msg)
	})
	for _, p := range w.problems {
		line := fmt.Sprintf("parameter %q: %s", p.path, p.msg)
		if (p.unexpected && other[p.path]) || seen[line] {
			continue
		}
		seen[line] = true
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return errors.New("parameters: invalid")
	}
	errs := make([]error, len(lines))
	for i, l := range lines {
		errs[i] = errors.New(l)
	}
	return errors.Join(errs...)
}

func num(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func showList(items []any) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = show(it)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
