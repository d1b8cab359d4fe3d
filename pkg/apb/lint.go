package apb

import (
	"errors"
	"fmt"
	"strings"
)

// LintOptions are a registry's own rules on top of what every catalog
// needs.
type LintOptions struct {
	// Tags every bundle must carry (e.g. "openstack").
	Tags []string
	// Free requires every plan to be free.
	Free bool
}

// secretWords mark a parameter whose value must be masked in forms.
var secretWords = []string{"password", "passwd", "secret", "passphrase", "token"}

// Lint checks what makes a bundle good to read in a catalog UI, beyond
// Validate's structural rules, and reports every problem naming the bundle
// and the field: a description and display metadata for the service and
// each plan, a title for each parameter, required parameters before the
// optional ones (forms follow the order), secrets as password fields,
// and the registry's own rules (o). It also converts the spec as the
// catalog would, so a bundle that lints clean is served.
func Lint(s *Spec, source string, o LintOptions) error {
	var errs []error
	if err := s.Validate(source); err != nil {
		errs = append(errs, err)
	}
	bad := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("bundle %q: %s: %s", source, path, fmt.Sprintf(format, a...)))
	}
	if strings.TrimSpace(s.Description) == "" {
		bad("description", "is required")
	}
	for _, k := range []string{"displayName", "longDescription", "providerDisplayName"} {
		if v, _ := s.Metadata[k].(string); strings.TrimSpace(v) == "" {
			bad("metadata."+k, "is required (catalog UIs show it)")
		}
	}
	for _, want := range o.Tags {
		if !hasTag(s.Tags, want) {
			bad("tags", "must include %q", want)
		}
	}
	for i, p := range s.Plans {
		path := fmt.Sprintf("plans[%d]", i)
		if strings.TrimSpace(p.Description) == "" {
			bad(path+".description", "is required")
		}
		if v, _ := p.Metadata["displayName"].(string); strings.TrimSpace(v) == "" {
			bad(path+".metadata.displayName", "is required (catalog UIs show it)")
		}
		if o.Free && !p.Free {
			bad(path+".free", "must be true")
		}
		lintParams(p.Parameters, path+".parameters", bad)
		lintParams(p.BindParameters, path+".bind_parameters", bad)
	}
	if _, err := ToService(s, ConvertOptions{}); err != nil {
		bad("plans", "does not convert to a catalog service: %v", err)
	}
	return errors.Join(errs...)
}

func lintParams(ps []Parameter, path string, bad func(path, format string, a ...any)) {
	optional := ""
	for i, p := range ps {
		pp := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(p.Title) == "" {
			bad(pp+".title", "is required (forms show it)")
		}
		if p.Required && optional != "" {
			bad(pp+".required", "required parameter %q after optional %q: list required parameters first", p.Name, optional)
		}
		if !p.Required && optional == "" {
			optional = p.Name
		}
		if looksSecret(p.Name) && p.DisplayType != "password" {
			bad(pp+".display_type", "parameter %q holds a secret: display_type must be password", p.Name)
		}
	}
}

// looksSecret: the name says the value is a secret, unless it names a
// Kubernetes Secret (credentials_secret, db_secret_name) rather than
// holding one.
func looksSecret(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_secret") || strings.HasSuffix(n, "_secret_name") {
		n = n[:strings.LastIndex(n, "_secret")]
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func hasTag(tags []string, want string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, want) {
			return true
		}
	}
	return false
}
