package zaqar

import (
	"fmt"
	"net/http"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// DefaultMessagesPerClaim is storage.DEFAULT_MESSAGES_PER_CLAIM.
const DefaultMessagesPerClaim = 10

// claimSpec reads {"ttl", "grace"} (sanitize with the claim spec).
func claimSpec(doc any) (ttl, grace int64, err error) {
	m, ok := doc.(core.Ordered)
	if !ok {
		return 0, 0, documentTypeNotSupported()
	}
	ttl, grace = DefaultClaimTTL, DefaultClaimGrace
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"ttl", &ttl}, {"grace", &grace}} {
		if v, has := m.Get(f.name); has {
			n, isInt := intValue(v)
			if !isInt {
				return 0, 0, badRequestBody(fmt.Sprintf(`The value of the "%s" field must be a int.`, f.name))
			}
			*f.dst = n
		}
	}
	return ttl, grace, nil
}

func validClaimTTL(ttl int64) error {
	if ttl < MinClaimTTL || ttl > MaxClaimTTL {
		return badRequestAPI(fmt.Sprintf("The TTL for a claim may not exceed %d seconds, and must be at least %d seconds long.", MaxClaimTTL, MinClaimTTL))
	}
	return nil
}

// extend keeps a claimed message alive at least until its claim ends
// plus the grace (the message's TTL becomes ttl + grace then).
func extend(m *Message, now time.Time, ttl, grace int64) {
	until := now.Add(time.Duration(ttl+grace) * time.Second)
	if m.Expires.Before(until) {
		m.Expires = until
		m.TTL = int(ttl + grace)
	}
}

func (z *Zaqar) createClaim(c *call) error {
	r := c.r
	limit, hasLimit, err := paramInt(r, "limit")
	if err != nil {
		return err
	}
	ttl, grace := int64(DefaultClaimTTL), int64(DefaultClaimGrace)
	if r.ContentLength > 0 {
		doc, err := readDocument(r, MaxQueueMetadata)
		if err != nil {
			return err
		}
		if ttl, grace, err = claimSpec(doc); err != nil {
			return err
		}
	}
	if err := validClaimTTL(ttl); err != nil {
		return err
	}
	if hasLimit && (limit < 1 || limit > MaxMessagesPerClaimOrPop) {
		return badRequestAPI(fmt.Sprintf("Limit must be at least 1 and may not be greater than %d.", MaxMessagesPerClaimOrPop))
	}
	if grace < MinClaimGrace || grace > MaxClaimGrace {
		return badRequestAPI(fmt.Sprintf("The grace for a claim may not exceed %d seconds, and must be at least %d seconds long.", MaxClaimGrace, MinClaimGrace))
	}
	if !hasLimit {
		limit = DefaultMessagesPerClaim
	}
	now := z.env.Now()
	var claimID string
	var docs []any
	_ = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		q.prune(now)
		maxCount, _ := intValue(orNil(q.Metadata, "_max_claim_count"))
		dlqName, _ := orNil(q.Metadata, "_dead_letter_queue").(string)
		dlqTTL, hasDLQTTL := intValue(orNil(q.Metadata, "_dead_letter_queue_messages_ttl"))
		var claimed []*Message
		kept := q.Messages[:0]
		for _, m := range q.Messages {
			if len(claimed) >= limit || m.claimed(now) || m.delayed(now) {
				kept = append(kept, m)
				continue
			}
			if maxCount > 0 && dlqName != "" && int64(m.ClaimCount) >= maxCount {
				// Claimed too often: it goes to the dead letter queue.
				dlq, _ := s.ensureQueue(c.project, dlqName, now)
				moved := *m
				moved.ClaimID, moved.ClaimEnds = "", time.Time{}
				if hasDLQTTL && dlqTTL > 0 {
					moved.TTL = int(dlqTTL)
					moved.Expires = now.Add(time.Duration(dlqTTL) * time.Second)
				}
				dlq.Messages = append(dlq.Messages, &moved)
				continue
			}
			claimed = append(claimed, m)
			kept = append(kept, m)
		}
		q.Messages = kept
		if len(claimed) == 0 {
			return nil
		}
		claimID = newOID(now)
		if q.Claims == nil {
			q.Claims = map[string]*Claim{}
		}
		q.Claims[claimID] = &Claim{ID: claimID, TTL: int(ttl), Grace: int(grace), Updated: now, Ends: now.Add(time.Duration(ttl) * time.Second)}
		for _, m := range claimed {
			m.ClaimID, m.ClaimEnds = claimID, now.Add(time.Duration(ttl)*time.Second)
			m.ClaimCount++
			extend(m, now, ttl, grace)
			docs = append(docs, messageDoc(m, queueBase(c), now))
		}
		return nil
	})
	if claimID == "" {
		noContent(c.w)
		return nil
	}
	setLocation(c.w, r.URL.Path+"/"+claimID)
	writeJSON(c.w, http.StatusCreated, core.Obj("messages", docs))
	return nil
}

func orNil(m core.Ordered, k string) any {
	v, _ := m.Get(k)
	return v
}

func claimNotFound(c *call) error {
	return notFound(fmt.Sprintf("Claim %s does not exist in queue %s for project %s", c.item, c.queue, c.project))
}

func (z *Zaqar) getClaim(c *call) error {
	now := z.env.Now()
	var body core.Ordered
	found := false
	_ = z.state.View(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		cl := q.Claims[c.item]
		if cl == nil || !now.Before(cl.Ends) {
			return nil
		}
		var docs []any
		for _, m := range q.Messages {
			if m.live(now) && m.ClaimID == cl.ID && m.claimed(now) {
				docs = append(docs, messageDoc(m, queueBase(c), now))
			}
		}
		if len(docs) == 0 {
			return nil
		}
		found = true
		body = core.Obj("age", age(now, cl.Updated), "ttl", cl.TTL, "messages", docs, "href", c.r.URL.Path)
		return nil
	})
	if !found {
		return claimNotFound(c)
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

func (z *Zaqar) updateClaim(c *call) error {
	doc, err := readDocument(c.r, MaxQueueMetadata)
	if err != nil {
		return err
	}
	ttl, grace, err := claimSpec(doc)
	if err != nil {
		return err
	}
	if err := validClaimTTL(ttl); err != nil {
		return err
	}
	now := z.env.Now()
	err = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil || q.Claims[c.item] == nil || !now.Before(q.Claims[c.item].Ends) {
			return claimNotFound(c)
		}
		cl := q.Claims[c.item]
		cl.TTL, cl.Grace, cl.Updated, cl.Ends = int(ttl), int(grace), now, now.Add(time.Duration(ttl)*time.Second)
		for _, m := range q.Messages {
			if m.ClaimID == cl.ID && m.live(now) {
				m.ClaimEnds = cl.Ends
				extend(m, now, ttl, grace)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	noContent(c.w)
	return nil
}

func (z *Zaqar) deleteClaim(c *call) error {
	_ = z.state.Update(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		for _, m := range q.Messages {
			if m.ClaimID == c.item {
				m.ClaimID, m.ClaimEnds = "", time.Time{}
			}
		}
		delete(q.Claims, c.item)
		return nil
	})
	noContent(c.w)
	return nil
}
