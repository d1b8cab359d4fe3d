package apb

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Check parses an apb.yml as Parse does and, when it parses, also reports
// what the broker accepts but does not do what the author meant: a
// pattern that does not compile (dropped from the catalog), a default
// outside its enum, pattern or bounds, or of another type, a dependency on
// no parameter (errors), and keys nobody reads, usually misspelt (warnings).
// Problems come in document order; each has its field and line. It is
// `apb lint`'s view of apb.yml. The spec is nil when Parse would fail.
func Check(data []byte) (*Spec, []Problem) {
	s, root, errs := parse(data)
	var out []Problem
	if root != nil {
		out = append(out, unknownKeys(root)...)
	}
	if s != nil {
		idx := indexLines(root)
		for _, p := range s.lint() {
			p.Line = idx.line(p.Field)
			out = append(out, p)
		}
	}
	out = append(out, errs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	if len(errs) > 0 {
		s = nil
	}
	return s, out
}

// Keys read at each level of apb.yml (bundle-lib's and ours).
var (
	specKeys  = []string{"version", "name", "description", "bindable", "async", "tags", "metadata", "plans", "alpha", "runtime"}
	planKeys  = []string{"name", "description", "free", "bindable", "metadata", "parameters", "bind_parameters", "updates_to"}
	paramKeys = []string{"name", "title", "type", "description", "default", "maxlength", "max_length", "min_length", "pattern",
		"multiple_of", "maximum", "exclusive_maximum", "minimum", "exclusive_minimum", "enum", "required", "updatable",
		"display_type", "display_group", "dependencies"}
	dependencyKeys = []string{"key", "value"}
	// Keys of older spec versions that the broker ignores on purpose.
	ignoredKeys = map[string]string{
		"image": "ignored: the broker runs the image it found the spec in",
		"id":    "ignored: the broker derives the id from the catalog name",
	}
)

func unknownKeys(root *yaml.Node) []Problem {
	var out []Problem
	check := func(m *yaml.Node, path string, known []string) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if slices.Contains(known, k.Value) {
				continue
			}
			p := Problem{Field: join(path, k.Value), Line: k.Line, Warning: true}
			if why, ok := ignoredKeys[k.Value]; ok && path == "" {
				p.Message = why
			} else if near := nearest(k.Value, known); near != "" {
				p.Message = fmt.Sprintf("unknown key (did you mean %q?)", near)
			} else {
				p.Message = "unknown key: nothing reads it"
			}
			out = append(out, p)
		}
	}
	check(root, "", specKeys)
	plans := mapValue(root, "plans")
	if plans == nil || plans.Kind != yaml.SequenceNode {
		return out
	}
	for i, pl := range plans.Content {
		pp := fmt.Sprintf("plans[%d]", i)
		check(pl, pp, planKeys)
		for _, key := range []string{"parameters", "bind_parameters"} {
			params := mapValue(pl, key)
			if params == nil || params.Kind != yaml.SequenceNode {
				continue
			}
			for j, prm := range params.Content {
				prmPath := fmt.Sprintf("%s.%s[%d]", pp, key, j)
				check(prm, prmPath, paramKeys)
				if deps := mapValue(prm, "dependencies"); deps != nil && deps.Kind == yaml.SequenceNode {
					for k, d := range deps.Content {
						check(d, fmt.Sprintf("%s.dependencies[%d]", prmPath, k), dependencyKeys)
					}
				}
			}
		}
	}
	return out
}

// nearest returns the known key within edit distance 2 of k, if any.
func nearest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// displayTypes are the form hints the OpenShift console knows.
var displayTypes = []string{"text", "textarea", "password", "checkbox", "select"}

// lint finds, in a valid spec, what the broker accepts but would not
// behave as written.
func (s *Spec) lint() []Problem {
	var out []Problem
	bad := func(path, format string, a ...any) {
		out = append(out, Problem{Field: path, Message: fmt.Sprintf(format, a...)})
	}
	warn := func(path, format string, a ...any) {
		out = append(out, Problem{Field: path, Message: fmt.Sprintf(format, a...), Warning: true})
	}
	for i, pl := range s.Plans {
		pp := fmt.Sprintf("plans[%d]", i)
		if !s.Bindable && !pl.Bindable && len(pl.BindParameters) > 0 {
			warn(pp+".bind_parameters", "the bundle is not bindable, so nobody is asked for these")
		}
		for _, key := range []string{"parameters", "bind_parameters"} {
			ps := pl.Parameters
			if key == "bind_parameters" {
				ps = pl.BindParameters
			}
			names := make(map[string]bool, len(ps))
			for _, p := range ps {
				names[p.Name] = true
			}
			for j, p := range ps {
				lintParam(p, fmt.Sprintf("%s.%s[%d]", pp, key, j), names, bad, warn)
			}
		}
	}
	return out
}

func lintParam(p Parameter, path string, names map[string]bool, bad, warn func(path, format string, a ...any)) {
	var re *regexp.Regexp
	if p.Pattern != "" {
		var err error
		if re, err = regexp.Compile(p.Pattern); err != nil {
			bad(path+".pattern", "does not compile, so the catalog leaves it out: %v", err)
		}
	}
	if strings.EqualFold(p.Type, "enum") && len(p.Enum) == 0 {
		bad(path+".enum", "type enum needs a list of values")
	}
	if p.DisplayType != "" && !slices.Contains(displayTypes, p.DisplayType) {
		warn(path+".display_type", "unknown display type %q (want one of %s)", p.DisplayType, strings.Join(displayTypes, ", "))
	}
	for k, d := range p.Dependencies {
		if d.Key != "" && !names[d.Key] {
			bad(fmt.Sprintf("%s.dependencies[%d].key", path, k), "no parameter of this plan is named %q", d.Key)
		}
	}
	if p.Default == nil {
		return
	}
	dp := path + ".default"
	t, _ := jsonType(p.Type)
	switch t {
	case "string":
		v, ok := p.Default.(string)
		if !ok {
			bad(dp, "%v is not a string (quote it)", p.Default)
			return
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
			bad(dp, "%q is not one of the enum values %s", v, strings.Join(p.Enum, ", "))
		}
		if re != nil && !re.MatchString(v) {
			bad(dp, "%q does not match the pattern %s", v, p.Pattern)
		}
		maxLen := p.MaxLength
		if maxLen == 0 {
			maxLen = p.DeprecatedMaxLen
		}
		if n := len([]rune(v)); (maxLen > 0 && n > maxLen) || n < p.MinLength {
			bad(dp, "%q is %d characters long, outside %d..%d", v, n, p.MinLength, maxLen)
		}
	case "integer", "number":
		var f float64
		switch v := p.Default.(type) {
		case int:
			f = float64(v)
		case float64:
			if t == "integer" && v != float64(int64(v)) {
				bad(dp, "%v is not an integer", v)
				return
			}
			f = v
		default:
			bad(dp, "%v is not a number", p.Default)
			return
		}
		if (p.Minimum != nil && f < *p.Minimum) || (p.ExclusiveMinimum != nil && f <= *p.ExclusiveMinimum) ||
			(p.Maximum != nil && f > *p.Maximum) || (p.ExclusiveMaximum != nil && f >= *p.ExclusiveMaximum) {
			bad(dp, "%v is outside the parameter's minimum and maximum", p.Default)
		}
	case "boolean":
		if _, ok := p.Default.(bool); !ok {
			bad(dp, "%v is not a boolean", p.Default)
		}
	case "object":
		if _, ok := p.Default.(map[string]any); !ok {
			bad(dp, "%v is not a mapping", p.Default)
		}
	case "array":
		if _, ok := p.Default.([]any); !ok {
			bad(dp, "%v is not a list", p.Default)
		}
	}
}
