// Package zaqar is the emulator's Messaging service (Zaqar v2, as
// zaqar-server 15 with the MongoDB driver answers): version discovery,
// the v2 home document, queues (lazy creation, metadata, JSON-patch
// updates, stats, purge), messages (batch post, listing with echo and
// include_claimed, get and delete by ids, pop), claims (create, query,
// renew, release, claim counts and dead-letter queues), subscriptions
// (stored, not delivered), pre-signed URLs (share) and ping/health, with
// Falcon's {"title", "description"} errors and Zaqar's limits.
package zaqar

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"sync/atomic"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Limits: zaqar's [transport] defaults.
const (
	DefaultMessageTTL        = 3600
	DefaultClaimTTL          = 300
	DefaultClaimGrace        = 60
	DefaultSubscriptionTTL   = 3600
	MaxQueuesPerPage         = 20
	MaxMessagesPerPage       = 20
	MaxSubscriptionsPerPage  = 20
	MaxMessagesPerClaimOrPop = 20
	MaxQueueMetadata         = 64 * 1024
	MaxMessagesPostSize      = 256 * 1024
	MaxMessageTTL            = 1209600
	MaxMessageDelay          = 900
	MaxClaimTTL              = 43200
	MaxClaimGrace            = 43200
	MinMessageTTL            = 60
	MinClaimTTL              = 60
	MinClaimGrace            = 60
	MinSubscriptionTTL       = 60
	DefaultQueuesPerPage     = 10
	DefaultMessagesPerPage   = 10
	DefaultSubsPerPage       = 10
	QueueNameMaxLen          = 64
	ProjectIDMaxLen          = 256
)

// subscriberTypes are the URI schemes subscribers may use.
var subscriberTypes = []string{"http", "https", "mailto", "trust+http", "trust+https"}

// Zaqar is the Messaging service.
type Zaqar struct {
	env   *core.Env
	state *core.State[state]
}

// state is everything Zaqar saves.
type state struct {
	// Queues by project id then name.
	Queues map[string]map[string]*Queue `json:"queues"`
	// SecretKey is [signed_url] secret_key, which signs pre-signed URLs.
	SecretKey string `json:"secret_key"`
	// Counter orders messages (MongoDB's per-queue counter, global here).
	Counter int64 `json:"counter"`
}

// Queue is one queue with its messages, claims and subscriptions.
type Queue struct {
	Name          string                   `json:"name"`
	Project       string                   `json:"project"`
	Metadata      core.Ordered             `json:"metadata"`
	Created       time.Time                `json:"created"`
	Messages      []*Message               `json:"messages,omitempty"`
	Claims        map[string]*Claim        `json:"claims,omitempty"`
	Subscriptions map[string]*Subscription `json:"subscriptions,omitempty"`
}

// Message is one message.
type Message struct {
	ID         string    `json:"id"`
	Seq        int64     `json:"seq"` // the listing marker
	Body       Doc       `json:"body"`
	TTL        int       `json:"ttl"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	ClientID   string    `json:"client_id"`
	DelayUntil time.Time `json:"delay_until,omitempty"`
	ClaimID    string    `json:"claim_id,omitempty"`
	ClaimEnds  time.Time `json:"claim_ends,omitempty"`
	ClaimCount int       `json:"claim_count,omitempty"`
}

// Doc is a JSON value as Zaqar re-emits it (keys in their order, numbers
// as written), kept so in -state too.
type Doc struct{ V any }

// MarshalJSON implements json.Marshaler.
func (d Doc) MarshalJSON() ([]byte, error) { return core.PyJSON(d.V, false), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Doc) UnmarshalJSON(b []byte) error {
	v, err := core.ParsePyJSON(b)
	d.V = v
	return err
}

// Claim is one claim on messages of a queue.
type Claim struct {
	ID      string    `json:"id"`
	TTL     int       `json:"ttl"`
	Grace   int       `json:"grace"`
	Updated time.Time `json:"updated"`
	Ends    time.Time `json:"ends"`
}

// Subscription is a subscriber registered on a queue. Notifications are
// not delivered.
type Subscription struct {
	ID         string         `json:"id"`
	Subscriber string         `json:"subscriber"`
	TTL        int            `json:"ttl"`
	Options    map[string]any `json:"options"`
	Created    time.Time      `json:"created"`
	Expires    time.Time      `json:"expires"`
	Confirmed  bool           `json:"confirmed"`
}

// New returns Zaqar with no queue and a fresh signing key.
func New(env *core.Env) *Zaqar {
	return &Zaqar{env: env, state: core.NewState(env, state{Queues: map[string]map[string]*Queue{}, SecretKey: core.NewSecret(32)})}
}

// Spec implements core.Service. Zaqar's policies let any project member
// do everything but health (admin), so the router only authenticates.
func (z *Zaqar) Spec() core.Spec {
	return core.Spec{Name: "zaqar", Type: "messaging", Prefix: "/messaging", Errors: writeError, OwnPolicy: true}
}

// State implements core.Service.
func (z *Zaqar) State() core.Persistent { return z.state }

// Resources implements core.Service: queues ("<project>/<name>") and
// their subscriptions.
func (z *Zaqar) Resources() []core.Resource {
	var out []core.Resource
	now := z.env.Now()
	_ = z.state.View(func(s *state) error {
		for pid, qs := range s.Queues {
			for _, q := range qs {
				out = append(out, core.Resource{Type: "queue", ID: pid + "/" + q.Name, Name: q.Name, ProjectID: pid})
				for _, sub := range q.Subscriptions {
					if now.Before(sub.Expires) {
						out = append(out, core.Resource{Type: "subscription", ID: sub.ID, Name: sub.Subscriber, ProjectID: pid})
					}
				}
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var oidCounter atomic.Uint32

// newOID returns a MongoDB ObjectId in hex (24 digits): time, random,
// counter; Zaqar's message, claim and subscription ids look like this.
func newOID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:9])
	c := oidCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// isOID reports whether s is a valid ObjectId (what to_oid accepts).
func isOID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// queue returns the project's queue or nil.
func (s *state) queue(project, name string) *Queue {
	return s.Queues[project][name]
}

// ensureQueue returns the queue, creating it (lazily, without metadata).
func (s *state) ensureQueue(project, name string, now time.Time) (*Queue, bool) {
	if q := s.queue(project, name); q != nil {
		return q, false
	}
	if s.Queues[project] == nil {
		s.Queues[project] = map[string]*Queue{}
	}
	q := &Queue{Name: name, Project: project, Metadata: core.Obj(), Created: now}
	s.Queues[project][name] = q
	return q, true
}

// live reports whether the message still exists at now.
func (m *Message) live(now time.Time) bool { return now.Before(m.Expires) }

// claimed reports whether a live claim holds the message.
func (m *Message) claimed(now time.Time) bool { return m.ClaimID != "" && now.Before(m.ClaimEnds) }

// delayed reports whether the message is not yet visible.
func (m *Message) delayed(now time.Time) bool {
	return !m.DelayUntil.IsZero() && now.Before(m.DelayUntil)
}

// prune drops expired messages, claims and subscriptions.
func (q *Queue) prune(now time.Time) {
	kept := q.Messages[:0]
	for _, m := range q.Messages {
		if m.live(now) {
			kept = append(kept, m)
		}
	}
	q.Messages = kept
	for id, c := range q.Claims {
		if !now.Before(c.Ends) {
			delete(q.Claims, id)
		}
	}
	for id, sub := range q.Subscriptions {
		if !now.Before(sub.Expires) {
			delete(q.Subscriptions, id)
		}
	}
}

// age is the whole seconds since t.
func age(now, t time.Time) int64 { return int64(now.Sub(t) / time.Second) }
