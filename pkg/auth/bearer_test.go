package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb"
)

// cluster plays the apiserver's authentication and authorization: tokens
// maps a token to its user, grants lists "user verb path" that are allowed.
type cluster struct {
	tokens     map[string]authnv1.UserInfo
	grants     map[string]bool
	down       bool  // API calls fail as if unreachable
	downErr    error // what they fail with (default: connection refused)
	reviews    int
	sarCalls   int
	lastSAR    authzv1.SubjectAccessReviewSpec
	sawTokens  []string
	sarRefuses bool // answer Denied with Allowed also set, as an explicit deny rule would
}

func newCluster() (*cluster, *fake.Clientset) {
	c := &cluster{
		tokens: map[string]authnv1.UserInfo{
			"good-token": {Username: "system:serviceaccount:asb:client", UID: "u1",
				Groups: []string{"system:serviceaccounts"}, Extra: map[string]authnv1.ExtraValue{"scope": {"a", "b"}}},
			"viewer-token": {Username: "viewer"},
		},
		grants: map[string]bool{
			"system:serviceaccount:asb:client get /v2/catalog":                  true,
			"system:serviceaccount:asb:client put /v2/service_instances/abc":    true,
			"system:serviceaccount:asb:client delete /v2/service_instances/abc": true,
		},
	}
	cs := fake.NewClientset()
	cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c.reviews++
		if c.down {
			return true, nil, c.failure()
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		c.sawTokens = append(c.sawTokens, tr.Spec.Token)
		if u, ok := c.tokens[tr.Spec.Token]; ok {
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: u}
		} else {
			tr.Status = authnv1.TokenReviewStatus{Error: "token not found"}
		}
		return true, tr, nil
	})
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c.sarCalls++
		if c.down {
			return true, nil, c.failure()
		}
		sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview).DeepCopy()
		c.lastSAR = sar.Spec
		na := sar.Spec.NonResourceAttributes
		if na != nil && sar.Spec.ResourceAttributes == nil {
			sar.Status.Allowed = c.grants[sar.Spec.User+" "+na.Verb+" "+na.Path]
			sar.Status.Denied = c.sarRefuses
		}
		return true, sar, nil
	})
	return c, cs
}

func (c *cluster) failure() error {
	if c.downErr != nil {
		return c.downErr
	}
	return errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
}

func bearerRequest(method, path, authz string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		authz        string
		refuse       bool
		want         string
		err          error
		reviews      int // TokenReviews expected
		sars         int // SubjectAccessReviews expected
	}{
		{name: "allowed", method: "GET", path: "/v2/catalog", authz: "Bearer good-token",
			want: "system:serviceaccount:asb:client", reviews: 1, sars: 1},
		{name: "lowercase scheme", method: "PUT", path: "/v2/service_instances/abc", authz: "bearer good-token",
			want: "system:serviceaccount:asb:client", reviews: 1, sars: 1},
		{name: "verb is the method", method: "POST", path: "/v2/catalog", authz: "Bearer good-token",
			err: osb.ErrForbidden, reviews: 1, sars: 1},
		{name: "other path", method: "GET", path: "/v2/bootstrap", authz: "Bearer good-token",
			err: osb.ErrForbidden, reviews: 1, sars: 1},
		{name: "valid user without grant", method: "GET", path: "/v2/catalog", authz: "Bearer viewer-token",
			err: osb.ErrForbidden, reviews: 1, sars: 1},
		{name: "explicit deny", method: "GET", path: "/v2/catalog", authz: "Bearer good-token", refuse: true,
			err: osb.ErrForbidden, reviews: 1, sars: 1},
		{name: "bad token", method: "GET", path: "/v2/catalog", authz: "Bearer bad-token",
			err: osb.ErrUnauthorized, reviews: 1},
		{name: "no header", method: "GET", path: "/v2/catalog", err: osb.ErrUnauthorized},
		{name: "basic header", method: "GET", path: "/v2/catalog", authz: "Basic YWRtaW46YWRtaW4=", err: osb.ErrUnauthorized},
		{name: "empty token", method: "GET", path: "/v2/catalog", authz: "Bearer ", err: osb.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cs := newCluster()
			c.sarRefuses = tt.refuse
			b := NewBearer(cs, nil)
			got, err := b.Authenticate(bearerRequest(tt.method, tt.path, tt.authz))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("principal %q, want %q", got, tt.want)
			}
			if c.reviews != tt.reviews || c.sarCalls != tt.sars {
				t.Errorf("API calls: %d TokenReviews, %d SubjectAccessReviews; want %d, %d", c.reviews, c.sarCalls, tt.reviews, tt.sars)
			}
			if tok := strings.TrimSpace(strings.TrimPrefix(tt.authz, "Bearer ")); err != nil && tok != "" && strings.Contains(err.Error(), tok) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestBearerReviewsWhatTheRequestAsks(t *testing.T) {
	c, cs := newCluster()
	b := NewBearer(cs, nil)
	if _, err := b.Authenticate(bearerRequest("DELETE", "/v2/service_instances/abc?plan_id=x", "Bearer good-token")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.sawTokens, []string{"good-token"}) {
		t.Errorf("TokenReview tokens %q", c.sawTokens)
	}
	want := authzv1.SubjectAccessReviewSpec{
		User: "system:serviceaccount:asb:client", UID: "u1", Groups: []string{"system:serviceaccounts"},
		Extra:                 map[string]authzv1.ExtraValue{"scope": {"a", "b"}},
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: "/v2/service_instances/abc", Verb: "delete"},
	}
	if !reflect.DeepEqual(c.lastSAR, want) {
		t.Errorf("SubjectAccessReview spec\n got %+v\nwant %+v", c.lastSAR, want)
	}
}

func TestBearerCache(t *testing.T) {
	c, cs := newCluster()
	b := NewBearer(cs, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return now }
	call := func(method, path, token string) error {
		_, err := b.Authenticate(bearerRequest(method, path, "Bearer "+token))
		return err
	}
	steps := []struct {
		name         string
		advance      time.Duration
		method, path string
		token        string
		err          error
		reviews, sar int // cumulative API calls after the step
	}{
		{"first", 0, "GET", "/v2/catalog", "good-token", nil, 1, 1},
		{"cached", 9 * time.Second, "GET", "/v2/catalog", "good-token", nil, 1, 1},
		{"new path: same user, new review of access", 0, "PUT", "/v2/service_instances/abc", "good-token", nil, 1, 2},
		{"denial cached", 0, "GET", "/v2/bootstrap", "good-token", osb.ErrForbidden, 1, 3},
		{"denial from cache", 0, "GET", "/v2/bootstrap", "good-token", osb.ErrForbidden, 1, 3},
		{"bad token", 0, "GET", "/v2/catalog", "bad-token", osb.ErrUnauthorized, 2, 3},
		{"bad token from cache", 0, "GET", "/v2/catalog", "bad-token", osb.ErrUnauthorized, 2, 3},
		{"expired after 10s", 2 * time.Second, "GET", "/v2/catalog", "good-token", nil, 3, 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		err := call(s.method, s.path, s.token)
		if !errors.Is(err, s.err) || (s.err == nil && err != nil) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.err)
		}
		if c.reviews != s.reviews || c.sarCalls != s.sar {
			t.Fatalf("%s: %d TokenReviews, %d SubjectAccessReviews; want %d, %d", s.name, c.reviews, c.sarCalls, s.reviews, s.sar)
		}
	}
	// A token revoked in the cluster stops working once the entry expires.
	delete(c.tokens, "good-token")
	now = now.Add(11 * time.Second)
	if err := call("GET", "/v2/catalog", "good-token"); !errors.Is(err, osb.ErrUnauthorized) {
		t.Fatalf("revoked token: err %v", err)
	}
}

func TestBearerClusterUnreachable(t *testing.T) {
	c, cs := newCluster()
	b := NewBearer(cs, nil)
	c.down = true
	_, err := b.Authenticate(bearerRequest("GET", "/v2/catalog", "Bearer good-token"))
	if err == nil || errors.Is(err, osb.ErrUnauthorized) || errors.Is(err, osb.ErrForbidden) {
		t.Fatalf("err %v, want an error that is neither unauthorized nor forbidden", err)
	}
	if !strings.Contains(err.Error(), "TokenReview") || strings.Contains(err.Error(), "good-token") {
		t.Errorf("error %q: want it to name the TokenReview and not the token", err)
	}
	// Failures are not cached: the cluster back, the same token works.
	c.down = false
	if _, err := b.Authenticate(bearerRequest("GET", "/v2/catalog", "Bearer good-token")); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	// The authorization step failing is reported the same way.
	c.down = true
	_, err = b.Authenticate(bearerRequest("PUT", "/v2/service_instances/abc", "Bearer good-token"))
	if err == nil || errors.Is(err, osb.ErrUnauthorized) || errors.Is(err, osb.ErrForbidden) || !strings.Contains(err.Error(), "SubjectAccessReview") {
		t.Fatalf("SAR down: err %v", err)
	}
}

// TestBearerUnavailableOrFault: a cluster that cannot answer now is
// osb.ErrUnavailable (503: retrying helps); one that refuses the broker's
// own reviews is a configuration fault (500: retrying does not).
func TestBearerUnavailableOrFault(t *testing.T) {
	gr := schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}
	cases := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"connection refused", nil, true},
		{"timeout", context.DeadlineExceeded, true},
		{"503", apierrors.NewServiceUnavailable("apiserver is shutting down"), true},
		{"429", apierrors.NewTooManyRequests("slow down", 1), true},
		{"500", apierrors.NewInternalError(errors.New("etcd leader changed")), true},
		{"504", apierrors.NewTimeoutError("request timed out", 1), true},
		{"403: the broker may not create TokenReviews", apierrors.NewForbidden(gr, "", errors.New("needs system:auth-delegator")), false},
		{"401: the broker's own token is refused", apierrors.NewUnauthorized("token expired"), false},
	}
	for _, step := range []struct{ method, path string }{{"GET", "/v2/catalog"}, {"PUT", "/v2/service_instances/abc"}} {
		for _, c := range cases {
			t.Run(step.method+" "+c.name, func(t *testing.T) {
				cl, cs := newCluster()
				b := NewBearer(cs, nil)
				if step.method == "PUT" {
					// Token reviewed and cached; the authorization step fails.
					if _, err := b.Authenticate(bearerRequest("GET", "/v2/catalog", "Bearer good-token")); err != nil {
						t.Fatal(err)
					}
				}
				cl.down, cl.downErr = true, c.err
				_, err := b.Authenticate(bearerRequest(step.method, step.path, "Bearer good-token"))
				if err == nil || errors.Is(err, osb.ErrUnauthorized) || errors.Is(err, osb.ErrForbidden) {
					t.Fatalf("err %v", err)
				}
				if got := errors.Is(err, osb.ErrUnavailable); got != c.unavailable {
					t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, c.unavailable)
				}
			})
		}
	}
}
