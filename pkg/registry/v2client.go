package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const userAgent = "openstack-service-broker"

// v2client speaks the Docker Registry HTTP API v2 to one registry for one
// set of credentials. It pings /v2/ once to learn how the registry
// authenticates, keeps Bearer tokens per scope until they expire, and
// sends every request over the registry's shared transport, so a warm
// bootstrap makes no ping, no token request and no new connection: only
// the requests whose answers it needs.
type v2client struct {
	host string
	// schemes are tried in order by the ping: https then http when the
	// configured url names no scheme, as bundle-lib's users expect either.
	schemes []string
	hc      *http.Client
	cr      creds

	pingMu  sync.Mutex // held through a ping, so concurrent callers wait for it
	pinged  atomic.Bool
	base    string // scheme://host the ping answered on, set before pinged
	pingErr error  // why the last ping failed, until the next bootstrap

	mu        sync.Mutex
	challenge challenge
	tokens    map[string]*tokenEntry // scope -> token
}

// challenge is how the registry asks to be authenticated (its
// WWW-Authenticate header): no scheme, basic, or bearer with the token
// server's realm and service.
type challenge struct {
	scheme         string // "", "basic" or "bearer"
	realm, service string
}

// tokenEntry is one scope's token, shared by every request of that scope;
// ready is closed once the fetch that fills it ended.
type tokenEntry struct {
	ready  chan struct{}
	value  string
	expiry time.Time
	err    error
}

func (e *tokenEntry) usable(now time.Time) bool {
	select {
	case <-e.ready:
		return e.err == nil && now.Before(e.expiry)
	default:
		return true // in flight: wait for it
	}
}

func newV2Client(host string, schemes []string, hc *http.Client, cr creds) *v2client {
	return &v2client{host: host, schemes: schemes, hc: hc, cr: cr, tokens: map[string]*tokenEntry{}}
}

// response is a registry answer with its body read.
type response struct {
	code   int
	header http.Header
	body   []byte
	url    string // redacted, for errors
}

func (r *response) err() error {
	return &statusError{method: http.MethodGet, url: r.url, status: fmt.Sprintf("%d %s", r.code, http.StatusText(r.code)), code: r.code}
}

// ping learns the base URL and the auth challenge, once per client. A
// failed ping fails the requests after it at once, until retry (the next
// bootstrap): an unreachable registry costs one ping, not one per image.
func (c *v2client) ping(ctx context.Context) error {
	if c.pinged.Load() {
		return nil
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.pinged.Load() {
		return nil
	}
	if c.pingErr != nil {
		return c.pingErr
	}
	var errs []error
	for i, scheme := range c.schemes {
		base := scheme + "://" + c.host
		// A scheme with another to fall back on gets one try: https to a
		// plain HTTP port fails the same way every time.
		tries := retryBackoff.Steps
		if i < len(c.schemes)-1 {
			tries = 1
		}
		resp, err := roundTripN(ctx, c.hc, tries, func() (*http.Request, error) {
			return newRequest(base+"/v2/", nil)
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		switch resp.code {
		case http.StatusOK:
		case http.StatusUnauthorized:
			ch, ok := parseChallenge(resp.header)
			if !ok {
				return fmt.Errorf("GET %s/v2/: 401 without a basic or bearer challenge", base)
			}
			c.mu.Lock()
			c.challenge = ch
			c.mu.Unlock()
		default:
			c.pingErr = resp.err()
			return c.pingErr
		}
		c.base = base
		c.pinged.Store(true)
		return nil
	}
	c.pingErr = errors.Join(errs...)
	return c.pingErr
}

// retry forgets a failed ping, so the next request pings again.
func (c *v2client) retry() {
	c.pingMu.Lock()
	c.pingErr = nil
	c.pingMu.Unlock()
}

// parseChallenge reads the first basic or bearer challenge of a 401.
func parseChallenge(h http.Header) (challenge, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
		switch strings.ToLower(scheme) {
		case "basic":
			return challenge{scheme: "basic"}, true
		case "bearer":
			p := authParams(params)
			if p["realm"] == "" {
				continue
			}
			return challenge{scheme: "bearer", realm: p["realm"], service: p["service"]}, true
		}
	}
	return challenge{}, false
}

// authParams parses key="value" pairs separated by commas (RFC 7235),
// where quoted values may hold commas.
func authParams(s string) map[string]string {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimSpace(rest)
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			v, rest = b.String(), rest[min(i+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
			rest = "," + rest
		}
		out[k] = v
		_, s, _ = strings.Cut(rest, ",")
		s = strings.TrimSpace(s)
	}
	return out
}

// get sends GET path with header, authorized for scope, and returns any
// answer but a network failure (callers judge the status). A 401 is tried
// once more after renewing what it refused (an expired token, a challenge
// that changed since the ping).
func (c *v2client) get(ctx context.Context, path, scope string, header http.Header) (*response, error) {
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		authz, err := c.authorization(ctx, scope)
		if err != nil {
			return nil, err
		}
		resp, err := roundTrip(ctx, c.hc, func() (*http.Request, error) {
			req, err := newRequest(c.base+path, header)
			if err == nil && authz != "" {
				req.Header.Set("Authorization", authz)
			}
			return req, err
		})
		if err != nil {
			return nil, err
		}
		if resp.code == http.StatusUnauthorized && try == 0 && c.renew(resp.header, scope, authz) {
			continue
		}
		return resp, nil
	}
}

func newRequest(u string, header http.Header) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// renew reacts to a 401: it forgets the token refused, or adopts a
// challenge that differs from the ping's. It reports whether a retry
// could succeed.
func (c *v2client) renew(h http.Header, scope, sent string) bool {
	ch, ok := parseChallenge(h)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch != c.challenge {
		c.challenge = ch
		return true
	}
	if ch.scheme != "bearer" || c.cr.Token != "" {
		return false // the credentials themselves were refused
	}
	if e := c.tokens[scope]; e != nil && "Bearer "+e.value == sent {
		select {
		case <-e.ready:
			delete(c.tokens, scope)
		default:
		}
	}
	return true // renewed now, or by another request meanwhile
}

// authorization is the Authorization header value for a request of scope.
func (c *v2client) authorization(ctx context.Context, scope string) (string, error) {
	c.mu.Lock()
	ch := c.challenge
	c.mu.Unlock()
	switch {
	case ch.scheme == "":
		return "", nil
	case c.cr.Token != "":
		// A configured registry token is sent as is, whatever the scheme.
		return "Bearer " + c.cr.Token, nil
	case ch.scheme == "basic":
		if c.cr.User == "" && c.cr.Pass == "" {
			return "", nil
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.cr.User+":"+c.cr.Pass)), nil
	}
	tok, err := c.token(ctx, ch, scope)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

// token returns scope's token, fetching it when there is none or it
// expired; concurrent requests of one scope share one fetch.
func (c *v2client) token(ctx context.Context, ch challenge, scope string) (string, error) {
	c.mu.Lock()
	e := c.tokens[scope]
	if e == nil || !e.usable(time.Now()) {
		e = &tokenEntry{ready: make(chan struct{})}
		c.tokens[scope] = e
		c.mu.Unlock()
		e.value, e.expiry, e.err = c.fetchToken(ctx, ch, scope)
		close(e.ready)
		if e.err != nil {
			c.mu.Lock()
			if c.tokens[scope] == e {
				delete(c.tokens, scope)
			}
			c.mu.Unlock()
		}
		return e.value, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	// A fetch that failed is shared too: one refusal, not one per image.
	return e.value, e.err
}

// fetchToken asks the token server (distribution's token spec: GET realm
// with service and scope, basic auth when credentials are set).
func (c *v2client) fetchToken(ctx context.Context, ch challenge, scope string) (string, time.Time, error) {
	u, err := url.Parse(ch.realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", time.Time{}, fmt.Errorf("registry token realm %q is not an http(s) URL", ch.realm)
	}
	q := u.Query()
	if ch.service != "" {
		q.Set("service", ch.service)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	u.RawQuery = q.Encode()
	start := time.Now()
	resp, err := roundTrip(ctx, c.hc, func() (*http.Request, error) {
		req, err := newRequest(u.String(), nil)
		if err == nil && (c.cr.User != "" || c.cr.Pass != "") {
			req.SetBasicAuth(c.cr.User, c.cr.Pass)
		}
		return req, err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fetching registry token: %w", err)
	}
	if resp.code != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("fetching registry token: %w", resp.err())
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.body, &t); err != nil {
		return "", time.Time{}, fmt.Errorf("fetching registry token: the answer is not JSON: %w", err)
	}
	tok := t.Token
	if tok == "" {
		tok = t.AccessToken
	}
	if tok == "" {
		return "", time.Time{}, errors.New("fetching registry token: the answer holds no token")
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second // the token spec's default
	}
	// Renew a little early, so that no request carries a token that
	// expires on the way.
	return tok, start.Add(life - min(life/10, 10*time.Second)), nil
}

// sweep forgets expired tokens, so the map holds no more than the scopes
// of the token lifetime.
func (c *v2client) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s, e := range c.tokens {
		if !e.usable(now) {
			delete(c.tokens, s)
		}
	}
}
