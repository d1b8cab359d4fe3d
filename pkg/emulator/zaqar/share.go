package zaqar

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

const signedDateFormat = "2006-01-02T15:04:05"

// signURL is common/urls.create_signed_url: the HMAC-SHA256 (hex) of
// "paths\nmethods\nproject\nexpires" with a literal backslash-n between
// the parts (Zaqar builds it from a raw string), keyed by the service's
// secret key. expires "" means a day from now.
func signURL(key string, paths, methods []string, project, expires string, now time.Time) (core.Ordered, error) {
	if len(methods) == 0 {
		methods = []string{"GET"}
	}
	if len(paths) == 0 {
		return core.Ordered{}, fmt.Errorf("`paths` must be a non-empty list")
	}
	var exp time.Time
	if expires != "" {
		if n, err := strconv.Atoi(expires); err == nil && n != 0 {
			return core.Ordered{}, fmt.Errorf("`expires` should be date format, for example 2016-01-01T00:00:00, not integer value: %d", n)
		}
		t, err := parseISOTime(expires)
		if err != nil {
			return core.Ordered{}, fmt.Errorf("Unable to parse date string '%s'", expires)
		}
		exp = t
	} else {
		exp = now.Add(24 * time.Hour)
	}
	if !exp.After(now) {
		return core.Ordered{}, fmt.Errorf("`expires` is lower than the current time")
	}
	methods = append([]string(nil), methods...)
	paths = append([]string(nil), paths...)
	sort.Strings(methods)
	sort.Strings(paths)
	expStr := exp.UTC().Format(signedDateFormat)
	body := strings.Join(paths, ",") + `\n` + strings.Join(methods, ",") + `\n` + project + `\n` + expStr
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return core.Obj("paths", paths, "methods", methods, "project", project, "expires", expStr,
		"signature", hex.EncodeToString(m.Sum(nil))), nil
}

// parseISOTime is oslo's parse_isotime (iso8601.parse_date), normalised
// to UTC.
func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02", "2006-01-02 15:04:05", "20060102T150405Z", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparsable date %q", s)
}

// share is POST /v2/queues/{queue_name}/share: a pre-signed URL for the
// queue's messages (or subscriptions, claims).
func (z *Zaqar) share(c *call) error {
	doc, err := readDocument(c.r, MaxQueueMetadata)
	if err != nil {
		return err
	}
	m, ok := doc.(core.Ordered)
	if !ok {
		return documentTypeNotSupported()
	}
	var unknown []string
	for _, k := range m.Keys {
		if k != "methods" && k != "expires" && k != "paths" {
			unknown = append(unknown, "'"+k+"'")
		}
	}
	if len(unknown) > 0 {
		return badRequestAPI("Unknown keys: {" + strings.Join(unknown, ", ") + "}")
	}
	base := strings.TrimSuffix(c.r.URL.Path, "share")
	var paths []string
	if v, has := m.Get("paths"); has && !falsy(v) {
		list, _ := v.([]any)
		var invalid []string
		for _, p := range list {
			s, _ := p.(string)
			if s != "messages" && s != "subscriptions" && s != "claims" {
				invalid = append(invalid, "'"+s+"'")
				continue
			}
			paths = append(paths, base+s)
		}
		if len(invalid) > 0 || list == nil {
			if list == nil {
				invalid = []string{pyStr(v)}
			}
			return badRequestAPI("Invalid paths: {" + strings.Join(invalid, ", ") + "}")
		}
	} else {
		paths = []string{base + "messages"}
	}
	var methods []string
	if v, has := m.Get("methods"); has && v != nil {
		list, isList := v.([]any)
		if !isList {
			return badRequestAPI("`methods` should be a list")
		}
		for _, x := range list {
			s, _ := x.(string)
			methods = append(methods, s)
		}
	}
	expires := ""
	if v, has := m.Get("expires"); has && v != nil {
		switch x := v.(type) {
		case string:
			expires = x
		case int64:
			if x != 0 {
				return badRequestAPI(fmt.Sprintf("`expires` should be date format, for example 2016-01-01T00:00:00, not integer value: %d", x))
			}
		default:
			expires = pyStr(x)
		}
	}
	var key string
	_ = z.state.View(func(s *state) error { key = s.SecretKey; return nil })
	out, err := signURL(key, paths, methods, c.project, expires, z.env.Now())
	if err != nil {
		return badRequestAPI(err.Error())
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// verifySigned is helpers.verify_pre_signed_url: any mismatch is a 404.
func (z *Zaqar) verifySigned(c *call) error {
	r := c.r
	h := r.Header
	methods := strings.Split(h.Get("URL-Methods"), ",")
	paths := strings.Split(h.Get("URL-Paths"), ",")
	notFound := zerr(http.StatusNotFound, "", "")
	if !contains(methods, r.Method) {
		return notFound
	}
	matched := false
	for _, p := range paths {
		if re, err := regexp.Compile(p); err == nil && p != "" && re.MatchString(r.URL.Path) {
			matched = true
		}
	}
	if !matched {
		return notFound
	}
	var key string
	_ = z.state.View(func(s *state) error { key = s.SecretKey; return nil })
	want, err := signURL(key, paths, methods, h.Get("X-Project-Id"), h.Get("URL-Expires"), z.env.Now())
	if err != nil {
		return notFound
	}
	sig, _ := want.Get("signature")
	if !hmac.Equal([]byte(sig.(string)), []byte(h.Get("URL-Signature"))) {
		return notFound
	}
	return nil
}
