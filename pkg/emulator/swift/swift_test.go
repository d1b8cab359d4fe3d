package swift

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

func TestCleanACL(t *testing.T) {
	// The examples of acl.clean_acl's documentation.
	for in, want := range map[string]string{
		"bob, sue":            "bob,sue",
		"bob , sue":           "bob,sue",
		"bob,,,sue":           "bob,sue",
		".referrer : *":       ".r:*",
		".ref:*.example.com":  ".r:.example.com",
		".r:*, .rlistings":    ".r:*,.rlistings",
		".r:-.thief.com,.r:*": ".r:-.thief.com,.r:*",
		"proj:user,*:*":       "proj:user,*:*",
	} {
		if got, err := cleanACL("X-Container-Read", in); err != nil || got != want {
			t.Errorf("cleanACL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		".r:":      "No host/domain value after referrer designation in ACL: '.r:'",
		".r:-":     "No host/domain value after referrer designation in ACL: '.r:-'",
		".x:y":     "Unknown designator '.x' in ACL: '.x:y'",
		".r:*,bob": "Referrers not allowed in write ACL: '.r:*'",
	} {
		name := "X-Container-Read"
		if in == ".r:*,bob" {
			name = "X-Container-Write"
		}
		_, err := cleanACL(name, in)
		if e, ok := err.(interface{ Error() string }); !ok || fmt.Sprint(e) != "400 "+want {
			t.Errorf("cleanACL(%q): %v, want %q", in, err, want)
		}
	}
}

func TestReferrerAllowed(t *testing.T) {
	acl := []string{".example.com", "-thief.example.com"}
	for ref, want := range map[string]bool{
		"http://www.example.com/x": true, "http://thief.example.com/": false, "http://other.org": false, "": false,
	} {
		if got := referrerAllowed(ref, acl); got != want {
			t.Errorf("referrerAllowed(%q) = %v", ref, got)
		}
	}
	if !referrerAllowed("", []string{"*"}) {
		t.Error(".r:* must allow a request without a referrer")
	}
}

func TestParseRange(t *testing.T) {
	for h, want := range map[string]string{
		"bytes=0-4":     "[[0 5]]",
		"bytes=-3":      "[[7 10]]",
		"bytes=5-":      "[[5 10]]",
		"bytes=0-1,4-5": "[[0 2] [4 6]]",
		"bytes=8-30":    "[[8 10]]",
		"bytes=20-30":   "[]",
		"bytes=x":       "[]",
		"bytes=3-1":     "[]",
		"items=0-1":     "[]",
	} {
		got := parseRange(h, 10)
		if fmt.Sprint(got) != want {
			t.Errorf("parseRange(%q) = %v, want %s", h, got, want)
		}
	}
	if parseRange("bytes=x", 10) != nil || parseRange("bytes=20-30", 10) == nil {
		t.Error("a malformed Range is nil (ignored), an unsatisfiable one empty (416)")
	}
}

func TestDigestOf(t *testing.T) {
	for sig, want := range map[string]string{
		"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         "sha1",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "sha256",
		"sha512:+/v7+w": "sha512", // base64 with + and /
		"sha512:-_v7-w": "sha512", // URL-safe base64
		"md5:AAAA":      "",
		"abc":           "",
		"zz39a3ee5e6b4b0d3255bfef95601890afd80709": "",
	} {
		algo, _, ok := digestOf(sig)
		if algo != want || ok != (want != "") {
			t.Errorf("digestOf(%q) = %q %v, want %q", sig, algo, ok, want)
		}
	}
	if _, hex, _ := digestOf("sha512:-_v7-w"); hex != "fbfbfbfb" {
		t.Errorf("URL-safe base64 decodes to %s", hex)
	}
}

func TestTempHMAC(t *testing.T) {
	// Values from Python's hmac over swift.common.digest.get_hmac's message.
	if got := tempHMAC("sha1", "k", "GET", 1700000000, "/v1/AUTH_a/c/o", ""); got != "0f0c0f39d6ab8be658d01c698826343d80886bb0" {
		t.Errorf("sha1: %s", got)
	}
	if got := tempHMAC("sha256", "k", "PUT", 1700000000, "/v1/AUTH_a/c/o", "127.0.0.0/8"); got != "92dad63d4c3f954ff9114320bd55e8cc9ebecf9c4091276aac7983f8855999a7" {
		t.Errorf("sha256 with an IP range: %s", got)
	}
}

func TestList(t *testing.T) {
	names := []string{"a/1", "a/2", "b", "c/x/y", "d"}
	item := func(n string) any { return n }
	show := func(lp listParams) string {
		var out []string
		for _, e := range list(append([]string(nil), names...), lp, item) {
			if e.subdir {
				out = append(out, e.name+"(dir)")
			} else {
				out = append(out, e.name)
			}
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		lp   listParams
		want string
	}{
		{listParams{limit: 100}, "[a/1 a/2 b c/x/y d]"},
		{listParams{limit: 100, delimiter: "/"}, "[a/(dir) b c/(dir) d]"},
		{listParams{limit: 100, delimiter: "/", marker: "a/"}, "[b c/(dir) d]"},
		{listParams{limit: 100, prefix: "c/", delimiter: "/"}, "[c/x/(dir)]"},
		{listParams{limit: 2, marker: "a/1"}, "[a/2 b]"},
		{listParams{limit: 100, endMarker: "c"}, "[a/1 a/2 b]"},
		{listParams{limit: 100, reverse: true, marker: "d"}, "[c/x/y b a/2 a/1]"},
		{listParams{limit: 100, hasPath: true, path: "a"}, "[a/1 a/2]"},
	} {
		if got := show(c.lp); got != c.want {
			t.Errorf("%+v: %s, want %s", c.lp, got, c.want)
		}
	}
}

func TestListingType(t *testing.T) {
	for _, c := range []struct{ query, accept, want string }{
		{"", "", "text/plain"},
		{"format=json", "text/plain", "application/json"},
		{"format=xml", "", "application/xml"},
		{"format=other", "", "text/plain"},
		{"", "application/json", "application/json"},
		{"", "*/*", "text/plain"},
		{"", "application/json;q=0.5, text/xml", "text/xml"},
		{"", "image/png", ""},
	} {
		r := httptest.NewRequest("GET", "/v1/AUTH_a?"+c.query, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		got, err := listingType(r)
		if got != c.want || (c.want == "" && err == nil) {
			t.Errorf("%q %q: %q %v, want %q", c.query, c.accept, got, err, c.want)
		}
	}
}

func TestPyQuote(t *testing.T) {
	if got := pyQuote("a b/ç~", "/"); got != "a%20b/%C3%A7~" {
		t.Errorf("pyQuote: %s", got)
	}
	if got := dispositionFormat("attachment", "a b.txt"); got != `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt` {
		t.Errorf("disposition: %s", got)
	}
}
