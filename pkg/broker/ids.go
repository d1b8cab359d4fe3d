package broker

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// MaxIDLength is the longest instance or binding id the broker takes.
const MaxIDLength = 255

// IDRule is the rule instance and binding ids follow, as README.rst
// states it. The OSB spec allows any string and its checkers send ids that
// are not UUIDs, with spaces and non-ASCII text among them (percent-encoded
// in the URL); platforms send UUIDs (the Automation Broker took nothing
// else). Ids are stored escaped, so the rule is not what keeps one id from
// another's records: it refuses, with a reason, what no platform sends
// and what would only bloat every key, record, label and log line it is
// copied into (an id of 300 kB made etcd refuse the request, which the
// platform was told to retry forever), and what cannot be written safely
// in logs and headers (control characters, bytes that are not UTF-8).
const IDRule = "1 to 255 bytes of UTF-8 text without control characters"

// CheckID returns nil when id follows IDRule, or a 400 naming the field,
// what is wrong and the rule.
func CheckID(field, id string) error {
	switch {
	case id == "":
		return osbapi.BadRequest("%s is empty; ids are %s", field, IDRule)
	case len(id) > MaxIDLength:
		return osbapi.BadRequest("%s is %d bytes long; ids are %s", field, len(id), IDRule)
	}
	for i, r := range id {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(id[i:], string(utf8.RuneError)):
			return osbapi.BadRequest("%s holds a byte that is not UTF-8 (0x%02x) at byte %d; ids are %s", field, id[i], i, IDRule)
		case unicode.IsControl(r):
			return osbapi.BadRequest("%s holds the control character %U at byte %d; ids are %s", field, r, i, IDRule)
		}
	}
	return nil
}

// checkIDs checks an instance id and, if given, a binding id.
func checkIDs(instanceID string, bindingID ...string) error {
	if err := CheckID("instance_id", instanceID); err != nil {
		return err
	}
	for _, b := range bindingID {
		if err := CheckID("binding_id", b); err != nil {
			return err
		}
	}
	return nil
}

// validToken reports whether an operation token from a last_operation
// poll can be one the broker made: anything else is treated as absent
// (the latest operation), without reading the store under it.
func validToken(op string) bool { return op != "" && CheckID("operation", op) == nil }
