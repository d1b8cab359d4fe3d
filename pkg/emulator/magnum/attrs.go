package magnum

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// attr is one attribute of a wsme body type (magnum/api/controllers/v1):
// what wsme checks before Magnum's code runs.
type attr struct {
	name      string
	kind      string // "str", "int", "bool", "enum", "labels", "uuid"
	min, max  int    // string length or integer range (max 0: none)
	pattern   string
	values    []string // enum
	mandatory bool
	readonly  bool
}

var templateAttrs = []attr{
	{name: "uuid", kind: "uuid"},
	{name: "name", kind: "str", min: 1, max: 255},
	{name: "coe", kind: "enum", values: []string{"kubernetes", "swarm", "mesos", "dcos", "swarm-mode"}, mandatory: true},
	{name: "image_id", kind: "str", min: 1, max: 255, mandatory: true},
	{name: "flavor_id", kind: "str", min: 1, max: 255},
	{name: "master_flavor_id", kind: "str", min: 1, max: 255},
	{name: "dns_nameserver", kind: "str", min: 1, max: 255},
	{name: "keypair_id", kind: "str", min: 1, max: 255},
	{name: "external_network_id", kind: "str", min: 1, max: 255},
	{name: "fixed_network", kind: "str", min: 1, max: 255},
	{name: "fixed_subnet", kind: "str", min: 1, max: 255},
	{name: "network_driver", kind: "str", min: 1, max: 255},
	{name: "apiserver_port", kind: "int", min: 1024, max: 65535},
	{name: "docker_volume_size", kind: "int", min: 1},
	{name: "cluster_distro", kind: "str", min: 1, max: 255},
	{name: "links", readonly: true},
	{name: "http_proxy", kind: "str", min: 1, max: 255},
	{name: "https_proxy", kind: "str", min: 1, max: 255},
	{name: "no_proxy", kind: "str", min: 1, max: 255},
	{name: "volume_driver", kind: "str", min: 1, max: 255},
	{name: "registry_enabled", kind: "bool"},
	{name: "labels", kind: "labels"},
	{name: "tls_disabled", kind: "bool"},
	{name: "public", kind: "bool"},
	{name: "server_type", kind: "enum", values: []string{"vm", "bm"}},
	{name: "insecure_registry", kind: "str", min: 1, max: 255},
	{name: "docker_storage_driver", kind: "str", min: 1, max: 255},
	{name: "master_lb_enabled", kind: "bool"},
	{name: "floating_ip_enabled", kind: "bool"},
	{name: "project_id", readonly: true},
	{name: "user_id", readonly: true},
	{name: "hidden", kind: "bool"},
	{name: "tags", kind: "str", min: 0, max: 255},
	{name: "created_at", readonly: true},
	{name: "updated_at", readonly: true},
}

var clusterAttrs = []attr{
	{name: "uuid", kind: "uuid"},
	{name: "name", kind: "str", min: 1, max: 242, pattern: `^[a-zA-Z][a-zA-Z0-9_.-]*$`},
	{name: "cluster_template_id", kind: "str", mandatory: true},
	{name: "keypair", kind: "str", min: 1, max: 255},
	{name: "node_count", kind: "int", min: 0, max: math.MaxInt32},
	{name: "master_count", kind: "int", min: 1, max: math.MaxInt32},
	{name: "docker_volume_size", kind: "int", min: 1},
	{name: "labels", kind: "labels"},
	{name: "master_flavor_id", kind: "str", min: 1, max: 255},
	{name: "flavor_id", kind: "str", min: 1, max: 255},
	{name: "create_timeout", kind: "int", min: 0, max: math.MaxInt32},
	{name: "links", readonly: true},
	{name: "stack_id", readonly: true},
	{name: "status", kind: "enum", values: clusterStatuses},
	{name: "status_reason", kind: "str"},
	{name: "health_status", kind: "enum", values: []string{"HEALTHY", "UNHEALTHY", "UNKNOWN"}},
	{name: "health_status_reason", kind: "labels"},
	{name: "discovery_url", kind: "str"},
	{name: "api_address", readonly: true},
	{name: "coe_version", readonly: true},
	{name: "container_version", readonly: true},
	{name: "project_id", readonly: true},
	{name: "user_id", readonly: true},
	{name: "node_addresses", readonly: true},
	{name: "master_addresses", readonly: true},
	{name: "faults", kind: "labels"},
	{name: "fixed_network", kind: "str", min: 1, max: 255},
	{name: "fixed_subnet", kind: "str", min: 1, max: 255},
	{name: "floating_ip_enabled", kind: "bool"},
	{name: "merge_labels", kind: "bool"},
	{name: "labels_overridden", kind: "labels"},
	{name: "labels_added", kind: "labels"},
	{name: "labels_skipped", kind: "labels"},
	{name: "master_lb_enabled", kind: "bool"},
	{name: "created_at", readonly: true},
	{name: "updated_at", readonly: true},
}

var clusterStatuses = []string{"CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE",
	"UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE",
	"RESUME_COMPLETE", "RESUME_FAILED", "RESTORE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
	"SNAPSHOT_COMPLETE", "CHECK_COMPLETE", "ADOPT_COMPLETE"}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// isUUID is oslo's uuidutils.is_uuid_like (hyphens optional).
func isUUID(s string) bool { return uuidRE.MatchString(s) }

func invalidInput(name string, v any, msg string) *core.APIError {
	return clientError(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: '%s'. %s", name, pyStr(v), msg)
}

// pyStr is Python's str() of a JSON value, as wsme puts it in messages.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// parseBody reads a JSON object body for argument arg ("cluster_template",
// "cluster") as wsme does: 400 for a body that is no object, for an
// unknown attribute, a missing mandatory one or a value of the wrong
// type. It returns the attributes given (read-only ones dropped; null
// means unset), their values normalised to string, int, bool or map.
func parseBody(r *http.Request, arg string, attrs []attr) (map[string]any, error) {
	var raw any
	if err := core.DecodeJSON(r, &raw); err != nil {
		return nil, clientError(http.StatusBadRequest, "Invalid data: %s", strings.TrimPrefix(err.Error(), "400 "))
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, clientError(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: '%s'. Invalid data type", arg, pyStr(raw))
	}
	return checkAttrs(obj, arg, attrs)
}

func checkAttrs(obj map[string]any, arg string, attrs []attr) (map[string]any, error) {
	var unknown []string
	for k := range obj {
		if !slices.ContainsFunc(attrs, func(a attr) bool { return a.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, clientError(http.StatusBadRequest, "Unknown attribute for argument %s: %s", arg, strings.Join(unknown, ", "))
	}
	out := map[string]any{}
	for _, a := range attrs {
		v, given := obj[a.name]
		if a.readonly {
			continue
		}
		if !given || v == nil {
			if a.mandatory {
				return nil, invalidInput(a.name, nil, "Mandatory field missing.")
			}
			continue
		}
		nv, err := a.check(v)
		if err != nil {
			return nil, err
		}
		out[a.name] = nv
	}
	return out, nil
}

func (a attr) check(v any) (any, *core.APIError) {
	switch a.kind {
	case "uuid":
		s, ok := v.(string)
		if !ok || !isUUID(s) {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Expected a UUID but received %s.", pyStr(v)))
		}
		return strings.ToLower(s), nil
	case "str", "enum":
		s, ok := v.(string)
		if !ok {
			if f, isNum := v.(float64); isNum && a.kind == "str" {
				s = pyStr(f)
			} else {
				return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '<class 'str'>', got '%s'", pyType(v)))
			}
		}
		if a.kind == "enum" {
			if !slices.Contains(a.values, s) {
				return nil, invalidInput(a.name, v, "Value should be one of: "+strings.Join(a.values, ", "))
			}
			return s, nil
		}
		n := len([]rune(s))
		if n < a.min {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Value should have a minimum character requirement of %d", a.min))
		}
		if a.max > 0 && n > a.max {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Value should have a maximum character requirement of %d", a.max))
		}
		if a.pattern != "" && !regexp.MustCompile(a.pattern).MatchString(s) {
			return nil, invalidInput(a.name, v, "Value should match the pattern "+a.pattern)
		}
		return s, nil
	case "int":
		var n int
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32*4 {
				return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '<class 'int'>', got '%s'", pyType(v)))
			}
			n = int(x)
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, invalidInput(a.name, v, fmt.Sprintf("invalid literal for int() with base 10: '%s'", x))
			}
			n = i
		default:
			return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '<class 'int'>', got '%s'", pyType(v)))
		}
		if n < a.min {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Value should be greater or equal to %d", a.min))
		}
		if a.max > 0 && n > a.max {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Value should be lower or equal to %d", a.max))
		}
		return n, nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "1", "t", "true", "on", "y", "yes":
				return true, nil
			case "0", "f", "false", "off", "n", "no":
				return false, nil
			}
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
		return nil, invalidInput(a.name, v, fmt.Sprintf("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", pyStr(v)))
	case "list":
		l, ok := v.([]any)
		if !ok {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '<class 'list'>', got '%s'", pyType(v)))
		}
		return l, nil
	case "labels":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '<class 'dict'>', got '%s'", pyType(v)))
		}
		for k, lv := range m {
			switch lv.(type) {
			case string, float64, bool:
			default:
				return nil, invalidInput(a.name, v, fmt.Sprintf("Wrong type. Expected '[<class 'str'>, <class 'int'>, <class 'bool'>, <class 'float'>]', got '%s' for %s", pyType(lv), k))
			}
		}
		return m, nil
	}
	return v, nil
}

func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "<class 'NoneType'>"
	case bool:
		return "<class 'bool'>"
	case string:
		return "<class 'str'>"
	case float64:
		if x == math.Trunc(x) {
			return "<class 'int'>"
		}
		return "<class 'float'>"
	case map[string]any:
		return "<class 'dict'>"
	default:
		return "<class 'list'>"
	}
}

// patchOp is one JSON patch operation (types.JsonPatchType).
type patchOp struct {
	Op    string
	Path  string
	Value any
	Has   bool
}

var patchPathRE = regexp.MustCompile(`^(/[\w-]+)+$`)

// parsePatch reads a JSON patch list and applies JsonPatchType.validate:
// internal attributes cannot change, mandatory ones cannot be removed,
// add and replace need a value.
func parsePatch(r *http.Request, internal, nonRemovable []string) ([]patchOp, error) {
	var raw any
	if err := core.DecodeJSON(r, &raw); err != nil {
		return nil, clientError(http.StatusBadRequest, "Invalid data: %s", strings.TrimPrefix(err.Error(), "400 "))
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, clientError(http.StatusBadRequest, "Invalid input for field/attribute patch. Value: '%s'. Invalid data type", pyStr(raw))
	}
	var ops []patchOp
	for _, it := range list {
		o, ok := it.(map[string]any)
		if !ok {
			return nil, clientError(http.StatusBadRequest, "Invalid input for field/attribute patch. Value: '%s'. Invalid data type", pyStr(it))
		}
		for k := range o {
			if k != "op" && k != "path" && k != "value" {
				return nil, clientError(http.StatusBadRequest, "Unknown attribute for argument patch: %s", k)
			}
		}
		path, _ := o["path"].(string)
		if o["path"] == nil {
			return nil, invalidInput("path", nil, "Mandatory field missing.")
		}
		if !patchPathRE.MatchString(path) {
			return nil, invalidInput("path", o["path"], "Value should match the pattern "+patchPathRE.String())
		}
		op, _ := o["op"].(string)
		if o["op"] == nil {
			return nil, invalidInput("op", nil, "Mandatory field missing.")
		}
		if op != "add" && op != "replace" && op != "remove" {
			return nil, invalidInput("op", o["op"], "Value should be one of: add, replace, remove")
		}
		v, has := o["value"]
		if has && v != nil {
			switch v.(type) {
			case string, float64, bool:
			case map[string]any:
				if path != "/labels" && path != "/health_status_reason" {
					return nil, invalidInput("value", v, "Value should be one of: str, int")
				}
			default:
				return nil, invalidInput("value", v, "Value should be one of: str, int")
			}
		}
		if slices.Contains(internal, path) {
			return nil, clientError(http.StatusBadRequest, "'%s' is an internal attribute and can not be updated", path)
		}
		if op == "remove" && slices.Contains(nonRemovable, path) {
			return nil, clientError(http.StatusBadRequest, "'%s' is a mandatory attribute and can not be removed", path)
		}
		if op != "remove" && (!has || v == nil) {
			return nil, clientError(http.StatusBadRequest, "'add' and 'replace' operations needs value")
		}
		ops = append(ops, patchOp{Op: op, Path: path, Value: v, Has: has && v != nil})
	}
	return ops, nil
}

// applyPatch is magnum.api.utils.apply_jsonpatch on the resource's
// document: no new root attributes, add only where unset, labels given
// as a string are a Python dict literal.
func applyPatch(doc map[string]any, ops []patchOp) error {
	for _, p := range ops {
		parts := strings.Split(strings.TrimPrefix(p.Path, "/"), "/")
		if p.Op == "add" && len(parts) == 1 {
			cur, exists := doc[parts[0]]
			if !exists {
				return clientError(http.StatusBadRequest, "Adding a new attribute %s to the root of the resource is not allowed.", p.Path)
			}
			if cur != nil {
				return clientError(http.StatusBadRequest, "The attribute %s has existed, please use 'replace' operation instead.", p.Path)
			}
		}
		v := p.Value
		if p.Op == "replace" && (p.Path == "/labels" || p.Path == "/health_status_reason") {
			if s, ok := v.(string); ok {
				d, err := pyDict(s)
				if err != nil {
					return clientError(http.StatusBadRequest, "Couldn't apply patch '%s'. Reason: %s", patchRepr(ops), err)
				}
				v = d
			}
		}
		if err := applyOne(doc, parts, p.Op, v); err != nil {
			return clientError(http.StatusBadRequest, "Couldn't apply patch '%s'. Reason: %s", patchRepr(ops), err)
		}
	}
	return nil
}

func applyOne(doc map[string]any, parts []string, op string, v any) error {
	target := doc
	for _, k := range parts[:len(parts)-1] {
		next, ok := target[k].(map[string]any)
		if !ok {
			return fmt.Errorf("member '%s' not found in %s", k, pyStr(target))
		}
		target = next
	}
	last := parts[len(parts)-1]
	_, exists := target[last]
	switch op {
	case "add":
		target[last] = v
	case "replace":
		if !exists {
			return fmt.Errorf("can't replace a non-existent object '%s'", last)
		}
		target[last] = v
	case "remove":
		if !exists {
			return fmt.Errorf("can't remove a non-existent object '%s'", last)
		}
		if len(parts) == 1 {
			target[last] = nil
		} else {
			delete(target, last)
		}
	}
	return nil
}

func patchRepr(ops []patchOp) string {
	var parts []string
	for _, p := range ops {
		s := fmt.Sprintf("{'path': '%s', 'op': '%s'", p.Path, p.Op)
		if p.Has {
			s += fmt.Sprintf(", 'value': '%s'", pyStr(p.Value))
		}
		parts = append(parts, s+"}")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyDict reads the simple Python dict literals clients send for labels
// ({'a': 'b'} or JSON).
func pyDict(s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		return m, nil
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &m); err == nil && m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("malformed node or string: %s", s)
}
