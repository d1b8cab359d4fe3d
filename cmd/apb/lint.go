package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// finding is one lint result: where and what.
type finding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
	Severity string `json:"severity"` // error or warning
}

func (f finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	msg := f.Message
	if f.Field != "" {
		msg = f.Field + ": " + msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, f.Severity, msg)
}

func (c *cli) lintCmd() *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint [DIR]",
		Short: "Check a bundle: apb.yml, playbooks and Dockerfile, every problem with file, line and field",
		Long: `Check the bundle in DIR (default .): apb.yml as the broker reads it (every error, with
its field and line) plus what the broker would accept but not do as written (misspelt
keys, patterns that do not compile, defaults outside their type, enum or bounds); the
playbooks (one per action the spec needs, valid YAML, a list of plays); the Dockerfile
(a FROM, the playbooks copied where apb-base looks, the spec label in step with apb.yml).
Exit 1 when there are errors (with --strict, warnings too).`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			fs, err := lintBundle(dir)
			if err != nil {
				return err
			}
			errs, warns := 0, 0
			for _, f := range fs {
				if f.Severity == "error" {
					errs++
				} else {
					warns++
				}
			}
			if fs == nil {
				fs = []finding{}
			}
			if err := c.printer().print(fs, func(w io.Writer) {
				for _, f := range fs {
					fmt.Fprintln(w, f)
				}
			}); err != nil {
				return err
			}
			c.say("%s", plural(errs, "error")+", "+plural(warns, "warning"))
			if errs > 0 || (strict && warns > 0) {
				return silentFailure
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "warnings fail too")
	return cmd
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Actions a bundle may have a playbook for.
var actionNames = []string{"provision", "update", "deprovision", "bind", "unbind", "test"}

// lintBundle checks a bundle directory. Paths in findings are DIR-relative
// paths joined to DIR as given, so they can be opened from where apb ran.
func lintBundle(dir string) ([]finding, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, usageErrorf("bundle directory: %v", err)
	}
	if !st.IsDir() {
		return nil, usageErrorf("%s is not a directory", dir)
	}
	var out []finding
	add := func(file string, line int, field, sev, format string, a ...any) {
		out = append(out, finding{File: filepath.Join(dir, file), Line: line, Field: field, Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	specFile := "apb.yml"
	specData, err := os.ReadFile(filepath.Join(dir, specFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err2 := os.Stat(filepath.Join(dir, "apb.yaml")); err2 == nil {
			add("apb.yaml", 0, "", "error", "the spec must be named apb.yml (the broker's local registry and apb look for that name)")
		} else {
			add(specFile, 0, "", "error", "missing: a bundle needs its spec (apb init scaffolds one)")
		}
	} else if err != nil {
		return nil, err
	}
	var spec *apb.Spec
	if specData != nil {
		var problems []apb.Problem
		spec, problems = apb.Check(specData)
		for _, p := range problems {
			sev := "error"
			if p.Warning {
				sev = "warning"
			}
			add(specFile, p.Line, p.Field, sev, "%s", p.Message)
		}
	}
	df, dfErr := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	playbookDir := "playbooks"
	if dfErr != nil {
		add("Dockerfile", 0, "", "error", "missing: apb build needs it (FROM apb-base, the playbooks copied to /opt/apb/project)")
	} else {
		pd, fs := lintDockerfile(df, specData)
		if pd != "" {
			playbookDir = pd
		}
		for _, f := range fs {
			add("Dockerfile", f.Line, f.Field, f.Severity, "%s", f.Message)
		}
	}
	for _, f := range lintPlaybooks(dir, playbookDir, spec) {
		f.File = filepath.Join(dir, f.File)
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return fileOrder(out[i].File) < fileOrder(out[j].File)
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}

// fileOrder puts apb.yml first, the Dockerfile next, playbooks last.
func fileOrder(p string) string {
	switch filepath.Base(p) {
	case "apb.yml", "apb.yaml":
		return "0"
	case "Dockerfile":
		return "1"
	}
	return "2" + p
}

// copyToActions finds the instruction that puts the playbooks where
// apb-base looks: /opt/apb/project (today) or /opt/apb/actions (before).
var copyToActions = regexp.MustCompile(`(?mi)^[ \t]*(?:COPY|ADD)(?:[ \t]+--[^ \t]+)*[ \t]+(\S+)[ \t]+/opt/apb/(?:project|actions)/?[ \t]*$`)

// lintDockerfile checks the Dockerfile and returns the playbook directory
// it copies (empty when it names none).
func lintDockerfile(df, specData []byte) (string, []finding) {
	var out []finding
	add := func(line int, field, sev, format string, a ...any) {
		out = append(out, finding{Line: line, Field: field, Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	if !regexp.MustCompile(`(?mi)^[ \t]*FROM[ \t]+\S`).Match(df) {
		add(1, "", "error", "no FROM instruction (bundles build FROM apb-base or openstack-apb)")
	}
	playbooks := ""
	if m := copyToActions.FindSubmatchIndex(df); m != nil {
		playbooks = strings.TrimSuffix(string(df[m[2]:m[3]]), "/")
	} else {
		add(0, "", "warning", "no COPY of the playbooks to /opt/apb/project: apb-base will find no action to run")
	}
	l, err := apb.DockerfileSpec(df)
	switch {
	case err != nil:
		add(l.Line, apb.LabelSpec, "error", "%v", err)
	case l == nil:
		add(0, apb.LabelSpec, "warning", "no spec label: run apb prepare (apb build does) or the broker will not see the image as a bundle")
	case l.Arg != "":
		// Set from a build argument: apb build passes apb.yml in it.
	case specData != nil && !bytes.Equal(l.Spec, specData):
		add(l.Line, apb.LabelSpec, "warning", "apb.yml changed since the label was written: run apb prepare (apb build does)")
	}
	if playbooks == "." {
		playbooks = ""
	}
	return playbooks, out
}

// lintPlaybooks checks the playbooks directory against what the spec
// needs: provision and deprovision always (the broker runs them), update
// when a plan can change, and each file a YAML list of plays.
func lintPlaybooks(dir, pdir string, spec *apb.Spec) []finding {
	var out []finding
	add := func(file string, line int, sev, format string, a ...any) {
		out = append(out, finding{File: file, Line: line, Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	entries, err := os.ReadDir(filepath.Join(dir, pdir))
	if err != nil {
		add(pdir, 0, "error", "no playbook directory: one playbook a action (%s)", strings.Join(actionNames, ", "))
		return out
	}
	have := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		file := filepath.Join(pdir, name)
		action := strings.TrimSuffix(name, ext)
		if !slices.Contains(actionNames, action) {
			add(file, 0, "warning", "not an action's playbook (%s): apb-base never runs it", strings.Join(actionNames, ", "))
		} else if prev, dup := have[action]; dup {
			add(file, 0, "warning", "%s is there too and wins (apb-base looks for .yaml first)", prev)
		} else {
			have[action] = file
		}
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			add(file, 0, "error", "%v", err)
			continue
		}
		out = append(out, lintPlaybook(file, data)...)
	}
	need := []string{"provision", "deprovision"}
	if spec != nil && updatable(spec) {
		need = append(need, "update")
	}
	for _, a := range need {
		if _, ok := have[a]; !ok {
			why := "the broker runs it for every instance"
			if a == "update" {
				why = "a plan has updates_to or updatable parameters"
			}
			add(filepath.Join(pdir, a+".yml"), 0, "error", "missing: %s", why)
		}
	}
	return out
}

func updatable(s *apb.Spec) bool {
	for _, p := range s.Plans {
		if len(p.UpdatesTo) > 0 {
			return true
		}
		for _, prm := range p.Parameters {
			if prm.Updatable {
				return true
			}
		}
	}
	return false
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// lintPlaybook checks one playbook: YAML, a list of plays, each with
// hosts (or an import_playbook).
func lintPlaybook(file string, data []byte) []finding {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		f := finding{File: file, Severity: "error", Message: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &f.Line)
			f.Message = "yaml: " + m[2]
		}
		return []finding{f}
	}
	if len(doc.Content) == 0 {
		return []finding{{File: file, Severity: "error", Message: "empty playbook"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode {
		return []finding{{File: file, Line: root.Line, Severity: "error", Message: "a playbook is a list of plays"}}
	}
	var out []finding
	for i, play := range root.Content {
		field := fmt.Sprintf("[%d]", i)
		if play.Kind != yaml.MappingNode {
			out = append(out, finding{File: file, Line: play.Line, Field: field, Severity: "error", Message: "a play is a mapping"})
			continue
		}
		keys := map[string]bool{}
		for j := 0; j+1 < len(play.Content); j += 2 {
			keys[play.Content[j].Value] = true
		}
		if !keys["hosts"] && !keys["import_playbook"] && !keys["ansible.builtin.import_playbook"] {
			out = append(out, finding{File: file, Line: play.Line, Field: field + ".hosts", Severity: "error", Message: "is required (bundles run on hosts: localhost)"})
		}
	}
	return out
}
