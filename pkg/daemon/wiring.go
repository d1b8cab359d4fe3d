package daemon

import (
	"context"
	"errors"
	"fmt"
	corev1 "k8s.io/api/core/v1"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/auth"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/none"
)

// newRuntime selects the runtime named by broker.runtime.
func newRuntime(ctx context.Context, cfg *config.Config, log *slog.Logger) (runtime.Runtime, error) {
	switch cfg.Broker.Runtime {
	case "none":
		log.Warn("broker.runtime is none: every operation will fail until a runtime is configured")
		return none.Runtime{Reason: "broker.runtime is \"none\"; set it to kubernetes"}, nil
	case "kubernetes", "":
		rc, err := kubeConfig()
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("broker.runtime kubernetes needs a cluster (in-cluster config or a kubeconfig): %w", err)}
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		var rules []kuberuntime.SecretRule
		for _, r := range cfg.Secrets {
			rules = append(rules, kuberuntime.SecretRule{APBName: r.APBName, Secret: r.Secret})
		}
		rt, err := kuberuntime.New(kuberuntime.Config{
			SandboxRole: cfg.OpenShift.SandboxRole, ImagePullPolicy: corev1.PullPolicy(cfg.OpenShift.ImagePullPolicy),
			KeepNamespace: cfg.OpenShift.KeepNamespace, KeepNamespaceOnError: cfg.OpenShift.KeepNamespaceOnError,
			BrokerNamespace: cfg.OpenShift.Namespace, Cluster: clusterName(cfg), SecretRules: rules,
			HTTPProxy: os.Getenv("HTTP_PROXY"), HTTPSProxy: os.Getenv("HTTPS_PROXY"), NoProxy: os.Getenv("NO_PROXY"),
		}, cs, log)
		if err != nil {
			return nil, &ConfigError{err}
		}
		return rt, nil
	case "docker":
		log.Warn("the Docker runtime is not built into this broker yet: operations will fail")
		return none.Runtime{Reason: "the docker runtime is not available in this build"}, nil
	}
	return nil, &ConfigError{fmt.Errorf("broker.runtime: unknown runtime %q (want kubernetes, docker or none)", cfg.Broker.Runtime)}
}

// kubeConfig finds the cluster: in-cluster first, then $KUBECONFIG or
// ~/.kube/config, as bundle-lib did.
func kubeConfig() (*rest.Config, error) {
	if c, err := rest.InClusterConfig(); err == nil {
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no in-cluster config and no kubeconfig: %w", err)
	}
	return c, nil
}

// newAuthenticator: basic auth from files when broker.auth enables it,
// otherwise bearer tokens checked by the cluster (TokenReview and
// SubjectAccessReview), as asbd.
func newAuthenticator(cfg *config.Config, log *slog.Logger) (osb.Authenticator, error) {
	if cfg.Broker.BasicAuthEnabled() {
		a, err := auth.NewBasicFromFiles(cfg.Broker.BasicAuthDir)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("basic auth: %w", err)}
		}
		log.Info("basic authentication enabled", "dir", cfg.Broker.BasicAuthDir)
		return a, nil
	}
	rc, err := kubeConfig()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = errors.New("no kubeconfig found")
		}
		return nil, &ConfigError{fmt.Errorf("bearer authentication needs a Kubernetes cluster (or enable basic auth in broker.auth): %w", err)}
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	log.Info("bearer authentication through the cluster's TokenReview and SubjectAccessReview")
	return auth.NewBearer(cs, log), nil
}
