package magnum

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckAttrs(t *testing.T) {
	for _, tc := range []struct {
		body map[string]any
		want string // "" = accepted
	}{
		{map[string]any{"coe": "kubernetes", "image_id": "fcos"}, ""},
		{map[string]any{"coe": "kubernetes", "image_id": "fcos", "keypair_id": nil, "public": "yes", "apiserver_port": "6443"}, ""},
		{map[string]any{"coe": "kubernetes"}, "Invalid input for field/attribute image_id. Value: 'None'. Mandatory field missing."},
		{map[string]any{"coe": "k8s", "image_id": "x"}, "Value should be one of: kubernetes, swarm, mesos, dcos, swarm-mode"},
		{map[string]any{"coe": "kubernetes", "image_id": ""}, "Value should have a minimum character requirement of 1"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "apiserver_port": 70000.0}, "Value should be lower or equal to 65535"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "tls_disabled": "maybe"}, "Unrecognized value 'maybe'"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "labels": []any{"a"}}, "Expected '<class 'dict'>'"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "zz": 1.0, "aa": 2.0}, "Unknown attribute for argument cluster_template: aa, zz"},
		{map[string]any{"coe": "kubernetes", "image_id": "x", "uuid": "nope"}, "Expected a UUID but received nope."},
	} {
		_, err := checkAttrs(tc.body, "cluster_template", templateAttrs)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.body, got, tc.want)
		}
	}
	if _, err := checkAttrs(map[string]any{"cluster_template_id": "t", "name": "1abc"}, "cluster", clusterAttrs); err == nil ||
		!strings.Contains(err.Error(), "Value should match the pattern ^[a-zA-Z][a-zA-Z0-9_.-]*$") {
		t.Errorf("cluster name starting with a digit: %v", err)
	}
}

func TestApplyPatch(t *testing.T) {
	doc := func() map[string]any {
		return map[string]any{"name": "t", "flavor_id": nil, "labels": map[string]any{"a": "1"}, "docker_volume_size": 3.0}
	}
	for _, tc := range []struct {
		ops  []patchOp
		want string // the document after, or the error
	}{
		{[]patchOp{{Op: "replace", Path: "/name", Value: "u", Has: true}}, "map[docker_volume_size:3 flavor_id:<nil> labels:map[a:1] name:u]"},
		{[]patchOp{{Op: "add", Path: "/flavor_id", Value: "m1.small", Has: true}}, "map[docker_volume_size:3 flavor_id:m1.small labels:map[a:1] name:t]"},
		{[]patchOp{{Op: "add", Path: "/name", Value: "u", Has: true}}, "The attribute /name has existed, please use 'replace' operation instead."},
		{[]patchOp{{Op: "add", Path: "/bogus", Value: "u", Has: true}}, "Adding a new attribute /bogus to the root of the resource is not allowed."},
		{[]patchOp{{Op: "add", Path: "/labels/b", Value: "2", Has: true}}, "map[docker_volume_size:3 flavor_id:<nil> labels:map[a:1 b:2] name:t]"},
		{[]patchOp{{Op: "replace", Path: "/labels", Value: "{'x': 'y'}", Has: true}}, "map[docker_volume_size:3 flavor_id:<nil> labels:map[x:y] name:t]"},
		{[]patchOp{{Op: "remove", Path: "/docker_volume_size"}}, "map[docker_volume_size:<nil> flavor_id:<nil> labels:map[a:1] name:t]"},
		{[]patchOp{{Op: "remove", Path: "/labels/zz"}}, "Couldn't apply patch"},
	} {
		d := doc()
		got := fmt.Sprint(d)
		if err := applyPatch(d, tc.ops); err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprint(d)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: %s, want %s", tc.ops, got, tc.want)
		}
	}
}

func TestLabelsDiff(t *testing.T) {
	o, a, s := labelsDiff(map[string]any{"a": "1", "b": "2"}, map[string]any{"a": "9", "c": "3"})
	if fmt.Sprint(o, a, s) != "map[a:1] map[c:3] map[b:2]" {
		t.Errorf("overridden, added, skipped = %v %v %v", o, a, s)
	}
}
