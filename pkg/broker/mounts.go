package broker

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// SecretRule maps a source of files (a Secret, on Kubernetes) to the
// bundle, by catalog name, that gets it mounted (Automation Broker's
// secrets: rules).
type SecretRule struct {
	APBName string
	Secret  string
	// Title names the rule in the broker's log (secrets[].title).
	Title string
}

// CloudsRule says which bundles get the OpenStack credentials.
type CloudsRule struct {
	// Secret names the source holding clouds.yaml, optionally secure.yaml;
	// empty means no bundle gets OpenStack credentials.
	Secret string
	// Cloud is OS_CLOUD (empty: the only cloud in clouds.yaml).
	Cloud string
	// Bundles selects bundles by catalog name; nil means the bundles
	// tagged "openstack" in their apb.yml, so that credentials for the
	// whole project never reach a bundle that did not ask for a cloud.
	Bundles *regexp.Regexp
}

// Parameters of the bundles that want a cloud which the broker reads
// itself: a tenant's own credentials (a Secret in the instance's
// namespace holding clouds.yaml) and the entry of clouds.yaml to use.
const (
	ParamCredentialsSecret = "credentials_secret"
	ParamCloud             = "cloud"
)

// secretName is the rule for credentials_secret: a Kubernetes Secret
// name (DNS-1123 subdomain), which no runtime can read as a path or as
// another namespace's.
var secretName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// checkCredentialsParams refuses a credentials_secret that cannot be the
// name of a Secret in the instance's own namespace, naming the parameter.
func (c CloudsRule) checkCredentialsParams(sp *apb.Spec, params map[string]any) error {
	v, ok := params[ParamCredentialsSecret]
	if !ok || sp == nil || !c.wants(sp) {
		return nil
	}
	if s, isString := v.(string); !isString || (s != "" && !secretName.MatchString(s)) {
		return osbapi.BadRequest("invalid parameters: %s: must be the name of a Secret in the instance's own namespace "+
			"(lowercase letters, digits, '-' and '.'), got %q", ParamCredentialsSecret, fmt.Sprint(v))
	}
	return nil
}

// wants reports whether a bundle gets OpenStack credentials: the
// clouds.yaml Secret of the broker, or the one its instance names.
func (c CloudsRule) wants(sp *apb.Spec) bool {
	if c.Bundles != nil {
		return c.Bundles.MatchString(sp.FQName)
	}
	for _, t := range sp.Tags {
		if strings.EqualFold(t, "openstack") {
			return true
		}
	}
	return false
}

// SecretMount is a source of files mounted where apb-base's bundles look:
// /etc/apb-secrets/apb-<source>.
func SecretMount(source string) runtime.Mount {
	return runtime.Mount{Source: source, Path: path.Join(apb.SecretsDir, "apb-"+source)}
}

// CloudsMount is SecretMount of a source holding clouds.yaml (optionally
// secure.yaml), with OpenStack clients pointed at it by environment
// variables that hold only paths and the cloud's name (cloud, or else the
// only cloud in clouds.yaml): the credentials stay in the files.
func CloudsMount(source, cloud string) runtime.Mount {
	m := SecretMount(source)
	m.Env = cloudsEnv(m.Path, cloud)
	return m
}

// TenantCloudsMount is CloudsMount of a Secret in the instance's own
// namespace (credentials_secret), mounted apart from the broker's
// sources.
func TenantCloudsMount(source, cloud string) runtime.Mount {
	m := runtime.Mount{Source: source, Scope: runtime.ScopeTarget, Path: path.Join(apb.SecretsDir, "namespace-"+source)}
	m.Env = cloudsEnv(m.Path, cloud)
	return m
}

// mounts are the files a bundle gets: the secrets: rules naming it, then
// the OpenStack credentials when it wants a cloud, each source once.
// params are the instance's parameters: a credentials_secret there
// replaces the broker's clouds.yaml with the tenant's own, read from the
// instance's namespace only; cloud picks the entry of clouds.yaml.
func (b *Broker) mounts(sp *apb.Spec, params map[string]any) []runtime.Mount {
	var out []runtime.Mount
	for _, r := range b.o.Secrets {
		if r.APBName == sp.FQName && r.Secret != "" && !slices.ContainsFunc(out, sameSource(r.Secret)) {
			out = append(out, SecretMount(r.Secret))
		}
	}
	if !b.o.Clouds.wants(sp) {
		return out
	}
	cloud, _ := params[ParamCloud].(string)
	if tenant, _ := params[ParamCredentialsSecret].(string); tenant != "" {
		return append(out, TenantCloudsMount(tenant, cloud))
	}
	if b.o.Clouds.Secret != "" {
		out = slices.DeleteFunc(out, sameSource(b.o.Clouds.Secret))
		out = append(out, CloudsMount(b.o.Clouds.Secret, cmp.Or(cloud, b.o.Clouds.Cloud)))
	}
	return out
}

func sameSource(source string) func(runtime.Mount) bool {
	return func(m runtime.Mount) bool { return m.Scope == runtime.ScopeBroker && m.Source == source }
}

// cloudsEnv points OpenStack clients at the clouds.yaml (and secure.yaml)
// of a mounted source found at dir: OS_CLIENT_CONFIG_FILE,
// OS_CLIENT_SECURE_FILE for the files the source holds, and OS_CLOUD, the
// configured cloud or else the only cloud in clouds.yaml.
func cloudsEnv(dir, cloud string) func(files map[string][]byte) []runtime.EnvVar {
	return func(files map[string][]byte) []runtime.EnvVar {
		var env []runtime.EnvVar
		if clouds, ok := files["clouds.yaml"]; ok {
			env = append(env, runtime.EnvVar{Name: "OS_CLIENT_CONFIG_FILE", Value: path.Join(dir, "clouds.yaml")})
			if c := cloudName(cloud, clouds); c != "" {
				env = append(env, runtime.EnvVar{Name: "OS_CLOUD", Value: c})
			}
		}
		if _, ok := files["secure.yaml"]; ok {
			env = append(env, runtime.EnvVar{Name: "OS_CLIENT_SECURE_FILE", Value: path.Join(dir, "secure.yaml")})
		}
		return env
	}
}

// cloudName picks OS_CLOUD: the configured name, else the only cloud.
func cloudName(configured string, clouds []byte) string {
	if configured != "" {
		return configured
	}
	var doc struct {
		Clouds map[string]any `yaml:"clouds"`
	}
	if yaml.Unmarshal(clouds, &doc) != nil || len(doc.Clouds) != 1 {
		return ""
	}
	for name := range doc.Clouds {
		return name
	}
	return ""
}
