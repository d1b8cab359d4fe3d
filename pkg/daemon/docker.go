package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// engineCheckTimeout bounds the look at the engine when the broker starts.
const engineCheckTimeout = 5 * time.Second

// newDockerRuntime is broker.runtime docker: bundles run as containers on
// the engine of docker.host (or DOCKER_HOST), labelled with the broker id
// kept in the store. An engine that does not answer at start is reported
// but not fatal: actions fail saying so until it does.
func newDockerRuntime(ctx context.Context, s *settings, st *store.Store, log *slog.Logger) (runtime.Runtime, error) {
	c, err := dockerruntime.NewClient(s.dockerHost)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("docker.host: %w", err)}
	}
	id, err := st.BrokerID(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the broker id: %w", err)
	}
	rcfg := s.docker
	rcfg.BrokerID = id
	rt, err := dockerruntime.New(rcfg, c, log)
	if err != nil {
		return nil, &ConfigError{err}
	}
	pctx, cancel := context.WithTimeout(ctx, engineCheckTimeout)
	defer cancel()
	if v, err := c.ServerVersion(pctx, client.ServerVersionOptions{}); err != nil {
		log.Warn("the Docker engine does not answer yet: actions fail until it does", "host", c.DaemonHost(), "err", err)
	} else {
		log.Info("docker runtime", "host", c.DaemonHost(), "engine", v.Version, "api", c.ClientVersion(), "broker_id", id,
			"network", rcfg.Network, "secrets_dir", rcfg.SecretsDir)
	}
	return rt, nil
}
