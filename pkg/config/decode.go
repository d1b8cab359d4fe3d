package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks yaml.v3 nodes rather than unmarshalling into structs so that
// every message can name the file, the line and the dotted key path.
type decoder struct {
	source   string
	lines    map[string]int // key path → line of the key, for keys with a non-null value
	warnings []string
	errs     []error
}

// field decodes the value node of one key.
type field func(d *decoder, n *yaml.Node, path string)

func (d *decoder) pos(line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", d.source, line)
	}
	return d.source
}

func (d *decoder) msg(line int, path, format string, args ...any) string {
	m := fmt.Sprintf(format, args...)
	if path != "" {
		m = path + ": " + m
	}
	return d.pos(line) + ": " + m
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, errors.New(d.msg(line, path, format, args...)))
}

func (d *decoder) warnf(line int, path, format string, args ...any) {
	d.warnings = append(d.warnings, d.msg(line, path, format, args...))
}

// line is where the first of paths (keys or list elements) that the file
// gave was written, 0 if none.
func (d *decoder) line(paths ...string) int {
	for _, p := range paths {
		if l := d.lines[p]; l > 0 {
			return l
		}
	}
	return 0
}

// has reports whether the file gave the key a non-null value.
func (d *decoder) has(path string) bool {
	_, ok := d.lines[path]
	return ok
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

// mapping decodes the keys of a mapping node with fields; other keys are
// warned about, not refused, so files written for a newer or older broker
// still load.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.merge(v, path, fields)
			continue
		}
		p := join(path, k.Value)
		f, ok := fields[k.Value]
		if !ok {
			d.warnf(k.Line, p, "unknown key, ignored")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			// yaml.v1 in asbd silently kept the last value; do the same, but say so.
			d.warnf(k.Line, p, "given twice (first on line %d); the last one wins", first)
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			continue
		}
		d.lines[p] = k.Line
		f(d, v, p)
	}
}

func (d *decoder) merge(v *yaml.Node, path string, fields map[string]field) {
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			d.mapping(m, path, fields)
		}
		return
	}
	d.mapping(v, path, fields)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// list decodes a sequence, calling each with the element and its path.
func (d *decoder) list(n *yaml.Node, path string, each func(n *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "want a list, got %s", describe(n))
		return
	}
	for i, e := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = e.Line
		each(resolve(e), p)
	}
}

func str(p *string) field {
	return func(d *decoder, n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "want a string, got %s", describe(n))
			return
		}
		// Any scalar is taken as its text: `tag: 2.0` means the tag "2.0".
		*p = n.Value
	}
}

// parseBool accepts YAML booleans, the YAML 1.1 words asbd's yaml.v1 took
// (yes/no/on/off), and — unlike asbd, which read a quoted "true" as false —
// quoted "true"/"false", because templates often quote substituted values.
func parseBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(n.Value)) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	return false, false
}

func boolean(p *bool) field {
	return func(d *decoder, n *yaml.Node, path string) {
		b, ok := parseBool(n)
		if !ok {
			d.errorf(n.Line, path, "want a boolean (true or false), got %s", describe(n))
			return
		}
		*p = b
	}
}

func integer(p *int) field {
	return func(d *decoder, n *yaml.Node, path string) {
		if n.Kind == yaml.ScalarNode {
			switch n.ShortTag() {
			case "!!int":
				var i int
				if err := n.Decode(&i); err == nil {
					*p = i
					return
				}
			case "!!str":
				// A quoted number, as template substitution produces.
				if i, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
					*p = i
					return
				}
			}
		}
		d.errorf(n.Line, path, "want an integer, got %s", describe(n))
	}
}

func strs(p *[]string) field {
	return func(d *decoder, n *yaml.Node, path string) {
		if n.Kind != yaml.SequenceNode {
			// asbd silently read a non-list as "no entries", which for
			// white_list meant an empty catalog; refuse instead.
			d.errorf(n.Line, path, "want a list of strings, got %s", describe(n))
			return
		}
		out := make([]string, 0, len(n.Content))
		for i, e := range n.Content {
			e = resolve(e)
			if e.Kind != yaml.ScalarNode || isNull(e) {
				d.errorf(e.Line, fmt.Sprintf("%s[%d]", path, i), "want a string, got %s", describe(e))
				continue
			}
			out = append(out, e.Value)
		}
		*p = out
	}
}

// duration reads a Go duration ("600s", "10m"); a bare integer, quoted or
// not, is seconds. An empty string means none, as in asbd.
func duration(p *time.Duration) field {
	return func(d *decoder, n *yaml.Node, path string) {
		if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!str") {
			v := strings.TrimSpace(n.Value)
			if v == "" {
				*p = 0
				return
			}
			if s, err := strconv.Atoi(v); err == nil && s >= 0 {
				*p = time.Duration(s) * time.Second
				return
			}
			if dur, err := time.ParseDuration(v); err == nil && dur >= 0 {
				*p = dur
				return
			}
		}
		d.errorf(n.Line, path, `want a duration such as "600s" or a number of seconds, got %s`, describe(n))
	}
}

// strmap reads a mapping of strings to strings (environment variables,
// resource quantities); scalar values are taken as their text.
func strmap(p *map[string]string) field {
	return func(d *decoder, n *yaml.Node, path string) {
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "want a mapping of names to strings, got %s", describe(n))
			return
		}
		out := make(map[string]string, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], resolve(n.Content[i+1])
			kp := join(path, k.Value)
			if v.Kind != yaml.ScalarNode || isNull(v) {
				d.errorf(v.Line, kp, "want a string, got %s", describe(v))
				continue
			}
			d.lines[kp] = k.Line
			out[k.Value] = v.Value
		}
		*p = out
	}
}
