package daemon

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/broker"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/registry"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// settings is the config file mapped onto each component's own
// configuration: the one place where the file's keys meet the components.
// Components check their own part; errors name the key and its line.
type settings struct {
	store      store.Config
	registries []registry.Config
	// runtime is broker.runtime: kubernetes, docker or none.
	runtime string
	// kube is the Kubernetes runtime's configuration, less what the
	// cluster says (broker id, executor, cluster kind).
	kube kuberuntime.Config
	// docker is the Docker runtime's configuration, less the broker id;
	// dockerHost is its engine (docker.host; empty: DOCKER_HOST).
	docker     dockerruntime.Config
	dockerHost string
	// cluster is where the Kubernetes API is (openshift.host and friends).
	cluster config.OpenShift
	// namespace is the broker's namespace (registry credentials Secrets).
	namespace string
	broker    brokerSettings
	http      httpSettings
	catalog   catalogSettings
	// compaction paces the maintenance of the store (pruning,
	// compaction); 0: only when etcd is full.
	compaction time.Duration
}

// brokerSettings are the broker's options that come from the file.
type brokerSettings struct {
	// autoEscalate (broker.auto_escalate) acts for any platform user;
	// otherwise each is checked against userAuthRule in the cluster.
	autoEscalate        bool
	userAuthRule        string
	launchAPBOnBind     bool
	dashboardRedirector string
	defaultNamespace    string
	secrets             []broker.SecretRule
	clouds              broker.CloudsRule
	jobRetention        time.Duration
	jobHistory          int
}

// httpSettings are the HTTP server's.
type httpSettings struct {
	listen       string
	plainHTTP    bool
	sslCert      string
	sslKey       string
	basicAuth    bool
	basicAuthDir string
	logRequests  bool
	devBroker    bool
	// readHeaderTimeout and readBodyTimeout cut slow clients off.
	readHeaderTimeout time.Duration
	readBodyTimeout   time.Duration
	// metricsAuth puts /metrics behind the broker's authentication.
	metricsAuth bool
	// prefix is broker.cluster_url's URL prefix, served with the others.
	prefix string
}

// catalogSettings say when the catalog is read from the registries.
type catalogSettings struct {
	onStartup bool
	every     time.Duration
}

// mapConfig maps the file onto the components' configurations. It reads
// nothing and connects to nothing.
func mapConfig(cfg *config.Config) (*settings, error) {
	s := &settings{
		store:     storeConfig(cfg.Dao),
		runtime:   cfg.Broker.Runtime,
		cluster:   cfg.OpenShift,
		namespace: cfg.OpenShift.Namespace,
		broker: brokerSettings{
			autoEscalate:        cfg.Broker.AutoEscalate,
			userAuthRule:        cfg.Broker.UserAuthRule,
			launchAPBOnBind:     cfg.Broker.LaunchAPBOnBind,
			dashboardRedirector: cfg.Broker.DashboardRedirector,
			defaultNamespace:    cfg.Broker.DefaultNamespace,
			jobRetention:        cfg.Dao.JobRetention,
			jobHistory:          cfg.Dao.JobHistory,
		},
		compaction: cfg.Dao.CompactionInterval,
		http: httpSettings{
			listen: cfg.Broker.ListenAddress, plainHTTP: cfg.Broker.PlainHTTP,
			sslCert: cfg.Broker.SSLCert, sslKey: cfg.Broker.SSLCertKey,
			basicAuth: cfg.Broker.BasicAuthEnabled(), basicAuthDir: cfg.Broker.BasicAuthDir,
			logRequests: cfg.Broker.OutputRequest, devBroker: cfg.Broker.DevBroker,
			readHeaderTimeout: cfg.Broker.ReadHeaderTimeout, readBodyTimeout: cfg.Broker.ReadBodyTimeout,
			metricsAuth: cfg.Broker.MetricsAuth,
			prefix:      cfg.Broker.ClusterPrefix(),
		},
		catalog: catalogSettings{onStartup: cfg.Broker.BootstrapOnStartup, every: cfg.Broker.RefreshInterval},
	}
	for _, r := range cfg.Secrets {
		s.broker.secrets = append(s.broker.secrets, broker.SecretRule{APBName: r.APBName, Secret: r.Secret, Title: r.Title})
	}
	var errs []error
	var err error
	if s.broker.clouds, err = cloudsRule(cfg.OpenStack); err != nil {
		errs = append(errs, cfg.Errorf([]string{"openstack.bundles"}, "%v", err))
	}
	if s.kube, err = sandboxConfig(cfg); err != nil {
		errs = append(errs, err)
	}
	s.dockerHost = cfg.Docker.Host
	if s.docker, err = dockerConfig(cfg); err != nil {
		errs = append(errs, err)
	}
	if s.registries, err = registries(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &ConfigError{err}
	}
	return s, nil
}

func storeConfig(dao config.Dao) store.Config {
	sc := store.Config{DataDir: dao.EtcdDataDir, CAFile: dao.EtcdCAFile, CertFile: dao.EtcdClientCert, KeyFile: dao.EtcdClientKey,
		QuotaBytes: int64(dao.EtcdQuotaBytes)}
	if ep := dao.Endpoint(); ep != "" {
		sc.Endpoints = []string{ep}
	}
	return sc
}

// registries maps the registry: list, checked by pkg/registry, which owns
// the registry types; its complaints get the key and line they are about.
func registries(cfg *config.Config) ([]registry.Config, error) {
	out := make([]registry.Config, 0, len(cfg.Registry))
	for _, r := range cfg.Registry {
		out = append(out, registry.Config{
			Type: r.Type, Name: r.Name, URL: r.URL, User: r.User, Pass: r.Pass, Token: r.Token,
			Org: r.Org, Tag: r.Tag, Images: r.Images, Namespaces: r.Namespaces, FailOnError: r.FailOnError,
			WhiteList: r.WhiteList, BlackList: r.BlackList, AuthType: r.AuthType, AuthName: r.AuthName,
			SkipVerifyTLS: r.SkipVerify, Path: r.Path,
		})
	}
	return out, registryErrors(cfg, registry.Validate(out))
}

// registryErrors words pkg/registry's errors with where the file says it.
func registryErrors(cfg *config.Config, err error) error {
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var ce *registry.ConfigError
		if !errors.As(e, &ce) {
			out = append(out, e)
			continue
		}
		entry := fmt.Sprintf("registry[%d]", ce.Index)
		keys := []string{entry}
		if ce.Field != "" {
			keys = []string{entry + "." + ce.Field, entry}
		}
		out = append(out, cfg.Errorf(keys, "%v", ce))
	}
	return errors.Join(out...)
}

// sandboxConfig is the Kubernetes runtime's configuration from the
// openshift: section.
func sandboxConfig(cfg *config.Config) (kuberuntime.Config, error) {
	o := cfg.OpenShift
	rc := kuberuntime.Config{
		SandboxRole: o.SandboxRole, ImagePullPolicy: corev1.PullPolicy(o.ImagePullPolicy),
		KeepNamespace: o.KeepNamespace, KeepNamespaceOnError: o.KeepNamespaceOnError,
		BrokerNamespace: o.Namespace, Timeout: o.SandboxTimeout, HostNetwork: o.SandboxHostNetwork,
		HTTPProxy: os.Getenv("HTTP_PROXY"), HTTPSProxy: os.Getenv("HTTPS_PROXY"), NoProxy: os.Getenv("NO_PROXY"),
	}
	var errs []error
	var err error
	if rc.Resources.Requests, err = resourceList(cfg, "requests", o.SandboxResources.Requests); err != nil {
		errs = append(errs, err)
	}
	if rc.Resources.Limits, err = resourceList(cfg, "limits", o.SandboxResources.Limits); err != nil {
		errs = append(errs, err)
	}
	names := make([]string, 0, len(o.SandboxEnv))
	for n := range o.SandboxEnv {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rc.ExtraEnv = append(rc.ExtraEnv, corev1.EnvVar{Name: n, Value: o.SandboxEnv[n]})
	}
	return rc, errors.Join(errs...)
}

// dockerConfig is the Docker runtime's configuration from the docker:
// section.
func dockerConfig(cfg *config.Config) (dockerruntime.Config, error) {
	o := cfg.Docker
	rc := dockerruntime.Config{
		Network: o.Network, PullPolicy: dockerruntime.PullPolicy(o.ImagePullPolicy),
		SecretsDir: o.SecretsDir, Sources: o.Sources, WorkDir: o.WorkDir,
		KeepContainer: o.KeepContainer, KeepContainerOnError: o.KeepContainerOnError, Timeout: o.Timeout,
		HTTPProxy: os.Getenv("HTTP_PROXY"), HTTPSProxy: os.Getenv("HTTPS_PROXY"), NoProxy: os.Getenv("NO_PROXY"),
	}
	var errs []error
	if o.Resources.Memory != "" {
		q, err := resource.ParseQuantity(o.Resources.Memory)
		if err != nil {
			errs = append(errs, cfg.Errorf([]string{"docker.resources.memory"}, "%q: %v", o.Resources.Memory, err))
		}
		rc.Memory = q.Value()
	}
	if o.Resources.CPUs != "" {
		q, err := resource.ParseQuantity(o.Resources.CPUs)
		if err != nil {
			errs = append(errs, cfg.Errorf([]string{"docker.resources.cpus"}, "%q: %v", o.Resources.CPUs, err))
		}
		rc.CPUs = float64(q.MilliValue()) / 1000
	}
	for _, n := range slices.Sorted(maps.Keys(o.Env)) {
		rc.ExtraEnv = append(rc.ExtraEnv, runtime.EnvVar{Name: n, Value: o.Env[n]})
	}
	return rc, errors.Join(errs...)
}

func resourceList(cfg *config.Config, kind string, m map[string]string) (corev1.ResourceList, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		q, err := resource.ParseQuantity(m[name])
		if err != nil {
			key := "openshift.sandbox_resources." + kind + "." + name
			errs = append(errs, cfg.Errorf([]string{key}, "%q: %v", m[name], err))
			continue
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, errors.Join(errs...)
}

// cloudsRule is the broker's choice of OpenStack credentials.
func cloudsRule(o config.OpenStack) (broker.CloudsRule, error) {
	r := broker.CloudsRule{Secret: o.CloudsSecret, Cloud: o.Cloud}
	if o.Bundles != "" {
		re, err := regexp.Compile(o.Bundles)
		if err != nil {
			return r, fmt.Errorf("not a regular expression: %w", err)
		}
		r.Bundles = re
	}
	return r, nil
}
