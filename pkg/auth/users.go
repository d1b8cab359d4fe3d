package auth

import (
	"context"
	"fmt"
	"log/slog"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// UserAuthGroup is the API group of asbd's per-user check: a user may act
// through the broker in a namespace when allowed to create
// automationbroker.io/<rule> there (the rule is broker.user_auth_rule,
// "access" by default). No such resource exists; RBAC grants it like any
// other, e.g. a ClusterRole aggregated to admin and edit.
const UserAuthGroup = "automationbroker.io"

// Users checks platform users the way asbd did when broker.auto_escalate
// was false: a SubjectAccessReview (authorization.k8s.io/v1) for the user,
// uid and groups of the originating identity, verb create on
// automationbroker.io/<rule> in the namespace of the instance. The
// identity's extra fields are not sent, as asbd did not send them.
type Users struct {
	client kubernetes.Interface
	rule   string
	log    *slog.Logger
}

// NewUsers checks users through client; rule is broker.user_auth_rule.
func NewUsers(client kubernetes.Interface, rule string, log *slog.Logger) *Users {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if rule == "" {
		rule = "access"
	}
	return &Users{client: client, rule: rule, log: log}
}

// MayAct implements broker.Users.
func (u *Users) MayAct(ctx context.Context, oi *osbapi.OriginatingIdentity, namespace string, removing bool) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if removing && namespace != "" {
		// asbd skipped the check for a namespace being deleted (and then
		// failed with 500 when it was gone): a platform cleaning up after
		// a deleted project must not be refused.
		ns, err := u.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("reading namespace %s: %w", namespace, err)
		case ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil:
			return true, nil
		}
	}
	var uid string
	var groups []string
	if oi.Value != nil {
		uid, _ = oi.Value["uid"].(string)
		if gs, ok := oi.Value["groups"].([]any); ok {
			for _, g := range gs {
				if s, ok := g.(string); ok {
					groups = append(groups, s)
				}
			}
		}
	}
	sar, err := u.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: oi.Username(), UID: uid, Groups: groups,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Group: UserAuthGroup, Resource: u.rule, Verb: "create", Namespace: namespace,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking the cluster whether %q may create %s/%s in %q (SubjectAccessReview): %w",
			oi.Username(), UserAuthGroup, u.rule, namespace, err)
	}
	allowed := sar.Status.Allowed && !sar.Status.Denied
	if !allowed {
		u.log.Debug("platform user not authorized", "user", oi.Username(), "namespace", namespace,
			"resource", UserAuthGroup+"/"+u.rule, "reason", sar.Status.Reason)
	}
	return allowed, nil
}
