package apb_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// Parse's errors carry the field and the line it is on, or its parent's
// line when the field is missing.
func TestParseProblemsHaveLines(t *testing.T) {
	doc := `version: '1.0'
name: lines
async: sometimes
plans:
  - name: a
    parameters:
      - name: p
        type: strnig
  - description: no name
    free: "maybe"
`
	_, err := apb.Parse([]byte(doc), "apb.yml")
	var se *apb.SpecError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SpecError", err, err)
	}
	// Every problem at once: the wrong boolean is read as false and the
	// rest is still validated.
	want := []apb.Problem{
		{Field: "plans[1].free", Line: 10, Message: `"maybe" is not a boolean`},
		{Field: "async", Line: 3, Message: `must be optional, required or unsupported, got "sometimes"`},
		{Field: "plans[0].parameters[0].type", Line: 8, Message: `unknown type "strnig"`},
		{Field: "plans[1].name", Line: 9, Message: "is required"},
	}
	if !reflect.DeepEqual(se.Problems, want) {
		t.Errorf("problems = %+v\nwant %+v", se.Problems, want)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []apb.Problem
	}{
		{"clean", "version: '1.0'\nname: c\nplans:\n- name: a\n  parameters:\n  - {name: p, type: string, default: x, pattern: '^x$'}\n", nil},
		{"misspelt keys", "version: '1.0'\nname: c\nbindabel: true\nimage: foo\nplans:\n- name: a\n  paramters: []\n  parameters:\n  - {name: p, type: int, requried: true}\n", []apb.Problem{
			{Field: "bindabel", Line: 3, Message: `unknown key (did you mean "bindable"?)`, Warning: true},
			{Field: "image", Line: 4, Message: "ignored: the broker runs the image it found the spec in", Warning: true},
			{Field: "plans[0].paramters", Line: 7, Message: `unknown key (did you mean "parameters"?)`, Warning: true},
			{Field: "plans[0].parameters[0].requried", Line: 9, Message: `unknown key (did you mean "required"?)`, Warning: true},
		}},
		{"defaults", `version: '1.0'
name: c
plans:
- name: a
  parameters:
  - name: s
    type: enum
    enum: [a, b]
    default: c
  - name: n
    type: int
    minimum: 1
    default: 0
  - name: r
    type: string
    pattern: '^[a-z'
  - name: b
    type: bool
    default: "yes please"
  - name: e
    type: enum
  - name: d
    type: string
    display_type: secret
    dependencies: [{key: nope, value: 1}]
`, []apb.Problem{
			{Field: "plans[0].parameters[0].default", Line: 9, Message: `"c" is not one of the enum values a, b`},
			{Field: "plans[0].parameters[1].default", Line: 13, Message: "0 is outside the parameter's minimum and maximum"},
			{Field: "plans[0].parameters[2].pattern", Line: 16, Message: "does not compile, so the catalog leaves it out: error parsing regexp: missing closing ]: `[a-z`"},
			{Field: "plans[0].parameters[3].default", Line: 19, Message: "yes please is not a boolean"},
			{Field: "plans[0].parameters[4].enum", Line: 20, Message: "type enum needs a list of values"},
			{Field: "plans[0].parameters[5].display_type", Line: 24, Message: `unknown display type "secret" (want one of text, textarea, password, checkbox, select)`, Warning: true},
			{Field: "plans[0].parameters[5].dependencies[0].key", Line: 25, Message: `no parameter of this plan is named "nope"`},
		}},
		{"invalid spec", "version: '1.0'\nnmae: x\nplans: [{name: a}]\n", []apb.Problem{
			{Field: "name", Line: 1, Message: "is required"},
			{Field: "nmae", Line: 2, Message: `unknown key (did you mean "name"?)`, Warning: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := apb.Check([]byte(tc.doc))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
