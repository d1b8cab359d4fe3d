package core

import (
	"encoding/json"
	"testing"
)

func TestPyJSON(t *testing.T) {
	v := Obj("b", 1, "a", []any{"é", nil, true, 1.5}, "m", map[string]any{"z": 1, "y": "\n"})
	if got := string(PyJSON(v, true)); got != `{"b": 1, "a": ["\u00e9", null, true, 1.5], "m": {"y": "\n", "z": 1}}` {
		t.Errorf("ensure_ascii: %s", got)
	}
	if got := string(PyJSON(v, false)); got != `{"b": 1, "a": ["é", null, true, 1.5], "m": {"y": "\n", "z": 1}}` {
		t.Errorf("unicode: %s", got)
	}
	if got := string(PyJSON("😀", true)); got != `"\ud83d\ude00"` {
		t.Errorf("astral: %s", got)
	}
}

func TestParsePyJSON(t *testing.T) {
	in := `{"z": {"b": 1, "a": 2.50}, "a": [1, "x", {"k": null}], "n": 12345678901}`
	v, err := ParsePyJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// Keys keep their order; numbers come back as they were written.
	if got := string(PyJSON(v, false)); got != `{"z": {"b": 1, "a": 2.50}, "a": [1, "x", {"k": null}], "n": 12345678901}` {
		t.Errorf("round trip: %s", got)
	}
	if n, _ := v.(Ordered).Get("n"); n != int64(12345678901) {
		t.Errorf("integers are int64: %T %v", n, n)
	}
	for _, bad := range []string{"", "{", `{"a": 1} x`, "[1,]"} {
		if _, err := ParsePyJSON([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	var o Ordered
	if err := json.Unmarshal([]byte(`{"y": 1, "x": 2}`), &o); err != nil || o.Keys[0] != "y" {
		t.Errorf("UnmarshalJSON: %v %v", o, err)
	}
	if b, _ := json.Marshal(o); string(b) != `{"y":1,"x":2}` {
		t.Errorf("MarshalJSON: %s", b)
	}
	if err := json.Unmarshal([]byte(`[1]`), &o); err == nil {
		t.Error("an array is not an Ordered")
	}
}
