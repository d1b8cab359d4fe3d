package apb

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes an apb.yml and validates it. source names the bundle in
// error texts (a file path, an image reference). Its error is a
// *SpecError listing every problem with its field and line.
func Parse(data []byte, source string) (*Spec, error) {
	s, _, errs := parse(data)
	if len(errs) > 0 || s == nil {
		return nil, &SpecError{Source: source, Problems: errs}
	}
	return s, nil
}

// parse decodes and validates; it returns the document's root node (nil
// when it is not a mapping) and the spec as far as it was read (nil when
// it could not be), which Check looks at further even when it has
// problems.
func parse(data []byte) (*Spec, *yaml.Node, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, []Problem{syntaxProblem(err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil, []Problem{{Message: "empty document"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, []Problem{{Line: root.Line, Message: "the document is not a mapping"}}
	}
	// Every problem at once: a value of the wrong type is reported and
	// read as its zero value, so that validation still sees the rest.
	errs := normalize(root)
	var s Spec
	if err := root.Decode(&s); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, root, append(errs, Problem{Message: err.Error()})
		}
		errs = append(errs, fieldPaths(root, te.Errors)...)
	}
	s.Metadata = jsonMap(s.Metadata)
	s.Alpha = jsonMap(s.Alpha)
	for i := range s.Plans {
		p := &s.Plans[i]
		p.Metadata = jsonMap(p.Metadata)
		jsonParams(p.Parameters)
		jsonParams(p.BindParameters)
	}
	bad := make(map[string]bool, len(errs))
	for _, e := range errs {
		bad[e.Field] = true
	}
	idx := indexLines(root)
	for _, p := range s.problems() {
		if bad[p.Field] {
			continue // the field's value was not read: its type error says why
		}
		p.Line = idx.line(p.Field)
		errs = append(errs, p)
	}
	return &s, root, errs
}

// Boolean keys per level: real bundles write them as quoted strings ("True").
var (
	specBools  = map[string]bool{"bindable": true}
	planBools  = map[string]bool{"free": true, "bindable": true}
	paramBools = map[string]bool{"required": true, "updatable": true}
)

// normalize rewrites, in place, the scalars that real bundles spell in ways
// yaml.v3 will not decode into the Go types: quoted booleans, and a version
// written as a YAML float (1.0), whose source text is kept as the string.
func normalize(root *yaml.Node) []Problem {
	var errs []Problem
	fixBools(root, "", specBools, &errs)
	if v := mapValue(root, "version"); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!str" {
		v.Tag = "!!str"
	}
	if plans := mapValue(root, "plans"); plans != nil && plans.Kind == yaml.SequenceNode {
		for i, p := range plans.Content {
			pp := fmt.Sprintf("plans[%d]", i)
			fixBools(p, pp, planBools, &errs)
			for _, key := range []string{"parameters", "bind_parameters"} {
				params := mapValue(p, key)
				if params == nil || params.Kind != yaml.SequenceNode {
					continue
				}
				for j, prm := range params.Content {
					fixBools(prm, fmt.Sprintf("%s.%s[%d]", pp, key, j), paramBools, &errs)
				}
			}
		}
	}
	return errs
}

// typeErrLine splits yaml.v3's "line N: cannot unmarshal !!str `abc` into
// int" so the field can be found; yaml.v3 reports only the line.
var typeErrLine = regexp.MustCompile("^line ([0-9]+): (cannot unmarshal !!([a-z]+)(?: `([^`]*)`)?.*)$")

// fieldPaths prefixes each decoding error with the path of the field on
// its line (plans[0].parameters[2].max_length), choosing by value when a
// flow mapping puts several fields on one line.
func fieldPaths(root *yaml.Node, msgs []string) []Problem {
	type field struct {
		path string
		node *yaml.Node
	}
	byLine := map[int][]field{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				v := n.Content[i+1]
				byLine[v.Line] = append(byLine[v.Line], field{p, v})
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				byLine[v.Line] = append(byLine[v.Line], field{p, v})
				walk(v, p)
			}
		}
	}
	walk(root, "")
	out := make([]Problem, len(msgs))
	for i, m := range msgs {
		out[i] = Problem{Message: m}
		sub := typeErrLine.FindStringSubmatch(m)
		if sub == nil {
			continue
		}
		line, _ := strconv.Atoi(sub[1])
		out[i] = Problem{Line: line, Message: sub[2]}
		fs := byLine[line]
		if len(fs) == 0 {
			continue
		}
		best := fs[0]
		for _, f := range fs {
			if matches(f.node, sub[3], sub[4]) {
				best = f
				break
			}
		}
		out[i].Field = best.path
	}
	return out
}

// matches says whether n is the node a type error describes by its YAML
// tag (seq, map, str...) and, for scalars, its text.
func matches(n *yaml.Node, tag, value string) bool {
	switch tag {
	case "seq":
		return n.Kind == yaml.SequenceNode
	case "map":
		return n.Kind == yaml.MappingNode
	}
	return n.Kind == yaml.ScalarNode && n.Value == value
}

func fixBools(m *yaml.Node, path string, keys map[string]bool, errs *[]Problem) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !keys[k.Value] || v.Kind != yaml.ScalarNode || v.Tag == "!!bool" {
			continue
		}
		switch v.Value {
		// YAML 1.1 spellings too: the Automation Broker read specs with yaml.v1.
		case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
			v.Tag, v.Value, v.Style = "!!bool", "true", 0
		case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N":
			v.Tag, v.Value, v.Style = "!!bool", "false", 0
		case "", "~", "null":
			if v.Tag == "!!null" || v.Style == 0 {
				continue // absent value: false
			}
			fallthrough
		default:
			*errs = append(*errs, Problem{Field: join(path, k.Value), Line: v.Line, Message: fmt.Sprintf("%q is not a boolean", v.Value)})
			// Read as false, so that decoding goes on to the other fields.
			v.Tag, v.Value, v.Style = "!!bool", "false", 0
		}
	}
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonParams(ps []Parameter) {
	for i := range ps {
		ps[i].Default = jsonValue(ps[i].Default)
		for j := range ps[i].Dependencies {
			ps[i].Dependencies[j].Value = jsonValue(ps[i].Dependencies[j].Value)
		}
	}
}

func jsonMap(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = jsonValue(v)
	}
	return m
}

// jsonValue turns YAML maps with non-string keys into map[string]any so
// that every decoded value can be encoded as JSON.
func jsonValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return jsonMap(t)
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		for i := range t {
			t[i] = jsonValue(t[i])
		}
		return t
	}
	return v
}

// knownTypes are the parameter types the Automation Broker converts.
var knownTypes = map[string]bool{
	"string": true, "enum": true, "int": true, "integer": true, "number": true,
	"bool": true, "boolean": true, "object": true, "array": true, "nil": true, "null": true,
}

var semver100 = regexp.MustCompile(`^1\.0\.0(\+[0-9A-Za-z.-]+)?$`)

// Validate checks what the broker relies on and reports every problem,
// each naming the bundle and the field, as a *SpecError.
func (s *Spec) Validate(source string) error {
	return (&SpecError{Source: source, Problems: s.problems()}).orNil()
}

func (s *Spec) problems() []Problem {
	var errs []Problem
	bad := func(path, format string, a ...any) {
		errs = append(errs, Problem{Field: path, Message: fmt.Sprintf(format, a...)})
	}
	if v := strings.TrimSpace(s.Version); v != "1.0" && !semver100.MatchString(v) {
		bad("version", "unsupported version %q (want \"1.0\" or 1.0.0)", s.Version)
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("name", "is required")
	}
	if s.Runtime < 0 || s.Runtime > 2 {
		bad("runtime", "must be 1 or 2, got %d", s.Runtime)
	}
	switch s.Async {
	case "", "optional", "required", "unsupported":
	default:
		bad("async", "must be optional, required or unsupported, got %q", s.Async)
	}
	if len(s.Plans) == 0 {
		bad("plans", "at least one plan is required")
	}
	planNames := make(map[string]int, len(s.Plans))
	for i, p := range s.Plans {
		path := fmt.Sprintf("plans[%d]", i)
		switch first, dup := planNames[p.Name]; {
		case p.Name == "":
			bad(path+".name", "is required")
		case dup:
			bad(path+".name", "duplicate plan name %q (also plans[%d])", p.Name, first)
		default:
			planNames[p.Name] = i
		}
		checkParams(p.Parameters, path+".parameters", bad)
		checkParams(p.BindParameters, path+".bind_parameters", bad)
	}
	for i, p := range s.Plans {
		for j, to := range p.UpdatesTo {
			if _, ok := planNames[to]; !ok {
				bad(fmt.Sprintf("plans[%d].updates_to[%d]", i, j), "unknown plan %q", to)
			}
		}
	}
	return errs
}

func checkParams(ps []Parameter, path string, bad func(path, format string, a ...any)) {
	seen := make(map[string]int, len(ps))
	for i, p := range ps {
		pp := fmt.Sprintf("%s[%d]", path, i)
		switch first, dup := seen[p.Name]; {
		case p.Name == "":
			bad(pp+".name", "is required")
		case dup:
			bad(pp+".name", "duplicate parameter name %q (also %s[%d])", p.Name, path, first)
		default:
			seen[p.Name] = i
		}
		if !knownTypes[strings.ToLower(p.Type)] {
			bad(pp+".type", "unknown type %q", p.Type)
		}
		for j, d := range p.Dependencies {
			if d.Key == "" {
				bad(fmt.Sprintf("%s.dependencies[%d].key", pp, j), "is required")
			}
		}
	}
}
