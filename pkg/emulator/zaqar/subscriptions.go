package zaqar

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// subscriptionDoc is the MongoDB driver's _basic_subscription.
func subscriptionDoc(sub *Subscription, queue string, now time.Time) core.Ordered {
	opts := sub.Options
	if opts == nil {
		opts = map[string]any{}
	}
	return core.Obj("id", sub.ID, "source", queue, "subscriber", sub.Subscriber, "ttl", sub.TTL,
		"age", age(now, sub.Created), "options", opts, "confirmed", sub.Confirmed)
}

// subscriptionFields validates a subscription document
// (validation.subscription_patching) and returns its fields.
func subscriptionFields(doc any, creating bool) (subscriber *string, ttl *int64, options map[string]any, err error) {
	m, ok := doc.(core.Ordered)
	if creating {
		if !ok {
			return nil, nil, nil, badRequestAPI("Missing parameter subscriber in body.")
		}
		if _, has := m.Get("subscriber"); !has {
			return nil, nil, nil, badRequestAPI("Missing parameter subscriber in body.")
		}
	}
	if !ok || len(m.Keys) == 0 {
		if !ok && doc != nil {
			return nil, nil, nil, badRequestAPI("Subscriptions must be a dict.")
		}
		return nil, nil, nil, badRequestAPI("No subscription to create.")
	}
	if v, has := m.Get("subscriber"); has && !falsy(v) {
		s, _ := v.(string)
		u, perr := url.Parse(s)
		scheme := ""
		if perr == nil {
			scheme = u.Scheme
		}
		if !contains(subscriberTypes, scheme) {
			return nil, nil, nil, badRequestAPI(fmt.Sprintf("The subscriber type of subscription must be supported in the list %s.", pyList(subscriberTypes)))
		}
		subscriber = &s
	}
	if v, has := m.Get("options"); has && !falsy(v) {
		o, isObj := v.(core.Ordered)
		if !isObj {
			return nil, nil, nil, badRequestAPI("Options must be a dict.")
		}
		options = map[string]any{}
		for _, k := range o.Keys {
			options[k] = o.Vals[k]
		}
	}
	if v, has := m.Get("ttl"); has && !falsy(v) {
		n, isInt := v.(int64)
		if !isInt {
			return nil, nil, nil, badRequestAPI("TTL must be an integer.")
		}
		if n < MinSubscriptionTTL {
			return nil, nil, nil, badRequestAPI(fmt.Sprintf("The TTL for a subscription must be at least %d seconds long.", MinSubscriptionTTL))
		}
		if n > 100*365*24*3600 {
			return nil, nil, nil, badRequestAPI("The TTL seconds for a subscription plus current time must be less than 9999-12-31 23:59:59.999999.")
		}
		ttl = &n
	}
	return subscriber, ttl, options, nil
}

func (z *Zaqar) createSubscription(c *call) error {
	doc, err := optionalDocument(c.r)
	if err != nil {
		return err
	}
	subscriber, ttlp, options, err := subscriptionFields(doc, true)
	if err != nil {
		return err
	}
	if subscriber == nil {
		return badRequestAPI("Missing parameter subscriber in body.")
	}
	ttl := int64(DefaultSubscriptionTTL)
	if ttlp != nil {
		ttl = *ttlp
	}
	if options == nil {
		options = map[string]any{}
	}
	now := z.env.Now()
	var id string
	err = z.state.Update(func(s *state) error {
		q, _ := s.ensureQueue(c.project, c.queue, now)
		q.prune(now)
		for _, sub := range q.Subscriptions {
			if sub.Subscriber == *subscriber {
				if sub.Confirmed {
					e := zerr(http.StatusConflict, "Resource conflict", "Such subscription already exists.Subscriptions are unique by project + queue + subscriber URI.")
					e.Header = http.Header{"Location": {c.r.URL.Path}}
					return e
				}
				id = sub.ID // unconfirmed: the confirmation is sent again
				return nil
			}
		}
		id = newOID(now)
		if q.Subscriptions == nil {
			q.Subscriptions = map[string]*Subscription{}
		}
		q.Subscriptions[id] = &Subscription{ID: id, Subscriber: *subscriber, TTL: int(ttl), Options: options,
			Created: now, Expires: now.Add(time.Duration(ttl) * time.Second)}
		return nil
	})
	if err != nil {
		return err
	}
	setLocation(c.w, c.r.URL.Path)
	writeJSON(c.w, http.StatusCreated, core.Obj("subscription_id", id))
	return nil
}

func subscriptionNotFound(id string) error {
	return notFound(fmt.Sprintf("Subscription %s does not exist", id))
}

func (z *Zaqar) getSubscription(c *call) error {
	now := z.env.Now()
	var doc core.Ordered
	found := false
	_ = z.state.View(func(s *state) error {
		if q := s.queue(c.project, c.queue); q != nil {
			if sub := q.Subscriptions[c.item]; sub != nil && now.Before(sub.Expires) {
				doc, found = subscriptionDoc(sub, q.Name, now), true
			}
		}
		return nil
	})
	if !found {
		return subscriptionNotFound(c.item)
	}
	writeJSON(c.w, http.StatusOK, doc)
	return nil
}

func (z *Zaqar) listSubscriptions(c *call) error {
	r := c.r
	lq, err := readListQuery(r)
	if err != nil {
		return err
	}
	limit, err := lq.pageLimit(MaxSubscriptionsPerPage, DefaultSubsPerPage, "Limit must be at least 1 and may not be greater than %d.")
	if err != nil {
		return err
	}
	marker := lq.marker
	now := z.env.Now()
	var docs []any
	last := ""
	_ = z.state.View(func(s *state) error {
		q := s.queue(c.project, c.queue)
		if q == nil {
			return nil
		}
		var subs []*Subscription
		for _, sub := range q.Subscriptions {
			if now.Before(sub.Expires) && sub.ID > marker {
				subs = append(subs, sub)
			}
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
		for _, sub := range subs {
			if len(docs) >= limit {
				break
			}
			docs = append(docs, subscriptionDoc(sub, q.Name, now))
			last = sub.ID
		}
		return nil
	})
	links := lq.nextLinks(r.URL.Path, len(docs), last)
	if docs == nil {
		docs = []any{}
	}
	writeJSON(c.w, http.StatusOK, core.Obj("subscriptions", docs, "links", links))
	return nil
}

func (z *Zaqar) updateSubscription(c *call) error {
	doc, err := optionalDocument(c.r)
	if err != nil {
		return err
	}
	subscriber, ttl, options, err := subscriptionFields(doc, false)
	if err != nil {
		return err
	}
	now := z.env.Now()
	err = z.state.Update(func(s *state) error {
		q, sub, err := s.liveSubscription(c, now)
		if err != nil {
			return err
		}
		if subscriber != nil {
			for _, other := range q.Subscriptions {
				if other.ID != sub.ID && other.Subscriber == *subscriber {
					return conflict("Such subscription already exists. Subscriptions are unique by project + queue + subscriber URI.")
				}
			}
			sub.Subscriber = *subscriber
		}
		if ttl != nil {
			sub.TTL = int(*ttl)
			sub.Expires = now.Add(time.Duration(*ttl) * time.Second)
		}
		if options != nil {
			sub.Options = options
		}
		return nil
	})
	if err != nil {
		return err
	}
	setLocation(c.w, c.r.URL.Path)
	noContent(c.w)
	return nil
}

// liveSubscription returns the call's queue and subscription, or Zaqar's
// 404 when either is missing or the subscription expired.
func (s *state) liveSubscription(c *call, now time.Time) (*Queue, *Subscription, error) {
	q := s.queue(c.project, c.queue)
	if q == nil || q.Subscriptions[c.item] == nil || !now.Before(q.Subscriptions[c.item].Expires) {
		return nil, nil, subscriptionNotFound(c.item)
	}
	return q, q.Subscriptions[c.item], nil
}

func (z *Zaqar) deleteSubscription(c *call) error {
	_ = z.state.Update(func(s *state) error {
		if q := s.queue(c.project, c.queue); q != nil {
			delete(q.Subscriptions, c.item)
		}
		return nil
	})
	noContent(c.w)
	return nil
}

func (z *Zaqar) confirmSubscription(c *call) error {
	doc, err := optionalDocument(c.r)
	if err != nil {
		return err
	}
	m, _ := doc.(core.Ordered)
	v, _ := m.Get("confirmed")
	confirmed, ok := v.(bool)
	if !ok {
		return badRequestAPI("The 'confirmed' should be boolean.")
	}
	now := z.env.Now()
	err = z.state.Update(func(s *state) error {
		_, sub, err := s.liveSubscription(c, now)
		if err != nil {
			return err
		}
		sub.Confirmed = confirmed
		return nil
	})
	if err != nil {
		return err
	}
	setLocation(c.w, c.r.URL.Path)
	noContent(c.w)
	return nil
}
