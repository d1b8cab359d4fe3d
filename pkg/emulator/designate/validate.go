package designate

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Designate's field checks (designate/objects/fields.py), whose
// ValueErrors the adapter reports as "Provided object is not valid. Got
// a ValueError error with message ...".

func valueError(format string, args ...any) error {
	return notValid("Provided object is not valid. Got a ValueError error with message %s", fmt.Sprintf(format, args...))
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// labelsOK is RE_ZONENAME (and RE_HOSTNAME with wildcard, a leading
// "*" label): dot-terminated labels of letters, digits, _ and -, not
// starting or ending with -, under 255 characters in all.
func labelsOK(name string, wildcard bool) bool {
	if len(name) >= 255 || !strings.HasSuffix(name, ".") {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, l := range labels {
		if wildcard && i == 0 && l == "*" {
			continue
		}
		if !labelRE.MatchString(l) || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
	}
	return true
}

func longLabel(name string) string {
	for _, l := range strings.Split(name, ".") {
		if len(l) > 63 {
			return l
		}
	}
	return ""
}

// domainField is DomainField.coerce (zone names, CNAME/NS targets).
func domainField(v string) error {
	if len(v) > maxNameLen {
		return valueError("Value too long for name")
	}
	if l := longLabel(v); l != "" {
		return valueError("Host %s is too long", l)
	}
	if !strings.HasSuffix(v, ".") {
		return valueError("Domain %s does not end with a dot", v)
	}
	if !labelsOK(v, false) {
		return valueError("Domain %s is invalid", v)
	}
	return nil
}

// hostField is HostField.coerce (recordset names).
func hostField(v string) error {
	if len(v) > maxNameLen {
		return valueError("Value too long for name")
	}
	if l := longLabel(v); l != "" {
		return valueError("Host %s is too long", l)
	}
	if !strings.HasSuffix(v, ".") {
		return valueError("Host name %s does not end with a dot", v)
	}
	if !labelsOK(v, true) {
		return valueError("Host name %s is invalid", v)
	}
	return nil
}

// srvName is RE_SRV_HOST_NAME: _service._proto.name.
func srvName(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts[:2] {
		if !strings.HasPrefix(p, "_") || !labelRE.MatchString(p) || len(p) < 2 {
			return false
		}
	}
	return labelsOK(parts[2], false)
}

// emailField is EmailField.coerce.
func emailField(v string) error {
	if strings.Count(v, "@") != 1 {
		return valueError("%s is not an email", v)
	}
	if !labelsOK(strings.ReplaceAll(v, "@", ".")+".", false) {
		return valueError("Email %s is invalid", v)
	}
	return nil
}

// stringField is oslo.versionedobjects' String coercion (numbers and
// booleans become strings) with Designate's maxLength.
func stringField(field string, v any, maxLen int) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = "False"
		if x {
			s = "True"
		}
	default:
		return "", notValid("Provided object is not valid. Got a ValueError error with message A string is required in field %s, not a %s", field, pyType(v))
	}
	if maxLen > 0 && len(s) > maxLen {
		return "", valueError("Value too long for %s", field)
	}
	return s, nil
}

// intField is IntegerFields.coerce: Python's int() of the value, then
// the range.
func intField(field string, v any, min, max int64) (int64, error) {
	var n int64
	switch x := v.(type) {
	case float64:
		n = int64(x)
	case bool:
		if x {
			n = 1
		}
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, valueError("invalid literal for int() with base 10: '%s'", x)
		}
		n = p
	default:
		return 0, notValid("Provided object is not valid. Got a TypeError with message int() argument must be a string, a bytes-like object or a real number, not '%s'", pyType(v))
	}
	if n < min {
		return 0, valueError("Value must be >= %d for field %s", min, field)
	}
	if max > 0 && n > max {
		return 0, valueError("Value too high for %s", field)
	}
	return n, nil
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case string:
		return "str"
	case bool:
		return "bool"
	case float64:
		return "float"
	}
	return "object"
}

// recordTypes are supported_record_type's default.
var recordTypes = []string{"A", "AAAA", "CNAME", "MX", "SRV", "TXT", "SPF", "NS", "PTR", "SSHFP", "SOA", "NAPTR", "CAA", "CERT"}

// checkRecord is the record class's from_string for one record's data.
func checkRecord(typ, data string) bool {
	switch typ {
	case "A":
		ip := net.ParseIP(data)
		return ip != nil && ip.To4() != nil && strings.Count(data, ".") == 3
	case "AAAA":
		ip := net.ParseIP(data)
		return ip != nil && strings.Contains(data, ":")
	case "CNAME", "NS", "PTR":
		return domainField(data) == nil
	case "MX":
		parts := strings.Split(data, " ")
		if len(parts) != 2 {
			return false
		}
		n, err := strconv.Atoi(parts[0])
		return err == nil && strconv.Itoa(n) == parts[0] && n >= 0 && n <= 65535 &&
			strings.HasSuffix(parts[1], ".") && len(parts[1]) <= 255
	case "SRV":
		parts := strings.Split(data, " ")
		if len(parts) != 4 {
			return false
		}
		for _, p := range parts[:3] {
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
				return false
			}
		}
		return domainField(parts[3]) == nil
	case "TXT":
		return txtOK(data)
	case "SPF":
		return !strings.HasSuffix(data, `\`)
	case "SSHFP":
		parts := strings.Split(data, " ")
		if len(parts) != 3 {
			return false
		}
		for _, p := range parts[:2] {
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 {
				return false
			}
		}
		return regexp.MustCompile(`^([0-9A-Fa-f]{10,40}|[0-9A-Fa-f]{64})$`).MatchString(parts[2])
	case "CAA":
		parts := strings.SplitN(data, " ", 3)
		if len(parts) != 3 {
			return false
		}
		if n, err := strconv.Atoi(parts[0]); err != nil || n < 0 || n > 255 {
			return false
		}
		return parts[1] == "issue" || parts[1] == "issuewild" || parts[1] == "iodef"
	case "NAPTR":
		return len(strings.Split(data, " ")) == 6
	case "CERT":
		return len(strings.Split(data, " ")) == 4
	case "SOA":
		parts := strings.Split(data, " ")
		return len(parts) == 7
	}
	return false
}

// txtOK is TXT.from_string's rules: strings of at most 255 characters,
// spaces only inside double quotes, quotes escaped.
func txtOK(v string) bool {
	if strings.HasSuffix(v, `\`) {
		return false
	}
	one := func(s string) bool {
		if len(s) > 255 {
			return false
		}
		wrapped := strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && len(s) >= 2
		if (strings.HasPrefix(s, `"`) || strings.HasSuffix(s, `"`)) && !wrapped {
			return false
		}
		if !wrapped {
			return !strings.ContainsAny(s, " \t\n\r\f\v")
		}
		inner := strings.Trim(s, `"`)
		for i := 0; i < len(inner); i++ {
			if inner[i] == '"' && (i == 0 || inner[i-1] != '\\') {
				return false
			}
		}
		return true
	}
	if len(v) <= 255 {
		return one(v)
	}
	stripped := strings.Trim(v, `"`)
	if !(strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`)) && !strings.Contains(stripped, `" "`) {
		return false
	}
	for _, part := range strings.Split(stripped, `" "`) {
		if !one(`"` + part + `"`) {
			return false
		}
	}
	return true
}
