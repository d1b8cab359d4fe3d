package cinder

import (
	"encoding/json"
	"testing"
)

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		`null`: "None", `true`: "True", `"a'b"`: `'a\'b'`, `1`: "1", `1.5`: "1.5",
		`[1, "x"]`: "[1, 'x']", `{"b": 1, "a": null}`: "{'a': None, 'b': 1}",
	} {
		var v any
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatal(err)
		}
		if got := pyRepr(v); got != want {
			t.Errorf("pyRepr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSizeParam(t *testing.T) {
	for _, tc := range []struct {
		in   string
		size int
		err  string
	}{
		{`1`, 1, ""},
		{`"20"`, 20, ""},
		{`0`, 0, "400 Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"},
		{`"abc"`, 0, "400 Invalid input for field/attribute size. Value: abc. 'abc' does not match '^[0-9]+$'"},
		{`1.5`, 0, "400 Invalid input for field/attribute size. Value: 1.5. 1.5 is not of type 'integer', 'string'"},
		{`[]`, 0, "400 Invalid input for field/attribute size. Value: []. [] is not of type 'integer', 'string'"},
	} {
		var v any
		_ = json.Unmarshal([]byte(tc.in), &v)
		n, err := sizeParam("size", v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if n != tc.size || got != tc.err {
			t.Errorf("sizeParam(%s) = %d, %q; want %d, %q", tc.in, n, got, tc.size, tc.err)
		}
	}
}
