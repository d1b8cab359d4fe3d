package store

import (
	"fmt"
	"strings"
)

// Key prefixes of the Automation Broker's layout.
const (
	prefixSpec        = "/spec/"
	prefixInstance    = "/service_instance/"
	prefixBinding     = "/bind_instance/"
	prefixState       = "/state/"
	prefixCredentials = "/extracted_credentials/"
	// keyBrokerID is ours: the Automation Broker's layout has no identity.
	keyBrokerID = "/osb/broker_id"
)

// Every id goes into a key through escape, never as it came: an id is a
// platform's opaque string, and one holding "/" would otherwise reach
// into another id's keys ("col/job/zz" under /state/ is instance col's
// job zz) and widen prefix scans and prefix deletes to other ids.
//
// escape percent-encodes every byte but RFC 3986's unreserved characters
// (letters, digits, "-", ".", "_", "~"), "%" included, so it is one to
// one and its output has no "/". It leaves UUIDs (what every platform
// sends and the only ids the Automation Broker accepted), its md5 spec ids
// and its job tokens unchanged: an Automation Broker's etcd is read as it
// is.
func escape(id string) string {
	n := 0
	for i := 0; i < len(id); i++ {
		if !unreserved(id[i]) {
			n++
		}
	}
	if n == 0 {
		return id
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(id)+2*n)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// unescape reverses escape; it refuses what escape cannot have made (a
// "/" or a stray "%"), which is how keys written before ids were escaped,
// or by hand, show up.
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%/") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			return "", fmt.Errorf("%q holds a /", s)
		case c != '%':
			b = append(b, c)
		case i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			return "", fmt.Errorf("%q holds a stray %%", s)
		}
	}
	return string(b), nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func specKey(id string) string        { return prefixSpec + escape(id) }
func instanceKey(id string) string    { return prefixInstance + escape(id) }
func bindingKey(id string) string     { return prefixBinding + escape(id) }
func credentialsKey(id string) string { return prefixCredentials + escape(id) }

// jobsPrefix is the prefix of one resource's job records. The escaped id
// holds no "/", so the prefix matches that resource's jobs only.
func jobsPrefix(resourceID string) string { return prefixState + escape(resourceID) + "/job/" }

// JobKey is the key of a job record, /state/<resource id>/job/<token>:
// bindings keep it (CreateJobKey) as the Automation Broker did.
func JobKey(resourceID, token string) string { return jobsPrefix(resourceID) + escape(token) }

// parseJobKey splits /state/<resource id>/job/<token> into its ids.
func parseJobKey(key string) (resourceID, token string, err error) {
	parts := strings.Split(strings.TrimPrefix(key, prefixState), "/")
	if !strings.HasPrefix(key, prefixState) || len(parts) != 3 || parts[1] != "job" || parts[0] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("%q is not /state/<id>/job/<token>", key)
	}
	if resourceID, err = unescape(parts[0]); err != nil {
		return "", "", err
	}
	if token, err = unescape(parts[2]); err != nil {
		return "", "", err
	}
	return resourceID, token, nil
}
