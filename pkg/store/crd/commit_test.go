package crd

import (
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// TestGroupsCredentialsFirst: a commit's credentials Secret is written
// before the objects holding the instance and its job, so that a reader
// who sees the job finished (a deprovision succeeded, a provision done)
// also sees its credentials gone or there. TestCRDStoreBroker read the
// deprovision succeeded and the instance's Secret still present.
func TestGroupsCredentialsFirst(t *testing.T) {
	in := &store.ServiceInstance{ID: "i-1", Revision: 7}
	job := &store.Job{Token: "tok", InstanceID: "i-1", Method: "deprovision", State: store.JobSucceeded}
	cases := []struct {
		name string
		ops  []store.Op
	}{
		{"deprovision", []store.Op{store.DeleteInstance(in), store.PutJob(job), store.DeleteCredentials("i-1")}},
		{"provision", []store.Op{store.PutInstance(in), store.PutJob(job), store.PutCredentials("i-1", map[string]any{"a": "b"})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, err := groups(c.ops, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(gs) != 2 || gs[0].res != secrets || gs[1].res != BundleInstances {
				var got []string
				for _, g := range gs {
					got = append(got, g.res.Resource)
				}
				t.Fatalf("groups in the order %v, want secrets then bundleinstances", got)
			}
		})
	}
}
