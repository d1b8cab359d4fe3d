package auth

import (
	"context"
	"errors"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func TestUsersMayAct(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dying"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	)
	var seen []authzv1.SubjectAccessReviewSpec
	down := false
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if down {
			return true, nil, errors.New("connection refused")
		}
		sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview).DeepCopy()
		seen = append(seen, sar.Spec)
		sar.Status.Allowed = sar.Spec.User == "alice" && sar.Spec.ResourceAttributes.Namespace == "live"
		return true, sar, nil
	})
	u := NewUsers(cs, "", nil)
	oi := func(name string) *osbapi.OriginatingIdentity {
		return &osbapi.OriginatingIdentity{Platform: "kubernetes", Value: map[string]any{
			"username": name, "uid": "uid-" + name, "groups": []any{"devs", "system:authenticated"},
			"extra": map[string]any{"scopes.authorization.openshift.io": []any{"user:full"}}}}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		user, ns string
		removing bool
		want     bool
		sar      bool // a SubjectAccessReview was asked
	}{
		{"alice", "live", false, true, true},
		{"bob", "live", false, false, true},
		{"alice", "other", false, false, true},
		{"bob", "live", true, false, true},
		{"bob", "dying", true, true, false}, // removing in a terminating namespace
		{"bob", "gone", true, true, false},  // removing in a namespace that is gone
		{"bob", "dying", false, false, true},
	} {
		n := len(seen)
		got, err := u.MayAct(ctx, oi(tc.user), tc.ns, tc.removing)
		if err != nil || got != tc.want {
			t.Errorf("%s in %s (removing %v): %v, %v; want %v", tc.user, tc.ns, tc.removing, got, err, tc.want)
		}
		if asked := len(seen) > n; asked != tc.sar {
			t.Errorf("%s in %s (removing %v): SubjectAccessReview asked %v, want %v", tc.user, tc.ns, tc.removing, asked, tc.sar)
		}
	}
	s := seen[0]
	ra := s.ResourceAttributes
	if s.User != "alice" || s.UID != "uid-alice" || len(s.Groups) != 2 || s.Extra != nil ||
		ra == nil || ra.Group != "automationbroker.io" || ra.Resource != "access" || ra.Verb != "create" || ra.Namespace != "live" {
		t.Errorf("SubjectAccessReview spec = %+v, resource %+v", s, ra)
	}
	if _, err := NewUsers(cs, "provision", nil).MayAct(ctx, oi("alice"), "live", false); err != nil || seen[len(seen)-1].ResourceAttributes.Resource != "provision" {
		t.Errorf("user_auth_rule provision: resource %q, %v", seen[len(seen)-1].ResourceAttributes.Resource, err)
	}
	down = true
	if _, err := u.MayAct(ctx, oi("alice"), "live", false); err == nil {
		t.Error("an unreachable cluster did not make an error")
	}
}
