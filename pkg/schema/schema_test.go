package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// testSchema has the shape pkg/apb generates, decoded from JSON so numbers
// are float64 and lists []any (as after a store round trip).
const testSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "name":   {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-zé]+$"},
    "size":   {"type": "integer", "minimum": 1, "maximum": 10},
    "ratio":  {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true},
    "step":   {"type": "number", "multipleOf": 0.5},
    "mode":   {"type": "string", "enum": ["fast", "safe"]},
    "tls":    {"type": "boolean"},
    "opts":   {"type": "object", "additionalProperties": false},
    "hosts":  {"type": "array", "additionalItems": false},
    "ports":  {"type": "array", "items": {"type": "integer", "maximum": 65535}},
    "nested": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}, "required": ["a"]},
    "nothing": {"type": "null"}
  },
  "required": ["name"],
  "dependencies": {
    "mode": {"oneOf": [
      {"properties": {"level": {"type": "integer", "minimum": 1}, "mode": {"enum": ["fast"]}}, "required": ["level"]},
      {"properties": {"copies": {"type": "integer"}, "mode": {"enum": ["safe"]}}, "required": ["copies"]}
    ]},
    "tls": {"properties": {"cert": {"type": "string", "minLength": 1}}, "required": ["cert"]},
    "size": ["name"]
  }
}`

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidate(t *testing.T) {
	s := decode(t, testSchema)
	for _, tc := range []struct {
		name   string
		params string
		want   []string // substrings, one per expected error; none = valid
	}{
		{"minimal", `{"name": "ab"}`, nil},
		{"runes not bytes", `{"name": "ééééé"}`, nil},
		{"all valid", `{"name": "abc", "size": 10, "ratio": 0.5, "step": 2.5, "mode": "safe", "copies": 2, "tls": false, "cert": "x",
			"opts": {"k": 1}, "hosts": ["a", 1], "ports": [22, 443], "nested": {"a": "x"}, "nothing": null}`, nil},
		{"integer as float", `{"name": "ab", "size": 3.0}`, nil},
		{"missing required", `{}`, []string{`parameter "name": required`}},
		{"too short", `{"name": "a"}`, []string{`parameter "name": must be at least 2 characters long`}},
		{"too long", `{"name": "abcdef"}`, []string{`parameter "name": must be at most 5 characters long`}},
		{"pattern", `{"name": "AB"}`, []string{`parameter "name": must match the pattern ^[a-zé]+$`}},
		{"wrong type", `{"name": 12}`, []string{`parameter "name": must be of type string, got integer`}},
		{"integer fraction", `{"name": "ab", "size": 2.5}`, []string{`parameter "size": must be of type integer, got number`}},
		{"integer from string", `{"name": "ab", "size": "2"}`, []string{`parameter "size": must be of type integer, got string`}},
		{"below minimum", `{"name": "ab", "size": 0}`, []string{`parameter "size": must be >= 1`}},
		{"above maximum", `{"name": "ab", "size": 11}`, []string{`parameter "size": must be <= 10`}},
		{"exclusive minimum", `{"name": "ab", "ratio": 0}`, []string{`parameter "ratio": must be > 0`}},
		{"exclusive maximum", `{"name": "ab", "ratio": 1}`, []string{`parameter "ratio": must be < 1`}},
		{"multipleOf", `{"name": "ab", "step": 0.7}`, []string{`parameter "step": must be a multiple of 0.5`}},
		{"enum", `{"name": "ab", "mode": "slow"}`, []string{`parameter "mode": must be one of ["fast", "safe"]`, `parameter "mode": its value matches none`}},
		{"boolean", `{"name": "ab", "tls": "true", "cert": "c"}`, []string{`parameter "tls": must be of type boolean, got string`}},
		{"unknown parameter", `{"name": "ab", "colour": "red"}`, []string{`parameter "colour": not allowed`}},
		{"free-form object keeps members", `{"name": "ab", "opts": {"any": {"deep": true}}}`, nil},
		{"object type", `{"name": "ab", "opts": []}`, []string{`parameter "opts": must be of type object, got array`}},
		{"array type", `{"name": "ab", "hosts": "a,b"}`, []string{`parameter "hosts": must be of type array, got string`}},
		{"array items", `{"name": "ab", "ports": [22, 70000, "x"]}`, []string{`parameter "ports[1]": must be <= 65535`, `parameter "ports[2]": must be of type integer`}},
		{"nested required and unknown", `{"name": "ab", "nested": {"b": 1}}`, []string{`parameter "nested.a": required`, `parameter "nested.b": not allowed`}},
		{"null", `{"name": "ab", "nothing": 0}`, []string{`parameter "nothing": must be of type null, got integer`}},
		{"dependency required", `{"name": "ab", "tls": true}`, []string{`parameter "cert": required`}},
		{"dependency value checked", `{"name": "ab", "tls": true, "cert": ""}`, []string{`parameter "cert": must be at least 1 characters long`}},
		{"dependent without its key", `{"name": "ab", "cert": "c"}`, []string{`parameter "cert": not allowed`}},
		{"oneOf branch fast", `{"name": "ab", "mode": "fast", "level": 2}`, nil},
		{"oneOf missing", `{"name": "ab", "mode": "fast"}`, []string{`parameter "level": required`}},
		{"oneOf wrong branch member", `{"name": "ab", "mode": "fast", "level": 1, "copies": 1}`, []string{`parameter "copies": not allowed`}},
		{"oneOf bad value", `{"name": "ab", "mode": "fast", "level": 0}`, []string{`parameter "level": must be >= 1`}},
		{"array dependency", `{"size": 2}`, []string{`parameter "name": required`, `parameter "name": required when "size" is set`}},
		{"many at once", `{"name": "A", "size": 0, "x": 1}`, []string{`"name": must be at least 2`, `"name": must match`, `"size": must be >= 1`, `"x": not allowed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var params map[string]any
			if err := json.Unmarshal([]byte(tc.params), &params); err != nil {
				t.Fatal(err)
			}
			err := Validate(s, params)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("got %d errors, want %d: %v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestValidateGoValues covers schemas built in Go by pkg/apb ([]string,
// int) and parameters built in Go (int, json.Number).
func TestValidateGoValues(t *testing.T) {
	s := map[string]any{
		"type": "object", "additionalProperties": false, "required": []string{"n"},
		"properties": map[string]any{
			"n": map[string]any{"type": "integer", "minimum": 1.0, "maximum": 5.0},
			"s": map[string]any{"type": "string", "maxLength": 3, "enum": []any{"a", "bb"}},
			"e": map[string]any{"type": "integer", "enum": []any{1, 2}},
		},
	}
	for _, tc := range []struct {
		params map[string]any
		err    string
	}{
		{map[string]any{"n": 3}, ""},
		{map[string]any{"n": int64(5), "s": "bb", "e": 2.0}, ""},
		{map[string]any{"n": json.Number("4")}, ""},
		{map[string]any{"n": json.Number("4.5")}, `parameter "n": must be of type integer`},
		{map[string]any{"n": 9}, `parameter "n": must be <= 5`},
		{map[string]any{"n": 1, "s": "c"}, `parameter "s": must be one of ["a", "bb"]`},
		{map[string]any{"n": 1, "e": 3}, `parameter "e": must be one of [1, 2]`},
		{map[string]any{"s": "a"}, `parameter "n": required`},
	} {
		err := Validate(s, tc.params)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: err = %v, want %q", tc.params, err, tc.err)
		}
	}
}

func TestValidateEmptySchema(t *testing.T) {
	if err := Validate(nil, map[string]any{"x": 1}); err != nil {
		t.Errorf("nil schema: %v", err)
	}
	// A plan without parameters accepts none.
	empty := map[string]any{"$schema": "http://json-schema.org/draft-04/schema", "type": "object", "additionalProperties": false}
	if err := Validate(empty, map[string]any{}); err != nil {
		t.Errorf("no parameters: %v", err)
	}
	if err := Validate(empty, map[string]any{"x": 1}); err == nil || !strings.Contains(err.Error(), `parameter "x": not allowed`) {
		t.Errorf("unknown parameter against an empty schema: %v", err)
	}
}

// TestValidateSortedByName checks the whole text: one line per problem,
// ordered by parameter name whatever check found it.
func TestValidateSortedByName(t *testing.T) {
	s := decode(t, testSchema)
	params := map[string]any{"size": 0.0, "zz": 1.0, "aa": true, "ratio": 2.0}
	want := strings.Join([]string{
		`parameter "aa": not allowed`,
		`parameter "name": required`,
		`parameter "name": required when "size" is set`,
		`parameter "ratio": must be < 1`,
		`parameter "size": must be >= 1`,
		`parameter "zz": not allowed`,
	}, "\n")
	for range 5 { // map order varies between calls; the text must not
		err := Validate(s, params)
		if err == nil || err.Error() != want {
			t.Fatalf("got\n%v\nwant\n%s", err, want)
		}
	}
}

// Keywords beyond what pkg/apb writes are validated too (the whole
// draft), still naming the parameter and the rule.
func TestValidateWholeDraft(t *testing.T) {
	s := decode(t, `{"type": "object", "properties": {
		"tags": {"type": "array", "minItems": 2, "uniqueItems": true},
		"port": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]},
		"ref":  {"$ref": "#/definitions/short"}
	}, "definitions": {"short": {"type": "string", "maxLength": 2}}}`)
	for _, tc := range []struct {
		params string
		want   []string
	}{
		{`{"tags": ["a", "b"], "port": "80", "ref": "ab"}`, nil},
		{`{"tags": ["a"]}`, []string{`parameter "tags": minItems`}},
		{`{"tags": ["a", "a"]}`, []string{`parameter "tags": items at 0 and 1 are equal`}},
		{`{"port": "http"}`, []string{`parameter "port": must be of type integer, got string`, `parameter "port": must match the pattern ^[0-9]+$`}},
		{`{"ref": "abc"}`, []string{`parameter "ref": must be at most 2 characters long`}},
	} {
		var params map[string]any
		if err := json.Unmarshal([]byte(tc.params), &params); err != nil {
			t.Fatal(err)
		}
		err := Validate(s, params)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.params, err)
			}
			continue
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not contain %q", tc.params, err, w)
			}
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	var s map[string]any
	json.Unmarshal([]byte(testSchema), &s)
	for b.Loop() {
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateCompiled(b *testing.B) {
	var s map[string]any
	json.Unmarshal([]byte(testSchema), &s)
	c, _ := Compile(s)
	params := map[string]any{"name": "abc", "size": 3, "mode": "fast", "level": 2}
	for b.Loop() {
		if err := c.Validate(params); err != nil {
			b.Fatal(err)
		}
	}
}
