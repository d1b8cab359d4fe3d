package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/storetest"
)

// TestSharedSuite runs the suite every store passes on the embedded etcd
// (test/kube runs it on the CRD store).
func TestSharedSuite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.Run(t, s)
}
