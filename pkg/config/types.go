package config

import "time"

// DefaultPath is where Automation Broker's asbd looked by default.
const DefaultPath = "/etc/ansible-service-broker/config.yaml"

// Config is the whole file.
type Config struct {
	// at says where keys were written, for messages about them (Errorf).
	at *decoder

	Registry  []Registry
	Dao       Dao
	Log       Log
	OpenShift OpenShift
	Broker    Broker
	Secrets   []SecretRule
	// OpenStack is the openstack: section (ours).
	OpenStack OpenStack
	// Docker is the docker: section (ours): the Docker runtime.
	Docker Docker
}

// Registry is one entry of the registry: list.
type Registry struct {
	Type        string // the registry type, checked by pkg/registry
	Name        string
	URL         string
	User        string
	Pass        string
	Token       string
	Org         string
	Tag         string
	Images      []string
	Namespaces  []string
	FailOnError bool
	WhiteList   []string
	BlackList   []string
	AuthType    string // "", config, secret, file
	AuthName    string
	SkipVerify  bool   // skip_verify_tls
	Runner      string // helm/galaxy runner image; read so old files parse, those types are refused
	// Path is the directory of bundle sources for type local (ours).
	Path string
}

// Dao is the dao: section (state store).
type Dao struct {
	Type           string // etcd (default) or crd (refused: not supported)
	EtcdHost       string
	EtcdPort       int
	EtcdCAFile     string
	EtcdClientCert string
	EtcdClientKey  string
	// EtcdDataDir is where the embedded etcd keeps its data when no
	// etcd_host is set (ours; default /var/lib/openstack-service-broker/etcd).
	EtcdDataDir string
	// EtcdQuotaBytes caps the embedded etcd's database (ours).
	EtcdQuotaBytes int
	// JobRetention is how long finished operations are kept, JobHistory
	// how many per instance or binding (ours).
	JobRetention time.Duration
	JobHistory   int
	// CompactionInterval paces compaction of etcd's history and pruning
	// of finished operations (ours; 0: only when etcd is full).
	CompactionInterval time.Duration
}

// Log is the log: section.
type Log struct {
	Logfile string
	Stdout  bool
	Level   string
	Color   bool
}

// OpenShift is the openshift: section (cluster and sandbox settings).
type OpenShift struct {
	Host                 string
	CAFile               string
	BearerTokenFile      string
	Namespace            string
	SandboxRole          string
	ImagePullPolicy      string
	KeepNamespace        bool
	KeepNamespaceOnError bool

	// Ours: the bundle pods.
	// SandboxTimeout bounds one action, sandbox to pod finished (default 1h).
	SandboxTimeout time.Duration
	// SandboxResources are the bundle container's requests and limits
	// (resource name -> quantity, e.g. cpu: 500m, memory: 512Mi).
	SandboxResources Resources
	// SandboxHostNetwork runs bundle pods in the node's network, and
	// SandboxEnv adds environment variables to them: for clusters without a
	// pod network or kube-proxy, such as a one-node test cluster.
	SandboxHostNetwork bool
	SandboxEnv         map[string]string
}

// Resources are container requests and limits.
type Resources struct {
	Requests map[string]string
	Limits   map[string]string
}

// OpenStack says which Secret holds the clouds.yaml mounted into OpenStack
// bundles.
type OpenStack struct {
	// CloudsSecret is a Secret in openshift.namespace with the key
	// clouds.yaml (and optionally secure.yaml).
	CloudsSecret string
	// Cloud is OS_CLOUD; empty means the only cloud in clouds.yaml.
	Cloud string
	// Bundles is a regular expression on catalog names; empty means the
	// bundles tagged "openstack".
	Bundles string
}

// Docker is the docker: section, the Docker runtime's settings (broker.runtime: docker).
type Docker struct {
	// Host is the engine (unix:///var/run/docker.sock, tcp://...); empty
	// means DOCKER_HOST, else the local socket.
	Host string
	// Network is the bundle containers' network mode (default host).
	Network string
	// ImagePullPolicy: IfNotPresent (default), Always or Never.
	ImagePullPolicy string
	// SecretsDir holds one directory per source (a secrets: rule's secret,
	// openstack.clouds_secret), one file per key; Sources names a
	// directory for a source explicitly.
	SecretsDir string
	Sources    map[string]string
	// WorkDir holds a private directory per action (copies of its sources,
	// its results); default under the system's temporary directory.
	WorkDir string
	// KeepContainer and KeepContainerOnError keep finished containers
	// (stopped, renamed <name>-kept), as keep_namespace does on Kubernetes.
	KeepContainer        bool
	KeepContainerOnError bool
	// Timeout bounds one action (default 1h).
	Timeout time.Duration
	// Resources limit each container: memory (a quantity such as 512Mi)
	// and cpus (such as 0.5 or 500m).
	Resources DockerResources
	// Env adds environment variables to the bundles.
	Env map[string]string
}

// DockerResources are a container's limits.
type DockerResources struct {
	Memory string
	CPUs   string
}

// AuthProvider is one entry of broker.auth.
type AuthProvider struct {
	Type    string
	Enabled bool
}

// Broker is the broker: section.
type Broker struct {
	DevBroker           bool
	LaunchAPBOnBind     bool
	BootstrapOnStartup  bool
	RefreshInterval     time.Duration
	Recovery            bool
	OutputRequest       bool
	SSLCert             string
	SSLCertKey          string
	AutoEscalate        bool
	DashboardRedirector string
	UserAuthRule        string
	Auth                []AuthProvider
	// ClusterURL is the URL prefix of releases before 1.3 (removed
	// upstream); read so old files parse.
	ClusterURL string

	// Ours.
	// ListenAddress defaults to 0.0.0.0:1338 like asbd.
	ListenAddress string
	// PlainHTTP serves without TLS (local profile only).
	PlainHTTP bool
	// BasicAuthDir holds the files username and password
	// (default /var/run/asb-auth, as asbd).
	BasicAuthDir string
	// Runtime selects the action runtime: kubernetes (default), docker, or
	// none (operations fail with a clear description).
	Runtime string
	// DefaultNamespace is where a provision whose context names no
	// namespace (no context, Cloud Foundry) goes; empty (the default)
	// refuses such a provision with 400 naming context.namespace.
	DefaultNamespace string
	// ReadHeaderTimeout bounds the time to receive a request's headers,
	// ReadBodyTimeout the time to receive its body after them: slow
	// clients are cut off (defaults 10s and 30s).
	ReadHeaderTimeout time.Duration
	ReadBodyTimeout   time.Duration
	// MetricsAuth puts /metrics behind the broker's authentication
	// (default false: open, as asbd's was). /healthz stays open.
	MetricsAuth bool
}

// SecretRule is one entry of secrets: which Secret goes to which bundle.
type SecretRule struct {
	Title   string
	APBName string
	Secret  string
}
