package apb

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The spec label in a Dockerfile, as `apb prepare` wrote it: the base64
// apb.yml in 76-character lines joined by "\" and a newline, so that
// Docker reads one value:
//
//	LABEL "com.redhat.apb.spec"=\
//	"dmVyc2lvbjogMS4wCm5h...\
//	...Cg=="

// specLabelBlock matches the label in that form (and on one line, quoted
// or not, as `apb bundle prepare -n` and hand-written files have it).
var specLabelBlock = regexp.MustCompile(`(?m)^[ \t]*LABEL[ \t]+"?com\.redhat\.apb\.spec"?[ \t]*=[ \t]*(?:\\\n)?(?:"((?:[A-Za-z0-9+/=]*\\\n)*[A-Za-z0-9+/=]*)"|([A-Za-z0-9+/=]+))[ \t]*\n?`)

// SpecLabelLines formats the LABEL instruction for an apb.yml; oneLine
// keeps the value on one line.
func SpecLabelLines(apbYML []byte, oneLine bool) string {
	b64 := EncodeLabel(apbYML)
	if oneLine {
		return fmt.Sprintf("LABEL \"%s\"=\"%s\"\n", LabelSpec, b64)
	}
	var lines []string
	for len(b64) > 76 {
		lines = append(lines, b64[:76])
		b64 = b64[76:]
	}
	lines = append(lines, b64)
	return fmt.Sprintf("LABEL \"%s\"=\\\n\"%s\"\n", LabelSpec, strings.Join(lines, "\\\n"))
}

// SpecLabel is the spec label a Dockerfile has.
type SpecLabel struct {
	// Line is the line of the LABEL instruction.
	Line int
	// Spec is the apb.yml the label holds, when it is written out.
	Spec []byte
	// Arg is the build argument the label is set from (LABEL
	// com.redhat.apb.spec=$APB_SPEC): the build passes the value.
	Arg string
}

// argLabel matches a spec label set from a build argument.
var argLabel = regexp.MustCompile(`(?m)^[ \t]*LABEL[ \t]+(?:[^\n]*[ \t])?"?com\.redhat\.apb\.spec"?[ \t]*=[ \t]*"?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?`)

// DockerfileSpec finds the spec label in a Dockerfile: nil when it has
// none; an error when it has one in a form neither apb prepare writes nor
// a build argument sets, or one that does not decode.
func DockerfileSpec(dockerfile []byte) (*SpecLabel, error) {
	if m := argLabel.FindSubmatchIndex(dockerfile); m != nil {
		return &SpecLabel{Line: bytes.Count(dockerfile[:m[0]], []byte("\n")) + 1, Arg: string(dockerfile[m[2]:m[3]])}, nil
	}
	loc := specLabelBlock.FindSubmatchIndex(dockerfile)
	if loc == nil {
		if bytes.Contains(dockerfile, []byte(LabelSpec)) {
			return &SpecLabel{Line: labelLine(dockerfile)}, errors.New("the " + LabelSpec + " label is not in the form apb prepare writes")
		}
		return nil, nil
	}
	l := &SpecLabel{Line: bytes.Count(dockerfile[:loc[0]], []byte("\n")) + 1}
	var val []byte
	switch {
	case loc[2] >= 0:
		val = dockerfile[loc[2]:loc[3]]
	case loc[4] >= 0:
		val = dockerfile[loc[4]:loc[5]]
	}
	val = bytes.ReplaceAll(val, []byte("\\\n"), nil)
	data, err := DecodeLabel(string(val))
	l.Spec = data
	return l, err
}

func labelLine(df []byte) int {
	i := bytes.Index(df, []byte(LabelSpec))
	return bytes.Count(df[:i], []byte("\n")) + 1
}

// fromLine finds the first FROM instruction.
var fromLine = regexp.MustCompile(`(?mi)^[ \t]*FROM[ \t]+[^\n]*\n?`)

// ErrSpecFromBuildArg: the Dockerfile sets the label from a build
// argument, which the build passes; there is nothing to write.
var ErrSpecFromBuildArg = errors.New("the spec label is set from a build argument")

// SetDockerfileSpec writes apb.yml into a Dockerfile's spec label: it
// replaces the label where it is, or puts one after the first FROM. A
// label set from a build argument is left alone (ErrSpecFromBuildArg).
func SetDockerfileSpec(dockerfile, apbYML []byte, oneLine bool) ([]byte, error) {
	if argLabel.Match(dockerfile) {
		return nil, ErrSpecFromBuildArg
	}
	label := []byte(SpecLabelLines(apbYML, oneLine))
	if loc := specLabelBlock.FindIndex(dockerfile); loc != nil {
		out := append([]byte{}, dockerfile[:loc[0]]...)
		out = append(out, label...)
		return append(out, dockerfile[loc[1]:]...), nil
	}
	if bytes.Contains(dockerfile, []byte(LabelSpec)) {
		return nil, fmt.Errorf("line %d: the %s label is not in the form apb prepare writes: remove it and run again", labelLine(dockerfile), LabelSpec)
	}
	loc := fromLine.FindIndex(dockerfile)
	if loc == nil {
		return nil, errors.New("no FROM instruction")
	}
	out := append([]byte{}, dockerfile[:loc[1]]...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	out = append(out, '\n')
	out = append(out, label...)
	return append(out, dockerfile[loc[1]:]...), nil
}
