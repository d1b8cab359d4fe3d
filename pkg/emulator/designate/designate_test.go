package designate

import (
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		name           string
		zone, hostname bool
	}{
		{"example.com.", true, true},
		{"example.com", false, false},
		{"*.example.com.", false, true},
		{"-bad.example.com.", false, false},
		{"bad-.example.com.", false, false},
		{"under_score.example.com.", true, true},
		{"a..example.com.", false, false},
		{strings.Repeat("a", 64) + ".com.", false, false},
	} {
		if got := domainField(c.name) == nil; got != c.zone {
			t.Errorf("domainField(%q) ok=%v, want %v", c.name, got, c.zone)
		}
		if got := hostField(c.name) == nil; got != c.hostname {
			t.Errorf("hostField(%q) ok=%v, want %v", c.name, got, c.hostname)
		}
	}
	if !srvName("_sip._tcp.example.com.") || srvName("sip._tcp.example.com.") || srvName("_sip.example.com.") {
		t.Error("srvName")
	}
	if emailField("a@example.com") != nil || emailField("a.example.com") == nil || emailField("a@b@c.com") == nil {
		t.Error("emailField")
	}
}

func TestRecords(t *testing.T) {
	for _, c := range []struct {
		typ, data string
		ok        bool
	}{
		{"A", "192.0.2.1", true}, {"A", "192.0.2", false}, {"A", "::1", false},
		{"AAAA", "2001:db8::1", true}, {"AAAA", "192.0.2.1", false},
		{"CNAME", "www.example.com.", true}, {"CNAME", "www.example.com", false},
		{"MX", "10 mail.example.com.", true}, {"MX", "010 mail.example.com.", false}, {"MX", "10 mail.example.com", false},
		{"SRV", "10 60 5060 sip.example.com.", true}, {"SRV", "10 60 sip.example.com.", false},
		{"TXT", "v=spf1", true}, {"TXT", "has space", false}, {"TXT", `"has space"`, true}, {"TXT", `"unbalanced`, false},
		{"TXT", `"in "quotes""`, false}, {"TXT", `"in \"quotes\""`, true},
		{"NS", "ns1.example.com.", true}, {"PTR", "host.example.com.", true},
		{"CAA", `0 issue "letsencrypt.org"`, true}, {"CAA", "0 nope x", false},
		{"SSHFP", "1 1 0123456789abcdef0123456789abcdef01234567", true},
		{"BOGUS", "x", false},
	} {
		if got := checkRecord(c.typ, c.data); got != c.ok {
			t.Errorf("checkRecord(%s, %q) = %v, want %v", c.typ, c.data, got, c.ok)
		}
	}
}

func TestLikeAndSerial(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		ok             bool
	}{{"www*", "www.example.com.", true}, {"*.com.", "www.example.com.", true}, {"*ample*", "www.example.com.", true},
		{"www", "www.example.com.", false}, {"*x*y", "axbxc", false}} {
		if got := likeMatch(c.pattern, c.value); got != c.ok {
			t.Errorf("likeMatch(%q, %q) = %v", c.pattern, c.value, got)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	if incrementSerial(1, now) != 1_700_000_000 || incrementSerial(1_700_000_000, now) != 1_700_000_001 {
		t.Error("incrementSerial")
	}
}
