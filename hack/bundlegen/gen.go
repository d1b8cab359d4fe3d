package main

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// Generate makes every generated bundle's files, keyed by their path
// under the registry directory; it fails on a module no table decides.
func Generate(c *Collection) (map[string]string, error) {
	files := map[string]string{}
	var undecided []string
	for _, m := range c.Modules {
		r, ok := resources[m.Module]
		if !ok {
			if handWritten[m.Module] == "" && excluded[m.Module] == "" {
				undecided = append(undecided, m.Module)
			}
			continue
		}
		b, err := newBundle(c, m, r)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c.Collection, m.Module, err)
		}
		bf := b.files()
		// What the registry's lint (registries/registries_test.go) refuses
		// is never written.
		source := r.Bundle + "/apb.yml"
		s, err := apb.Parse([]byte(bf["apb.yml"]), source)
		if err != nil {
			return nil, err
		}
		if err := apb.Lint(s, source, apb.LintOptions{Tags: []string{"openstack"}, Free: true}); err != nil {
			return nil, err
		}
		for name, content := range bf {
			files[r.Bundle+"/"+name] = content
		}
	}
	if len(undecided) > 0 {
		sort.Strings(undecided)
		return nil, fmt.Errorf("modules %s: no decision (add each to resources, handWritten or excluded in hack/bundlegen/modules.go)", strings.Join(undecided, ", "))
	}
	for m := range resources {
		if !c.has(m) {
			return nil, fmt.Errorf("resources names %s, which %s %s does not have (or not as a resource module)", m, c.Collection, c.Version)
		}
	}
	return files, nil
}

func (c *Collection) has(module string) bool {
	for _, m := range c.Modules {
		if m.Module == module {
			return true
		}
	}
	return false
}

// bundle is one generated bundle, as the templates see it.
type bundle struct {
	Collection, Version string
	Module              Module
	R                   resource
	// Identity is the option naming the resource ("name"), set to
	// osb-<instance id>; empty when the module's resources have no name
	// (then the whole parameter set identifies it).
	Identity string
	// Params are the options offered, in form order (required first).
	Params []param
	// Hidden are the options not offered, with why.
	Hidden []hidden
	// Discovered are the options provision looks up when not given, in
	// form order; Project the options set to the credentials' project.
	Discovered []discovered
	Project    []string
}

// discovered is an option provision looks up when the user leaves it out.
type discovered struct {
	Name string
	discovery
}

// Var is the fact holding the looked-up value.
func (d discovered) Var() string { return "discovered_" + d.Name }

type hidden struct{ Name, Why string }

// param is one apb.yml parameter; the fields are in the order apb.yml
// shows them.
type param struct {
	Name         string   `yaml:"name"`
	Title        string   `yaml:"title"`
	Type         string   `yaml:"type"`
	Description  string   `yaml:"description,omitempty"`
	Default      any      `yaml:"default,omitempty"`
	Enum         []string `yaml:"enum,omitempty"`
	Pattern      string   `yaml:"pattern,omitempty"`
	Required     bool     `yaml:"required"`
	DisplayType  string   `yaml:"display_type,omitempty"`
	DisplayGroup string   `yaml:"display_group,omitempty"`
	// module: the module's type, for the README.
	module string `yaml:"-"`
	// discovered: the fact provision looks the value up into when the
	// parameter is not given.
	discovered string `yaml:"-"`
}

// credentialParams are every OpenStack bundle's last parameters: which
// cloud, and whose credentials (README.rst, "OpenStack credentials").
var credentialParams = []param{
	{Name: "cloud", Title: "Cloud", Type: "string",
		Description: "The entry of clouds.yaml to use. Default: the broker's configured cloud, or the only one in the credentials.",
		Pattern:     `^[A-Za-z0-9_.-]{1,64}$`, DisplayGroup: "OpenStack credentials"},
	{Name: "credentials_secret", Title: "Credentials Secret", Type: "string",
		Description: "A Secret in this namespace whose key clouds.yaml holds your own OpenStack credentials (an application credential is recommended). Default: the broker's credentials.",
		Pattern:     `^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`, DisplayGroup: "OpenStack credentials"},
}

func newBundle(c *Collection, m Module, r resource) (*bundle, error) {
	b := &bundle{Collection: c.Collection, Version: c.Version, Module: m, R: r}
	for _, o := range m.Options {
		if o.Name == "name" || contains(o.Aliases, "name") {
			b.Identity = o.Name
		}
	}
	requiredIf := map[string]bool{}
	for _, ri := range m.RequiredIf {
		if len(ri) >= 3 && ri[0] == "state" && ri[1] == "present" {
			if names, ok := ri[2].([]any); ok {
				for _, n := range names {
					requiredIf[fmt.Sprint(n)] = true
				}
			}
		}
	}
	known := map[string]bool{}
	for _, o := range m.Options {
		known[o.Name] = true
		why := hiddenEverywhere[o.Name]
		if w, ok := r.Hidden[o.Name]; ok {
			why = w
		}
		if o.Name == b.Identity {
			why = "osb-<instance id>: the instance's own, so a repeated provision finds it"
		}
		if contains(r.Project, o.Name) {
			why = "the credentials' project: provision asks openstacksdk for it"
			b.Project = append(b.Project, o.Name)
		}
		if why != "" {
			b.Hidden = append(b.Hidden, hidden{o.Name, why})
			continue
		}
		p, err := toParam(o, r, requiredIf[o.Name])
		if err != nil {
			return nil, err
		}
		if d, ok := r.Discover[o.Name]; ok {
			p.discovered = discovered{o.Name, d}.Var()
			p.Description = strings.TrimSpace(p.Description + " Default: the project's only " + d.Noun + " " + d.Which + "; provision fails naming this parameter when it has none or several.")
			b.Discovered = append(b.Discovered, discovered{o.Name, d})
		}
		b.Params = append(b.Params, p)
	}
	names := append(append(append([]string{}, r.Required...), keys(r.Defaults)...), r.Project...)
	for n := range r.Discover {
		names = append(names, n)
	}
	if r.Remove != nil {
		names = append(append(append(names, r.Remove.By...), r.Remove.Match...), r.Remove.IDOption)
	}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("resources names option %q, which the module does not have", n)
		}
	}
	for _, n := range r.AbsentParams {
		if !known[n] {
			return nil, fmt.Errorf("resources passes option %q at absent, which the module does not have", n)
		}
	}
	for n := range r.Hidden {
		if !known[n] {
			return nil, fmt.Errorf("resources hides option %q, which the module does not have", n)
		}
	}
	// Forms follow the order: required parameters first.
	sort.SliceStable(b.Params, func(i, j int) bool { return b.Params[i].Required && !b.Params[j].Required })
	b.Params = append(b.Params, credentialParams...)
	return b, nil
}

func toParam(o Option, r resource, requiredIf bool) (param, error) {
	p := param{Name: o.Name, Title: title(o.Name), Description: docText(o.Description), module: o.Type}
	switch o.Type {
	case "str", "path", "raw", "":
		p.Type = "string"
	case "int":
		p.Type = "int"
	case "float":
		p.Type = "number"
	case "bool":
		p.Type = "boolean"
	case "list":
		p.Type = "array"
	case "dict":
		p.Type = "object"
	default:
		return p, fmt.Errorf("option %s: type %q has no parameter type", o.Name, o.Type)
	}
	if o.Elements != "" {
		p.module += " of " + o.Elements
	}
	if len(o.Choices) > 0 && p.Type != "array" {
		p.Type = "enum"
		for _, c := range o.Choices {
			p.Enum = append(p.Enum, fmt.Sprint(c))
		}
	}
	def := o.Default
	if d, ok := r.Defaults[o.Name]; ok {
		def = d
	}
	if !empty(def) {
		if p.Type == "enum" {
			def = fmt.Sprint(def)
		}
		p.Default = def
	}
	p.Required = (o.Required || requiredIf || contains(r.Required, o.Name)) && p.Default == nil
	if o.NoLog {
		p.DisplayType = "password"
	}
	return p, nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// title: admin_state_up -> "Admin state up".
func title(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	for _, w := range []string{"ip", "id", "mac", "dns", "dhcp", "ipv4", "ipv6", "vnic"} {
		s = regexp.MustCompile(`\b`+w+`\b`).ReplaceAllString(s, strings.ToUpper(w))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Ansible's doc markup: C(x), I(x), B(x), U(x), M(x), L(text,url) -> x.
var markup = regexp.MustCompile(`\b([CIBUM])\(([^()]*)\)|\bL\(([^(),]*),[^()]*\)`)

func docText(s string) string {
	s = markup.ReplaceAllStringFunc(s, func(m string) string {
		sub := markup.FindStringSubmatch(m)
		if sub[3] != "" {
			return sub[3]
		}
		return sub[2]
	})
	return strings.Join(strings.Fields(s), " ")
}

// sentence: the module's short description as the bundle's, with the
// first letter up and a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(docText(s)), "."))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// about is the module's short description, then its description when that
// says more than the short one.
func about(m Module) string {
	short, long := sentence(m.ShortDescription), sentence(m.Description)
	if strings.EqualFold(short, long) || strings.HasPrefix(strings.ToLower(long), strings.ToLower(strings.TrimSuffix(short, "."))) {
		if long != "" {
			return long
		}
		return short
	}
	return strings.TrimSpace(short + " " + long)
}

// spec is apb.yml, in the order people read it.
type spec struct {
	Version     string         `yaml:"version"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Bindable    bool           `yaml:"bindable"`
	Async       string         `yaml:"async"`
	Tags        []string       `yaml:"tags"`
	Metadata    map[string]any `yaml:"metadata"`
	Plans       []plan         `yaml:"plans"`
}

type plan struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Free        bool           `yaml:"free"`
	Metadata    map[string]any `yaml:"metadata"`
	Parameters  []param        `yaml:"parameters"`
}

// Header is the generator's mark, then comment.
func (b *bundle) Header(comment string) string {
	return fmt.Sprintf("%s from %s %s (%s); DO NOT EDIT.\n%s", Marker, b.Collection, b.Version, b.Module.Module, comment)
}

func (b *bundle) apbYML() string {
	r := b.R
	made := "named osb-<instance id>"
	if b.Identity == "" {
		made = "made from the parameters (it has no name)"
	}
	s := spec{
		Version:     "1.0",
		Name:        r.Bundle,
		Description: fmt.Sprintf("A %s in %s, from openstack.cloud.%s", r.Noun, r.Service, b.Module.Module),
		Bindable:    true,
		Async:       "optional",
		Tags:        append([]string{"openstack"}, r.Tags...),
		Metadata: map[string]any{
			"displayName": "OpenStack " + r.Title,
			"longDescription": strings.TrimSpace(fmt.Sprintf("%s Generated from the Ansible module openstack.cloud.%s (%s %s): provision creates or finds the %s %s, deprovision deletes it, bind returns its id and attributes.",
				about(b.Module), b.Module.Module, b.Collection, b.Version, r.Noun, made)),
			"providerDisplayName": "OpenStack Service Broker",
			"documentationUrl":    fmt.Sprintf("https://docs.ansible.com/ansible/7/collections/openstack/cloud/%s_module.html", b.Module.Module),
			"imageUrl":            "https://www.openstack.org/themes/openstack/images/openstack-logo-full.svg",
		},
		Plans: []plan{{
			Name:        "default",
			Description: fmt.Sprintf("One %s, %s", r.Noun, made),
			Free:        true,
			Metadata: map[string]any{
				"displayName":     r.Title,
				"longDescription": fmt.Sprintf("Provision creates the %s (%s) with the parameters given; a repeated provision finds it instead of making a second. Deprovision deletes it; one already gone is no error. Bind returns its id and attributes.", r.Noun, made),
				"cost":            "$0.00",
			},
			Parameters: b.Params,
		}},
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		panic(err) // plain structs of strings, lists and maps
	}
	return b.Header("# "+r.Title+": "+sentence(b.Module.ShortDescription)+"\n") + buf.String()
}

func (b *bundle) files() map[string]string {
	return map[string]string{
		"apb.yml":                   b.apbYML(),
		"Dockerfile":                b.render(dockerfileTmpl),
		"README.md":                 b.render(readmeTmpl),
		"playbooks/provision.yml":   b.render(provisionTmpl),
		"playbooks/deprovision.yml": b.render(deprovisionTmpl),
		"playbooks/bind.yml":        b.render(bindTmpl),
		"playbooks/unbind.yml":      b.render(unbindTmpl),
	}
}

// ModuleParams are the parameters the module gets (not cloud and
// credentials_secret, which the sandbox's clouds.yaml serves).
func (b *bundle) ModuleParams() []param {
	var out []param
	for _, p := range b.Params {
		if p.DisplayGroup == "" {
			out = append(out, p)
		}
	}
	return out
}

// AbsentModuleParams are the parameters deprovision passes besides the
// name (resource.AbsentParams).
func (b *bundle) AbsentModuleParams() []param {
	var out []param
	for _, p := range b.ModuleParams() {
		if contains(b.R.AbsentParams, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// RemoveMatch are the parameters the found resources must match.
func (b *bundle) RemoveMatch() []param {
	var out []param
	for _, p := range b.Params {
		if b.R.Remove != nil && contains(b.R.Remove.Match, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// RemoveParams are the parameters the Remove finder's module gets.
func (b *bundle) RemoveParams() []param {
	var out []param
	for _, p := range b.Params {
		if b.R.Remove != nil && contains(b.R.Remove.By, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// What is the resource in progress messages.
func (b *bundle) What() string {
	if b.Identity == "" {
		return b.R.Noun + " of instance {{ _apb_service_instance_id }}"
	}
	return b.R.Noun + " {{ resource_name }}"
}

var funcs = template.FuncMap{
	"yamlstr": func(s string) string {
		out, _ := yaml.Marshal(s)
		return strings.TrimSpace(string(out))
	},
	"join": strings.Join,
	"mdcell": func(v any) string {
		if v == nil {
			return ""
		}
		s := fmt.Sprint(v)
		switch x := v.(type) {
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			s = "[" + strings.Join(parts, ", ") + "]"
		case []string:
			s = strings.Join(x, ", ")
		}
		return strings.ReplaceAll(s, "|", `\|`)
	},
	"sentence": sentence,
	"about":    about,
	"expr":     expr,
	"jvalue":   jvalue,
	"squote":   func(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" },
	"trimnl":   func(s string) string { return strings.TrimRight(s, "\n") },
}

// expr is the Jinja expression passing parameter p to the module: the
// user's value, else the bundle's default (the broker may not fill it
// in), else nothing (the module's own default applies).
func expr(p param) string {
	if p.discovered != "" {
		return "{{ " + p.Name + " | default(" + p.discovered + ", true) }}"
	}
	if p.Default == nil {
		return "{{ " + p.Name + " | default(omit) }}"
	}
	return "{{ " + p.Name + " | default(" + jinja(p.Default) + ") }}"
}

// jvalue is the Jinja expression (inside {{ }}) of parameter p's value:
// the user's, else the bundle's default.
func jvalue(p param) string {
	if p.Default == nil {
		return p.Name
	}
	return p.Name + " | default(" + jinja(p.Default) + ")"
}

// jinja writes v as a Jinja literal.
func jinja(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, "\\", "\\\\"), "'", "\\'") + "'"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, jinja(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range keys(x) {
			parts = append(parts, jinja(k)+": "+jinja(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func (b *bundle) render(t string) string {
	tmpl := template.Must(template.New("").Delims("[[", "]]").Funcs(funcs).Parse(t))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, b); err != nil {
		panic(fmt.Sprintf("%s: %v", b.R.Bundle, err)) // the templates are this file's
	}
	return buf.String()
}
