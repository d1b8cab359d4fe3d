package zaqar

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// messageDoc is format_message_v1_1: id, href (with ?claim_id= when
// claimed), ttl, age, body.
func messageDoc(m *Message, base string, now time.Time) core.Ordered {
	href := base + "/messages/" + m.ID
	if m.claimed(now) {
		href += "?claim_id=" + m.ClaimID
	}
	return core.Obj("id", m.ID, "href", href, "ttl", m.TTL, "age", age(now, m.Created), "body", m.Body.V)
}

// queueBase is the queue's path, e.g. /v2/queues/q.
func queueBase(c *call) string { return "/v2/queues/" + c.queue }

// intValue reports whether v is a Python int (bools count, as isinstance
// says).
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (z *Zaqar) postMessages(c *call) error {
	r := c.r
	now := z.env.Now()
	var meta core.Ordered
	_ = z.state.View(func(s *state) error {
		if q := s.queue(c.project, c.queue); q != nil {
			meta = q.Metadata
		}
		return nil
	})
	ttlDefault := int64(DefaultMessageTTL)
	if v, ok := meta.Get("_default_message_ttl"); ok {
		if n, isInt := v.(int64); isInt && n != 0 {
			ttlDefault = n
		}
	}
	var delayDefault int64
	hasDelay := false
	if v, ok := meta.Get("_default_message_delay"); ok {
		if n, isInt := v.(int64); isInt && n != 0 {
			delayDefault, hasDelay = n, true
		}
	}
	maxSize := int64(MaxMessagesPostSize)
	if v, ok := meta.Get("_max_messages_post_size"); ok {
		if n, isInt := v.(int64); isInt && n != 0 {
			if r.ContentLength > n && r.ContentLength >= 0 {
				lim := n
				if lim > MaxMessagesPostSize {
					lim = MaxMessagesPostSize
				}
				if r.ContentLength > lim {
					return badRequestAPI(fmt.Sprintf("Message collection size is too large. The max size for current queue is %d. It is calculated by max size = min(max_messages_post_size_config: %d, max_messages_post_size_queue: %d).", lim, MaxMessagesPostSize, n))
				}
			}
		}
	}
	if r.ContentLength > maxSize {
		return badRequestAPI(fmt.Sprintf("Message collection size is too large. Max size %d", MaxMessagesPostSize))
	}
	doc, err := readDocument(r, maxSize)
	if err != nil {
		return err
	}
	var list []any
	switch d := doc.(type) {
	case core.Ordered:
		v, has := d.Get("messages")
		if !has {
			return badRequestAPI("No messages were found in the request body.")
		}
		l, ok := v.([]any)
		if !ok {
			return documentTypeNotSupported()
		}
		list = l
	default:
		return badRequestAPI("No messages were found in the request body.")
	}
	type posted struct {
		body  any
		ttl   int64
		delay int64
	}
	var msgs []posted
	for _, raw := range list {
		m, ok := raw.(core.Ordered)
		if !ok {
			return documentTypeNotSupported()
		}
		p := posted{ttl: ttlDefault, delay: delayDefault}
		if v, has := m.Get("ttl"); has {
			n, isInt := intValue(v)
			if !isInt {
				return badRequestBody(`The value of the "ttl" field must be a int.`)
			}
			p.ttl = n
		}
		body, has := m.Get("body")
		if !has {
			return badRequestBody(`Missing "body" field.`)
		}
		p.body = body
		if hasDelay {
			if v, has := m.Get("delay"); has {
				n, isInt := intValue(v)
				if !isInt {
					return badRequestBody(`The value of the "delay" field must be a int.`)
				}
				p.delay = n
			}
		}
		msgs = append(msgs, p)
	}
	if len(msgs) == 0 {
		return badRequestAPI("No messages to enqueu.")
	}
	for _, p := range msgs {
		if p.ttl < MinMessageTTL || p.ttl > MaxMessageTTL {
			return badRequestAPI(fmt.Sprintf("The TTL for a message may not exceed %d seconds, and must be at least %d seconds long.", MaxMessageTTL, MinMessageTTL))
		}
		if p.delay < 0 || p.delay > MaxMessageDelay {
			return badRequestAPI(fmt.Sprintf("The Delay TTL for a message may not exceed %d seconds,and must be at least 0 seconds long.", MaxMessageDelay))
		}
	}
	var ids []string
	_ = z.state.Update(func(s *state) error {
		q, _ := s.ensureQueue(c.project, c.queue, now)
		q.prune(now)
		for _, p := range msgs {
			s.Counter++
			m := &Message{ID: newOID(now), Seq: s.Counter, Body: Doc{p.body}, TTL: int(p.ttl), Created: now,
				Expires: now.Add(time.Duration(p.ttl) * time.Second), ClientID: c.client}
			if p.delay > 0 {
				m.DelayUntil = now.Add(time.Duration(p.delay) * time.Second)
			}
			q.Messages = append(q.Messages, m)
			ids = append(ids, m.ID)
		}
		return nil
	})
	hrefs := make([]string, len(ids))
	for i, id := range ids {
		hrefs[i] = r.URL.Path + "/" + id
	}
	setLocation(c.w, r.URL.Path+"?ids="+strings.Join(ids, ","))
	writeJSON(c.w, http.StatusCreated, core.Obj("resources", hrefs))
	return nil
}

func (z *Zaqar) listMessages(c *call) error {
	r := c.r
	now := z.env.Now()
	if ids, ok := paramList(r, "ids"); ok {
		if len(ids) > MaxMessagesPerPage {
			return badRequestAPI(fmt.Sprintf("Limit must be at least 1 and may not be greater than %d.", MaxMessagesPerPage))
		}
		var docs []any
		_ = z.state.View(func(s *state) error {
			q := s.queue(c.project, c.queue)
			if q == nil {
				return nil
			}
			for _, id := range ids {
				for _, m := range q.Messages {
					if m.ID == id && m.live(now) {
						docs = append(docs, messageDoc(m, queueBase(c), now))
					}
				}
			}
			return nil
		})
		if len(docs) == 0 {
			return notFound(fmt.Sprintf("No messages with IDs: %s found in the queue %s for project %s.", pyList(ids), c.queue, c.project))
		}
		writeJSON(c.w, http.StatusOK, core.Obj("messages", docs))
		return nil
	}
	lq, err := readListQuery(r, "bool:echo", "bool:include_claimed", "bool:include_delayed")
	if err != nil {
		return err
	}
	limit, err := lq.pageLimit(MaxMessagesPerPage, DefaultMessagesPerPage, "Limit must be at least 1 and may not be greater than %d.")
	if err != nil {
		return err
	}
	marker, echo := lq.marker, lq.bools["echo"]
	includeClaimed, includeDelayed := lq.bools["include_claimed"], lq.bools["include_delayed"]
	var after int64
	badMarker := false
	if marker != "" {
		n, err := strconv.ParseInt(marker, 10, 64)
		// The MongoDB driver answers an empty page to a marker that is
		// not its counter (openstacksdk 0.101 sends a message id).
		badMarker = err != nil
		after = n
	}
	var docs []any
	var last int64
	_ = z.state.View(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil || badMarker {
			return nil
		}
		delay, _ := q.Metadata.Get("_default_message_delay")
		showDelayed := includeDelayed || falsy(delay)
		for _, m := range q.Messages {
			if len(docs) >= limit {
				break
			}
			if !m.live(now) || m.Seq <= after {
				continue
			}
			if !echo && m.ClientID == c.client {
				continue
			}
			if !includeClaimed && m.claimed(now) {
				continue
			}
			if !showDelayed && m.delayed(now) {
				continue
			}
			docs = append(docs, messageDoc(m, queueBase(c), now))
			last = m.Seq
		}
		return nil
	})
	links := lq.nextLinks(r.URL.Path, len(docs), strconv.FormatInt(last, 10))
	if docs == nil {
		docs = []any{}
	}
	writeJSON(c.w, http.StatusOK, core.Obj("messages", docs, "links", links))
	return nil
}

// pyList renders a list of strings as Python's str() of a list.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (z *Zaqar) getMessage(c *call) error {
	now := z.env.Now()
	var doc core.Ordered
	found := false
	_ = z.state.View(func(s *state) error {
		if q := s.queue(c.project, c.queue); q != nil {
			for _, m := range q.Messages {
				if m.ID == c.item && m.live(now) {
					doc, found = messageDoc(m, queueBase(c), now), true
				}
			}
		}
		return nil
	})
	if !found {
		return notFound(fmt.Sprintf("Message %s does not exist in queue %s for project %s", c.item, c.queue, c.project))
	}
	writeJSON(c.w, http.StatusOK, doc)
	return nil
}

func (z *Zaqar) deleteMessage(c *call) error {
	now := z.env.Now()
	claim, hasClaim := c.r.URL.Query()["claim_id"]
	claimID := ""
	if hasClaim {
		claimID = claim[len(claim)-1]
	}
	const title = "Unable to delete"
	err := z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil || !isOID(c.item) {
			return nil
		}
		for i, m := range q.Messages {
			if m.ID != c.item || !m.live(now) {
				continue
			}
			switch {
			case !hasClaim || claimID == "":
				if m.claimed(now) {
					return zerr(http.StatusForbidden, title, "This message is claimed; it cannot be deleted without a valid claim ID.")
				}
			case !isOID(claimID):
				return zerr(http.StatusBadRequest, title, "The specified claim does not exist or has expired.")
			case m.ClaimID != claimID:
				if m.claimed(now) {
					return zerr(http.StatusForbidden, title, "This message is claimed; it cannot be deleted without a valid claim ID.")
				}
				return zerr(http.StatusBadRequest, title, "A claim was specified, but the message is not currently claimed.")
			}
			q.Messages = append(q.Messages[:i], q.Messages[i+1:]...)
			return nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	noContent(c.w)
	return nil
}

func (z *Zaqar) deleteMessages(c *call) error {
	r := c.r
	ids, hasIDs := paramList(r, "ids")
	pop, hasPop, err := paramInt(r, "pop")
	if err != nil {
		return err
	}
	switch {
	case hasPop && hasIDs:
		return badRequestAPI("pop and id params cannot be present together in the delete request.")
	case !hasPop && !hasIDs:
		return badRequestAPI(`The request should have either "ids" or "pop" parameter in the request, to be able to delete.`)
	case hasPop && (pop < 1 || pop > MaxMessagesPerClaimOrPop):
		return badRequestAPI(fmt.Sprintf("Pop value must be at least 1 and may not be greater than %d.", MaxMessagesPerClaimOrPop))
	case hasIDs && len(ids) > MaxMessagesPerPage:
		return badRequestAPI(fmt.Sprintf("ids parameter should have at least 1 and not greater than %d values.", MaxMessagesPerPage))
	}
	now := z.env.Now()
	if hasIDs {
		_ = z.state.Update(func(s *state) error {
			q := s.queue(c.project, c.queue)
			if q == nil {
				return nil
			}
			kept := q.Messages[:0]
			for _, m := range q.Messages {
				if !contains(ids, m.ID) {
					kept = append(kept, m)
				}
			}
			q.Messages = kept
			return nil
		})
		noContent(c.w)
		return nil
	}
	var popped []any
	_ = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		kept := q.Messages[:0]
		for _, m := range q.Messages {
			if len(popped) < pop && m.live(now) && !m.claimed(now) {
				var claimID any
				if m.ClaimID != "" {
					claimID = m.ClaimID
				}
				popped = append(popped, core.Obj("id", m.ID, "age", age(now, m.Created), "ttl", m.TTL,
					"claim_count", m.ClaimCount, "body", m.Body.V, "claim_id", claimID))
				continue
			}
			kept = append(kept, m)
		}
		q.Messages = kept
		return nil
	})
	if popped == nil {
		popped = []any{}
	}
	writeJSON(c.w, http.StatusOK, core.Obj("messages", popped))
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
