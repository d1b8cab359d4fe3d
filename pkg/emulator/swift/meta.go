package swift

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// metaChange is the metadata a request sets and removes.
type metaChange struct {
	set    map[string]string // lower-case name after the prefix
	remove []string
}

// parseMeta is constraints.check_metadata plus the X-Remove-<Kind>-Meta-*
// and empty-value removal conventions; kind is "account", "container" or
// "object".
func parseMeta(h http.Header, kind string) (metaChange, error) {
	prefix := "x-" + kind + "-meta-"
	removePrefix := "x-remove-" + kind + "-meta-"
	mc := metaChange{set: map[string]string{}}
	count, size := 0, 0
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := h.Get(k)
		lk := strings.ToLower(k)
		if len(v) > MaxHeaderSize {
			n := k
			if len(n) > MaxMetaNameLength {
				n = n[:MaxMetaNameLength]
			}
			return mc, failText(http.StatusBadRequest, "Header value too long: %s", n)
		}
		if strings.HasPrefix(lk, removePrefix) {
			if name := lk[len(removePrefix):]; name != "" {
				mc.remove = append(mc.remove, name)
			}
			continue
		}
		if !strings.HasPrefix(lk, prefix) {
			continue
		}
		name := k[len(prefix):]
		if name == "" {
			return mc, failText(http.StatusBadRequest, "Metadata name cannot be empty")
		}
		if kind != "object" && (!utf8.ValidString(name) || !utf8.ValidString(v)) {
			return mc, failText(http.StatusBadRequest, "Metadata must be valid UTF-8")
		}
		count++
		size += len(name) + len(v)
		if len(name) > MaxMetaNameLength {
			return mc, failText(http.StatusBadRequest, "Metadata name too long: %s%s", prefix, name)
		}
		if len(v) > MaxMetaValueLength {
			return mc, failText(http.StatusBadRequest, "Metadata value longer than %d: %s%s", MaxMetaValueLength, prefix, name)
		}
		if count > MaxMetaCount {
			return mc, failText(http.StatusBadRequest, "Too many metadata items; max %d", MaxMetaCount)
		}
		if size > MaxMetaOverallSize {
			return mc, failText(http.StatusBadRequest, "Total metadata too large; max %d", MaxMetaOverallSize)
		}
		if v == "" {
			mc.remove = append(mc.remove, strings.ToLower(name))
		} else {
			mc.set[strings.ToLower(name)] = v
		}
	}
	return mc, nil
}

// apply merges the change into meta (allocating it when nil).
func (mc metaChange) apply(meta map[string]string) map[string]string {
	if meta == nil {
		meta = map[string]string{}
	}
	for _, k := range mc.remove {
		delete(meta, k)
	}
	for k, v := range mc.set {
		meta[k] = v
	}
	return meta
}

// writeMeta sets X-<Kind>-Meta-<Name> headers.
func writeMeta(h http.Header, kind string, meta map[string]string) {
	prefix := "X-" + strings.ToUpper(kind[:1]) + kind[1:] + "-Meta-"
	for k, v := range meta {
		h.Set(prefix+k, v)
	}
}

// xTimestamp is Swift's Timestamp.normal: "1700000000.12345".
func xTimestamp(t time.Time) string {
	if t.IsZero() {
		return "0000000000.00000"
	}
	return fmt.Sprintf("%016.05f", float64(t.UnixNano())/1e9)
}

// internalTimestamp is Timestamp.internal (the same without an offset).
func internalTimestamp(t time.Time) string { return xTimestamp(t) }

// lastModified is the HTTP date of Timestamp.ceil(), as Swift sends
// Last-Modified.
func lastModified(t time.Time) string {
	sec := math.Ceil(float64(t.UnixNano()) / 1e9)
	return time.Unix(int64(sec), 0).UTC().Format(http.TimeFormat)
}

// isoformat is Timestamp.isoformat as listings show it.
func isoformat(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// objectHeaders are the object server's allowed_headers: stored on PUT,
// replaced on POST, returned on GET/HEAD.
var allowedHeaders = []string{"Content-Disposition", "Content-Encoding", "X-Delete-At", "X-Object-Manifest",
	"Cache-Control", "Content-Language", "Expires", "X-Robots-Tag"}

// storedHeaders picks the allowed headers a request sets.
func storedHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range allowedHeaders {
		if k == "X-Delete-At" {
			continue // kept in Object.DeleteAt
		}
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deleteAt is constraints.check_delete_headers: X-Delete-After /
// X-Delete-At as a Unix time (0 when neither is given).
func deleteAt(h http.Header, now time.Time) (int64, error) {
	var at int64
	if v := h.Get("X-Delete-After"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, failText(http.StatusBadRequest, "Non-integer X-Delete-After")
		}
		t := now.Unix() + n
		if float64(t) <= float64(now.UnixNano())/1e9 {
			return 0, failText(http.StatusBadRequest, "X-Delete-After in past")
		}
		at = t
	}
	if v := h.Get("X-Delete-At"); v != "" && at == 0 {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, failText(http.StatusBadRequest, "Non-integer X-Delete-At")
		}
		if float64(n) <= float64(now.UnixNano())/1e9 {
			return 0, failText(http.StatusBadRequest, "X-Delete-At in past")
		}
		at = n
	}
	return at, nil
}
