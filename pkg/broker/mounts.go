package broker

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
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

// wants reports whether a bundle gets the clouds.yaml Secret.
func (c CloudsRule) wants(sp *apb.Spec) bool {
	if c.Secret == "" {
		return false
	}
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

// mounts are the files a bundle gets: the secrets: rules naming it, then
// the OpenStack credentials when it wants a cloud, each source once.
func (b *Broker) mounts(sp *apb.Spec) []runtime.Mount {
	var out []runtime.Mount
	for _, r := range b.o.Secrets {
		if r.APBName == sp.FQName && r.Secret != "" && !slices.ContainsFunc(out, sameSource(r.Secret)) {
			out = append(out, SecretMount(r.Secret))
		}
	}
	if b.o.Clouds.wants(sp) {
		out = slices.DeleteFunc(out, sameSource(b.o.Clouds.Secret))
		out = append(out, CloudsMount(b.o.Clouds.Secret, b.o.Clouds.Cloud))
	}
	return out
}

func sameSource(source string) func(runtime.Mount) bool {
	return func(m runtime.Mount) bool { return m.Source == source }
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
