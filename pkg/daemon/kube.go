package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/auth"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/none"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// cluster connects to the Kubernetes API once, for whichever component
// needs it: the runtime, bearer authentication, registries that read
// image streams or credentials Secrets.
type cluster struct {
	where config.OpenShift
	once  sync.Once
	rc    *rest.Config
	cs    kubernetes.Interface
	err   error
}

func (c *cluster) client() (*rest.Config, kubernetes.Interface, error) {
	c.once.Do(func() {
		if c.rc, c.err = kubeConfig(c.where); c.err != nil {
			return
		}
		if c.cs, c.err = kubernetes.NewForConfig(c.rc); c.err != nil {
			c.err = fmt.Errorf("kubernetes client: %w", c.err)
		}
	})
	return c.rc, c.cs, c.err
}

// newRuntime selects the runtime named by broker.runtime. It also says
// which kind of cluster bundles run on (the "cluster" extra var).
func newRuntime(ctx context.Context, s *settings, kc *cluster, st *store.Store, log *slog.Logger) (runtime.Runtime, string, error) {
	switch s.runtime {
	case "none":
		log.Warn("broker.runtime is none: every operation will fail until a runtime is configured")
		return none.Runtime{Reason: "broker.runtime is \"none\"; set it to kubernetes"}, "kubernetes", nil
	case "kubernetes", "":
		rc, cs, err := kc.client()
		if err != nil {
			return nil, "", &ConfigError{fmt.Errorf("broker.runtime kubernetes needs a cluster: %w", err)}
		}
		id, err := st.BrokerID(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("reading the broker id: %w", err)
		}
		rcfg := s.kube
		rcfg.BrokerID = id
		rcfg.Exec = kuberuntime.NewExecutor(rc, cs)
		rcfg.Cluster = clusterKind(cs, log)
		rt, err := kuberuntime.New(rcfg, cs, log)
		if err != nil {
			return nil, "", &ConfigError{err}
		}
		log.Info("kubernetes runtime", "api", rc.Host, "cluster", rcfg.Cluster, "broker_id", id,
			"sandbox_role", rcfg.SandboxRole, "namespace", rcfg.BrokerNamespace, "as", whoami(ctx, cs))
		return rt, rcfg.Cluster, nil
	case "docker":
		rt, err := newDockerRuntime(ctx, s, st, log)
		return rt, "kubernetes", err
	}
	return nil, "", &ConfigError{fmt.Errorf("broker.runtime: unknown runtime %q (want kubernetes, docker or none)", s.runtime)}
}

// whoami is the user the broker acts as in the cluster (a
// SelfSubjectReview, which every authenticated user may make), for the
// log: operators see which service account needs deploy/base/rbac.yaml.
func whoami(ctx context.Context, cs kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return r.Status.UserInfo.Username
}

// clusterKind tells OpenShift from Kubernetes by the API groups served,
// as bundles branch on the "cluster" extra var.
func clusterKind(cs kubernetes.Interface, log *slog.Logger) string {
	groups, err := cs.Discovery().ServerGroups()
	if err != nil {
		log.Warn("cannot read the cluster's API groups; telling bundles the cluster is kubernetes", "err", err)
		return "kubernetes"
	}
	for _, g := range groups.Groups {
		if g.Name == "project.openshift.io" {
			return "openshift"
		}
	}
	return "kubernetes"
}

// Client-side rate limits of the broker's API client. client-go's
// defaults (5/s, bursts of 10) throttle a broker running 32 actions at
// once by seconds per call; these stay well inside an API server's
// priority-and-fairness share for one service account.
const (
	kubeQPS   = 50
	kubeBurst = 100
)

// kubeConfig finds the cluster: openshift.host (with ca_file and
// bearer_token_file) when set, else in-cluster, else $KUBECONFIG or
// ~/.kube/config, as bundle-lib did. asbd documented the host keys but
// never read them; an operator who set them means them.
func kubeConfig(o config.OpenShift) (*rest.Config, error) {
	rc, err := findCluster(o)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = kubeQPS, kubeBurst
	return rc, nil
}

func findCluster(o config.OpenShift) (*rest.Config, error) {
	if o.Host != "" {
		for key, f := range map[string]string{"openshift.ca_file": o.CAFile, "openshift.bearer_token_file": o.BearerTokenFile} {
			if f == "" {
				continue
			}
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
		return &rest.Config{
			Host: o.Host, BearerTokenFile: o.BearerTokenFile,
			TLSClientConfig: rest.TLSClientConfig{CAFile: o.CAFile},
			Timeout:         30 * time.Second,
		}, nil
	}
	if c, err := rest.InClusterConfig(); err == nil {
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || clientcmd.IsEmptyConfig(err) {
			err = errors.New("no openshift.host, no in-cluster config and no kubeconfig ($KUBECONFIG or ~/.kube/config)")
		}
		return nil, err
	}
	return c, nil
}

// newUsers is asbd's check of the platform user behind each request
// (broker.auto_escalate false, its default): a SubjectAccessReview in the
// cluster, which it therefore needs.
func newUsers(s *settings, kc *cluster, log *slog.Logger) (broker.Users, error) {
	if s.broker.autoEscalate {
		log.Info("broker.auto_escalate is true: platform users' rights in the target namespace are not checked")
		return nil, nil
	}
	_, cs, err := kc.client()
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("broker.auto_escalate is false, so each request's platform user (X-Broker-API-Originating-Identity) "+
			"is checked with a SubjectAccessReview, which needs a Kubernetes cluster (or set broker.auto_escalate: true): %w", err)}
	}
	log.Info("platform users are checked in the target namespace", "resource", auth.UserAuthGroup+"/"+s.broker.userAuthRule, "verb", "create")
	return auth.NewUsers(cs, s.broker.userAuthRule, log), nil
}

// secretKeys reads the keys of the Secrets the secrets: rules map (in
// openshift.namespace), whose parameters the catalog hides. Without a
// cluster, nothing is hidden (the bundles' Secrets cannot be mounted
// either, and their actions say so).
func secretKeys(s *settings, kc *cluster, log *slog.Logger) func(context.Context, string) ([]string, error) {
	if len(s.broker.secrets) == 0 {
		return nil
	}
	_, cs, err := kc.client()
	if err != nil {
		log.Warn("secrets: rules need a Kubernetes cluster to read their Secrets; no parameter is hidden", "err", err)
		return nil
	}
	ns := s.namespace
	return func(ctx context.Context, name string) ([]string, error) {
		sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading secret %s/%s: %w", ns, name, err)
		}
		keys := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			keys = append(keys, k)
		}
		return keys, nil
	}
}

// newAuthenticator: basic auth from files when broker.auth enables it,
// otherwise bearer tokens checked by the cluster (TokenReview and
// SubjectAccessReview), as asbd.
func newAuthenticator(s *settings, kc *cluster, log *slog.Logger) (osb.Authenticator, error) {
	if s.http.basicAuth {
		a, err := auth.NewBasicFromFiles(s.http.basicAuthDir)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("basic auth: %w", err)}
		}
		log.Info("basic authentication enabled", "dir", s.http.basicAuthDir)
		return a, nil
	}
	_, cs, err := kc.client()
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("bearer authentication needs a Kubernetes cluster (or enable basic auth in broker.auth): %w", err)}
	}
	log.Info("bearer authentication through the cluster's TokenReview and SubjectAccessReview")
	return auth.NewBearer(cs, log), nil
}
