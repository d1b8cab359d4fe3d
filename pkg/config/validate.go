package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// registryName is bundle-lib's rule: the catalog names services
// "<registry name>-<bundle name>", which must be DNS-ish.
var registryName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// minEtcdQuotaBytes is the smallest dao.etcd_quota_bytes: below it etcd
// fills up with its own bookkeeping.
const minEtcdQuotaBytes = 1 << 20

// namespaceName is a Kubernetes namespace name (an RFC 1123 label).
var namespaceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// validate checks the decoded, defaulted config. Messages name the key and,
// when the key came from the file, its line.
func (d *decoder) validate(c *Config) {
	d.validateRegistries(c)

	dao := c.Dao
	switch strings.ToLower(dao.Type) {
	case "etcd":
	case "crd":
		d.errorf(d.line("dao.type"), "dao.type", `"crd" is not supported, use etcd (omit dao.etcd_host for the embedded etcd)`)
	default:
		d.errorf(d.line("dao.type"), "dao.type", "unknown type %q, want etcd", dao.Type)
	}
	if dao.EtcdHost != "" {
		if dao.EtcdPort < 1 || dao.EtcdPort > 65535 {
			d.errorf(d.line("dao.etcd_port"), "dao.etcd_port", "%d is not a port number", dao.EtcdPort)
		}
		if d.has("dao.etcd_quota_bytes") {
			d.warnf(d.line("dao.etcd_quota_bytes"), "dao.etcd_quota_bytes", "ignored with dao.etcd_host: an external etcd's quota is its own (--quota-backend-bytes)")
		}
	} else {
		for _, k := range []string{"etcd_port", "etcd_ca_file", "etcd_client_cert", "etcd_client_key"} {
			if d.has("dao." + k) {
				d.warnf(d.line("dao."+k), "dao."+k, "ignored without dao.etcd_host (the broker runs an embedded etcd)")
			}
		}
	}
	if dao.EtcdQuotaBytes < minEtcdQuotaBytes {
		d.errorf(d.line("dao.etcd_quota_bytes"), "dao.etcd_quota_bytes", "%d bytes is too small; give at least %d (1 MiB)", dao.EtcdQuotaBytes, minEtcdQuotaBytes)
	}
	if dao.JobRetention <= 0 {
		d.errorf(d.line("dao.job_retention"), "dao.job_retention", "must be a positive duration such as 168h")
	}
	if dao.JobHistory < 1 {
		d.errorf(d.line("dao.job_history"), "dao.job_history", "%d: at least the last operation of each instance and binding is kept; give 1 or more", dao.JobHistory)
	}
	if (dao.EtcdClientCert == "") != (dao.EtcdClientKey == "") {
		d.errorf(d.line("dao.etcd_client_cert", "dao.etcd_client_key"), "dao.etcd_client_cert",
			"etcd_client_cert and etcd_client_key must be given together")
	}

	if c.Log.Color {
		d.warnf(d.line("log.color"), "log.color",
			"log lines are JSON, which has no colours (asbd had stopped colouring too); ignored")
	}
	if c.Log.Logfile == "" && !c.Log.Stdout {
		// asbd's words.
		d.errorf(d.line("log.stdout"), "log", "Cannot have a blank logfile and not log to stdout")
	}
	switch strings.ToLower(c.Log.Level) {
	case "panic", "critical", "fatal", "error", "warning", "warn", "notice", "info", "debug":
	default:
		d.warnf(d.line("log.level"), "log.level", "unknown level %q, logging at debug as asbd did", c.Log.Level)
	}

	switch c.OpenShift.ImagePullPolicy {
	case "IfNotPresent", "Always", "Never":
	default:
		d.errorf(d.line("openshift.image_pull_policy"), "openshift.image_pull_policy",
			"%q is not one of IfNotPresent, Always, Never", c.OpenShift.ImagePullPolicy)
	}

	d.validateSandbox(c.OpenShift)
	d.validateDocker(c.Docker)
	d.validateBroker(c.Broker)

	d.validateOpenStack(c)
	for i, s := range c.Secrets {
		p := fmt.Sprintf("secrets[%d]", i)
		if s.APBName == "" {
			d.errorf(d.line(p), p+".apb_name", "required (the bundle's catalog name, <registry>-<name>)")
		}
		if s.Secret == "" {
			d.errorf(d.line(p), p+".secret", "required (a Secret in openshift.namespace, or with the docker runtime a directory under docker.secrets_dir)")
		} else if c.Broker.Runtime == "docker" && !c.Docker.resolves(s.Secret) {
			d.errorf(d.line(p+".secret", p), p+".secret", "%q: the docker runtime needs docker.secrets_dir or docker.sources.%s (the directory holding its files)", s.Secret, s.Secret)
		}
	}
}

// resolves reports whether the Docker runtime finds a source's directory.
func (o Docker) resolves(source string) bool {
	_, ok := o.Sources[source]
	return ok || o.SecretsDir != ""
}

func (d *decoder) validateDocker(o Docker) {
	switch o.ImagePullPolicy {
	case "IfNotPresent", "Always", "Never":
	default:
		d.errorf(d.line("docker.image_pull_policy"), "docker.image_pull_policy",
			"%q is not one of IfNotPresent, Always, Never", o.ImagePullPolicy)
	}
	if o.Timeout < 0 {
		d.errorf(d.line("docker.timeout"), "docker.timeout", "must not be negative")
	}
	for key, q := range map[string]string{"memory": o.Resources.Memory, "cpus": o.Resources.CPUs} {
		if q == "" {
			continue
		}
		p := "docker.resources." + key
		if v, err := resource.ParseQuantity(q); err != nil || v.Sign() < 0 {
			d.errorf(d.line(p), p, "%q is not a quantity (such as 512Mi for memory, 0.5 or 500m for cpus)", q)
		}
	}
	for key, dir := range map[string]string{"secrets_dir": o.SecretsDir, "work_dir": o.WorkDir} {
		if dir != "" && !strings.HasPrefix(dir, "/") {
			d.errorf(d.line("docker."+key), "docker."+key, "%q must be an absolute path (the engine resolves bind mounts on its host)", dir)
		}
	}
	for name, dir := range o.Sources {
		if !strings.HasPrefix(dir, "/") {
			p := "docker.sources." + name
			d.errorf(d.line(p), p, "%q must be an absolute path", dir)
		}
	}
	for name := range o.Env {
		p := "docker.env." + name
		if !envName.MatchString(name) {
			d.errorf(d.line(p), p, "not a valid environment variable name")
		}
	}
}

// envName is what a container environment variable may be called
// (Kubernetes' C_IDENTIFIER rule, which is also what shells accept).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (d *decoder) validateSandbox(o OpenShift) {
	if o.SandboxTimeout < 0 {
		d.errorf(d.line("openshift.sandbox_timeout"), "openshift.sandbox_timeout", "must not be negative")
	}
	for kind, m := range map[string]map[string]string{"requests": o.SandboxResources.Requests, "limits": o.SandboxResources.Limits} {
		for name, q := range m {
			p := "openshift.sandbox_resources." + kind + "." + name
			if _, err := resource.ParseQuantity(q); err != nil {
				d.errorf(d.line(p), p, "%q is not a quantity (such as 500m, 2 or 512Mi)", q)
			}
		}
	}
	for name := range o.SandboxEnv {
		p := "openshift.sandbox_env." + name
		if !envName.MatchString(name) {
			d.errorf(d.line(p), p, "not a valid environment variable name")
		}
	}
}

func (d *decoder) validateOpenStack(c *Config) {
	o := c.OpenStack
	if o.Bundles != "" {
		if _, err := regexp.Compile(o.Bundles); err != nil {
			d.errorf(d.line("openstack.bundles"), "openstack.bundles", "not a regular expression: %v", err)
		}
	}
	// openstack.bundles also selects the bundles whose instances may bring
	// their own credentials (credentials_secret), with or without a
	// broker-wide Secret; openstack.cloud names an entry of that Secret.
	if o.CloudsSecret == "" {
		if d.has("openstack.cloud") {
			d.warnf(d.line("openstack.cloud"), "openstack.cloud", "ignored without openstack.clouds_secret")
		}
	} else if c.Broker.Runtime == "docker" {
		if !c.Docker.resolves(o.CloudsSecret) {
			d.errorf(d.line("openstack.clouds_secret"), "openstack.clouds_secret",
				"the docker runtime needs docker.secrets_dir or docker.sources.%s (the directory holding clouds.yaml)", o.CloudsSecret)
		}
	} else if c.OpenShift.Namespace == "" {
		d.errorf(d.line("openstack.clouds_secret"), "openstack.clouds_secret", "needs openshift.namespace (the namespace holding the Secret)")
	}
}

func (d *decoder) validateBroker(b Broker) {
	for i, a := range b.Auth {
		p := fmt.Sprintf("broker.auth[%d]", i)
		if a.Enabled && !strings.EqualFold(a.Type, "basic") {
			// asbd panicked with "Unknown auth provider".
			d.errorf(d.line(p+".type", p), p, "auth type %q cannot be enabled: only basic is; with no enabled entry requests need a Kubernetes bearer token", a.Type)
		}
	}
	if (b.SSLCert == "") != (b.SSLCertKey == "") {
		d.errorf(d.line("broker.ssl_cert", "broker.ssl_cert_key"), "broker.ssl_cert",
			"ssl_cert and ssl_cert_key must be given together")
	}
	host, _, err := net.SplitHostPort(b.ListenAddress)
	if err != nil {
		d.errorf(d.line("broker.listen_address"), "broker.listen_address", "%q is not host:port", b.ListenAddress)
	} else if b.PlainHTTP {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			d.warnf(d.line("broker.plain_http"), "broker.plain_http",
				"serving plain HTTP on %s: credentials cross the network unencrypted", b.ListenAddress)
		}
	}
	if b.DefaultNamespace != "" && !namespaceName.MatchString(b.DefaultNamespace) {
		d.errorf(d.line("broker.default_namespace"), "broker.default_namespace",
			"%q is not a namespace name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)", b.DefaultNamespace)
	}
	if b.ClusterURL != "" {
		if p := b.ClusterPrefix(); strings.ContainsAny(p, "?#{} \t") || strings.Contains(p, "//") {
			d.errorf(d.line("broker.cluster_url"), "broker.cluster_url", "%q is not a URL path prefix", b.ClusterURL)
		}
	}
	if d.has("broker.recovery") && !b.Recovery {
		d.warnf(d.line("broker.recovery"), "broker.recovery",
			"false is not honoured: operations left in flight by a stopped broker are always resumed (attached to what still runs, else run again); otherwise their instances would be stranded")
	}
	if b.AutoEscalate && d.has("broker.user_auth_rule") {
		d.warnf(d.line("broker.user_auth_rule"), "broker.user_auth_rule",
			"not used with auto_escalate true: platform users' rights are not checked")
	}
	switch b.Runtime {
	case "kubernetes", "docker", "none":
	default:
		d.errorf(d.line("broker.runtime"), "broker.runtime", "unknown runtime %q, want kubernetes, docker or none", b.Runtime)
	}
}

func (d *decoder) validateRegistries(c *Config) {
	names := map[string]int{}
	for i, r := range c.Registry {
		p := fmt.Sprintf("registry[%d]", i)
		at := func(key string) int { return d.line(p+"."+key, p) }
		if r.Name == "" {
			d.errorf(at("name"), p+".name", "required")
			continue
		}
		who := fmt.Sprintf("registry %q", r.Name)
		if !registryName.MatchString(r.Name) {
			d.errorf(at("name"), p+".name", "%s: the name must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", r.Name)
		}
		if first, dup := names[r.Name]; dup {
			d.errorf(at("name"), p+".name", "%q is also the name of registry[%d]; names must be unique", r.Name, first)
		}
		names[r.Name] = i

		if r.Type == "" {
			// Which types exist, and what each needs, is pkg/registry's.
			d.errorf(at("type"), p+".type", "%s: type is required", who)
			continue
		}
		d.validateRegistryAuth(r, p, at, who)
		if r.Runner != "" && r.Type != "helm" && r.Type != "galaxy" {
			// helm and galaxy, the types that ran it, are refused by type.
			d.warnf(at("runner"), p+".runner", "%s: runner is the image of helm and galaxy registries; type %s runs each bundle's own image, so it is ignored", who, r.Type)
		}
		if len(r.WhiteList) == 0 {
			// bundle-lib's filter lets nothing through without a white_list.
			d.warnf(at("name"), p+".white_list", "%s: no white_list, so no bundle from it reaches the catalog (\".*\" allows all)", who)
		}
		for _, k := range []struct {
			key  string
			list []string
		}{{"white_list", r.WhiteList}, {"black_list", r.BlackList}} {
			for j, re := range k.list {
				if _, err := regexp.Compile(re); err != nil {
					d.warnf(at(k.key), fmt.Sprintf("%s.%s[%d]", p, k.key, j), "%s: invalid regular expression, ignored: %v", who, err)
				}
			}
		}
	}
}

func (d *decoder) validateRegistryAuth(r Registry, p string, at func(string) int, who string) {
	switch r.AuthType {
	case "":
		if r.AuthName != "" {
			d.errorf(at("auth_name"), p+".auth_name", "%s: auth_name needs auth_type secret or file", who)
		}
	case "config":
		if r.Type == "quay" {
			if r.Token == "" && (r.User == "" || r.Pass == "") {
				d.errorf(at("auth_type"), p+".auth_type", "%s: auth_type config for quay needs token (or user and pass)", who)
			}
		} else if r.User == "" || r.Pass == "" {
			d.errorf(at("auth_type"), p+".auth_type", "%s: auth_type config needs user and pass", who)
		}
	case "secret", "file":
		if r.AuthName == "" {
			d.errorf(at("auth_type"), p+".auth_name", "%s: auth_type %s needs auth_name", who, r.AuthType)
		}
	default:
		d.errorf(at("auth_type"), p+".auth_type", "%s: unknown auth_type %q (want config, secret or file, or none)", who, r.AuthType)
	}
}
