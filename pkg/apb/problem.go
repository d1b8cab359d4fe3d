package apb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with an apb.yml, at one field.
type Problem struct {
	// Field is the path of the field (plans[0].parameters[1].type); empty
	// when the problem is the document as a whole.
	Field string `json:"field,omitempty"`
	// Line is the apb.yml line the field is on (1-based); 0 when the spec
	// was not parsed from its text (a spec built in Go, a stored one).
	Line int `json:"line,omitempty"`
	// Message says what is wrong, without the field.
	Message string `json:"message"`
	// Warning marks what the broker accepts but is likely a mistake
	// (Check only); Parse and Validate report errors alone.
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) String() string {
	s := p.Message
	if p.Field != "" {
		s = p.Field + ": " + s
	}
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	return s
}

// SpecError is every problem found in one bundle's apb.yml. Its text has
// one line a problem, each naming the bundle, the field and, when known,
// the line, so an operator reading the broker's log can find it.
type SpecError struct {
	Source   string
	Problems []Problem
}

func (e *SpecError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = fmt.Sprintf("bundle %q: %s", e.Source, p)
	}
	return strings.Join(lines, "\n")
}

// orNil returns e as an error, or nil when it holds no problem (a nil
// *SpecError in an error interface would not be nil).
func (e *SpecError) orNil() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// lineIndex maps each field path of a document to the line its value
// starts on.
type lineIndex map[string]int

func indexLines(root *yaml.Node) lineIndex {
	idx := lineIndex{"": root.Line}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				if _, dup := idx[p]; !dup {
					idx[p] = n.Content[i+1].Line
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx[p] = v.Line
				walk(v, p)
			}
		}
	}
	walk(root, "")
	return idx
}

// line finds the line of a field, or of the nearest enclosing one that is
// there: a missing required field is reported where its parent is.
func (idx lineIndex) line(path string) int {
	for {
		if l, ok := idx[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parent(path)
	}
}

// parent strips the last element of a field path: a.b[2].c -> a.b[2] ->
// a.b -> a -> "".
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// yamlSyntax splits yaml.v3's "yaml: line N: message".
var yamlSyntax = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := yamlSyntax.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{Line: n, Message: "yaml: " + m[2]}
	}
	return Problem{Message: msg}
}
