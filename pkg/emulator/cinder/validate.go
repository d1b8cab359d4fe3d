package cinder

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Cinder validates bodies with jsonschema (cinder/api/schemas) and words
// the errors as cinder/api/validation/validators.py does: "Invalid input
// for field/attribute <key>. Value: <str(value)>. <jsonschema message>",
// values shown as Python shows them.

// decodeBody reads a JSON object body as a map; a missing or malformed
// body is Cinder's "Malformed request body", a JSON value that is not an
// object is jsonschema's type error.
func decodeBody(r *http.Request) (map[string]any, error) {
	b, err := core.ReadBody(r, core.MaxJSONBody)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, core.BadRequest("Malformed request body")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, core.BadRequest("Malformed request body")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, core.BadRequest("%s is not of type 'object'", pyRepr(v))
	}
	return m, nil
}

// pyRepr is Python's repr() of a decoded JSON value.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), "'", `\'`) + "'"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// pyStr is Python's str(): strings bare, everything else as repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// fieldError is the validator's message for an error at a property.
func fieldError(field string, value any, format string, args ...any) *core.APIError {
	return core.BadRequest("Invalid input for field/attribute %s. Value: %s. %s", field, pyStr(value), fmt.Sprintf(format, args...))
}

// jsonType is jsonschema's name of a decoded JSON value's type.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// checkType fails unless v is of one of the jsonschema types.
func checkType(field string, v any, types ...string) error {
	t := jsonType(v)
	for _, want := range types {
		if t == want || (want == "number" && t == "integer") {
			return nil
		}
	}
	quoted := make([]string, len(types))
	for i, ty := range types {
		quoted[i] = "'" + ty + "'"
	}
	return fieldError(field, v, "%s is not of type %s", pyRepr(v), strings.Join(quoted, ", "))
}

// checkObject returns the object under key of body, failing as jsonschema
// does when it is missing ("'volume' is a required property") or not an
// object.
func checkObject(body map[string]any, key string) (map[string]any, error) {
	v, ok := body[key]
	if !ok {
		return nil, core.BadRequest("'%s' is a required property", key)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, checkType(key, v, "object")
	}
	return m, nil
}

// onlyKeys fails on a key of m outside allowed, as additionalProperties:
// false does; at the top level (field "") the message stands alone.
func onlyKeys(field string, m map[string]any, allowed ...string) error {
	var extra []string
	for k := range m {
		found := false
		for _, a := range allowed {
			if a == k {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	parts := make([]string, len(extra))
	for i, e := range extra {
		parts[i] = pyRepr(e)
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	msg := fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(parts, ", "), verb)
	if field == "" {
		return core.BadRequest("%s", msg)
	}
	return fieldError(field, m, "%s", msg)
}

// optString returns a nullable string property (type ['string', 'null'])
// with a maximum length; present reports whether the key was given.
func optString(m map[string]any, key string, maxLen int) (s *string, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return nil, false, nil
	}
	if v == nil {
		return nil, true, nil
	}
	str, isStr := v.(string)
	if !isStr {
		return nil, true, checkType(key, v, "string", "null")
	}
	if maxLen > 0 && len([]rune(str)) > maxLen {
		return nil, true, fieldError(key, v, "%s is too long", pyRepr(v))
	}
	return &str, true, nil
}

// nameOrDescription validates the name/description formats
// (*_non_mandatory_remove_white_spaces): strings or null, at most 255
// characters once trimmed.
func nameOrDescription(m map[string]any, key, entity string) (*string, bool, error) {
	v, ok := m[key]
	if !ok {
		return nil, false, nil
	}
	if v == nil {
		return nil, true, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return nil, true, checkType(key, v, "string", "null")
	}
	if n := len([]rune(strings.TrimSpace(s))); n > 255 {
		return nil, true, core.BadRequest("Invalid input received: %s has %d characters, more than 255.", entity, n)
	}
	return &s, true, nil
}

var specKeyRE = regexp.MustCompile(`^[a-zA-Z0-9-_:. /]{1,255}$`)
var specKeyNoSpaceRE = regexp.MustCompile(`^[a-zA-Z0-9-_:.]{1,255}$`)

// stringMap validates metadata / extra specs: an object whose keys match
// the pattern and whose values are strings of at most 255 characters
// (nullable values when allowNull).
func stringMap(field string, v any, keyRE *regexp.Regexp, allowNull bool) (map[string]*string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, checkType(field, v, "object")
	}
	out := map[string]*string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		if !keyRE.MatchString(k) {
			return nil, fieldError(field, v, "Additional properties are not allowed (%s was unexpected)", pyRepr(k))
		}
		if val == nil && allowNull {
			out[k] = nil
			continue
		}
		s, isStr := val.(string)
		if !isStr {
			types := "'string'"
			if allowNull {
				types = "'string', 'null'"
			}
			return nil, fieldError(k, val, "%s is not of type %s", pyRepr(val), types)
		}
		if len([]rune(s)) > 255 {
			return nil, fieldError(k, val, "%s is too long", pyRepr(val))
		}
		out[k] = &s
	}
	return out, nil
}

func plainMap(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// boolParam is Cinder's boolean schema: true/false or one of oslo's
// strings (strutils.bool_from_string(strict=True)).
func boolParam(field string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "on", "yes", "y", "t":
			return true, nil
		case "false", "0", "off", "no", "n", "f":
			return false, nil
		}
		return false, fieldError(field, v, "%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']", pyRepr(v))
	}
	return false, checkType(field, v, "boolean", "string")
}

// boolQuery parses a query-string boolean as utils.get_bool_param does
// (anything unrecognised is a 400).
func boolQuery(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "on", "yes", "y", "t":
		return true, nil
	case "false", "0", "off", "no", "n", "f", "":
		return false, nil
	}
	return false, core.BadRequest("Invalid value '%s' for %s: Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v, name, v)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// optUUID is parameter_types.optional_uuid: null or a UUID string.
func optUUID(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr || !uuidRE.MatchString(s) {
		return "", fieldError(key, v, "%s is not valid under any of the given schemas", pyRepr(v))
	}
	return s, nil
}

// sizeParam is parameter_types.volume_size: an integer, or a string of
// digits, at least 1.
func sizeParam(field string, v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return 0, checkType(field, v, "integer", "string")
		}
		if x < 1 {
			return 0, fieldError(field, v, "%s is less than the minimum of 1", pyRepr(v))
		}
		if x > math.MaxInt32 {
			return 0, fieldError(field, v, "%s is greater than the maximum of %d", pyRepr(v), math.MaxInt32)
		}
		return int(x), nil
	case string:
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(x) {
			return 0, fieldError(field, v, "%s does not match '^[0-9]+$'", pyRepr(v))
		}
		n, err := strconv.Atoi(x)
		if err != nil || n > math.MaxInt32 {
			return 0, fieldError(field, v, "%s is greater than the maximum of %d", x, math.MaxInt32)
		}
		if n < 1 {
			return 0, fieldError(field, v, "%s is less than the minimum of 1", x)
		}
		return n, nil
	}
	return 0, checkType(field, v, "integer", "string")
}

// parseDictQuery reads a filter given as a Python dict literal
// (?metadata={'k': 'v'}), as ast.literal_eval would; JSON works too.
func parseDictQuery(s string) (map[string]string, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		conv := strings.ReplaceAll(s, "'", `"`)
		if err := json.Unmarshal([]byte(conv), &m); err != nil {
			return nil, false
		}
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = pyStr(v)
	}
	return out, true
}
