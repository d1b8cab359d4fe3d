package redact

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Mask replaces every secret value.
const Mask = "****"

// minLen: shorter values would blank out ordinary words of a text; values
// under secret names are masked in structured data whatever their length.
const minLen = 4

// secretWords are names, or words of names, that hold secrets. Short ones
// count only as whole words (pin in db_pin, not in spinner; key in
// ssh_key, not in keystone_url).
var secretWords = map[string]bool{
	"password": true, "passwords": true, "passwd": true, "pwd": true, "pw": true, "pass": true,
	"passphrase": true, "secret": true, "secrets": true, "token": true, "tokens": true,
	"credential": true, "credentials": true, "cred": true, "creds": true, "pin": true,
	"key": true, "keys": true, "apikey": true, "privatekey": true, "private": true,
	"authorization": true, "cookie": true,
}

// secretParts are found anywhere in a name, separators removed.
var secretParts = []string{"password", "passwd", "secret", "token", "credential", "apikey", "privatekey", "accesskey"}

// Key reports whether a parameter or field name looks like it holds a
// secret: db_password, adminPwd, api-token, ssh_key, DB_PIN, creds.
func Key(name string) bool {
	if secretRef(name) {
		return false
	}
	lower := strings.ToLower(name)
	flat := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, lower)
	for _, p := range secretParts {
		if strings.Contains(flat, p) {
			return true
		}
	}
	for _, w := range words(name) {
		if secretWords[w] {
			return true
		}
	}
	return false
}

// secretRef reports whether a name holds the name of a Kubernetes Secret
// rather than a secret: the OpenStack bundles' credentials_secret,
// db_secret_name, tlsSecretName, a *_secret_ref.
func secretRef(name string) bool {
	w := words(name)
	n := len(w)
	switch {
	case n >= 2 && w[n-2] == "secret" && (w[n-1] == "name" || w[n-1] == "ref"):
		return true
	case n == 2 && w[0] == "credentials" && w[1] == "secret":
		return true
	}
	return false
}

// words splits a name at separators and lower-to-upper case changes,
// lower-cased: "adminPwd_2" is admin, pwd, 2.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

// identifierWords end the names of fields that identify a resource
// rather than grant access to it.
var identifierWords = map[string]bool{
	"name": true, "id": true, "uuid": true, "fingerprint": true, "region": true,
	"zone": true, "type": true, "status": true,
}

// identifier reports whether a field under a secret name (a bundle's
// _apb_provision_creds) names what the secret is for rather than holding
// it: a keypair's name, an application credential's id, a project's name.
// Masking those in free text blanked out the resource a progress message
// or an error was about ("checking keypair ****"), and short ones blanked
// out ordinary words ("demo" in "demonstration"); a name that itself looks
// secret (key_name) still counts.
func identifier(name string) bool {
	w := words(name)
	return len(w) > 0 && identifierWords[w[len(w)-1]] && !Key(name)
}

// secretName reports whether name is declared secret or looks it.
func secretName(name string, declared map[string]bool) bool {
	return declared[name] || Key(name)
}

// Value returns a copy of v, decoded JSON, with the values under secret
// names (declared ones, or names that Key finds) replaced by Mask, at any
// depth.
func Value(v any, declared map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if secretName(k, declared) {
				out[k] = Mask
			} else {
				out[k] = Value(e, declared)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Value(e, declared)
		}
		return out
	}
	return v
}

// Names makes the set of declared secret names.
func Names(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Text masks known secret values in free text: a bundle's log, a
// description it reported, an error message. The zero Text knows no
// values and masks only "password: x" assignments. It is not safe for
// concurrent use while values are added.
type Text struct {
	mu     sync.Mutex
	values []string
	sorted bool
}

// assignment matches `password: x`, `"token": "x"`, `secret=x` and the like.
var assignment = regexp.MustCompile(`(?i)((?:"|')?[a-z0-9_.-]*(?:password|passwd|secret|token|credential|private_key|api_key)[a-z0-9_.-]*(?:"|')?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}]+)`)

// Add records every string in v at any depth as secret: credentials, a
// Secret's data (map[string][]byte), a clouds.yaml.
func (t *Text) Add(v any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(v, true, nil)
}

// AddUnder records the strings of v that are under secret names, declared
// or found by Key, at any depth; everything below such a name counts.
func (t *Text) AddUnder(v any, declared map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(v, false, declared)
}

func (t *Text) add(v any, all bool, declared map[string]bool) {
	switch x := v.(type) {
	case string:
		if all {
			t.addString(x)
		}
	case []byte:
		if all {
			t.addString(string(x))
		}
	case map[string]any:
		for k, e := range x {
			s := secretName(k, declared)
			if all && !s && identifier(k) {
				continue
			}
			t.add(e, all || s, declared)
		}
	case map[string]string:
		for k, e := range x {
			if secretName(k, declared) || all && !identifier(k) {
				t.addString(e)
			}
		}
	case map[string][]byte:
		for k, e := range x {
			if secretName(k, declared) || all && !identifier(k) {
				t.addString(string(e))
			}
		}
	case []any:
		for _, e := range x {
			t.add(e, all, declared)
		}
	case []string:
		for _, e := range x {
			t.add(e, all, declared)
		}
	}
}

// addString records s, as written and as it appears inside a JSON string
// (a bundle that prints its variables), and, for a multi-line document
// such as clouds.yaml, each `key: value` value in it.
func (t *Text) addString(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minLen {
		return
	}
	t.values = append(t.values, s)
	if q, _ := json.Marshal(s); string(q[1:len(q)-1]) != s {
		t.values = append(t.values, string(q[1:len(q)-1]))
	}
	t.sorted = false
	if !strings.Contains(s, "\n") {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		_, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		if len(val) >= minLen+2 {
			t.values = append(t.values, val)
		}
	}
}

// String returns s with every known value and every secret-looking
// assignment masked. A nil Text masks assignments only.
func (t *Text) String(s string) string {
	if t != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.sorted {
			// Longest first, so that a value containing another is masked whole.
			sort.Slice(t.values, func(i, j int) bool { return len(t.values[i]) > len(t.values[j]) })
			t.sorted = true
		}
		for _, v := range t.values {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Mask)
			}
		}
	}
	return assignment.ReplaceAllString(s, "${1}"+Mask)
}
