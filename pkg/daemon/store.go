package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/crd"
)

// stateStore is what the daemon needs of a store: the broker's, and the
// maintenance's (a no-op for the CRD store, whose etcd is the cluster's).
type stateStore interface {
	store.Backend
	compactor
}

// openStore opens the store dao.type names: etcd (embedded, or the
// external cluster of dao.etcd_host), or crd, the Automation Broker's
// custom resources in openshift.namespace.
func openStore(ctx context.Context, s *settings, kc *cluster, log *slog.Logger) (stateStore, error) {
	if s.dao == "crd" {
		rc, _, err := kc.client()
		if err != nil {
			return nil, fmt.Errorf("dao.type crd: %w", err)
		}
		st, err := crd.Open(ctx, crd.Config{Rest: rc, Namespace: s.namespace}, log)
		if err != nil {
			return nil, fmt.Errorf("dao.type crd: %w", err)
		}
		log.Info("using the CRD store", "namespace", s.namespace)
		return st, nil
	}
	st, err := store.Open(ctx, s.store, log)
	if err != nil {
		return nil, err
	}
	if len(s.store.Endpoints) > 0 {
		log.Info("using etcd", "endpoint", s.store.Endpoints[0])
	}
	return st, nil
}
