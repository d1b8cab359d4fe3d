package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// TestBearerAndUserChecks: with no basic auth the platform's bearer token
// is checked by the real API server (TokenReview, then SubjectAccessReview
// on the URL path), and with auto_escalate false the platform user of each
// changing request needs create on automationbroker.io/access in the
// target namespace (SubjectAccessReview), as asbd did.
func TestBearerAndUserChecks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	unique := "osb-platform-" + brokerNS
	for _, sa := range []string{"platform", "stranger"} {
		if _, err := e.client.CoreV1().ServiceAccounts(brokerNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: unique},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/v2", "/v2/*"}, Verbs: []string{"get", "put", "patch", "delete"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: unique},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: unique},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "platform", Namespace: brokerNS}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.client.RbacV1().ClusterRoleBindings().Delete(context.Background(), unique, metav1.DeleteOptions{})
		_ = e.client.RbacV1().ClusterRoles().Delete(context.Background(), unique, metav1.DeleteOptions{})
	})
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS,
		Broker: map[string]any{"auth": []any{}, "auto_escalate": false, "launch_apb_on_bind": false}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	token, stranger := e.saToken(t, ctx, brokerNS, "platform"), e.saToken(t, ctx, brokerNS, "stranger")
	const user = "bearer-test-user"
	client := func(tok string, withUser bool) *osbclient.Client {
		o := osbclient.Options{URL: b.URL, BearerToken: tok, HTTPClient: &http.Client{Timeout: time.Minute}}
		if withUser {
			v, _ := json.Marshal(map[string]any{"username": user, "groups": []string{"system:authenticated"}})
			o.OriginatingIdentity = "kubernetes " + base64.StdEncoding.EncodeToString(v)
		}
		return osbclient.New(o)
	}
	for _, tc := range []struct {
		what   string
		tok    string
		status int
	}{
		{"no token", "", 401},
		{"a token the cluster does not know", "not-a-token", 401},
		{"a token without the right to /v2/catalog", stranger, 403},
		{"the platform's token", token, 0},
	} {
		_, err := client(tc.tok, false).Catalog(ctx)
		if tc.status == 0 && err != nil || tc.status != 0 && !isStatus(err, tc.status) {
			t.Errorf("catalog with %s: %v, want %d", tc.what, err, tc.status)
		}
	}

	f := newFlow(t, ctx, b, kubetest.FQName, target)
	f.c = client(token, true)
	instance := newID(t)
	req := &osbapi.ProvisionRequest{ServiceID: f.sid, PlanID: f.pid, OrganizationGUID: "o", SpaceGUID: "s", Context: f.octx}
	if _, err := client(token, false).Provision(ctx, instance, req, true); !isStatus(err, 400) {
		t.Errorf("provision without an originating identity: %v, want 400", err)
	}
	if _, err := f.c.Provision(ctx, instance, req, true); !isStatus(err, 403) {
		t.Errorf("provision by a user without access in %s: %v, want 403", target, err)
	}
	if _, err := e.client.RbacV1().Roles(target).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "broker-access"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"automationbroker.io"}, Resources: []string{"access"}, Verbs: []string{"create"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().RoleBindings(target).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "broker-access"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "broker-access"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	succeeded(t, "provision by a user with access", f.provision(instance, nil))
	succeeded(t, "deprovision", f.deprovision(instance))
}
