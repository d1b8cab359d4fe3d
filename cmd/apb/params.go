package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/schema"
)

// paramFlags are -p and -f: parameters given on the command line.
type paramFlags struct {
	pairs []string
	file  string
}

func (pf *paramFlags) register(c interface {
	StringArrayVarP(p *[]string, name, shorthand string, value []string, usage string)
	StringVarP(p *string, name, shorthand string, value string, usage string)
}) {
	c.StringArrayVarP(&pf.pairs, "param", "p", nil, "parameter `key=value` (typed by the plan's schema), or key:=<JSON>; repeatable")
	c.StringVarP(&pf.file, "param-file", "f", "", "YAML or JSON `file` with a mapping of parameters (-p wins)")
}

// props is what the command knows of a plan's parameters: the
// properties and required list of its JSON schema (may be empty).
type props struct {
	schema   map[string]any
	props    map[string]map[string]any
	required []string
}

func newProps(schema map[string]any) props {
	p := props{schema: schema, props: map[string]map[string]any{}}
	if m, ok := schema["properties"].(map[string]any); ok {
		for k, v := range m {
			if pm, ok := v.(map[string]any); ok {
				p.props[k] = pm
			}
		}
	}
	switch r := schema["required"].(type) {
	case []any:
		for _, x := range r {
			if s, ok := x.(string); ok {
				p.required = append(p.required, s)
			}
		}
	case []string:
		p.required = r
	}
	return p
}

// values reads -f, then -p on top, typing each -p value by the schema.
func (pf *paramFlags) values(p props) (map[string]any, error) {
	out := map[string]any{}
	if pf.file != "" {
		data, err := os.ReadFile(pf.file)
		if err != nil {
			return nil, usageErrorf("parameter file: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, usageErrorf("parameter file %s: %v", pf.file, err)
		}
		for k, v := range m {
			out[k] = jsonable(v)
		}
	}
	for _, kv := range pf.pairs {
		if k, raw, ok := strings.Cut(kv, ":="); ok && k != "" && !strings.Contains(k, "=") {
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return nil, usageErrorf("parameter %s: %q is not JSON: %v", k, raw, err)
			}
			out[k] = v
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("parameter %q: want key=value", kv)
		}
		tv, err := typed(v, p.props[k])
		if err != nil {
			return nil, usageErrorf("parameter %s: %v", k, err)
		}
		out[k] = tv
	}
	return out, nil
}

// typed converts a command-line string to the type the schema wants.
func typed(s string, prop map[string]any) (any, error) {
	t, _ := prop["type"].(string)
	switch t {
	case "integer":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case "number":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case "boolean":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		return b, nil
	case "object", "array":
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("%q is not JSON: %v", s, err)
		}
		return v, nil
	}
	return s, nil
}

// jsonable turns YAML-decoded maps with non-string keys into JSON's.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i := range t {
			t[i] = jsonable(t[i])
		}
		return t
	}
	return v
}

// missing lists the required parameters not given, in schema order
// (sorted, as JSON maps have none).
func (p props) missing(have map[string]any) []string {
	var out []string
	for _, r := range p.required {
		if _, ok := have[r]; !ok {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// prompter asks for missing required parameters on a terminal.
type prompter struct {
	in  io.Reader
	out io.Writer
	// fd is the terminal's descriptor for reading passwords without echo;
	// -1 when in is not a terminal.
	fd int
	rd *bufio.Reader
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	fd := -1
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd = int(f.Fd())
	}
	return &prompter{in: in, out: out, fd: fd, rd: bufio.NewReader(in)}
}

func (pr *prompter) terminal() bool { return pr.fd >= 0 }

// complete asks for each missing required parameter when on a terminal;
// elsewhere it fails naming them all.
func (pr *prompter) complete(p props, have map[string]any) error {
	miss := p.missing(have)
	if len(miss) == 0 {
		return nil
	}
	if !pr.terminal() {
		return usageErrorf("missing required parameter(s): %s (give them with -p key=value or -f file)", strings.Join(miss, ", "))
	}
	for _, name := range miss {
		prop := p.props[name]
		for {
			v, err := pr.ask(name, prop)
			if err != nil {
				return err
			}
			if v == "" {
				fmt.Fprintf(pr.out, "%s is required\n", name)
				continue
			}
			tv, err := typed(v, prop)
			if err == nil {
				err = validateOne(p, name, tv)
			}
			if err != nil {
				fmt.Fprintf(pr.out, "%s: %v\n", name, err)
				continue
			}
			have[name] = tv
			break
		}
	}
	return nil
}

func (pr *prompter) ask(name string, prop map[string]any) (string, error) {
	label := name
	if t, _ := prop["title"].(string); t != "" {
		label = fmt.Sprintf("%s (%s)", t, name)
	}
	if e, ok := prop["enum"].([]any); ok && len(e) > 0 {
		vals := make([]string, len(e))
		for i, x := range e {
			vals[i] = fmt.Sprint(x)
		}
		label += " [" + strings.Join(vals, "|") + "]"
	}
	if d, _ := prop["description"].(string); d != "" {
		fmt.Fprintf(pr.out, "  %s\n", strings.TrimSpace(d))
	}
	fmt.Fprintf(pr.out, "%s: ", label)
	if dt, _ := prop["display_type"].(string); dt == "password" {
		b, err := term.ReadPassword(pr.fd)
		fmt.Fprintln(pr.out)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", name, err)
		}
		return string(b), nil
	}
	line, err := pr.rd.ReadString('\n')
	if err != nil && line == "" {
		return "", usageErrorf("reading %s: %v", name, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// validateOne checks one value against its property alone.
func validateOne(p props, name string, v any) error {
	prop, ok := p.props[name]
	if !ok {
		return nil
	}
	s := map[string]any{"type": "object", "properties": map[string]any{name: prop}}
	return schema.Validate(s, map[string]any{name: v})
}

// validate checks the parameters against the whole schema, as the broker
// will, so that a mistake is a usage error before anything is sent.
func (p props) validate(params map[string]any) error {
	if len(p.schema) == 0 {
		return nil
	}
	if err := schema.Validate(p.schema, params); err != nil {
		return usageErrorf("parameters: %v", err)
	}
	return nil
}
