package apb_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHelloWorld(t *testing.T) {
	s, err := apb.Parse(readFile(t, "testdata/hello-world-apb.yml"), "hello-world")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0" {
		t.Errorf("version = %q, want 1.0 (YAML float kept as written)", s.Version)
	}
	if s.Name != "hello-world-apb" || s.Bindable || s.Async != "optional" {
		t.Errorf("top level = %q bindable=%v async=%q", s.Name, s.Bindable, s.Async)
	}
	if len(s.Plans) != 1 || !s.Plans[0].Free || s.Plans[0].Name != "default" || len(s.Plans[0].Parameters) != 0 {
		t.Fatalf("plans = %+v", s.Plans)
	}
	if got := s.Plans[0].Metadata["cost"]; got != "$0.00" {
		t.Errorf("plan cost = %v", got)
	}
	deps, _ := s.Metadata["dependencies"].([]any)
	if len(deps) != 1 || deps[0] != "docker.io/ansibleplaybookbundle/hello-world:latest" {
		t.Errorf("metadata.dependencies = %#v", s.Metadata["dependencies"])
	}
}

func TestParsePostgreSQL(t *testing.T) {
	s, err := apb.Parse(readFile(t, "testdata/postgresql-apb.yml"), "postgresql")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Bindable || !reflect.DeepEqual(s.Tags, []string{"database", "postgresql"}) {
		t.Errorf("bindable=%v tags=%v", s.Bindable, s.Tags)
	}
	if s.Metadata["console.openshift.io/iconClass"] != "icon-postgresql" {
		t.Errorf("metadata = %v", s.Metadata)
	}
	dev, prod := s.Plans[0], s.Plans[1]
	if !reflect.DeepEqual(dev.UpdatesTo, []string{"prod"}) || !reflect.DeepEqual(prod.UpdatesTo, []string{"dev"}) {
		t.Errorf("updates_to = %v / %v", dev.UpdatesTo, prod.UpdatesTo)
	}
	if len(dev.Parameters) != 4 || len(prod.Parameters) != 5 {
		t.Fatalf("parameter counts %d/%d", len(dev.Parameters), len(prod.Parameters))
	}
	user, pass, ver := dev.Parameters[1], dev.Parameters[2], dev.Parameters[3]
	if user.DeprecatedMaxLen != 63 || !user.Required {
		t.Errorf("postgresql_user = %+v", user)
	}
	if pass.DisplayType != "password" {
		t.Errorf("postgresql_password display_type = %q", pass.DisplayType)
	}
	if ver.Type != "enum" || !ver.Updatable || ver.Default != "9.6" || !reflect.DeepEqual(ver.Enum, []string{"10", "9.6", "9.5"}) {
		t.Errorf("postgresql_version = %+v", ver)
	}
}

func TestParseBooleanSpellings(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"true", true}, {"True", true}, {`"True"`, true}, {`"true"`, true}, {`'TRUE'`, true}, {"yes", true},
		{"false", false}, {"False", false}, {`"False"`, false}, {`"false"`, false}, {"no", false}, {"", false},
	} {
		doc := "version: '1.0'\nname: b\nbindable: " + tc.text + "\nplans:\n- name: p\n  free: " + tc.text +
			"\n  bindable: " + tc.text + "\n  parameters:\n  - name: x\n    type: string\n    required: " + tc.text +
			"\n    updatable: " + tc.text + "\n"
		s, err := apb.Parse([]byte(doc), "b")
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		p := s.Plans[0]
		got := []bool{s.Bindable, p.Free, p.Bindable, p.Parameters[0].Required, p.Parameters[0].Updatable}
		for i, g := range got {
			if g != tc.want {
				t.Errorf("%s: field %d = %v, want %v", tc.text, i, g, tc.want)
			}
		}
	}
}

func TestParseVersions(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		ok         bool
	}{
		{"1.0", "1.0", true}, {"'1.0'", "1.0", true}, {"1.0.0", "1.0.0", true}, {`"1.0.0"`, "1.0.0", true},
		{"1.0.0+build.1", "1.0.0+build.1", true},
		{"1", "", false}, {"1.00", "", false}, {"2.0", "", false}, {"0.1.0", "", false}, {"1.0.1", "", false},
		{"1.0.0-rc1", "", false}, {"", "", false},
	} {
		doc := "version: " + tc.text + "\nname: v\nplans:\n- name: p\n"
		s, err := apb.Parse([]byte(doc), "v")
		if tc.ok != (err == nil) {
			t.Errorf("version %s: err = %v, want ok=%v", tc.text, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), `bundle "v": version: `) {
				t.Errorf("version %s: error %q does not name the field", tc.text, err)
			}
			continue
		}
		if s.Version != tc.want {
			t.Errorf("version %s: got %q, want %q", tc.text, s.Version, tc.want)
		}
	}
}

func TestValidateErrorsNameTheField(t *testing.T) {
	const head = "version: '1.0'\nname: x\n"
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"bad version", "version: '3.0'\nname: x\nplans: [{name: a}]\n", []string{`version: unsupported version "3.0"`}},
		{"no name", "version: '1.0'\nplans: [{name: a}]\n", []string{"name: is required"}},
		{"no plans", head, []string{"plans: at least one plan is required"}},
		{"empty plan name", head + "plans: [{name: a}, {description: d}]\n", []string{"plans[1].name: is required"}},
		{"duplicate plan", head + "plans: [{name: a}, {name: a}]\n", []string{`plans[1].name: duplicate plan name "a" (also plans[0])`}},
		{"bad async", head + "async: sometimes\nplans: [{name: a}]\n", []string{`async: must be optional, required or unsupported, got "sometimes"`}},
		{"bad runtime", head + "runtime: 3\nplans: [{name: a}]\n", []string{"runtime: must be 1 or 2, got 3"}},
		{"unknown updates_to", head + "plans: [{name: a, updates_to: [a, b]}]\n", []string{`plans[0].updates_to[1]: unknown plan "b"`}},
		{"unknown type", head + "plans:\n- name: a\n- name: b\n  parameters:\n  - {name: p, type: strnig}\n",
			[]string{`bundle "registries/x/apb.yml": plans[1].parameters[0].type: unknown type "strnig"`}},
		{"missing type", head + "plans:\n- name: a\n  parameters:\n  - {name: p}\n", []string{`plans[0].parameters[0].type: unknown type ""`}},
		{"empty param name", head + "plans:\n- name: a\n  parameters:\n  - {type: string}\n", []string{"plans[0].parameters[0].name: is required"}},
		{"duplicate param", head + "plans:\n- name: a\n  parameters:\n  - {name: p, type: string}\n  - {name: p, type: int}\n",
			[]string{`plans[0].parameters[1].name: duplicate parameter name "p" (also plans[0].parameters[0])`}},
		{"bind param type", head + "plans:\n- name: a\n  bind_parameters:\n  - {name: p, type: list}\n",
			[]string{`plans[0].bind_parameters[0].type: unknown type "list"`}},
		{"dependency key", head + "plans:\n- name: a\n  parameters:\n  - {name: p, type: string, dependencies: [{value: 1}]}\n",
			[]string{"plans[0].parameters[0].dependencies[0].key: is required"}},
		{"not a boolean", head + "bindable: maybe\nplans:\n- name: a\n  parameters:\n  - {name: p, type: string, required: 'sure'}\n",
			[]string{`bindable: "maybe" is not a boolean`, `plans[0].parameters[0].required: "sure" is not a boolean`}},
		{"all at once", "version: '2'\nasync: x\nplans:\n- name: a\n  updates_to: [z]\n  parameters:\n  - {name: p, type: t}\n",
			[]string{"version: ", "name: is required", "async: ", "plans[0].updates_to[0]: ", "plans[0].parameters[0].type: "}},
		{"not yaml", "version: [\n", []string{`bundle "registries/x/apb.yml": yaml: `}},
		{"not a mapping", "- a\n- b\n", []string{"not a mapping"}},
		{"empty", "", []string{"empty document"}},
		{"wrong field type", head + "plans:\n- name: a\n  parameters:\n  - {name: p, type: string, max_length: long}\n",
			[]string{"plans[0].parameters[0].max_length: cannot unmarshal !!str `long` into int (line 6)"}},
		{"wrong field types", head + "tags: one\nplans:\n- name: a\n  parameters:\n  - name: p\n    type: int\n    minimum: low\n",
			[]string{"tags: cannot unmarshal !!str `one` into []string (line 3)", "plans[0].parameters[0].minimum: cannot unmarshal !!str `low` into float64 (line 9)"}},
		{"plans not a list", head + "plans: {a: b}\n", []string{"plans: cannot unmarshal !!map into"}},
		{"name not a string", "version: '1.0'\nname: [x]\nplans: [{name: a}]\n", []string{"name: cannot unmarshal !!seq into string (line 2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apb.Parse([]byte(tc.doc), "registries/x/apb.yml")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, `bundle "registries/x/apb.yml": `) {
					t.Errorf("error line %q does not name the bundle", line)
				}
			}
		})
	}
}

func TestParseKeepsJSONEncodableValues(t *testing.T) {
	doc := "version: '1.0'\nname: j\nmetadata:\n  m: {1: one, true: yes}\nplans:\n- name: a\n  parameters:\n  - name: o\n    type: object\n    default: {2: two}\n"
	s, err := apb.Parse([]byte(doc), "j")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := s.Metadata["m"].(map[string]any)
	if !ok || m["1"] != "one" {
		t.Errorf("metadata.m = %#v", s.Metadata["m"])
	}
	d, ok := s.Plans[0].Parameters[0].Default.(map[string]any)
	if !ok || d["2"] != "two" {
		t.Errorf("default = %#v", s.Plans[0].Parameters[0].Default)
	}
}

func TestParseIgnoresUnknownKeys(t *testing.T) {
	doc := "version: '1.0'\nname: u\nfree: whatever\nimage: ignored\nplans:\n- name: a\n  required: maybe\n  parameters:\n  - {name: p, type: string, bindable: perhaps, extra: 1}\n"
	s, err := apb.Parse([]byte(doc), "u")
	if err != nil {
		t.Fatal(err)
	}
	if s.Image != "" || len(s.Plans[0].Parameters) != 1 {
		t.Errorf("spec = %+v", s)
	}
}
