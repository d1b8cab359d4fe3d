package apb

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// SchemaDraft04 is the $schema of every generated parameter schema.
const SchemaDraft04 = "http://json-schema.org/draft-04/schema"

// ConvertOptions are the broker settings that change the catalog.
type ConvertOptions struct {
	// LaunchAPBOnBind is broker.launch_apb_on_bind.
	LaunchAPBOnBind bool
	// HiddenParams are parameter names left out of every schema, so no
	// one is prompted for them: the broker hides the keys of the Secrets
	// its secrets: rules map to the bundle, as the Automation Broker did,
	// since the mounted Secret gives the playbooks those values.
	HiddenParams map[string]bool
}

// ToService converts a finished spec into its OSB service the way the
// Automation Broker's SpecToService did, plus the OSB fields it did not
// know (maintenance_info from plan metadata). It is the one place specs
// become services. An unknown parameter type is an error, and the caller
// leaves that spec out of the catalog.
func ToService(s *Spec, o ConvertOptions) (osbapi.Service, error) {
	svc := osbapi.Service{
		Name:                 s.FQName,
		ID:                   s.ID,
		Description:          s.Description,
		Tags:                 append([]string(nil), s.Tags...),
		Bindable:             s.Bindable,
		InstancesRetrievable: true,
		// The Automation Broker said bindable && launch_apb_on_bind; bindings
		// are always stored here, so they can always be fetched.
		BindingsRetrievable: true,
		Metadata:            maps.Clone(s.Metadata),
		Plans:               make([]osbapi.Plan, 0, len(s.Plans)),
	}
	var errs []error
	for i := range s.Plans {
		p, err := toPlan(&s.Plans[i], o)
		if err != nil {
			errs = append(errs, fmt.Errorf("plan %q: %w", s.Plans[i].Name, err))
			continue
		}
		if len(p.UpdatesTo) > 0 {
			svc.PlanUpdateable = true
		}
		svc.Plans = append(svc.Plans, p)
	}
	if err := errors.Join(errs...); err != nil {
		return osbapi.Service{}, fmt.Errorf("service %q: %w", s.FQName, err)
	}
	return svc, nil
}

func toPlan(p *Plan, o ConvertOptions) (osbapi.Plan, error) {
	params := visible(p.Parameters, o.HiddenParams)
	bindParams := visible(p.BindParameters, o.HiddenParams)
	updParams := make([]Parameter, 0, len(params))
	for _, prm := range params {
		if prm.Updatable {
			updParams = append(updParams, prm)
		}
	}
	create, errC := parametersSchema(params)
	bind, errB := parametersSchema(bindParams)
	if err := errors.Join(errC, errB); err != nil {
		return osbapi.Plan{}, err
	}
	// Update parameters are a subset of the create ones, which converted.
	update, err := parametersSchema(updParams)
	if err != nil {
		return osbapi.Plan{}, err
	}
	md := make(map[string]any, len(p.Metadata)+1)
	maps.Copy(md, p.Metadata)
	md["schemas"] = map[string]any{
		"service_instance": map[string]any{
			"create": map[string]any{"openshift_form_definition": formDefinition(params)},
			"update": map[string]any{"openshift_form_definition": formDefinition(updParams)},
		},
		"service_binding": map[string]any{
			"create": map[string]any{"openshift_form_definition": formDefinition(bindParams)},
		},
	}
	out := osbapi.Plan{
		ID:          p.ID,
		Name:        p.Name,
		Description: p.Description,
		Metadata:    md,
		UpdatesTo:   append([]string(nil), p.UpdatesTo...),
		Schemas: &osbapi.Schemas{
			ServiceInstance: &osbapi.ServiceInstanceSchema{
				Create: &osbapi.InputParameters{Parameters: create},
				Update: &osbapi.InputParameters{Parameters: update},
			},
			ServiceBinding: &osbapi.ServiceBindingSchema{
				Create: &osbapi.InputParameters{Parameters: bind},
			},
		},
	}
	// The Automation Broker encoded free and bindable with omitempty: false
	// is absent, so a plan inherits the service's bindable.
	if p.Free {
		out.Free = ptr(true)
	}
	if p.Bindable {
		out.Bindable = ptr(true)
	}
	if len(out.UpdatesTo) == 0 {
		out.UpdatesTo = nil
	}
	out.MaintenanceInfo = maintenanceInfo(p.Metadata)
	return out, nil
}

// maintenanceInfo lifts a plan's metadata.maintenance_info (an apb.yml
// plan may declare {version, description}) into the OSB field, so bundle
// authors can drive MaintenanceInfoConflict and upgrades.
func maintenanceInfo(md map[string]any) *osbapi.MaintenanceInfo {
	mi, ok := md["maintenance_info"].(map[string]any)
	if !ok {
		return nil
	}
	v, _ := mi["version"].(string)
	if v == "" {
		return nil
	}
	d, _ := mi["description"].(string)
	return &osbapi.MaintenanceInfo{Version: v, Description: d}
}

func ptr[T any](v T) *T { return &v }

func visible(ps []Parameter, hidden map[string]bool) []Parameter {
	if len(hidden) == 0 {
		return ps
	}
	out := make([]Parameter, 0, len(ps))
	for _, p := range ps {
		if !hidden[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// parametersSchema builds the draft-04 object schema of a parameter list.
// A parameter with form dependencies moves from the top-level properties
// into dependencies[key] (only its first dependency counts, as before).
func parametersSchema(ps []Parameter) (map[string]any, error) {
	propOf := make(map[string]map[string]any, len(ps))
	var errs []error
	for _, p := range ps {
		prop, err := property(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		propOf[p.Name] = prop
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	props := make(map[string]any, len(ps))
	var required []string
	deps := map[string]any{}
	for _, p := range ps {
		prop := propOf[p.Name]
		if len(p.Dependencies) == 0 {
			props[p.Name] = prop
			if p.Required {
				required = append(required, p.Name)
			}
			continue
		}
		d := p.Dependencies[0]
		if key, ok := propOf[d.Key]; ok && key["enum"] != nil {
			addOneOf(deps, d, p.Name, prop)
			continue
		}
		dep, _ := deps[d.Key].(map[string]any)
		if dep == nil {
			dep = map[string]any{"properties": map[string]any{}, "required": []string{}}
			deps[d.Key] = dep
		}
		dep["properties"].(map[string]any)[p.Name] = prop
		dep["required"] = append(dep["required"].([]string), p.Name)
	}
	s := map[string]any{
		"$schema":              SchemaDraft04,
		"type":                 "object",
		"additionalProperties": false,
	}
	if len(props) > 0 {
		s["properties"] = props
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if len(deps) > 0 {
		s["dependencies"] = deps
	}
	return s, nil
}

// addOneOf adds name to the oneOf branch of deps[d.Key] that applies when
// the key parameter equals d.Value, creating the branch if needed.
func addOneOf(deps map[string]any, d Dependency, name string, prop map[string]any) {
	dep, _ := deps[d.Key].(map[string]any)
	if dep == nil {
		dep = map[string]any{"oneOf": []any{}}
		deps[d.Key] = dep
	}
	branches := dep["oneOf"].([]any)
	for _, b := range branches {
		br := b.(map[string]any)
		bp := br["properties"].(map[string]any)
		if enum := bp[d.Key].(map[string]any)["enum"].([]any); len(enum) == 1 && reflect.DeepEqual(enum[0], d.Value) {
			bp[name] = prop
			br["required"] = append(br["required"].([]string), name)
			return
		}
	}
	dep["oneOf"] = append(branches, map[string]any{
		"properties": map[string]any{
			name:  prop,
			d.Key: map[string]any{"enum": []any{d.Value}},
		},
		"required": []string{name},
	})
}

// jsonType maps an apb.yml parameter type to its JSON-schema type.
func jsonType(t string) (string, bool) {
	switch strings.ToLower(t) {
	case "string", "enum":
		return "string", true
	case "int", "integer":
		return "integer", true
	case "number":
		return "number", true
	case "bool", "boolean":
		return "boolean", true
	case "object":
		return "object", true
	case "array":
		return "array", true
	case "nil", "null":
		return "null", true
	}
	return "", false
}

func property(p Parameter) (map[string]any, error) {
	t, ok := jsonType(p.Type)
	if !ok {
		return nil, fmt.Errorf("parameter %q: unknown type %q", p.Name, p.Type)
	}
	prop := map[string]any{"type": t}
	if p.Title != "" {
		prop["title"] = p.Title
	}
	if p.Description != "" {
		prop["description"] = p.Description
	}
	if p.Default != nil {
		prop["default"] = p.Default
	}
	switch t {
	case "object":
		prop["additionalProperties"] = false
	case "array":
		prop["additionalItems"] = false
	case "string":
		if p.DeprecatedMaxLen > 0 {
			prop["maxLength"] = p.DeprecatedMaxLen
		}
		if p.MaxLength > 0 {
			prop["maxLength"] = p.MaxLength
		}
		if p.MinLength > 0 {
			prop["minLength"] = p.MinLength
		}
		// A pattern that does not compile was dropped by the Automation
		// Broker too; keeping it would make every value fail.
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err == nil {
				prop["pattern"] = p.Pattern
			}
		}
	case "number", "integer":
		if p.MultipleOf > 0 {
			prop["multipleOf"] = p.MultipleOf
		}
		if p.Maximum != nil {
			prop["maximum"] = *p.Maximum
		}
		if p.ExclusiveMaximum != nil {
			prop["maximum"] = *p.ExclusiveMaximum
			prop["exclusiveMaximum"] = true
		}
		if p.Minimum != nil {
			prop["minimum"] = *p.Minimum
		}
		if p.ExclusiveMinimum != nil {
			prop["minimum"] = *p.ExclusiveMinimum
			prop["exclusiveMinimum"] = true
		}
	}
	if len(p.Enum) > 0 {
		enum := make([]any, len(p.Enum))
		for i, e := range p.Enum {
			enum[i] = e
		}
		prop["enum"] = enum
	}
	// Form hints ride along as schema extensions for UIs that read only
	// the schema.
	if p.DisplayType != "" {
		prop["display_type"] = p.DisplayType
	}
	if p.DisplayGroup != "" {
		prop["display_group"] = p.DisplayGroup
	}
	if p.Updatable {
		prop["updatable"] = true
	}
	return prop, nil
}

// formDefinition is the OpenShift console's openshift_form_definition:
// names, {key, type} for a display_type, and consecutive parameters of one
// display_group folded into a fieldset.
func formDefinition(ps []Parameter) []any {
	out := make([]any, 0, len(ps))
	var group map[string]any
	for _, p := range ps {
		var item any = p.Name
		if p.DisplayType != "" {
			item = map[string]any{"key": p.Name, "type": p.DisplayType}
		}
		if p.DisplayGroup == "" {
			group = nil
			out = append(out, item)
			continue
		}
		if group != nil && group["title"] == p.DisplayGroup {
			group["items"] = append(group["items"].([]any), item)
			continue
		}
		group = map[string]any{"title": p.DisplayGroup, "type": "fieldset", "items": []any{item}}
		out = append(out, group)
	}
	return out
}
