// Package auth checks who calls the broker: HTTP basic auth against the
// credentials files asbd used, or Kubernetes bearer tokens verified by the
// cluster (TokenReview, then SubjectAccessReview on the URL path).
package auth
