package broker

import (
	"context"
	"net/http"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// Users decides whether the platform user a request comes from (its
// originating identity) may act in a namespace: the Automation Broker's
// check when broker.auto_escalate is false (a SubjectAccessReview for
// create on automationbroker.io/<user_auth_rule> in that namespace).
type Users interface {
	// MayAct reports whether the user may act in namespace. removing says
	// the action removes something (deprovision, unbind), which is allowed
	// in a namespace that is being deleted or is gone: nobody could be
	// granted anything there any more, and the platform cleans up. An
	// error means the authority could not be asked.
	MayAct(ctx context.Context, user *osbapi.OriginatingIdentity, namespace string, removing bool) (bool, error)
}

// authorizeUser applies Options.Users (nil: auto_escalate, nothing to
// check) to a request acting in namespace. The statuses and words are
// asbd's: 400 without a usable identity, 403 when refused.
func (b *Broker) authorizeUser(ctx context.Context, ri osbapi.RequestInfo, namespace string, removing bool) error {
	if b.o.Users == nil {
		return nil
	}
	oi := ri.OriginatingIdentity
	if oi == nil || oi.Username() == "" {
		return &osbapi.Error{Status: http.StatusBadRequest,
			Description: "Invalid user info from originating origin header. The broker checks the platform user's rights " +
				"(broker.auto_escalate is false), so requests need an X-Broker-API-Originating-Identity naming a user"}
	}
	ok, err := b.o.Users.MayAct(ctx, oi, namespace, removing)
	if err != nil {
		b.log.Warn("cannot check the platform user's rights", "user", oi.Username(), "namespace", namespace, "err", err)
		return osbapi.Unavailable("Unable to connect to the cluster to check the user's rights; retry later")
	}
	if !ok {
		b.log.Info("request refused: the platform user may not act in the namespace", "user", oi.Username(), "namespace", namespace)
		return &osbapi.Error{Status: http.StatusForbidden, Description: "User does not have sufficient permissions"}
	}
	return nil
}
