package redact

import (
	"regexp"
	"sort"
	"strings"
)

// Mask replaces each secret value.
const Mask = "****"

// minSecretLen: shorter values would blank out ordinary words of the log.
const minSecretLen = 4

// Redactor hides known secret values (mounted files, credentials in the
// extra vars) and anything that looks like a password assignment in the
// bundle's log before it reaches the broker's log. Fill it with Add, call
// Finish once, then Redact may be called from any goroutine.
type Redactor struct {
	values []string
}

var sensitiveKey = regexp.MustCompile(`(?i)(pass|secret|token|credential|private|_key$|^key$|auth)`)

// assignment matches `password: x`, `"token": "x"`, `secret=x` and the like.
var assignment = regexp.MustCompile(`(?i)((?:"|')?[a-z0-9_.-]*(?:password|passwd|secret|token|credential|private_key|api_key)[a-z0-9_.-]*(?:"|')?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}]+)`)

// Add records the secret values found in v: strings under sensitive keys
// at any depth, and every string when all is set (a Secret's data, bind
// credentials).
func (r *Redactor) Add(v any, all bool) {
	switch t := v.(type) {
	case string:
		if all {
			r.addString(t)
		}
	case []byte:
		if all {
			r.addString(string(t))
		}
	case map[string]any:
		for k, e := range t {
			r.Add(e, all || sensitiveKey.MatchString(k))
		}
	case map[string][]byte:
		for _, e := range t {
			r.addString(string(e))
		}
	case []any:
		for _, e := range t {
			r.Add(e, all)
		}
	}
}

// addString records s and, for a multi-line document such as clouds.yaml,
// each `key: value` value in it.
func (r *Redactor) addString(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minSecretLen {
		return
	}
	r.values = append(r.values, s)
	if !strings.Contains(s, "\n") {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		_, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		if len(val) >= minSecretLen+2 {
			r.values = append(r.values, val)
		}
	}
}

// Finish sorts longest first so a value containing another is replaced whole.
func (r *Redactor) Finish() {
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// Redact returns s with every known secret value and every password-like
// assignment masked.
func (r *Redactor) Redact(s string) string {
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return assignment.ReplaceAllString(s, "${1}"+Mask)
}

// AddExtraVars records the secret values of an action's extra vars: those
// under sensitive keys, and every value of the provision and bind
// credentials a later action gets.
func (r *Redactor) AddExtraVars(vars map[string]any) {
	r.Add(vars, false)
	r.Add(vars["_apb_provision_creds"], true)
	r.Add(vars["_apb_bind_creds"], true)
}
