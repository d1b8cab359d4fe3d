package zaqar

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// reservedMetadata is _get_reserved_metadata: what GET shows for the
// reserved keys a queue does not set.
func reservedMetadata() core.Ordered {
	return core.Obj("_max_messages_post_size", MaxMessagesPostSize, "_default_message_ttl", DefaultMessageTTL,
		"_default_message_delay", 0, "_dead_letter_queue", nil, "_dead_letter_queue_messages_ttl", nil,
		"_max_claim_count", nil, "_enable_encrypt_messages", false)
}

// withReserved adds the reserved metadata the queue's does not set (or
// sets to a false value), as Zaqar answers it.
func withReserved(meta core.Ordered) core.Ordered {
	out := core.Obj()
	for _, k := range meta.Keys {
		out.Set(k, meta.Vals[k])
	}
	res := reservedMetadata()
	for _, k := range res.Keys {
		if v, ok := out.Get(k); !ok || falsy(v) {
			out.Set(k, res.Vals[k])
		}
	}
	return out
}

// falsy is Python's truth test on a JSON value.
func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case int64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case core.Ordered:
		return len(x.Keys) == 0
	}
	return false
}

func (z *Zaqar) getQueue(c *call) error {
	meta := core.Obj()
	_ = z.state.View(func(s *state) error {
		if q := s.queue(c.project, c.queue); q != nil {
			meta = q.Metadata
		}
		return nil
	})
	// A queue that does not exist answers its defaults (queues are lazy).
	writeJSON(c.w, http.StatusOK, withReserved(meta))
	return nil
}

// validateMetadata is validation.queue_metadata_putting.
func validateMetadata(meta core.Ordered) error {
	intOf := func(k string) (int64, bool, error) {
		v, ok := meta.Get(k)
		if !ok || v == nil {
			return 0, false, nil
		}
		n, isInt := v.(int64)
		if !isInt {
			if falsy(v) {
				return 0, false, nil
			}
			return 0, true, badRequestAPI(k + " must be integer.")
		}
		return n, true, nil
	}
	if n, set, err := intOf("_default_message_ttl"); err != nil {
		return err
	} else if set && (n < MinMessageTTL || n > MaxMessageTTL) {
		return badRequestAPI(fmt.Sprintf("_default_message_ttl can not exceed %d seconds, and must be at least %d seconds long.", MaxMessageTTL, MinMessageTTL))
	}
	if n, set, err := intOf("_max_messages_post_size"); err != nil {
		return err
	} else if set && (n <= 0 || n > MaxMessagesPostSize) {
		return badRequestAPI(fmt.Sprintf("_max_messages_post_size can not exceed %d,  and must be at least greater than 0.", MaxMessagesPostSize))
	}
	if _, _, err := intOf("_max_claim_count"); err != nil {
		return err
	}
	if n, set, err := intOf("_dead_letter_queue_messages_ttl"); err != nil {
		return err
	} else if set && (n < MinMessageTTL || n > MaxMessageTTL) {
		return badRequestAPI(fmt.Sprintf("The TTL for a message may not exceed %d seconds, and must be at least %d seconds long.", MaxMessageTTL, MinMessageTTL))
	}
	if n, set, err := intOf("_default_message_delay"); err != nil {
		return err
	} else if set && (n < 0 || n > MaxMessageDelay) {
		return badRequestAPI(fmt.Sprintf("The TTL can not exceed %d seconds, and must be at least 0 seconds long.", MaxMessageDelay))
	}
	if v, ok := meta.Get("_enable_encrypt_messages"); ok && !falsy(v) {
		if _, isBool := v.(bool); !isBool {
			return badRequestAPI("_enable_encrypt_messages must be boolean.")
		}
	}
	if v, ok := meta.Get("_retry_policy"); ok && !falsy(v) {
		if _, isObj := v.(core.Ordered); !isObj {
			return badRequestAPI("retry_policy must be a dict.")
		}
	}
	return nil
}

func (z *Zaqar) putQueue(c *call) error {
	r := c.r
	if r.ContentLength > MaxQueueMetadata {
		return badRequestAPI(fmt.Sprintf("Queue metadata is too large. Max size: %d", MaxQueueMetadata))
	}
	meta := core.Obj()
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		doc, err := readDocument(r, MaxQueueMetadata)
		if err != nil {
			return err
		}
		m, ok := doc.(core.Ordered)
		if !ok {
			return documentTypeNotSupported()
		}
		meta = m
	}
	if err := validateMetadata(meta); err != nil {
		return err
	}
	now := z.env.Now()
	created := false
	_ = z.state.Update(func(s *state) error {
		var q *Queue
		q, created = s.ensureQueue(c.project, c.queue, now)
		if created {
			q.Metadata = meta
		}
		return nil
	})
	setLocation(c.w, r.URL.Path)
	if created {
		c.w.WriteHeader(http.StatusCreated)
	} else {
		noContent(c.w)
	}
	return nil
}

func (z *Zaqar) deleteQueue(c *call) error {
	_ = z.state.Update(func(s *state) error {
		delete(s.Queues[c.project], c.queue)
		if len(s.Queues[c.project]) == 0 {
			delete(s.Queues, c.project)
		}
		return nil
	})
	noContent(c.w)
	return nil
}

// patchMediaType is the only JSON-patch type Zaqar v2 accepts.
const patchMediaType = "application/openstack-messaging-v2.0-json-patch"

func (z *Zaqar) patchQueue(c *call) error {
	r := c.r
	if r.ContentLength > MaxQueueMetadata {
		return badRequestBody(fmt.Sprintf("Queue metadata is too large. Max size: %d", MaxQueueMetadata))
	}
	if mediaType(r.Header.Get("Content-Type")) != patchMediaType {
		return zerr(http.StatusUnsupportedMediaType, "", "Accepted media type for PATCH: {'Accept-Patch': '"+patchMediaType+"'}.")
	}
	if r.ContentLength == 0 {
		return badRequestBody("PATCH body could not be empty for update.")
	}
	doc, err := readDocument(r, MaxQueueMetadata)
	if err != nil {
		return err
	}
	ops, ok := doc.([]any)
	if !ok {
		return documentTypeNotSupported()
	}
	type change struct {
		op, key string
		value   any
	}
	var changes []change
	for _, raw := range ops {
		m, ok := raw.(core.Ordered)
		if !ok {
			return badRequestBody("Operations must be JSON objects.")
		}
		opv, has := m.Get("op")
		op, _ := opv.(string)
		if !has || opv == nil {
			return badRequestBody("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
		}
		if op != "add" && op != "remove" && op != "replace" {
			return badRequestBody(fmt.Sprintf("Invalid operation: `%v`. It must be one of the following: add, remove, replace.", pyStr(opv)))
		}
		pv, has := m.Get("path")
		if !has {
			return badRequestBody("Unable to find 'path' in JSON Schema change")
		}
		p, _ := pv.(string)
		path, err := decodePointer(p)
		if err != nil {
			return err
		}
		if len(path) != 2 {
			return badRequestBody(fmt.Sprintf("Invalid JSON pointer for this resource: '/%s, e.g /metadata/key'", strings.Join(path, "/")))
		}
		ch := change{op: op, key: path[1]}
		if op != "remove" {
			v, has := m.Get("value")
			if !has {
				return badRequestBody(fmt.Sprintf("Operation \"%s\" requires a member named \"value\".", op))
			}
			ch.value = v
			if strings.ToLower(path[0]) != "metadata" {
				return badRequestBody("The root of path must be metadata, e.g /metadata/key.")
			}
		}
		changes = append(changes, ch)
	}
	var out core.Ordered
	err = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return notFound(fmt.Sprintf("Queue %s does not exist for project %s", c.queue, c.project))
		}
		meta := core.Obj()
		for _, k := range q.Metadata.Keys {
			meta.Set(k, q.Metadata.Vals[k])
		}
		reserved := reservedMetadata()
		for _, ch := range changes {
			_, inMeta := meta.Get(ch.key)
			_, isReserved := reserved.Get(ch.key)
			switch ch.op {
			case "replace":
				if !inMeta && !isReserved {
					return conflict(fmt.Sprintf("Can't replace non-existent object %s.", ch.key))
				}
				meta.Set(ch.key, ch.value)
			case "add":
				meta.Set(ch.key, ch.value)
			case "remove":
				if inMeta {
					meta = without(meta, ch.key)
				} else if !isReserved {
					return conflict(fmt.Sprintf("Can't remove non-existent object %s.", ch.key))
				}
			}
		}
		if err := validateMetadata(meta); err != nil {
			return badRequestBody(err.(*core.APIError).Message)
		}
		q.Metadata = meta
		out = withReserved(meta)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func without(m core.Ordered, key string) core.Ordered {
	out := core.Obj()
	for _, k := range m.Keys {
		if k != key {
			out.Set(k, m.Vals[k])
		}
	}
	return out
}

// decodePointer is the validator's _decode_json_pointer.
func decodePointer(p string) ([]string, error) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return nil, badRequestBody(fmt.Sprintf("Pointer `%s` does not start with \"/\".", p))
	case strings.Contains(strings.ReplaceAll(p[1:], " ", ""), "//"):
		return nil, badRequestBody(fmt.Sprintf("Pointer `%s` contains adjacent \"/\".", p))
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return nil, badRequestBody(fmt.Sprintf("Pointer `%s` end with \"/\".", p))
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 >= len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return nil, badRequestBody(fmt.Sprintf("Pointer `%s` contains \"~\" not part of a recognized escape sequence.", p))
		}
	}
	var out []string
	for _, part := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		out = append(out, strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")))
	}
	return out, nil
}

func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(core.PyJSON(v, false))
}

func (z *Zaqar) listQueues(c *call) error {
	r := c.r
	q := r.URL.Query()
	lq, err := readListQuery(r, "bool:detailed", "str:name", "bool:with_count")
	if err != nil {
		return err
	}
	limit, err := lq.pageLimit(MaxQueuesPerPage, DefaultQueuesPerPage, "Limit must be at least 1 and no greater than %d.")
	if err != nil {
		return err
	}
	marker, name, detailed, withCount := lq.marker, lq.strs["name"], lq.bools["detailed"], lq.bools["with_count"]
	// Other parameters filter on metadata (integers compared as such).
	filters := map[string]string{}
	for k, vs := range q {
		switch k {
		case "marker", "limit", "detailed", "name", "with_count":
			continue
		}
		filters[k] = vs[len(vs)-1]
	}
	var queues []any
	var last string
	total := 0
	_ = z.state.View(func(s *state) error {
		names := make([]string, 0, len(s.Queues[c.project]))
		for n := range s.Queues[c.project] {
			names = append(names, n)
		}
		sort.Strings(names)
		total = len(names)
		for _, n := range names {
			if len(queues) >= limit {
				break
			}
			if marker != "" && n <= marker {
				continue
			}
			if name != "" && !strings.Contains(n, name) {
				continue
			}
			qu := s.Queues[c.project][n]
			if !metaMatches(qu.Metadata, filters) {
				continue
			}
			item := core.Obj("name", n)
			if detailed {
				item.Set("metadata", withReserved(qu.Metadata))
			}
			item.Set("href", r.URL.Path+"/"+n)
			queues = append(queues, item)
			last = n
		}
		return nil
	})
	if queues == nil {
		queues = []any{}
	}
	body := core.Obj("queues", queues, "links", lq.nextLinks(r.URL.Path, len(queues), last))
	if withCount && total > 0 {
		body.Set("count", total)
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

func metaMatches(meta core.Ordered, filters map[string]string) bool {
	for k, want := range filters {
		v, ok := meta.Get(k)
		if !ok {
			return false
		}
		switch x := v.(type) {
		case int64:
			if n, err := strconv.ParseInt(want, 10, 64); err != nil || n != x {
				return false
			}
		case string:
			if x != want {
				return false
			}
		default:
			if pyStr(x) != want {
				return false
			}
		}
	}
	return true
}

func (z *Zaqar) stats(c *call) error {
	now := z.env.Now()
	var body core.Ordered
	_ = z.state.View(func(s *state) error {
		q := s.queue(c.project, c.queue)
		var free, claimed int
		var oldest, newest *Message
		if q != nil {
			for _, m := range q.Messages {
				if !m.live(now) {
					continue
				}
				if m.claimed(now) {
					claimed++
				} else {
					free++
				}
				if oldest == nil {
					oldest = m
				}
				newest = m
			}
		}
		ms := core.Obj("claimed", claimed, "free", free, "total", free+claimed)
		if oldest != nil {
			base := strings.TrimSuffix(c.r.URL.Path, "/stats") + "/messages/"
			stat := func(m *Message) core.Ordered {
				return core.Obj("age", age(now, m.Created), "created", m.Created.UTC().Format("2006-01-02T15:04:05Z"), "href", base+m.ID)
			}
			ms.Set("oldest", stat(oldest))
			ms.Set("newest", stat(newest))
		}
		body = core.Obj("messages", ms)
		return nil
	})
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

func (z *Zaqar) purge(c *call) error {
	r := c.r
	types := []string{"messages", "subscriptions"}
	if r.ContentLength > 0 {
		doc, err := readDocument(r, MaxQueueMetadata)
		if err != nil {
			return err
		}
		m, ok := doc.(core.Ordered)
		if !ok {
			return badRequestAPI(`Post body must contain key "resource_types".`)
		}
		rt, has := m.Get("resource_types")
		if !has {
			return badRequestAPI(`Post body must contain key "resource_types".`)
		}
		list, _ := rt.([]any)
		types = types[:0]
		for _, t := range list {
			ts, _ := t.(string)
			if ts != "messages" && ts != "subscriptions" {
				return badRequestAPI("Resource types must be a sub set of {'messages', 'subscriptions'}.")
			}
			types = append(types, ts)
		}
	}
	now := z.env.Now()
	_ = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		for _, t := range types {
			switch t {
			case "messages":
				// pop: the unclaimed messages go; claimed ones stay.
				kept := q.Messages[:0]
				for _, m := range q.Messages {
					if m.live(now) && m.claimed(now) {
						kept = append(kept, m)
					}
				}
				q.Messages = kept
			case "subscriptions":
				q.Subscriptions = nil
			}
		}
		return nil
	})
	noContent(c.w)
	return nil
}
