package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"sort"
)

// Ordered is a JSON object whose keys keep the order given, as a Python
// dict does: for services whose bodies a client (or a test) might read
// as text. Build one with Obj.
type Ordered struct {
	Keys []string
	Vals map[string]any
}

// Obj returns an Ordered from key, value pairs.
func Obj(kv ...any) Ordered {
	m := Ordered{Vals: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), kv[i+1])
	}
	return m
}

// Set adds (at the end) or replaces a key.
func (m *Ordered) Set(k string, v any) {
	if m.Vals == nil {
		m.Vals = map[string]any{}
	}
	if _, ok := m.Vals[k]; !ok {
		m.Keys = append(m.Keys, k)
	}
	m.Vals[k] = v
}

// Get returns a key's value.
func (m Ordered) Get(k string) (any, bool) {
	v, ok := m.Vals[k]
	return v, ok
}

// MarshalJSON encodes the object with its keys in order.
func (m Ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	writePy(&b, m, false, ",", ":")
	return b.Bytes(), nil
}

// PyJSON encodes v as Python's json.dumps does by default (the Python
// services' bodies: Swift's listings, Zaqar's documents): ", " and ": "
// separators, non-ASCII as \uXXXX when ensureASCII (json.dumps' default;
// Zaqar and Falcon pass ensure_ascii=False), Go maps with sorted keys,
// Ordered in its order.
func PyJSON(v any, ensureASCII bool) []byte {
	var b bytes.Buffer
	writePy(&b, v, ensureASCII, ", ", ": ")
	return b.Bytes()
}

func writePy(b *bytes.Buffer, v any, ascii bool, comma, colon string) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case Ordered:
		b.WriteByte('{')
		for i, k := range x.Keys {
			if i > 0 {
				b.WriteString(comma)
			}
			writePyString(b, k, ascii)
			b.WriteString(colon)
			writePy(b, x.Vals[k], ascii, comma, colon)
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(comma)
			}
			writePyString(b, k, ascii)
			b.WriteString(colon)
			writePy(b, x[k], ascii, comma, colon)
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		writePy(b, m, ascii, comma, colon)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(comma)
			}
			writePy(b, e, ascii, comma, colon)
		}
		b.WriteByte(']')
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		writePy(b, l, ascii, comma, colon)
	case [][]string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		writePy(b, l, ascii, comma, colon)
	case []Ordered:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		writePy(b, l, ascii, comma, colon)
	case string:
		writePyString(b, x, ascii)
	case json.Number:
		b.WriteString(x.String())
	case float64:
		// JSON numbers decoded into any: integers print as Python ints.
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			j, _ := json.Marshal(int64(x))
			b.Write(j)
			return
		}
		j, _ := json.Marshal(x)
		b.Write(j)
	default:
		j, err := json.Marshal(x)
		if err != nil {
			panic("core.PyJSON: " + err.Error())
		}
		// Re-encode generic values (structs, nested maps) the Python way.
		var generic any
		if json.Unmarshal(j, &generic) == nil {
			switch generic.(type) {
			case map[string]any, []any:
				writePy(b, generic, ascii, comma, colon)
				return
			}
		}
		b.Write(j)
	}
}

func writePyString(b *bytes.Buffer, s string, ascii bool) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&0xf])
		b.WriteByte(hex[r>>8&0xf])
		b.WriteByte(hex[r>>4&0xf])
		b.WriteByte(hex[r&0xf])
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			u4(r)
		case ascii && r > 0x7e:
			if r > 0xffff {
				r -= 0x10000
				u4(0xd800 + (r >> 10))
				u4(0xdc00 + (r & 0x3ff))
				continue
			}
			u4(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// UnmarshalJSON decodes a JSON object keeping its keys' order.
func (m *Ordered) UnmarshalJSON(b []byte) error {
	v, err := ParsePyJSON(b)
	if err != nil {
		return err
	}
	o, ok := v.(Ordered)
	if !ok {
		return &json.UnmarshalTypeError{Value: "non-object", Type: reflect.TypeOf(m)}
	}
	*m = o
	return nil
}

// ParsePyJSON decodes JSON as Python's json.loads does for the services
// that re-emit what they were sent: objects keep their keys' order
// (Ordered), integers are int64, other numbers json.Number (written back
// as they came). Trailing data is an error.
func ParsePyJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := Ordered{Vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			l := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return l, nil
		}
		return nil, errors.New("unexpected delimiter")
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x, nil
	}
	return t, nil
}
