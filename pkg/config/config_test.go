package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExampleConfigWithoutRHCC(t *testing.T) {
	c, warnings, err := Parse(mustRead(t, "testdata/example-config-no-rhcc.yaml"), "example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Registry: []Registry{
			{Type: "dockerhub", Name: "docker", URL: "https://registry.hub.docker.com", Org: "DOCKERHUB_ORG", Tag: "latest"},
			{Type: "local_openshift", Name: "lo", Namespaces: []string{"openshift"}, WhiteList: []string{".*-apb$"}, Tag: "latest"},
		},
		Dao: Dao{Type: "etcd", EtcdHost: "localhost", EtcdPort: 2379, EtcdDataDir: DefaultEtcdDataDir,
			EtcdQuotaBytes: DefaultEtcdQuotaBytes, JobRetention: DefaultJobRetention, JobHistory: DefaultJobHistory, CompactionInterval: DefaultCompaction},
		Log:       Log{Logfile: "/var/log/ansible-service-broker/asb.log", Stdout: true, Level: "debug", Color: true},
		OpenShift: OpenShift{ImagePullPolicy: "IfNotPresent", SandboxRole: "edit", KeepNamespaceOnError: true, SandboxTimeout: time.Hour},
		Docker:    Docker{Network: "host", ImagePullPolicy: "IfNotPresent", Timeout: time.Hour},
		Broker: Broker{
			BootstrapOnStartup: true, DevBroker: true, Recovery: true, OutputRequest: true,
			SSLCertKey: "/path/to/key", SSLCert: "/path/to/cert", RefreshInterval: 600 * time.Second,
			Auth:          []AuthProvider{{Type: "basic", Enabled: true}},
			ListenAddress: DefaultListenAddress, BasicAuthDir: DefaultBasicAuthDir,
			Runtime: DefaultRuntime, UserAuthRule: DefaultUserAuthRule,
			ReadHeaderTimeout: DefaultReadHeaderTimeout, ReadBodyTimeout: DefaultReadBodyTimeout,
		},
	}
	if c.at = nil; !reflect.DeepEqual(c, want) {
		t.Errorf("config:\n got %+v\nwant %+v", c, want)
	}
	// The docker entry has no white_list: bundle-lib lets nothing through, say so.
	wantWarn := []string{`example.yaml:4: registry[0].white_list: registry "docker": no white_list, so no bundle from it reaches the catalog (".*" allows all)`,
		`example.yaml:21: log.color: log lines are JSON, which has no colours (asbd had stopped colouring too); ignored`}
	if !reflect.DeepEqual(warnings, wantWarn) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarn)
	}
	if got := c.Dao.Endpoint(); got != "http://localhost:2379" {
		t.Errorf("endpoint %q", got)
	}
	if !c.Broker.BasicAuthEnabled() {
		t.Error("basic auth not enabled")
	}
}

// The configmap of Automation Broker's OpenShift template, with the template
// parameters substituted as `oc process` does.
func TestTemplateConfigMap(t *testing.T) {
	params := map[string]string{
		"REGISTRY_TYPE": "dockerhub", "REGISTRY_NAME": "dh", "REGISTRY_URL": "https://registry.hub.docker.com",
		"DOCKERHUB_ORG": "ansibleplaybookbundle", "TAG": "latest", "DAO_TYPE": "crd",
		"NAMESPACE": "ansible-service-broker", "IMAGE_PULL_POLICY": "IfNotPresent", "SANDBOX_ROLE": "edit",
		"KEEP_NAMESPACE": "false", "KEEP_NAMESPACE_ON_ERROR": "true", "DEV_BROKER": "true",
		"BOOTSTRAP_ON_STARTUP": "true", "REFRESH_INTERVAL": "600s", "LAUNCH_APB_ON_BIND": "false",
		"OUTPUT_REQUEST": "true", "RECOVERY": "true", "AUTO_ESCALATE": "false",
		"ROUTING_SUFFIX": "172.17.0.1.nip.io", "ENABLE_BASIC_AUTH": "false",
	}
	tmpl := string(mustRead(t, "testdata/template-configmap.yaml"))
	process := func() []byte {
		return []byte(os.Expand(tmpl, func(k string) string {
			v, ok := params[k]
			if !ok {
				t.Fatalf("template parameter %s not set", k)
			}
			return v
		}))
	}

	// The template's default dao type.
	_, _, err := Parse(process(), "broker-config")
	want := `broker-config:15: dao.type: "crd" is not supported, use etcd (omit dao.etcd_host for the embedded etcd)`
	if err == nil || err.Error() != want {
		t.Fatalf("crd: got %v, want %s", err, want)
	}

	params["DAO_TYPE"] = "etcd"
	c, warnings, err := Parse(process(), "broker-config")
	if err != nil {
		t.Fatal(err)
	}
	// Every key is honoured but log.color, which says so.
	if len(warnings) != 1 || !strings.Contains(warnings[0], "log.color") {
		t.Errorf("warnings: %q", warnings)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"registries", len(c.Registry), 2},
		{"registry 0", c.Registry[0].Name + " " + c.Registry[0].Type + " " + c.Registry[0].Org, "dh dockerhub ansibleplaybookbundle"},
		{"registry 1 namespaces", c.Registry[1].Namespaces, []string{"openshift"}},
		{"namespace", c.OpenShift.Namespace, "ansible-service-broker"},
		{"keep_namespace_on_error", c.OpenShift.KeepNamespaceOnError, true},
		{"dev_broker", c.Broker.DevBroker, true},
		{"launch_apb_on_bind", c.Broker.LaunchAPBOnBind, false},
		{"auto_escalate", c.Broker.AutoEscalate, false},
		{"refresh", c.Broker.RefreshInterval, 10 * time.Minute},
		{"cluster_url", c.Broker.ClusterURL, "ansible-service-broker"},
		{"dashboard", c.Broker.DashboardRedirector, "http://dashboard-redirector-1337-ansible-service-broker.172.17.0.1.nip.io"},
		{"basic auth", c.Broker.BasicAuthEnabled(), false},
		{"ssl", c.Broker.SSLCert + " " + c.Broker.SSLCertKey, "/etc/tls/private/tls.crt /etc/tls/private/tls.key"},
		{"embedded etcd", c.Dao.Endpoint(), ""},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"int", "dao:\n  etcd_host: e\n  etcd_port: abc\n", `config.yaml:3: dao.etcd_port: want an integer, got "abc"`},
		{"float for int", "dao:\n  etcd_host: e\n  etcd_port: 2379.5\n", `config.yaml:3: dao.etcd_port: want an integer, got "2379.5"`},
		{"bool", "broker:\n  dev_broker: maybe\n", `config.yaml:2: broker.dev_broker: want a boolean (true or false), got "maybe"`},
		{"empty quoted bool", "log:\n  stdout: \"\"\n", `config.yaml:2: log.stdout: want a boolean (true or false), got ""`},
		{"list for bool", "broker:\n  recovery: [true]\n", `config.yaml:2: broker.recovery: want a boolean (true or false), got a list`},
		{"mapping for string", "dao:\n  etcd_host: {a: 1}\n", `config.yaml:2: dao.etcd_host: want a string, got a mapping`},
		{"registry not a list", "registry:\n  name: x\n", `config.yaml:2: registry: want a list, got a mapping`},
		{"registry entry not a mapping", "registry:\n  - local\n", `config.yaml:2: registry[0]: want a mapping, got "local"`},
		{"scalar white_list", "registry:\n  - name: a\n    type: local\n    path: p\n    white_list: \".*\"\n",
			`config.yaml:5: registry[0].white_list: want a list of strings, got ".*"`},
		{"mapping in list", "registry:\n  - name: a\n    type: local\n    path: p\n    white_list:\n      - {x: 1}\n",
			`config.yaml:6: registry[0].white_list[0]: want a string, got a mapping`},
		{"duration", "broker:\n  refresh_interval: ten minutes\n", `config.yaml:2: broker.refresh_interval: want a duration such as "600s" or a number of seconds, got "ten minutes"`},
		{"negative duration", "broker:\n  refresh_interval: -5\n", `config.yaml:2: broker.refresh_interval: want a duration such as "600s" or a number of seconds, got "-5"`},
		{"section not a mapping", "log: [a]\n", `config.yaml:1: log: want a mapping, got a list`},
		{"top level not a mapping", "- a\n", `config.yaml:1: want a mapping, got a list`},
		{"auth enabled", "broker:\n  auth:\n    - type: basic\n      enabled: si\n", `config.yaml:4: broker.auth[0].enabled: want a boolean (true or false), got "si"`},
		{"two errors", "dao:\n  etcd_host: e\n  etcd_port: x\nlog:\n  color: 3\n",
			"config.yaml:3: dao.etcd_port: want an integer, got \"x\"\nconfig.yaml:5: log.color: want a boolean (true or false), got \"3\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.yaml), "config.yaml")
			if err == nil {
				t.Fatalf("no error, config %+v", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, _, err := Parse([]byte("broker:\n  dev_broker: [true\n"), "config.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "config.yaml: yaml: line ") {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	in := `brokers:
  dev: true
dao:
  etcd_hots: x
registry:
  - name: a
    type: local
    path: p
    colour: red
    white_list: [".*"]
broker:
  dev_broker: true
  dev_broker: false
`
	c, warnings, err := Parse([]byte(in), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c.yaml:1: brokers: unknown key, ignored",
		"c.yaml:4: dao.etcd_hots: unknown key, ignored",
		"c.yaml:9: registry[0].colour: unknown key, ignored",
		"c.yaml:13: broker.dev_broker: given twice (first on line 12); the last one wins",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
	if c.Broker.DevBroker {
		t.Error("the last dev_broker should win")
	}
}

func TestBooleans(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"true", true}, {"false", false}, {"True", true}, {"FALSE", false},
		// asbd's yaml.v1 read these YAML 1.1 words as booleans.
		{"yes", true}, {"no", false}, {"on", true}, {"off", false},
		// asbd read a quoted "true" as false; templates quote substituted
		// values, so here a quoted boolean is a boolean.
		{`"true"`, true}, {`"false"`, false}, {`'True'`, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, _, err := Parse([]byte("broker:\n  launch_apb_on_bind: "+tt.value+"\n  recovery: "+tt.value+"\n"), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if c.Broker.LaunchAPBOnBind != tt.want || c.Broker.Recovery != tt.want {
				t.Errorf("got %v/%v, want %v", c.Broker.LaunchAPBOnBind, c.Broker.Recovery, tt.want)
			}
		})
	}
}

func TestScalars(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(c *Config) any
		want       any
	}{
		{"quoted port", "dao:\n  etcd_host: h\n  etcd_port: \"2380\"\n", func(c *Config) any { return c.Dao.EtcdPort }, 2380},
		{"default port", "dao:\n  etcd_host: h\n", func(c *Config) any { return c.Dao.Endpoint() }, "http://h:2379"},
		{"seconds", "broker:\n  refresh_interval: 600\n", func(c *Config) any { return c.Broker.RefreshInterval }, 10 * time.Minute},
		{"quoted seconds", "broker:\n  refresh_interval: \"30\"\n", func(c *Config) any { return c.Broker.RefreshInterval }, 30 * time.Second},
		{"go duration", "broker:\n  refresh_interval: 1h30m\n", func(c *Config) any { return c.Broker.RefreshInterval }, 90 * time.Minute},
		{"empty duration", "broker:\n  refresh_interval: \"\"\n", func(c *Config) any { return c.Broker.RefreshInterval }, time.Duration(0)},
		{"number as string", "registry:\n  - name: a\n    type: local\n    path: p\n    tag: 2.0\n    white_list: ['.*']\n", func(c *Config) any { return c.Registry[0].Tag }, "2.0"},
		{"null keeps default", "openshift:\n  sandbox_role:\n", func(c *Config) any { return c.OpenShift.SandboxRole }, "edit"},
		{"sandbox timeout", "openshift:\n  sandbox_timeout: 20m\n", func(c *Config) any { return c.OpenShift.SandboxTimeout }, 20 * time.Minute},
		{"sandbox resources", "openshift:\n  sandbox_resources:\n    requests: {cpu: 100m, memory: 128Mi}\n    limits: {cpu: 1, memory: 1Gi}\n",
			func(c *Config) any { return c.OpenShift.SandboxResources },
			Resources{Requests: map[string]string{"cpu": "100m", "memory": "128Mi"}, Limits: map[string]string{"cpu": "1", "memory": "1Gi"}}},
		{"sandbox env", "openshift:\n  sandbox_host_network: true\n  sandbox_env:\n    KUBERNETES_SERVICE_HOST: 127.0.0.1\n    KUBERNETES_SERVICE_PORT: 6443\n",
			func(c *Config) any { return []any{c.OpenShift.SandboxHostNetwork, c.OpenShift.SandboxEnv} },
			[]any{true, map[string]string{"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"}}},
		{"openstack", "openshift:\n  namespace: osb\nopenstack:\n  clouds_secret: clouds\n  cloud: devstack\n  bundles: '^local-openstack-'\n",
			func(c *Config) any { return c.OpenStack }, OpenStack{CloudsSecret: "clouds", Cloud: "devstack", Bundles: "^local-openstack-"}},
		{"http hardening", "broker:\n  read_header_timeout: 2s\n  read_body_timeout: 5\n  metrics_auth: true\n",
			func(c *Config) any {
				return []any{c.Broker.ReadHeaderTimeout, c.Broker.ReadBodyTimeout, c.Broker.MetricsAuth}
			},
			[]any{2 * time.Second, 5 * time.Second, true}},
		{"docker", "broker:\n  runtime: docker\ndocker:\n  host: unix:///run/d.sock\n  network: bridge\n  image_pull_policy: Never\n  secrets_dir: /srv/s\n" +
			"  sources: {clouds: /etc/c}\n  work_dir: /var/lib/w\n  keep_container: true\n  keep_container_on_error: true\n  timeout: 10m\n" +
			"  resources: {memory: 512Mi, cpus: 0.5}\n  env: {A: b}\nopenstack:\n  clouds_secret: clouds\n",
			func(c *Config) any { return c.Docker }, Docker{Host: "unix:///run/d.sock", Network: "bridge", ImagePullPolicy: "Never", SecretsDir: "/srv/s",
				Sources: map[string]string{"clouds": "/etc/c"}, WorkDir: "/var/lib/w", KeepContainer: true, KeepContainerOnError: true, Timeout: 10 * time.Minute,
				Resources: DockerResources{Memory: "512Mi", CPUs: "0.5"}, Env: map[string]string{"A": "b"}}},
		{"docker defaults", "", func(c *Config) any { return c.Docker }, Docker{Network: "host", ImagePullPolicy: "IfNotPresent", Timeout: time.Hour}},
		{"anchor and merge", "x: &b\n  dev_broker: true\nbroker:\n  <<: *b\n  recovery: true\n",
			func(c *Config) any { return []bool{c.Broker.DevBroker, c.Broker.Recovery} }, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.yaml), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	want := &Config{
		Dao: Dao{Type: "etcd", EtcdDataDir: "/var/lib/openstack-service-broker/etcd",
			EtcdQuotaBytes: 2 << 30, JobRetention: 168 * time.Hour, JobHistory: 10, CompactionInterval: 10 * time.Minute},
		Log:       Log{Stdout: true, Level: "info"},
		OpenShift: OpenShift{SandboxRole: "edit", ImagePullPolicy: "IfNotPresent", SandboxTimeout: time.Hour},
		Docker:    Docker{Network: "host", ImagePullPolicy: "IfNotPresent", Timeout: time.Hour},
		Broker: Broker{ListenAddress: "0.0.0.0:1338", BasicAuthDir: "/var/run/asb-auth",
			Runtime: "kubernetes", UserAuthRule: "access", ReadHeaderTimeout: 10 * time.Second, ReadBodyTimeout: 30 * time.Second},
	}
	for _, in := range []string{"", "---\n", "# nothing\n", "broker:\nlog: ~\n"} {
		c, warnings, err := Parse([]byte(in), "c.yaml")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.at = nil; !reflect.DeepEqual(c, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", in, c, want)
		}
		if len(warnings) != 0 {
			t.Errorf("%q: warnings %q", in, warnings)
		}
	}
	if !reflect.DeepEqual(Default(), want) {
		t.Errorf("Default() = %+v", Default())
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate(): %v", err)
	}
	c, _, err := Parse([]byte("registry:\n  - {name: a, type: local, path: p, white_list: ['.*']}\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry[0].Tag != "latest" {
		t.Errorf("tag %q", c.Registry[0].Tag)
	}
}

func TestValidation(t *testing.T) {
	local := func(extra string) string {
		return "registry:\n  - name: a\n    type: local\n    path: p\n    white_list: ['.*']\n" + extra
	}
	tests := []struct {
		name, yaml string
		want       string // the whole error; "" means valid
	}{
		{"name required", "registry:\n  - type: local\n    path: p\n", "c.yaml:2: registry[0].name: required"},
		{"bad name", "registry:\n  - name: My_Reg\n    type: local\n    path: p\n",
			"c.yaml:2: registry[0].name: My_Reg: the name must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"},
		{"dotted name ok", "registry:\n  - name: a.b-c\n    type: local\n    path: p\n    white_list: ['.*']\n", ""},
		{"duplicate name", local("  - name: a\n    type: local\n    path: q\n    white_list: ['.*']\n"),
			`c.yaml:6: registry[1].name: "a" is also the name of registry[0]; names must be unique`},
		{"type required", "registry:\n  - name: a\n", `c.yaml:2: registry[0].type: registry "a": type is required`},
		{"apiv2 ok", "registry:\n  - name: r\n    type: apiv2\n    url: http://127.0.0.1:5000\n    white_list: ['.*']\n", ""},
		{"auth_name without type", "registry:\n  - {name: r, type: quay, auth_name: s, white_list: ['.*']}\n", `c.yaml:2: registry[0].auth_name: registry "r": auth_name needs auth_type secret or file`},
		{"auth config", "registry:\n  - {name: r, type: dockerhub, auth_type: config, user: u, white_list: ['.*']}\n", `c.yaml:2: registry[0].auth_type: registry "r": auth_type config needs user and pass`},
		{"auth config ok", "registry:\n  - {name: r, type: dockerhub, auth_type: config, user: u, pass: p, white_list: ['.*']}\n", ""},
		{"auth config quay", "registry:\n  - {name: r, type: quay, auth_type: config, white_list: ['.*']}\n", `c.yaml:2: registry[0].auth_type: registry "r": auth_type config for quay needs token (or user and pass)`},
		{"auth config quay token", "registry:\n  - {name: r, type: quay, auth_type: config, token: t, white_list: ['.*']}\n", ""},
		{"auth secret", "registry:\n  - {name: r, type: quay, auth_type: secret, white_list: ['.*']}\n", `c.yaml:2: registry[0].auth_name: registry "r": auth_type secret needs auth_name`},
		{"auth file ok", "registry:\n  - {name: r, type: quay, auth_type: file, auth_name: /f, white_list: ['.*']}\n", ""},
		{"auth unknown", "registry:\n  - {name: r, type: quay, auth_type: vault, white_list: ['.*']}\n", `c.yaml:2: registry[0].auth_type: registry "r": unknown auth_type "vault" (want config, secret or file, or none)`},
		{"dao crd", "dao:\n  type: crd\n", `c.yaml:2: dao.type: "crd" is not supported, use etcd (omit dao.etcd_host for the embedded etcd)`},
		{"dao unknown", "dao:\n  type: redis\n", `c.yaml:2: dao.type: unknown type "redis", want etcd`},
		{"dao port range", "dao:\n  etcd_host: h\n  etcd_port: 70000\n", `c.yaml:3: dao.etcd_port: 70000 is not a port number`},
		{"etcd quota too small", "dao:\n  etcd_quota_bytes: 4096\n", `c.yaml:2: dao.etcd_quota_bytes: 4096 bytes is too small; give at least 1048576 (1 MiB)`},
		{"job retention zero", "dao:\n  job_retention: 0s\n", `c.yaml:2: dao.job_retention: must be a positive duration such as 168h`},
		{"job history zero", "dao:\n  job_history: 0\n", `c.yaml:2: dao.job_history: 0: at least the last operation of each instance and binding is kept; give 1 or more`},
		{"compaction off", "dao:\n  compaction_interval: 0\n  job_retention: 24h\n  job_history: 3\n", ""},
		{"etcd cert without key", "dao:\n  etcd_host: h\n  etcd_client_cert: c\n", `c.yaml:3: dao.etcd_client_cert: etcd_client_cert and etcd_client_key must be given together`},
		{"auth bearer enabled", "broker:\n  auth:\n    - type: bearer\n      enabled: true\n",
			`c.yaml:3: broker.auth[0]: auth type "bearer" cannot be enabled: only basic is; with no enabled entry requests need a Kubernetes bearer token`},
		{"auth bearer disabled", "broker:\n  auth:\n    - type: bearer\n      enabled: false\n", ""},
		{"pull policy", "openshift:\n  image_pull_policy: ifnotpresent\n", `c.yaml:2: openshift.image_pull_policy: "ifnotpresent" is not one of IfNotPresent, Always, Never`},
		{"pull policy Never", "openshift:\n  image_pull_policy: Never\n", ""},
		{"no log output", "log:\n  stdout: false\n", `c.yaml:2: log: Cannot have a blank logfile and not log to stdout`},
		{"logfile only", "log:\n  stdout: false\n  logfile: /tmp/x.log\n", ""},
		{"ssl cert without key", "broker:\n  ssl_cert: /c\n", `c.yaml:2: broker.ssl_cert: ssl_cert and ssl_cert_key must be given together`},
		{"listen", "broker:\n  listen_address: 1338\n", `c.yaml:2: broker.listen_address: "1338" is not host:port`},
		{"default namespace", "broker:\n  default_namespace: Team_A\n", `c.yaml:2: broker.default_namespace: "Team_A" is not a namespace name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)`},
		{"default namespace ok", "broker:\n  default_namespace: team-a\n", ""},
		{"runtime", "broker:\n  runtime: podman\n", `c.yaml:2: broker.runtime: unknown runtime "podman", want kubernetes, docker or none`},
		{"secret rule", "secrets:\n  - title: t\n    secret: s\n", `c.yaml:2: secrets[0].apb_name: required (the bundle's catalog name, <registry>-<name>)`},
		{"secret rule ok", "secrets:\n  - {title: t, apb_name: dh-x-apb, secret: s}\n", ""},
		{"sandbox timeout type", "openshift:\n  sandbox_timeout: soon\n", `c.yaml:2: openshift.sandbox_timeout: want a duration such as "600s" or a number of seconds, got "soon"`},
		{"sandbox quantity", "openshift:\n  sandbox_resources:\n    limits:\n      memory: 1 GB\n",
			`c.yaml:4: openshift.sandbox_resources.limits.memory: "1 GB" is not a quantity (such as 500m, 2 or 512Mi)`},
		{"sandbox resources kind", "openshift:\n  sandbox_resources:\n    limit: {cpu: 1}\n", ""},
		{"sandbox env name", "openshift:\n  sandbox_env:\n    BAD-NAME: x\n", `c.yaml:3: openshift.sandbox_env.BAD-NAME: not a valid environment variable name`},
		{"sandbox env value", "openshift:\n  sandbox_env:\n    A: [x]\n", `c.yaml:3: openshift.sandbox_env.A: want a string, got a list`},
		{"sandbox env mapping", "openshift:\n  sandbox_env: [A]\n", `c.yaml:2: openshift.sandbox_env: want a mapping of names to strings, got a list`},
		{"clouds without namespace", "openstack:\n  clouds_secret: c\n", `c.yaml:2: openstack.clouds_secret: needs openshift.namespace (the namespace holding the Secret)`},
		{"docker clouds without a directory", "broker: {runtime: docker}\nopenstack:\n  clouds_secret: c\n",
			`c.yaml:3: openstack.clouds_secret: the docker runtime needs docker.secrets_dir or docker.sources.c (the directory holding clouds.yaml)`},
		{"docker clouds in sources", "broker: {runtime: docker}\ndocker: {sources: {c: /etc/c}}\nopenstack:\n  clouds_secret: c\n", ""},
		{"docker secret rule without a directory", "broker: {runtime: docker}\nsecrets:\n  - {title: t, apb_name: dh-x-apb, secret: s}\n",
			`c.yaml:3: secrets[0].secret: "s": the docker runtime needs docker.secrets_dir or docker.sources.s (the directory holding its files)`},
		{"docker secret rule in secrets_dir", "broker: {runtime: docker}\ndocker: {secrets_dir: /srv/s}\nsecrets:\n  - {title: t, apb_name: dh-x-apb, secret: s}\n", ""},
		{"docker pull policy", "docker:\n  image_pull_policy: never\n", `c.yaml:2: docker.image_pull_policy: "never" is not one of IfNotPresent, Always, Never`},
		{"docker memory", "docker:\n  resources:\n    memory: 1 GB\n", `c.yaml:3: docker.resources.memory: "1 GB" is not a quantity (such as 512Mi for memory, 0.5 or 500m for cpus)`},
		{"docker cpus negative", "docker:\n  resources:\n    cpus: -1\n", `c.yaml:3: docker.resources.cpus: "-1" is not a quantity (such as 512Mi for memory, 0.5 or 500m for cpus)`},
		{"docker relative dir", "docker:\n  secrets_dir: secrets\n", `c.yaml:2: docker.secrets_dir: "secrets" must be an absolute path (the engine resolves bind mounts on its host)`},
		{"docker relative source", "docker:\n  sources:\n    c: ./c\n", `c.yaml:3: docker.sources.c: "./c" must be an absolute path`},
		{"docker env name", "docker:\n  env:\n    BAD-NAME: x\n", `c.yaml:3: docker.env.BAD-NAME: not a valid environment variable name`},
		{"docker timeout type", "docker:\n  timeout: soon\n", `c.yaml:2: docker.timeout: want a duration such as "600s" or a number of seconds, got "soon"`},
		{"clouds bundles regexp", "openshift: {namespace: n}\nopenstack:\n  clouds_secret: c\n  bundles: '('\n",
			"c.yaml:4: openstack.bundles: not a regular expression: error parsing regexp: missing closing ): `(`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.yaml), "c.yaml")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("no error, config %+v", c)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestValidationWarnings(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad regex", "registry:\n  - {name: a, type: local, path: p, white_list: ['(']}\n",
			[]string{"c.yaml:2: registry[0].white_list[0]: registry \"a\": invalid regular expression, ignored: error parsing regexp: missing closing ): `(`"}},
		{"etcd port without host", "dao:\n  etcd_port: 2379\n",
			[]string{"c.yaml:2: dao.etcd_port: ignored without dao.etcd_host (the broker runs an embedded etcd)"}},
		{"plain http off loopback", "broker:\n  plain_http: true\n",
			[]string{"c.yaml:2: broker.plain_http: serving plain HTTP on 0.0.0.0:1338: credentials cross the network unencrypted"}},
		{"plain http on loopback", "broker:\n  plain_http: true\n  listen_address: '[::1]:1338'\n", nil},
		{"odd log level", "log:\n  level: chatty\n",
			[]string{`c.yaml:2: log.level: unknown level "chatty", logging at debug as asbd did`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := Parse([]byte(tt.yaml), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(warnings, tt.want) {
				t.Errorf("warnings:\n got %q\nwant %q", warnings, tt.want)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		dao  Dao
		want string
	}{
		{Dao{}, ""},
		{Dao{EtcdPort: 2379}, ""},
		{Dao{EtcdHost: "localhost", EtcdPort: 2379}, "http://localhost:2379"},
		{Dao{EtcdHost: "etcd", EtcdPort: 4001, EtcdCAFile: "/ca"}, "https://etcd:4001"},
		{Dao{EtcdHost: "::1", EtcdPort: 2379}, "http://[::1]:2379"},
		{Dao{EtcdHost: "etcd"}, "http://etcd:2379"},
	}
	for _, tt := range tests {
		if got := tt.dao.Endpoint(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.dao, got, tt.want)
		}
	}
}

func TestBasicAuthEnabled(t *testing.T) {
	tests := []struct {
		auth []AuthProvider
		want bool
	}{
		{nil, false},
		{[]AuthProvider{{Type: "basic"}}, false},
		{[]AuthProvider{{Type: "basic", Enabled: true}}, true},
		{[]AuthProvider{{Type: "bearer"}, {Type: "basic", Enabled: true}}, true},
	}
	for _, tt := range tests {
		if got := (Broker{Auth: tt.auth}).BasicAuthEnabled(); got != tt.want {
			t.Errorf("%+v: got %v", tt.auth, got)
		}
	}
}

// hack/local-config.yaml is what `make run` starts with.
func TestLocalConfig(t *testing.T) {
	c, warnings, err := Load(filepath.Join("..", "..", "hack", "local-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := []Registry{{Type: "local", Name: "local", Path: "registries", WhiteList: []string{".*"}, Tag: "latest"}}
	if !reflect.DeepEqual(c.Registry, want) {
		t.Errorf("registry %+v", c.Registry)
	}
	b := c.Broker
	if c.Dao.Endpoint() != "" || c.Dao.EtcdDataDir != ".cache/etcd" {
		t.Errorf("dao %+v", c.Dao)
	}
	if b.ListenAddress != "127.0.0.1:1338" || !b.PlainHTTP || !b.BasicAuthEnabled() || b.BasicAuthDir != ".cache/auth" ||
		!b.BootstrapOnStartup || !b.DevBroker || !b.LaunchAPBOnBind || b.Runtime != "none" || c.Log.Level != "info" || !c.Log.Stdout {
		t.Errorf("broker %+v log %+v", b, c.Log)
	}
}

func TestLoadMissing(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

// Keys asbd read that this broker does not act on as asbd did say so.
func TestKeysNotSilentlyIgnored(t *testing.T) {
	for _, tc := range []struct {
		name, doc, warn, err string
	}{
		{"recovery false", "broker:\n  recovery: false\n", "broker.recovery: false is not honoured", ""},
		{"recovery true", "broker:\n  recovery: true\n", "", ""},
		{"color", "log:\n  stdout: true\n  color: true\n", "log.color:", ""},
		{"runner", "registry:\n  - {type: apiv2, name: r, url: http://x, white_list: ['.*'], runner: img}\n", "registry[0].runner:", ""},
		{"user_auth_rule with auto_escalate", "broker:\n  auto_escalate: true\n  user_auth_rule: x\n", "broker.user_auth_rule: not used", ""},
		{"cluster_url", "broker:\n  cluster_url: ansible-service-broker\n", "", ""},
		{"bad cluster_url", "broker:\n  cluster_url: 'a?b'\n", "", "broker.cluster_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, warnings, err := Parse([]byte(tc.doc), "c.yaml")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(warnings, "\n")
			if tc.warn == "" && joined != "" || tc.warn != "" && !strings.Contains(joined, tc.warn) {
				t.Errorf("warnings %q, want %q", warnings, tc.warn)
			}
		})
	}
	for in, want := range map[string]string{"": "", "/": "", "ansible-service-broker": "/ansible-service-broker", "/foo/": "/foo", "a/b": "/a/b"} {
		if got := (Broker{ClusterURL: in}).ClusterPrefix(); got != want {
			t.Errorf("ClusterPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
