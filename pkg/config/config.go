package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults applied when the file leaves a key out (or null). asbd had no
// defaults in code (a missing key was "", false or 0); these are the values
// its templates and docs used, so a minimal file behaves like a deployed asbd.
//
//	key                        default
//	broker.listen_address      0.0.0.0:1338        (asbd hard-coded the port)
//	broker.basic_auth_dir      /var/run/asb-auth   (asbd hard-coded the dir)
//	broker.runtime             kubernetes
//	broker.user_auth_rule      access              (asbd: "" meant access)
//	broker.refresh_interval    none                (asbd: "" meant no refresh)
//	broker.default_namespace   none                (provisions must name context.namespace)
//	broker.read_header_timeout 10s
//	broker.read_body_timeout   30s
//	broker.metrics_auth        false               (/metrics open, as asbd's)
//	openshift.sandbox_role     edit
//	openshift.image_pull_policy IfNotPresent
//	openshift.sandbox_timeout  1h
//	docker.network             host
//	docker.image_pull_policy   IfNotPresent
//	docker.timeout             1h
//	log.level                  info
//	log.stdout                 true                (only when the key is absent)
//	dao.type                   etcd
//	dao.etcd_port              2379                (only when dao.etcd_host is set)
//	dao.etcd_data_dir          /var/lib/openstack-service-broker/etcd
//	dao.etcd_quota_bytes       2147483648 (2 GiB)  (embedded etcd only)
//	dao.job_retention          168h                (finished operations kept 7 days)
//	dao.job_history            10                  (finished operations kept per instance or binding)
//	dao.compaction_interval    10m                 (0: only when etcd is full)
//	registry[].tag             latest
const (
	DefaultListenAddress     = "0.0.0.0:1338"
	DefaultBasicAuthDir      = "/var/run/asb-auth"
	DefaultRuntime           = "kubernetes"
	DefaultUserAuthRule      = "access"
	DefaultSandboxRole       = "edit"
	DefaultImagePullPolicy   = "IfNotPresent"
	DefaultSandboxTimeout    = time.Hour
	DefaultLogLevel          = "info"
	DefaultEtcdPort          = 2379
	DefaultEtcdDataDir       = "/var/lib/openstack-service-broker/etcd"
	DefaultTag               = "latest"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadBodyTimeout   = 30 * time.Second
	DefaultEtcdQuotaBytes    = 2 << 30
	DefaultJobRetention      = 7 * 24 * time.Hour
	DefaultJobHistory        = 10
	DefaultCompaction        = 10 * time.Minute
	DefaultDockerNetwork     = "host"
)

// Load reads and parses the file at path. Warnings (unknown keys and the
// like) are for the log; they do not stop the broker.
func Load(path string) (*Config, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config file: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a config file's content; source names it in messages
// ("config.yaml:12: dao.etcd_port: want an integer, got \"abc\""). All
// errors found are returned together.
func Parse(data []byte, source string) (*Config, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", source, err)
	}
	d := &decoder{source: source, lines: map[string]int{}}
	c := &Config{}
	if len(doc.Content) > 0 {
		d.mapping(doc.Content[0], "", c.fields())
	}
	c.defaults(d.has)
	// Validating a half-decoded file would only add noise to the type errors.
	if len(d.errs) == 0 {
		d.validate(c)
	}
	if len(d.errs) > 0 {
		return nil, d.warnings, errors.Join(d.errs...)
	}
	c.at = d
	return c, d.warnings, nil
}

// Errorf is an error about keys of the file, in the form of Parse's: the
// file and line of the first of keys the file gave ("config.yaml:12"),
// then the first key and the message. Components check their own part of
// the configuration; pkg/daemon words their errors with Errorf.
func (c *Config) Errorf(keys []string, format string, args ...any) error {
	d := c.at
	if d == nil {
		d = &decoder{source: "config", lines: map[string]int{}}
	}
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	return errors.New(d.msg(d.line(keys...), key, format, args...))
}

// Default is the configuration of an empty file.
func Default() *Config {
	c := &Config{}
	c.defaults(func(string) bool { return false })
	return c
}

// Validate checks a Config built in code the way Parse checks a file.
func (c *Config) Validate() error {
	d := &decoder{source: "config", lines: map[string]int{}}
	d.validate(c)
	return errors.Join(d.errs...)
}

// Endpoint is the etcd client URL, or "" when the broker runs its own
// embedded etcd (no etcd_host). As asbd: https exactly when etcd_ca_file is set.
func (d Dao) Endpoint() string {
	if d.EtcdHost == "" {
		return ""
	}
	scheme := "http"
	if d.EtcdCAFile != "" {
		scheme = "https"
	}
	port := d.EtcdPort
	if port == 0 {
		port = DefaultEtcdPort
	}
	return scheme + "://" + net.JoinHostPort(d.EtcdHost, strconv.Itoa(port))
}

// ClusterPrefix is the URL prefix broker.cluster_url asks for (asbd before
// 1.3: "ansible-service-broker" meant "/ansible-service-broker"), or ""
// for none or the root.
func (b Broker) ClusterPrefix() string {
	p := strings.Trim(strings.TrimSpace(b.ClusterURL), "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// BasicAuthEnabled reports whether broker.auth enables basic auth;
// otherwise requests are checked with bearer tokens against the cluster.
func (b Broker) BasicAuthEnabled() bool {
	for _, a := range b.Auth {
		if a.Enabled && strings.EqualFold(a.Type, "basic") {
			return true
		}
	}
	return false
}

func (c *Config) fields() map[string]field {
	return map[string]field{
		"registry": func(d *decoder, n *yaml.Node, path string) {
			d.list(n, path, func(e *yaml.Node, p string) {
				var r Registry
				d.mapping(e, p, r.fields())
				c.Registry = append(c.Registry, r)
			})
		},
		"dao": func(d *decoder, n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{
				"type":                str(&c.Dao.Type),
				"etcd_host":           str(&c.Dao.EtcdHost),
				"etcd_port":           integer(&c.Dao.EtcdPort),
				"etcd_ca_file":        str(&c.Dao.EtcdCAFile),
				"etcd_client_cert":    str(&c.Dao.EtcdClientCert),
				"etcd_client_key":     str(&c.Dao.EtcdClientKey),
				"etcd_data_dir":       str(&c.Dao.EtcdDataDir),
				"etcd_quota_bytes":    integer(&c.Dao.EtcdQuotaBytes),
				"job_retention":       duration(&c.Dao.JobRetention),
				"job_history":         integer(&c.Dao.JobHistory),
				"compaction_interval": duration(&c.Dao.CompactionInterval),
			})
		},
		"log": func(d *decoder, n *yaml.Node, path string) {
			d.mapping(n, path, map[string]field{
				"logfile": str(&c.Log.Logfile),
				"stdout":  boolean(&c.Log.Stdout),
				"level":   str(&c.Log.Level),
				"color":   boolean(&c.Log.Color),
			})
		},
		"openshift": func(d *decoder, n *yaml.Node, path string) {
			o := &c.OpenShift
			d.mapping(n, path, map[string]field{
				"host":                    str(&o.Host),
				"ca_file":                 str(&o.CAFile),
				"bearer_token_file":       str(&o.BearerTokenFile),
				"namespace":               str(&o.Namespace),
				"sandbox_role":            str(&o.SandboxRole),
				"image_pull_policy":       str(&o.ImagePullPolicy),
				"keep_namespace":          boolean(&o.KeepNamespace),
				"keep_namespace_on_error": boolean(&o.KeepNamespaceOnError),
				"sandbox_timeout":         duration(&o.SandboxTimeout),
				"sandbox_resources": func(d *decoder, n *yaml.Node, path string) {
					d.mapping(n, path, map[string]field{
						"requests": strmap(&o.SandboxResources.Requests),
						"limits":   strmap(&o.SandboxResources.Limits),
					})
				},
				"sandbox_host_network": boolean(&o.SandboxHostNetwork),
				"sandbox_env":          strmap(&o.SandboxEnv),
			})
		},
		"openstack": func(d *decoder, n *yaml.Node, path string) {
			o := &c.OpenStack
			d.mapping(n, path, map[string]field{
				"clouds_secret": str(&o.CloudsSecret),
				"cloud":         str(&o.Cloud),
				"bundles":       str(&o.Bundles),
			})
		},
		"docker": func(d *decoder, n *yaml.Node, path string) {
			o := &c.Docker
			d.mapping(n, path, map[string]field{
				"host":                    str(&o.Host),
				"network":                 str(&o.Network),
				"image_pull_policy":       str(&o.ImagePullPolicy),
				"secrets_dir":             str(&o.SecretsDir),
				"sources":                 strmap(&o.Sources),
				"work_dir":                str(&o.WorkDir),
				"keep_container":          boolean(&o.KeepContainer),
				"keep_container_on_error": boolean(&o.KeepContainerOnError),
				"timeout":                 duration(&o.Timeout),
				"resources": func(d *decoder, n *yaml.Node, path string) {
					d.mapping(n, path, map[string]field{
						"memory": str(&o.Resources.Memory),
						"cpus":   str(&o.Resources.CPUs),
					})
				},
				"env": strmap(&o.Env),
			})
		},
		"broker": func(d *decoder, n *yaml.Node, path string) {
			b := &c.Broker
			d.mapping(n, path, map[string]field{
				"dev_broker":           boolean(&b.DevBroker),
				"launch_apb_on_bind":   boolean(&b.LaunchAPBOnBind),
				"bootstrap_on_startup": boolean(&b.BootstrapOnStartup),
				"refresh_interval":     duration(&b.RefreshInterval),
				"recovery":             boolean(&b.Recovery),
				"output_request":       boolean(&b.OutputRequest),
				"ssl_cert":             str(&b.SSLCert),
				"ssl_cert_key":         str(&b.SSLCertKey),
				"auto_escalate":        boolean(&b.AutoEscalate),
				"dashboard_redirector": str(&b.DashboardRedirector),
				"user_auth_rule":       str(&b.UserAuthRule),
				"cluster_url":          str(&b.ClusterURL),
				"auth": func(d *decoder, n *yaml.Node, path string) {
					d.list(n, path, func(e *yaml.Node, p string) {
						var a AuthProvider
						d.mapping(e, p, map[string]field{
							"type":    str(&a.Type),
							"enabled": boolean(&a.Enabled),
						})
						b.Auth = append(b.Auth, a)
					})
				},
				"listen_address":      str(&b.ListenAddress),
				"plain_http":          boolean(&b.PlainHTTP),
				"basic_auth_dir":      str(&b.BasicAuthDir),
				"runtime":             str(&b.Runtime),
				"default_namespace":   str(&b.DefaultNamespace),
				"read_header_timeout": duration(&b.ReadHeaderTimeout),
				"read_body_timeout":   duration(&b.ReadBodyTimeout),
				"metrics_auth":        boolean(&b.MetricsAuth),
			})
		},
		"secrets": func(d *decoder, n *yaml.Node, path string) {
			d.list(n, path, func(e *yaml.Node, p string) {
				var s SecretRule
				d.mapping(e, p, map[string]field{
					"title":    str(&s.Title),
					"apb_name": str(&s.APBName),
					"secret":   str(&s.Secret),
				})
				c.Secrets = append(c.Secrets, s)
			})
		},
	}
}

func (r *Registry) fields() map[string]field {
	return map[string]field{
		"type":            str(&r.Type),
		"name":            str(&r.Name),
		"url":             str(&r.URL),
		"user":            str(&r.User),
		"pass":            str(&r.Pass),
		"token":           str(&r.Token),
		"org":             str(&r.Org),
		"tag":             str(&r.Tag),
		"images":          strs(&r.Images),
		"namespaces":      strs(&r.Namespaces),
		"fail_on_error":   boolean(&r.FailOnError),
		"white_list":      strs(&r.WhiteList),
		"black_list":      strs(&r.BlackList),
		"auth_type":       str(&r.AuthType),
		"auth_name":       str(&r.AuthName),
		"skip_verify_tls": boolean(&r.SkipVerify),
		"runner":          str(&r.Runner),
		"path":            str(&r.Path),
	}
}

// defaults fills what the file left out; has tells whether a key was given.
func (c *Config) defaults(has func(path string) bool) {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Broker.ListenAddress, DefaultListenAddress)
	set(&c.Broker.BasicAuthDir, DefaultBasicAuthDir)
	set(&c.Broker.Runtime, DefaultRuntime)
	set(&c.Broker.UserAuthRule, DefaultUserAuthRule)
	set(&c.OpenShift.SandboxRole, DefaultSandboxRole)
	set(&c.OpenShift.ImagePullPolicy, DefaultImagePullPolicy)
	if c.OpenShift.SandboxTimeout == 0 {
		c.OpenShift.SandboxTimeout = DefaultSandboxTimeout
	}
	if c.Broker.ReadHeaderTimeout == 0 {
		c.Broker.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.Broker.ReadBodyTimeout == 0 {
		c.Broker.ReadBodyTimeout = DefaultReadBodyTimeout
	}
	set(&c.Docker.Network, DefaultDockerNetwork)
	set(&c.Docker.ImagePullPolicy, DefaultImagePullPolicy)
	if c.Docker.Timeout == 0 {
		c.Docker.Timeout = DefaultSandboxTimeout
	}
	set(&c.Log.Level, DefaultLogLevel)
	if !has("log.stdout") {
		c.Log.Stdout = true
	}
	set(&c.Dao.Type, "etcd")
	if c.Dao.EtcdHost != "" && c.Dao.EtcdPort == 0 {
		c.Dao.EtcdPort = DefaultEtcdPort
	}
	set(&c.Dao.EtcdDataDir, DefaultEtcdDataDir)
	if !has("dao.etcd_quota_bytes") {
		c.Dao.EtcdQuotaBytes = DefaultEtcdQuotaBytes
	}
	if !has("dao.job_retention") {
		c.Dao.JobRetention = DefaultJobRetention
	}
	if !has("dao.job_history") {
		c.Dao.JobHistory = DefaultJobHistory
	}
	if !has("dao.compaction_interval") {
		c.Dao.CompactionInterval = DefaultCompaction
	}
	for i := range c.Registry {
		set(&c.Registry[i].Tag, DefaultTag)
	}
}
