package swift

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// tempGrant is what a valid temp URL allows: the account, or only one
// container of it when a container key signed it.
type tempGrant struct {
	account, container string
	filename           string
	inline             bool
	expires            int64
}

var tempURLMethods = []string{"GET", "HEAD", "PUT", "POST", "DELETE"}

// invalidTempURL is tempurl's _invalid.
func invalidTempURL(r *http.Request) error {
	if r.Method == http.MethodHead {
		return fail(http.StatusUnauthorized, "")
	}
	return failText(http.StatusUnauthorized, "401 Unauthorized: Temp URL invalid\n")
}

// checkTempURL is the tempurl middleware: the signature
// (HMAC-SHA1/256/512 of "METHOD\nEXPIRES\nPATH", hex or "algo:base64")
// must match one of the account's or the container's Temp-URL-Key(s) and
// not be expired; then the request runs as the temp URL, whatever token
// came with it.
func (s *Swift) checkTempURL(rq *request) error {
	r := rq.r
	q := r.URL.Query()
	sig, hasSig := q.Get("temp_url_sig"), q.Has("temp_url_sig")
	var expires int64
	if q.Has("temp_url_expires") {
		v := q.Get("temp_url_expires")
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			expires = n
		} else if t, err := time.Parse("2006-01-02T15:04:05Z", v); err == nil {
			expires = t.Unix()
		}
		if float64(expires) < float64(rq.now.UnixNano())/1e9 {
			expires = 0
		}
	}
	if !hasSig || sig == "" || expires == 0 {
		return invalidTempURL(r)
	}
	algo, hexSig, ok := digestOf(sig)
	if !ok {
		return invalidTempURL(r)
	}
	if !contains(tempURLMethods, r.Method) || rq.object == "" || strings.Trim(rq.object, "/") == "" || rq.container == "" {
		return invalidTempURL(r)
	}
	if ipRange := q.Get("temp_url_ip_range"); q.Has("temp_url_ip_range") {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		_, cidr, perr := net.ParseCIDR(ipRange)
		if perr != nil {
			if ip := net.ParseIP(ipRange); ip != nil {
				bits := 32
				if ip.To4() == nil {
					bits = 128
				}
				cidr, perr = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
			}
		}
		if err != nil || perr != nil || !cidr.Contains(net.ParseIP(host)) {
			return invalidTempURL(r)
		}
	}
	type scoped struct{ key, scope string }
	var keys []scoped
	_ = s.state.View(func(st *state) error {
		if a := st.Accounts[rq.account]; a != nil {
			for _, k := range []string{"temp-url-key", "temp-url-key-2"} {
				if v := a.Meta[k]; v != "" {
					keys = append(keys, scoped{v, "account"})
				}
			}
		}
		if c := st.container(rq.account, rq.container); c != nil {
			for _, k := range []string{"temp-url-key", "temp-url-key-2"} {
				if v := c.Meta[k]; v != "" {
					keys = append(keys, scoped{v, "container"})
				}
			}
		}
		return nil
	})
	if len(keys) == 0 {
		return invalidTempURL(r)
	}
	signed := "/v1/" + rq.account + "/" + rq.container + "/" + rq.object
	if q.Has("temp_url_prefix") {
		prefix := q.Get("temp_url_prefix")
		if !strings.HasPrefix(rq.object, prefix) {
			return invalidTempURL(r)
		}
		signed = "prefix:/v1/" + rq.account + "/" + rq.container + "/" + prefix
	}
	// The path Swift signs is /v1/...; the one behind the emulator's
	// /object-store prefix is accepted too (as with tempurl's path_prefix).
	paths := []string{signed}
	if pre := core.ServicePrefix(r); pre != "" {
		if rest, isPrefix := strings.CutPrefix(signed, "prefix:"); isPrefix {
			paths = append(paths, "prefix:"+pre+rest)
		} else {
			paths = append(paths, pre+signed)
		}
	}
	methods := []string{r.Method}
	if r.Method == http.MethodHead {
		methods = []string{"HEAD", "GET", "POST", "PUT"}
	}
	scope := ""
	for _, k := range keys {
		for _, m := range methods {
			for _, p := range paths {
				if hmac.Equal([]byte(tempHMAC(algo, k.key, m, expires, p, q.Get("temp_url_ip_range"))), []byte(hexSig)) {
					scope = k.scope
				}
			}
		}
	}
	if scope == "" {
		return invalidTempURL(r)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		for _, h := range []string{"X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"} {
			if _, ok := r.Header[h]; ok {
				return fail(http.StatusBadRequest, fmt.Sprintf("The header %s is not allowed in this tempurl", pyRepr(h)))
			}
		}
	}
	r.Header.Del("X-Timestamp")
	g := &tempGrant{account: rq.account, filename: q.Get("filename"), inline: q.Has("inline"), expires: expires}
	if scope == "container" {
		g.container = rq.container
	}
	rq.temp, rq.id = g, nil
	return nil
}

// digestOf is digest.extract_digest_and_algorithm: "<algo>:<base64>" or
// hex whose length names SHA-1, SHA-256 or SHA-512.
func digestOf(sig string) (algo, hexSig string, ok bool) {
	if a, v, found := strings.Cut(sig, ":"); found {
		if (strings.ContainsAny(v, "-_")) && !strings.ContainsAny(v, "+/") {
			v = strings.NewReplacer("-", "+", "_", "/").Replace(v)
		}
		v = strings.TrimRight(v, "=")
		b, err := base64.RawStdEncoding.DecodeString(v)
		if err != nil {
			return "", "", false
		}
		switch a {
		case "sha1", "sha256", "sha512":
			return a, hex.EncodeToString(b), true
		}
		return "", "", false
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return "", "", false
	}
	switch len(sig) {
	case 40:
		return "sha1", sig, true
	case 64:
		return "sha256", sig, true
	case 128:
		return "sha512", sig, true
	}
	return "", "", false
}

// tempHMAC is digest.get_hmac.
func tempHMAC(algo, key, method string, expires int64, p, ipRange string) string {
	var h func() hash.Hash
	switch algo {
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	default:
		h = sha1.New
	}
	msg := method + "\n" + strconv.FormatInt(expires, 10) + "\n" + p
	if ipRange != "" {
		msg = "ip=" + ipRange + "\n" + msg
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// headers adjusts a temp URL's GET/HEAD answer as tempurl does: a
// Content-Disposition (attachment with the object's name unless filename
// or inline say otherwise), Expires, and no X-Object-Meta-* other than
// X-Object-Meta-Public-*.
func (g *tempGrant) headers(h http.Header, rq *request) {
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-object-meta-") && !strings.HasPrefix(lk, "x-object-meta-public-") {
			h.Del(k)
		}
	}
	disp := h.Get("Content-Disposition")
	switch {
	case g.inline && g.filename != "":
		disp = dispositionFormat("inline", g.filename)
	case g.inline:
		disp = "inline"
	case g.filename != "":
		disp = dispositionFormat("attachment", g.filename)
	case disp == "":
		disp = dispositionFormat("attachment", path.Base(strings.TrimRight(rq.object, "/")))
	}
	h.Set("Content-Disposition", strings.ReplaceAll(disp, "\n", "%0A"))
	h.Set("Expires", time.Unix(g.expires, 0).UTC().Format(http.TimeFormat))
}

func dispositionFormat(kind, filename string) string {
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, kind, pyQuote(filename, " /"), pyQuote(filename, "/"))
}
