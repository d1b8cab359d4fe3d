package crd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

func TestObjectName(t *testing.T) {
	cases := []struct {
		id, want string
	}{
		{"5c8b6e1a-7f0c-4c7e-9d6e-2b1a3f4e5d60", "5c8b6e1a-7f0c-4c7e-9d6e-2b1a3f4e5d60"},
		{"6f418d63aefb3f622d58117b2cbba90c", "6f418d63aefb3f622d58117b2cbba90c"},
		{"Upper-Case", "osb-"},
		{"with space", "osb-"},
		{"a/b", "osb-"},
		{strings.Repeat("a", 254), "osb-"},
	}
	seen := map[string]string{}
	for _, c := range cases {
		got := objectName(c.id)
		if !strings.HasPrefix(got, c.want) || (c.want == "osb-" && len(got) != 44) {
			t.Errorf("objectName(%q) = %q, want %q...", c.id, got, c.want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share the name %s", c.id, other, got)
		}
		seen[got] = c.id
	}
}

func TestStateSpellings(t *testing.T) {
	for etcd, crd := range map[string]string{store.JobNotStarted: "not-started", store.JobInProgress: "in-progress",
		store.JobSucceeded: "succeeded", store.JobFailed: "failed"} {
		if CRDState(etcd) != crd || JobState(crd) != etcd {
			t.Errorf("%q <-> %q: got %q, %q", etcd, crd, CRDState(etcd), JobState(crd))
		}
	}
}

// TestSpecFields: a spec written in the original's bundle fields reads back
// the same from them alone (what an Automation Broker reads of ours).
func TestSpecFields(t *testing.T) {
	max, min := 10.0, 1.0
	sp := &apb.Spec{ID: "6f418d63aefb3f622d58117b2cbba90c", Runtime: 2, Version: "1.0", FQName: "dh-sns-apb", Image: "docker.io/x/sns-apb:latest",
		Tags: []string{"a"}, Bindable: true, Description: "d", Metadata: map[string]any{"displayName": "SNS"}, Async: "optional",
		Alpha: map[string]any{"dashboard_redirect": true},
		Plans: []apb.Plan{{ID: "55822a921d2c4858fe6e58f5522429c2", Name: "dev", Description: "p", Metadata: map[string]any{"cost": "0"},
			Free: true, Bindable: true, UpdatesTo: []string{"prod"},
			Parameters: []apb.Parameter{{Name: "n", Title: "N", Type: "int", Default: 3.0, Maximum: &max, Minimum: &min, Required: true, Updatable: true},
				{Name: "s", Type: "enum", Enum: []string{"a", "b"}, Default: "a", DisplayType: "password", DisplayGroup: "g", Pattern: "^a"}},
			BindParameters: []apb.Parameter{{Name: "b", Type: "string", MaxLength: 5}}}}}
	obj := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": sp.ID}}}
	if err := specFields(obj, sp); err != nil {
		t.Fatal(err)
	}
	if md, _, _ := unstructured.NestedString(obj.Object, "spec", "metadata"); md != `{"displayName":"SNS"}` {
		t.Errorf("spec.metadata %q, want a JSON string", md)
	}
	got, err := originalSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(sp)
	b, _ := json.Marshal(got)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
}
