package heat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxTemplateSize is max_template_size's default.
const maxTemplateSize = 524288

// hotVersions are the heat_template_version values Heat 19 knows, and the
// date each stands for.
var hotVersions = map[string]string{
	"2013-05-23": "2013-05-23", "2014-10-16": "2014-10-16", "2015-04-30": "2015-04-30",
	"2015-10-15": "2015-10-15", "2016-04-08": "2016-04-08", "2016-10-14": "2016-10-14",
	"2017-02-24": "2017-02-24", "2017-09-01": "2017-09-01", "2018-03-02": "2018-03-02",
	"2018-08-31": "2018-08-31", "2021-04-16": "2021-04-16", "newton": "2016-10-14",
	"ocata": "2017-02-24", "pike": "2017-09-01", "queens": "2018-03-02", "rocky": "2018-08-31",
	"wallaby": "2021-04-16",
}

// parseDocument is template_format.simple_parse: JSON, else YAML; the
// result must be a mapping. Numbers become int64 or float64.
func parseDocument(text string) (map[string]any, error) {
	var v any
	if err := decodeJSON([]byte(text), &v); err != nil {
		var doc yaml.Node
		if yerr := yaml.Unmarshal([]byte(text), &doc); yerr != nil {
			return nil, fmt.Errorf("Error parsing template [root stack] %s", strings.TrimPrefix(yerr.Error(), "yaml: "))
		}
		if v, err = fromYAML(&doc); err != nil {
			return nil, err
		}
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("The template is not a JSON object or YAML mapping.")
	}
	return m, nil
}

func decodeJSON(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("extra data")
	}
	*v = normalize(*v)
	return nil
}

// normalize turns json.Number into int64 or float64, recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return int64(x)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// fromYAML converts a YAML document as Heat's loader (PyYAML, YAML 1.1)
// reads it: plain scalars resolved as PyYAML does (yes/no/on/off are
// booleans, y and n are not; timestamps stay strings), quoted ones kept
// as strings; anchors and aliases followed.
func fromYAML(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromYAML(n.Content[0])
	case yaml.AliasNode:
		return fromYAML(n.Alias)
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := fromYAML(n.Content[i])
			if err != nil {
				return nil, err
			}
			if n.Content[i].Tag == "!!merge" || (n.Content[i].Value == "<<" && n.Content[i].Style == 0) {
				if m, ok := mustYAML(n.Content[i+1]).(map[string]any); ok {
					for mk, mv := range m {
						if _, set := out[mk]; !set {
							out[mk] = mv
						}
					}
					continue
				}
			}
			v, err := fromYAML(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[pyStr(k)] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromYAML(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	if n.Style != 0 || n.Tag == "!!str" {
		return n.Value, nil
	}
	return plainScalar(n.Value), nil
}

func mustYAML(n *yaml.Node) any { v, _ := fromYAML(n); return v }

var (
	yamlBool  = regexp.MustCompile(`^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yamlInt   = regexp.MustCompile(`^[-+]?(0b[0-1_]+|0[0-7_]+|(0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+)$`)
	yamlFloat = regexp.MustCompile(`^[-+]?(([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?|\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`)
)

// plainScalar is PyYAML's implicit resolution of a plain scalar.
func plainScalar(s string) any {
	switch {
	case s == "" || s == "~" || s == "null" || s == "Null" || s == "NULL":
		return nil
	case yamlBool.MatchString(s):
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true
		}
		return false
	case yamlInt.MatchString(s):
		c := strings.ReplaceAll(s, "_", "")
		neg := strings.HasPrefix(c, "-")
		c = strings.TrimLeft(c, "+-")
		var n int64
		var err error
		switch {
		case strings.HasPrefix(c, "0x"):
			n, err = strconv.ParseInt(c[2:], 16, 64)
		case strings.HasPrefix(c, "0b"):
			n, err = strconv.ParseInt(c[2:], 2, 64)
		case len(c) > 1 && strings.HasPrefix(c, "0"):
			n, err = strconv.ParseInt(c[1:], 8, 64)
		default:
			n, err = strconv.ParseInt(c, 10, 64)
		}
		if err != nil {
			return s
		}
		if neg {
			n = -n
		}
		return n
	case yamlFloat.MatchString(s):
		c := strings.ToLower(strings.ReplaceAll(s, "_", ""))
		switch strings.TrimLeft(c, "+-") {
		case ".inf", ".nan":
			// Not representable in JSON (answers, the state file): kept as
			// text.
			return s
		}
		f, err := strconv.ParseFloat(c, 64)
		if err != nil {
			return s
		}
		return f
	}
	return s
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// template checks the stack's template and applies its environment's
// resource_registry aliases.
func (st *Stack) template() (*tmpl, error) {
	t, err := checkTemplate(st.Template)
	if err != nil {
		return nil, err
	}
	for _, d := range t.resources {
		d.typ = resourceTypeOf(st.Environment, d.typ)
	}
	return t, nil
}

// tmpl is a checked HOT template.
type tmpl struct {
	raw         map[string]any
	version     string // canonical date
	description string
	params      map[string]*paramDef
	paramOrder  []string
	resources   map[string]*resDef
	resOrder    []string
	outputs     map[string]*outDef
	outOrder    []string
	conditions  map[string]any
}

type paramDef struct {
	name, typ          string
	def                any
	hasDefault         bool
	hidden, immutable  bool
	label, description string
	constraints        []map[string]any
}

type resDef struct {
	name, typ      string
	props          map[string]any
	metadata       any
	dependsOn      []string
	deletionPolicy string
	condition      any
	description    string
	externalID     any
}

type outDef struct {
	name, description string
	value             any
	condition         any
}

var hotSections = []string{"heat_template_version", "description", "parameter_groups", "parameters", "resources", "outputs"}

func (t *tmpl) atLeast(date string) bool { return t.version >= date }

// checkTemplate is the structural part of Template.validate and the
// resource definition parsing: sections, parameters, resources, outputs.
func checkTemplate(raw map[string]any) (*tmpl, error) {
	v, ok := raw["heat_template_version"]
	if _, aws := raw["AWSTemplateFormatVersion"]; aws && !ok {
		return nil, heatErr(400, "InvalidTemplateVersion", "The template version is invalid: \"AWSTemplateFormatVersion: %v\". The emulator accepts only HOT templates (heat_template_version)", raw["AWSTemplateFormatVersion"])
	}
	if !ok {
		return nil, heatErr(400, "HTTPBadRequest", "Template not in valid format: Template format version not found.")
	}
	vs := fmt.Sprint(v)
	date, ok := hotVersions[vs]
	if !ok {
		var names []string
		for k := range hotVersions {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, heatErr(400, "InvalidTemplateVersion", "The template version is invalid: \"heat_template_version: %s\". \"heat_template_version\" should be one of: %s", vs, strings.Join(names, ", "))
	}
	t := &tmpl{raw: raw, version: date, params: map[string]*paramDef{}, resources: map[string]*resDef{},
		outputs: map[string]*outDef{}, conditions: map[string]any{}}
	sections := append([]string{}, hotSections...)
	if t.atLeast("2016-10-14") {
		sections = append(sections, "conditions")
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !containsStr(sections, k) {
			return nil, heatErr(400, "InvalidTemplateSection", "The template section is invalid: %s", k)
		}
	}
	t.description = "No description"
	if d, ok := raw["description"]; ok {
		t.description = fmt.Sprint(d)
	}
	if c, ok := raw["conditions"].(map[string]any); ok {
		t.conditions = c
	}
	if err := t.parseParams(); err != nil {
		return nil, err
	}
	if err := t.parseResources(); err != nil {
		return nil, err
	}
	if err := t.parseOutputs(); err != nil {
		return nil, err
	}
	return t, nil
}

var paramTypes = []string{"string", "number", "json", "comma_delimited_list", "boolean"}
var paramKeys = []string{"type", "label", "description", "default", "hidden", "constraints", "immutable", "tags"}

func (t *tmpl) parseParams() error {
	ps, ok := t.raw["parameters"]
	if !ok || ps == nil {
		return nil
	}
	pm, ok := ps.(map[string]any)
	if !ok {
		return validationFailed("The template section is invalid: parameters")
	}
	for name, raw := range pm {
		m, ok := raw.(map[string]any)
		if !ok {
			return heatErr(400, "InvalidSchemaError", "Invalid parameter %s, expected a mapping", name)
		}
		for k := range m {
			if !containsStr(paramKeys, k) {
				return heatErr(400, "InvalidSchemaError", "Invalid key '%s' for parameter (%s)", k, name)
			}
		}
		typ, _ := m["type"].(string)
		if typ == "" {
			return heatErr(400, "InvalidSchemaError", "Missing parameter type for parameter: %s", name)
		}
		if !containsStr(paramTypes, typ) {
			return heatErr(400, "InvalidSchemaError", "Invalid type (%s)", typ)
		}
		p := &paramDef{name: name, typ: typ}
		p.def, p.hasDefault = m["default"]
		p.hidden = boolish(m["hidden"])
		p.immutable = boolish(m["immutable"])
		p.label, _ = m["label"].(string)
		p.description, _ = m["description"].(string)
		if cs, ok := m["constraints"].([]any); ok {
			for _, c := range cs {
				cm, ok := c.(map[string]any)
				if !ok {
					return heatErr(400, "InvalidSchemaError", "Invalid parameter constraints for parameter %s, expected a list", name)
				}
				p.constraints = append(p.constraints, cm)
			}
		} else if m["constraints"] != nil {
			return heatErr(400, "InvalidSchemaError", "Invalid parameter constraints for parameter %s, expected a list", name)
		}
		if p.hasDefault && p.def != nil {
			if _, err := convertParam(p, p.def); err != nil {
				return heatErr(400, "InvalidSchemaError", "Parameter '%s' is invalid: Invalid default %s (%s)", name, pyStr(p.def), err.Error())
			}
		}
		t.params[name] = p
		t.paramOrder = append(t.paramOrder, name)
	}
	sort.Strings(t.paramOrder)
	return nil
}

var resourceKeys = []string{"type", "properties", "metadata", "depends_on", "deletion_policy", "update_policy",
	"description", "condition", "external_id"}

func (t *tmpl) parseResources() error {
	rs, ok := t.raw["resources"]
	if !ok || rs == nil {
		return nil
	}
	rm, ok := rs.(map[string]any)
	if !ok {
		return validationFailed("The template section is invalid: resources")
	}
	for name, raw := range rm {
		m, ok := raw.(map[string]any)
		if !ok {
			return validationFailed("\"%s\" is not a valid template section", name)
		}
		for k := range m {
			if !containsStr(resourceKeys, k) {
				return validationFailed("Error parsing template: \"%s\" is not a valid keyword inside a resource definition", k)
			}
		}
		typ, ok := m["type"].(string)
		if !ok {
			if m["type"] == nil {
				return validationFailed("Resource %s is missing \"type\"", name)
			}
			return validationFailed("Resource %s type type must be string", name)
		}
		d := &resDef{name: name, typ: typ, metadata: m["metadata"], condition: m["condition"], externalID: m["external_id"]}
		if p, ok := m["properties"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return validationFailed("Resource %s properties type must be object", name)
			}
			d.props = pm
		}
		switch dep := m["depends_on"].(type) {
		case nil:
		case string:
			d.dependsOn = []string{dep}
		case []any:
			for _, x := range dep {
				s, ok := x.(string)
				if !ok {
					return validationFailed("Resource %s depends_on must be a list of strings", name)
				}
				d.dependsOn = append(d.dependsOn, s)
			}
		default:
			return validationFailed("Resource %s depends_on type must be list", name)
		}
		if dp, ok := m["deletion_policy"]; ok && dp != nil {
			s, _ := dp.(string)
			switch strings.ToLower(s) {
			case "delete", "retain", "snapshot":
				d.deletionPolicy = strings.ToLower(s)
			default:
				return validationFailed("Invalid deletion policy \"%v\"", dp)
			}
		}
		if ds, ok := m["description"].(string); ok {
			d.description = ds
		}
		t.resources[name] = d
		t.resOrder = append(t.resOrder, name)
	}
	sort.Strings(t.resOrder)
	for _, name := range t.resOrder {
		for _, dep := range t.resources[name].dependsOn {
			if _, ok := t.resources[dep]; !ok {
				return heatErr(400, "InvalidTemplateReference", "The specified reference \"%s\" (in %s) is incorrect.", dep, name)
			}
		}
	}
	return nil
}

func (t *tmpl) parseOutputs() error {
	os, ok := t.raw["outputs"]
	if !ok || os == nil {
		return nil
	}
	om, ok := os.(map[string]any)
	if !ok {
		return validationFailed("The template section is invalid: outputs")
	}
	for name, raw := range om {
		m, ok := raw.(map[string]any)
		if !ok {
			return validationFailed("Outputs must contain Output. Found a [%s] instead", pyTypeName(raw))
		}
		if _, ok := m["value"]; !ok {
			return validationFailed("outputs.%s: Each output definition must contain a value key.", name)
		}
		o := &outDef{name: name, value: m["value"], condition: m["condition"]}
		o.description, _ = m["description"].(string)
		if o.description == "" {
			o.description = "No description given"
		}
		t.outputs[name] = o
		t.outOrder = append(t.outOrder, name)
	}
	sort.Strings(t.outOrder)
	return nil
}

// ------------------------------------------------------------ parameters

// pseudo are the parameters every stack has.
func pseudoParams(stackName, stackID, projectID string) map[string]any {
	return map[string]any{"OS::stack_name": stackName, "OS::stack_id": stackID, "OS::project_id": projectID}
}

// resolveParams is Parameters(...).validate(): user values (from the
// environment's parameters and the request) checked against the
// template, defaults (the environment's parameter_defaults first),
// converted to their types. It returns every parameter's value.
func resolveParams(t *tmpl, user map[string]any, defaults map[string]any) (map[string]any, error) {
	var names []string
	for k := range user {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := t.params[k]; !ok {
			return nil, heatErr(400, "UnknownUserParameter", "The Parameter (%s) was not defined in template.", k)
		}
	}
	out := map[string]any{}
	for _, name := range t.paramOrder {
		p := t.params[name]
		raw, given := user[name]
		if !given || raw == nil {
			if d, ok := defaults[name]; ok {
				raw, given = d, true
			} else if p.hasDefault && p.def != nil {
				raw, given = p.def, true
			}
		}
		if !given {
			return nil, heatErr(400, "UserParameterMissing", "The Parameter (%s) was not provided.", name)
		}
		v, err := convertParam(p, raw)
		if err != nil {
			return nil, validationFailed("Parameter '%s' is invalid: %s", name, err.Error())
		}
		if err := checkConstraints(p, v); err != nil {
			return nil, validationFailed("Parameter '%s' is invalid: %s", name, err.Error())
		}
		out[name] = v
	}
	return out, nil
}

// convertParam turns a value into the parameter's type.
func convertParam(p *paramDef, v any) (any, error) {
	switch p.typ {
	case "number":
		return strToNum(v)
	case "boolean":
		s := strings.ToLower(pyStr(v))
		switch s {
		case "1", "t", "true", "on", "y", "yes":
			return true, nil
		case "0", "f", "false", "off", "n", "no":
			return false, nil
		}
		return nil, fmt.Errorf("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", pyStr(v))
	case "comma_delimited_list":
		switch x := v.(type) {
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = pyStr(e)
			}
			return out, nil
		case string:
			if x == "" {
				return []any{}, nil
			}
			var out []any
			for _, e := range strings.Split(x, ",") {
				out = append(out, strings.TrimSpace(e))
			}
			return out, nil
		}
		return nil, fmt.Errorf("Value must be a comma-delimited list string: %s", pyStr(v))
	case "json":
		if s, ok := v.(string); ok {
			if s == "" {
				return map[string]any{}, nil
			}
			var out any
			if err := decodeJSON([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("Value must be valid JSON: %v", err)
			}
			return out, nil
		}
		return v, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b), nil
	}
	return pyStr(v), nil
}

// strToNum is constraints.Schema.str_to_num.
func strToNum(v any) (any, error) {
	switch x := v.(type) {
	case int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("could not convert string to float: '%s'", x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("Value \"%s\" is invalid for data type \"number\".", pyStr(v))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// checkConstraints applies a parameter's constraints (engine/constraints.py
// messages; a constraint's description replaces the message).
func checkConstraints(p *paramDef, v any) error {
	for _, c := range p.constraints {
		desc, _ := c["description"].(string)
		fail := func(format string, args ...any) error {
			if desc != "" {
				return fmt.Errorf("%s", desc)
			}
			return fmt.Errorf(format, args...)
		}
		if r, ok := c["range"].(map[string]any); ok {
			n, _ := toFloat(v)
			lo, hasLo := toFloat(r["min"])
			hi, hasHi := toFloat(r["max"])
			if (hasLo && n < lo) || (hasHi && n > hi) {
				return fail("%s is out of range (min: %s, max: %s)", pyStr(v), pyStr(r["min"]), pyStr(r["max"]))
			}
		}
		if r, ok := c["length"].(map[string]any); ok {
			n := 0
			switch x := v.(type) {
			case string:
				n = len([]rune(x))
			case []any:
				n = len(x)
			case map[string]any:
				n = len(x)
			}
			lo, hasLo := toFloat(r["min"])
			hi, hasHi := toFloat(r["max"])
			if (hasLo && float64(n) < lo) || (hasHi && float64(n) > hi) {
				return fail("length (%d) is out of range (min: %s, max: %s)", n, pyStr(r["min"]), pyStr(r["max"]))
			}
		}
		if r, ok := c["modulo"].(map[string]any); ok {
			n, _ := toFloat(v)
			step, _ := toFloat(r["step"])
			off, _ := toFloat(r["offset"])
			if step != 0 && math.Mod(n, step) != off {
				return fail("%s is not a multiple of %s with an offset of %s", pyStr(v), pyStr(r["step"]), pyStr(r["offset"]))
			}
		}
		if allowed, ok := c["allowed_values"].([]any); ok {
			check := func(x any) bool {
				for _, a := range allowed {
					if pyStr(a) == pyStr(x) {
						return true
					}
				}
				return false
			}
			good := true
			if l, ok := v.([]any); ok {
				for _, x := range l {
					good = good && check(x)
				}
			} else {
				good = check(v)
			}
			if !good {
				parts := make([]string, len(allowed))
				for i, a := range allowed {
					parts[i] = jsonStr(a)
				}
				return fail("%s is not an allowed value [%s]", jsonStr(v), strings.Join(parts, ", "))
			}
		}
		if pat, ok := c["allowed_pattern"].(string); ok {
			re, err := regexp.Compile("^(?:" + pat + ")")
			s := pyStr(v)
			if err != nil {
				return fmt.Errorf("Invalid allowed_pattern %s", pat)
			}
			if loc := re.FindStringIndex(s); loc == nil || loc[1] != len(s) {
				return fail("\"%s\" does not match pattern \"%s\"", s, pat)
			}
		}
	}
	return nil
}

func jsonStr(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func boolish(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "on", "1":
			return true
		}
	}
	return false
}

func containsStr(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// pyStr is Python's str() of a template value.
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
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".e") {
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

func pyTypeName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case string:
		return "str"
	case int64:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	}
	return "NoneType"
}
