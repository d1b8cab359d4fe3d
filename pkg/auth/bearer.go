package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
)

const (
	// cacheTTL is the delegating authenticator's default that asbd used.
	cacheTTL = 10 * time.Second
	// maxCached bounds memory under a flood of distinct tokens.
	maxCached = 4096
	// apiTimeout bounds one review call; the request's context may end sooner.
	apiTimeout = 10 * time.Second
)

// Bearer verifies "Authorization: Bearer <token>" with the cluster: a
// TokenReview says who the token belongs to, then a SubjectAccessReview on
// the non-resource URL path with the lowercased HTTP method as verb says
// whether that user may call it — what asbd's delegating authn/authz did, so
// the templates' ClusterRole (nonResourceURLs /osb, /osb/*) keeps working.
type Bearer struct {
	client kubernetes.Interface
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	users map[[sha256.Size]byte]userEntry
	sars  map[sarKey]sarEntry
}

var _ osb.Authenticator = (*Bearer)(nil)

// Results are cached by a digest of the token, never the token itself, so a
// heap dump holds no usable credential.
type userEntry struct {
	user    *authnv1.UserInfo // nil: the token is not valid
	expires time.Time
}

type sarKey struct {
	token      [sha256.Size]byte
	verb, path string
}

type sarEntry struct {
	allowed bool
	expires time.Time
}

// NewBearer checks tokens through client.
func NewBearer(client kubernetes.Interface, log *slog.Logger) *Bearer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bearer{
		client: client, log: log, now: time.Now,
		users: map[[sha256.Size]byte]userEntry{}, sars: map[sarKey]sarEntry{},
	}
}

// Authenticate returns the user name. A missing or invalid token wraps
// osb.ErrUnauthorized, a valid token without permission wraps
// osb.ErrForbidden; any other error means the cluster could not be asked.
func (b *Bearer) Authenticate(r *http.Request) (string, error) {
	token, ok := bearerToken(r)
	if !ok {
		// asbd let such requests through as system:anonymous, to be refused
		// by the SubjectAccessReview; a 401 tells the client what is missing.
		return "", fmt.Errorf("%w: no bearer token in the Authorization header", osb.ErrUnauthorized)
	}
	digest := sha256.Sum256([]byte(token))
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()

	user, err := b.user(ctx, digest, token)
	if err != nil {
		return "", err
	}
	if user == nil {
		return "", fmt.Errorf("%w: invalid bearer token", osb.ErrUnauthorized)
	}
	key := sarKey{token: digest, verb: strings.ToLower(r.Method), path: r.URL.Path}
	allowed, err := b.allowed(ctx, key, user)
	if err != nil {
		return "", err
	}
	if !allowed {
		return "", fmt.Errorf("%w: user %q may not %s %s", osb.ErrForbidden, user.Username, key.verb, key.path)
	}
	return user.Username, nil
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return token, true
}

// user returns who the token belongs to, nil when it is not valid.
func (b *Bearer) user(ctx context.Context, digest [sha256.Size]byte, token string) (*authnv1.UserInfo, error) {
	now := b.now()
	b.mu.Lock()
	e, ok := b.users[digest]
	b.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.user, nil
	}
	tr, err := b.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, reviewError(fmt.Errorf("asking the cluster to review the bearer token (TokenReview): %w", err))
	}
	var user *authnv1.UserInfo
	if tr.Status.Authenticated {
		u := tr.Status.User
		user = &u
	} else if tr.Status.Error != "" {
		b.log.Debug("bearer token refused by the cluster", "reason", tr.Status.Error)
	}
	b.mu.Lock()
	if len(b.users) >= maxCached {
		prune(b.users, func(e userEntry) bool { return !now.Before(e.expires) })
	}
	b.users[digest] = userEntry{user: user, expires: now.Add(cacheTTL)}
	b.mu.Unlock()
	return user, nil
}

func (b *Bearer) allowed(ctx context.Context, key sarKey, user *authnv1.UserInfo) (bool, error) {
	now := b.now()
	b.mu.Lock()
	e, ok := b.sars[key]
	b.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.allowed, nil
	}
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := b.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authzv1.NonResourceAttributes{Path: key.path, Verb: key.verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, reviewError(fmt.Errorf("asking the cluster whether %q may %s %s (SubjectAccessReview): %w", user.Username, key.verb, key.path, err))
	}
	allowed := sar.Status.Allowed && !sar.Status.Denied
	if !allowed {
		b.log.Debug("request not authorized", "user", user.Username, "verb", key.verb, "path", key.path,
			"reason", sar.Status.Reason, "evaluationError", sar.Status.EvaluationError)
	}
	b.mu.Lock()
	if len(b.sars) >= maxCached {
		prune(b.sars, func(e sarEntry) bool { return !now.Before(e.expires) })
	}
	b.sars[key] = sarEntry{allowed: allowed, expires: now.Add(cacheTTL)}
	b.mu.Unlock()
	return allowed, nil
}

// reviewError marks a review that could not be made now (no answer, a
// timeout, 429, a 5xx) as osb.ErrUnavailable, which the caller may retry.
// A refusal of the broker's own request (401, 403, 404: its service
// account lacks system:auth-delegator, or the API is missing) stays a
// plain error: the operator must fix it, and retrying does not help.
func reviewError(err error) error {
	if st, ok := err.(apierrors.APIStatus); ok || errors.As(err, &st) {
		code := int(st.Status().Code)
		if code != http.StatusTooManyRequests && code < 500 {
			return err
		}
	}
	return fmt.Errorf("%w: %w", osb.ErrUnavailable, err)
}

// prune drops expired entries, or everything when none has expired: a
// cache miss costs one API call, unbounded growth costs the process.
func prune[K comparable, V any](m map[K]V, expired func(V) bool) {
	for k, e := range m {
		if expired(e) {
			delete(m, k)
		}
	}
	if len(m) >= maxCached {
		clear(m)
	}
}
