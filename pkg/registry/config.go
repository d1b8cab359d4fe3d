package registry

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultTag is the tag read from each bundle image when Config.Tag is
// empty.
const DefaultTag = "latest"

// Config is one registry: an entry of the config file's registry: list,
// which pkg/daemon maps onto it.
type Config struct {
	// Type is one of the kinds below (apiv2, openshift, dockerhub, quay,
	// local_openshift, local).
	Type string
	// Name prefixes the catalog names of its bundles: <name>-<bundle>.
	Name string
	URL  string
	// User, Pass and Token are the credentials of auth_type config.
	User, Pass, Token string
	// Org is the Docker Hub or Quay organisation.
	Org string
	// Tag is the tag read from each image (default DefaultTag).
	Tag string
	// Images lists the images to read where the registry cannot be
	// listed (openshift), or only these.
	Images []string
	// Namespaces are the namespaces of local_openshift's image streams.
	Namespaces []string
	// FailOnError makes a failure of this registry fail the bootstrap.
	FailOnError bool
	// WhiteList and BlackList are regular expressions on image names.
	WhiteList, BlackList []string
	// AuthType is "", config, secret (AuthName is a Secret in the broker
	// namespace) or file (AuthName is a YAML file).
	AuthType, AuthName string
	// SkipVerifyTLS accepts any certificate from the registry.
	SkipVerifyTLS bool
	// Path is the directory of bundle sources of type local.
	Path string
}

// kind is one registry type: the fields it needs and how its adapter is
// built, or, for a type this broker does not have, why and the way out.
type kind struct {
	name    string
	needs   []string // config keys of the entry that must be set
	build   func(c Config, o Options) (adapter, error)
	refused string
}

// kinds is the one table of registry types: the Automation Broker's, in
// the order error messages list them.
var kinds = []kind{
	{name: "apiv2", needs: []string{"url"}, build: func(c Config, o Options) (adapter, error) { return newV2(c, o) }},
	{name: "openshift", needs: []string{"url", "images"}, build: func(c Config, o Options) (adapter, error) { return newV2(c, o) }},
	{name: "dockerhub", needs: []string{"org"}, build: func(c Config, o Options) (adapter, error) { return newDockerHub(c, o) }},
	{name: "quay", needs: []string{"org"}, build: func(c Config, o Options) (adapter, error) { return newQuay(c, o) }},
	{name: "local_openshift", build: func(c Config, o Options) (adapter, error) { return newLocalOpenShift(c, o) }},
	{name: "local", needs: []string{"path"}, build: func(c Config, o Options) (adapter, error) { return newLocal(c) }},
	{name: "rhcc", refused: "(the Red Hat Container Catalog API is gone); use apiv2"},
	{name: "partner_rhcc", refused: "(the Red Hat partner registry no longer serves APBs); use apiv2"},
	{name: "helm", refused: "(Helm charts are not APBs; this broker runs APBs only)"},
	{name: "galaxy", refused: "(the Ansible Galaxy v1 content API is gone); build the role into an APB image and use apiv2"},
	{name: "registry_proxy", refused: "; use apiv2 with the images listed in images"},
	{name: "mock", refused: "(it was bundle-lib's test fixture); use local with a directory of bundles"},
}

func kindOf(typ string) (kind, bool) {
	for _, k := range kinds {
		if k.name == typ {
			return k, true
		}
	}
	return kind{}, false
}

// supported lists the types this broker has, for messages.
func supported() string {
	var names []string
	for _, k := range kinds {
		if k.refused == "" {
			names = append(names, k.name)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ConfigError is a problem with one registry's Config: Index is its place
// in the list given to Validate or New, Field the config key at fault
// (type, url, ...), so that the caller can say where in its file.
type ConfigError struct {
	Index int
	Name  string
	Field string
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("registry[%d]: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("registry %q: %v", e.Name, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks what each registry's type needs, without building
// anything: unknown and refused types, missing fields, duplicate names.
// The error joins one *ConfigError per problem.
func Validate(cfgs []Config) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cfgs {
		bad := func(field, format string, args ...any) {
			errs = append(errs, &ConfigError{Index: i, Name: c.Name, Field: field, Err: fmt.Errorf(format, args...)})
		}
		switch {
		case c.Name == "":
			bad("name", "name is required")
		case seen[c.Name]:
			bad("name", "names must be unique")
		}
		seen[c.Name] = true
		k, ok := kindOf(c.Type)
		switch {
		case c.Type == "":
			bad("type", "type is required")
			continue
		case !ok:
			bad("type", "unknown type %q (want %s)", c.Type, supported())
			continue
		case k.refused != "":
			bad("type", "type %q is not supported %s", c.Type, k.refused)
			continue
		}
		for _, f := range k.needs {
			if !set(c, f) {
				bad(f, "type %s needs %s", c.Type, f)
			}
		}
	}
	return errors.Join(errs...)
}

// set reports whether the field a kind needs is given.
func set(c Config, field string) bool {
	switch field {
	case "url":
		return c.URL != ""
	case "images":
		return len(c.Images) > 0
	case "org":
		return c.Org != ""
	case "path":
		return c.Path != ""
	}
	panic("registry: kinds needs unknown field " + field)
}
