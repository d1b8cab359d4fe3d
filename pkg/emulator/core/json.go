package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxJSONBody bounds a JSON request body; larger bodies get 413.
const MaxJSONBody = 1 << 20

// WriteJSON answers status with v as JSON (Content-Type application/json).
// A nil v writes no body (for 204).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if v == nil || status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is built from plain maps and structs: a marshal error
		// is a programming error the recover middleware reports as a 500.
		panic("core.WriteJSON: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ReadBody reads the whole request body, at most limit bytes (413 past it).
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, BadRequest("cannot read the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "Request is too large.")
	}
	return b, nil
}

// DecodeJSON decodes the request body into v. A missing, empty or
// malformed body, or one that does not fit v's types, is a 400
// "Malformed request body" (Nova's, Cinder's and Neutron's wording; wrap
// the error to change it). Unknown fields are ignored.
func DecodeJSON(r *http.Request, v any) error { return decode(r, v, false) }

// DecodeJSONStrict is DecodeJSON that also rejects fields v does not
// declare, with jsonschema's "Additional properties are not allowed ('x'
// was unexpected)" as the schema-validated services say it. Only the top
// level struct and nested structs are checked (maps accept anything).
func DecodeJSONStrict(r *http.Request, v any) error { return decode(r, v, true) }

func decode(r *http.Request, v any, strict bool) error {
	b, err := ReadBody(r, MaxJSONBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return BadRequest("Malformed request body")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if msg, ok := unknownField(err); ok {
			return BadRequest("Additional properties are not allowed (%s was unexpected)", msg)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return BadRequest("Invalid input for field/attribute %s. Value: %s. Expected %s.", te.Field, te.Value, te.Type)
		}
		return BadRequest("Malformed request body")
	}
	if dec.More() {
		return BadRequest("Malformed request body")
	}
	return nil
}

// unknownField extracts the name from encoding/json's
// `json: unknown field "x"`.
func unknownField(err error) (string, bool) {
	const p = "json: unknown field "
	s := err.Error()
	if !strings.HasPrefix(s, p) {
		return "", false
	}
	return "'" + strings.Trim(s[len(p):], `"`) + "'", true
}
