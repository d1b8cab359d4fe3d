package crd

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// The extra fields and marks of ours.
const (
	// fieldOurs is spec.osb and status.jobs.<token>.osb: the record as this
	// broker keeps it, a JSON string {"rev": <stamp>, "record": {...}}.
	fieldOurs = "osb"
	// annRemoved marks an instance or binding object whose record was
	// deleted while job records remain in it: the object holds the jobs
	// (a deprovision's outcome is polled after the instance is gone), the
	// record reads as not found. It is deleted with its last job record.
	annRemoved = "osb.automationbroker.io/removed"
	// annRevision is a credentials Secret's revision stamp.
	annRevision = "osb.automationbroker.io/revision"
	// labelCredentials marks the Secrets this store wrote; the original's
	// carry bundleAction (apbAction before 2018). A Secret with neither is
	// not a credentials record and is never read or overwritten.
	labelCredentials = "osb.automationbroker.io/credentials"
	// annID keeps the id of a record whose object name is a digest of it
	// (objectName).
	annID = "osb.automationbroker.io/id"
)

// rec is one record in an object: its value in the etcd store's JSON form,
// and its revision stamp.
type rec struct {
	val []byte
	rev int64
}

// ours is the JSON of an extra field.
type ours struct {
	Rev    int64           `json:"rev"`
	Record json.RawMessage `json:"record"`
}

func encodeOurs(r *rec) (string, error) {
	b, err := json.Marshal(ours{Rev: r.rev, Record: r.val})
	return string(b), err
}

func decodeOurs(s string) (*rec, error) {
	var o ours
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return nil, err
	}
	if o.Rev == 0 || len(o.Record) == 0 {
		return nil, fmt.Errorf("no revision or record")
	}
	return &rec{val: o.Record, rev: o.Rev}, nil
}

// fallbackRev is the revision of a record in the original's form, which
// has no stamp: the object's resourceVersion (an etcd revision, so never
// 0), or a constant when the API server's is not a number.
func fallbackRev(obj *unstructured.Unstructured) int64 {
	if n, err := strconv.ParseInt(obj.GetResourceVersion(), 10, 64); err == nil && n > 0 {
		return n
	}
	return 1
}

// Job states: the original's CRD spellings against its etcd ones (which
// store.Job keeps).
var crdStates = map[string]string{
	store.JobNotStarted: "not-started",
	store.JobInProgress: "in-progress",
	store.JobSucceeded:  "succeeded",
	store.JobFailed:     "failed",
}

// CRDState is the CRD spelling of a job state.
func CRDState(s string) string {
	if c, ok := crdStates[s]; ok {
		return c
	}
	return s
}

// JobState is the etcd spelling of a CRD job state.
func JobState(s string) string {
	for k, v := range crdStates {
		if v == s {
			return k
		}
	}
	return s
}

// ---- instances ----

// instanceFields writes the original's fields of an instance.
func instanceFields(obj *unstructured.Unstructured, in *store.ServiceInstance) error {
	params, err := jsonString(in.Parameters)
	if err != nil {
		return err
	}
	specName := ""
	if in.Spec != nil {
		specName = in.Spec.ID
	}
	set(obj, map[string]any{"name": specName}, "spec", "bundle")
	set(obj, map[string]any{"plateform": str(in.Context["platform"]), "namespace": str(in.Context["namespace"])}, "spec", "context")
	set(obj, params, "spec", "parameters")
	set(obj, in.DashboardURL, "spec", "dashboardUrl")
	var bindings []any
	for _, id := range slices.Sorted(maps.Keys(in.BindingIDs)) {
		if in.BindingIDs[id] {
			bindings = append(bindings, map[string]any{"name": id})
		}
	}
	if bindings == nil {
		bindings = []any{}
	}
	set(obj, bindings, "status", "bindings")
	return nil
}

// originalInstance reads an instance the original wrote; spec is its
// bundle's record (nil when gone).
func originalInstance(obj *unstructured.Unstructured, spec *apb.Spec) (*store.ServiceInstance, error) {
	in := &store.ServiceInstance{ID: recordID(obj), Spec: spec, BindingIDs: map[string]bool{}}
	in.Context = map[string]any{
		"platform":  nested(obj, "spec", "context", "plateform"),
		"namespace": nested(obj, "spec", "context", "namespace"),
	}
	if err := fromJSONString(nested(obj, "spec", "parameters"), &in.Parameters); err != nil {
		return nil, fmt.Errorf("bundleinstance %s: spec.parameters: %w", obj.GetName(), err)
	}
	in.DashboardURL = nested(obj, "spec", "dashboardUrl")
	bs, _, _ := unstructured.NestedSlice(obj.Object, "status", "bindings")
	for _, b := range bs {
		if m, ok := b.(map[string]any); ok {
			if n, _ := m["name"].(string); n != "" {
				in.BindingIDs[n] = true
			}
		}
	}
	return in, nil
}

// ---- bindings ----

func bindingFields(obj *unstructured.Unstructured, b *store.BindInstance) error {
	params, err := jsonString(b.Parameters)
	if err != nil {
		return err
	}
	set(obj, map[string]any{"name": b.InstanceID}, "spec", "bundleInstance")
	set(obj, params, "spec", "parameters")
	return nil
}

func originalBinding(obj *unstructured.Unstructured) (*store.BindInstance, error) {
	b := &store.BindInstance{ID: recordID(obj), InstanceID: nested(obj, "spec", "bundleInstance", "name")}
	if err := fromJSONString(nested(obj, "spec", "parameters"), &b.Parameters); err != nil {
		return nil, fmt.Errorf("bundlebinding %s: spec.parameters: %w", obj.GetName(), err)
	}
	// The original's bind job: the oldest in the object's jobs.
	jobs, _, _ := unstructured.NestedMap(obj.Object, "status", "jobs")
	for token, e := range jobs {
		if m, ok := e.(map[string]any); ok && m["method"] == "bind" {
			b.CreateJobKey = store.JobKey(b.ID, token)
		}
	}
	return b, nil
}

// ---- specs ----

// origParam is the original's plan parameter (broker-client-go v1alpha1).
type origParam struct {
	Name                string   `json:"name"`
	Title               string   `json:"title"`
	Type                string   `json:"type"`
	Description         string   `json:"description"`
	Default             string   `json:"default"`
	DeprecatedMaxLength int      `json:"deprecatedMaxLength"`
	MaxLength           int      `json:"maxLength"`
	MinLength           int      `json:"minLength,omitempty"`
	Pattern             string   `json:"pattern,omitempty"`
	MultipleOf          float64  `json:"multipleOf,omitempty"`
	Maximum             *float64 `json:"maximum,omitempty"`
	ExclusiveMaximum    *float64 `json:"exclusiveMaximum,omitempty"`
	Minimum             *float64 `json:"minimum,omitempty"`
	ExclusiveMinimum    *float64 `json:"exclusiveMinimum,omitempty"`
	Enum                []string `json:"enum,omitempty"`
	Required            bool     `json:"required"`
	Updatable           bool     `json:"updatable"`
	DisplayType         string   `json:"displayType,omitempty"`
	DisplayGroup        string   `json:"displayGroup,omitempty"`
}

type origPlan struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	Metadata       string      `json:"metadata"`
	Free           bool        `json:"free"`
	Bindable       bool        `json:"bindable"`
	UpdatesTo      []string    `json:"updates_to,omitempty"`
	Parameters     []origParam `json:"parameters,omitempty"`
	BindParameters []origParam `json:"bindParameters,omitempty"`
}

type origSpec struct {
	Runtime     int        `json:"runtime"`
	Version     string     `json:"version"`
	FQName      string     `json:"fq_name"`
	Image       string     `json:"image"`
	Description string     `json:"description"`
	Tags        []string   `json:"tags,omitempty"`
	Bindable    bool       `json:"bindable"`
	Async       string     `json:"async"`
	Metadata    string     `json:"metadata"`
	Alpha       string     `json:"Alpha"` // no tag in the original
	Plans       []origPlan `json:"plans"`
}

func toOrigParams(ps []apb.Parameter) ([]origParam, error) {
	var out []origParam
	for _, p := range ps {
		def := ""
		if p.Default != nil {
			b, err := json.Marshal(p.Default)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: default: %w", p.Name, err)
			}
			def = string(b)
		}
		out = append(out, origParam{Name: p.Name, Title: p.Title, Type: p.Type, Description: p.Description,
			Default: def, DeprecatedMaxLength: p.DeprecatedMaxLen, MaxLength: p.MaxLength, MinLength: p.MinLength,
			Pattern: p.Pattern, MultipleOf: p.MultipleOf, Maximum: p.Maximum, ExclusiveMaximum: p.ExclusiveMaximum,
			Minimum: p.Minimum, ExclusiveMinimum: p.ExclusiveMinimum, Enum: p.Enum, Required: p.Required,
			Updatable: p.Updatable, DisplayType: p.DisplayType, DisplayGroup: p.DisplayGroup})
	}
	return out, nil
}

func fromOrigParams(ps []origParam) ([]apb.Parameter, error) {
	var out []apb.Parameter
	for _, p := range ps {
		var def any
		if p.Default != "" {
			if err := json.Unmarshal([]byte(p.Default), &def); err != nil {
				return nil, fmt.Errorf("parameter %s: default %q: %w", p.Name, p.Default, err)
			}
		}
		out = append(out, apb.Parameter{Name: p.Name, Title: p.Title, Type: p.Type, Description: p.Description,
			Default: def, DeprecatedMaxLen: p.DeprecatedMaxLength, MaxLength: p.MaxLength, MinLength: p.MinLength,
			Pattern: p.Pattern, MultipleOf: p.MultipleOf, Maximum: p.Maximum, ExclusiveMaximum: p.ExclusiveMaximum,
			Minimum: p.Minimum, ExclusiveMinimum: p.ExclusiveMinimum, Enum: p.Enum, Required: p.Required,
			Updatable: p.Updatable, DisplayType: p.DisplayType, DisplayGroup: p.DisplayGroup})
	}
	return out, nil
}

func specFields(obj *unstructured.Unstructured, sp *apb.Spec) error {
	o := origSpec{Runtime: sp.Runtime, Version: sp.Version, FQName: sp.FQName, Image: sp.Image,
		Description: sp.Description, Tags: sp.Tags, Bindable: sp.Bindable, Async: sp.Async}
	var err error
	if o.Metadata, err = jsonString(sp.Metadata); err != nil {
		return err
	}
	if o.Alpha, err = jsonString(sp.Alpha); err != nil {
		return err
	}
	for _, p := range sp.Plans {
		op := origPlan{ID: p.ID, Name: p.Name, Description: p.Description, Free: p.Free, Bindable: p.Bindable, UpdatesTo: p.UpdatesTo}
		if op.Metadata, err = jsonString(p.Metadata); err != nil {
			return err
		}
		if op.Parameters, err = toOrigParams(p.Parameters); err != nil {
			return err
		}
		if op.BindParameters, err = toOrigParams(p.BindParameters); err != nil {
			return err
		}
		o.Plans = append(o.Plans, op)
	}
	m, err := toMap(o)
	if err != nil {
		return err
	}
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	for k, v := range m {
		spec[k] = v
	}
	return unstructured.SetNestedMap(obj.Object, spec, "spec")
}

// OriginalSpec reads a bundle the original wrote.
func originalSpec(obj *unstructured.Unstructured) (*apb.Spec, error) {
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	var o origSpec
	if err := fromMap(spec, &o); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", obj.GetName(), err)
	}
	sp := &apb.Spec{ID: recordID(obj), Runtime: o.Runtime, Version: o.Version, FQName: o.FQName, Image: o.Image,
		Description: o.Description, Tags: o.Tags, Bindable: o.Bindable, Async: o.Async}
	if err := fromJSONString(o.Metadata, &sp.Metadata); err != nil {
		return nil, fmt.Errorf("bundle %s: spec.metadata: %w", obj.GetName(), err)
	}
	if err := fromJSONString(o.Alpha, &sp.Alpha); err != nil {
		return nil, fmt.Errorf("bundle %s: spec.Alpha: %w", obj.GetName(), err)
	}
	if d, ok := spec["delete"].(bool); ok {
		sp.Delete = d
	}
	for _, p := range o.Plans {
		pl := apb.Plan{ID: p.ID, Name: p.Name, Description: p.Description, Free: p.Free, Bindable: p.Bindable, UpdatesTo: p.UpdatesTo}
		if err := fromJSONString(p.Metadata, &pl.Metadata); err != nil {
			return nil, fmt.Errorf("bundle %s: plan %s: metadata: %w", obj.GetName(), p.Name, err)
		}
		var err error
		if pl.Parameters, err = fromOrigParams(p.Parameters); err != nil {
			return nil, fmt.Errorf("bundle %s: plan %s: %w", obj.GetName(), p.Name, err)
		}
		if pl.BindParameters, err = fromOrigParams(p.BindParameters); err != nil {
			return nil, fmt.Errorf("bundle %s: plan %s: %w", obj.GetName(), p.Name, err)
		}
		if pl.Parameters == nil {
			pl.Parameters = []apb.Parameter{}
		}
		sp.Plans = append(sp.Plans, pl)
	}
	return sp, nil
}

// ---- jobs ----

// jobEntry renders a job as the original's status.jobs entry plus ours.
func jobEntry(r *rec) (map[string]any, error) {
	var j store.Job
	if err := json.Unmarshal(r.val, &j); err != nil {
		return nil, err
	}
	o, err := encodeOurs(r)
	if err != nil {
		return nil, err
	}
	e := map[string]any{
		"podname": j.Podname, "state": CRDState(j.State), "method": j.Method, fieldOurs: o,
	}
	if j.Description != "" {
		e["description"] = j.Description
	}
	if j.Error != "" {
		e["error"] = j.Error
	}
	t := j.UpdatedAt
	if t.IsZero() {
		t = time.Now()
	}
	e["lastModifiedTime"] = t.UTC().Format(time.RFC3339)
	return e, nil
}

// originalJob reads a status.jobs entry the original wrote.
func originalJob(token string, e map[string]any, resourceID string) ([]byte, error) {
	j := store.Job{Token: token, State: JobState(str(e["state"])), Podname: str(e["podname"]),
		Method: str(e["method"]), Description: str(e["description"]), Error: str(e["error"])}
	if t, err := time.Parse(time.RFC3339, str(e["lastModifiedTime"])); err == nil {
		j.CreatedAt, j.UpdatedAt = t, t
	}
	j.FillIDs(resourceID)
	return json.Marshal(&j)
}

// ---- helpers ----

func set(obj *unstructured.Unstructured, v any, fields ...string) {
	_ = unstructured.SetNestedField(obj.Object, v, fields...)
}

func nested(obj *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj.Object, fields...)
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// jsonString is v as the original stored free-form maps: a JSON string.
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func fromJSONString(s string, v any) error {
	if s == "" || s == "null" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// toMap converts v to the JSON-compatible map unstructured content needs
// (float64 numbers made int64 where whole, as the API server returns them).
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(append(append([]byte(`{"apiVersion":"v1","kind":"X","spec":`), b...), '}')); err != nil {
		return nil, err
	}
	m, _, _ := unstructured.NestedMap(u.Object, "spec")
	return m, nil
}

func fromMap(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
