package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

const quayURL = "https://quay.io"

// quay uses only the Quay API: repositories of the org, the tag's manifest
// digest from the repository, and the manifest's labels. The digest comes
// with the repository, so a warm bootstrap reads no labels.
type quay struct {
	api, host, org, tag string
	images              []string
	creds               credSource
	client              *http.Client

	mu sync.Mutex
	cr *creds // read by list, once per bootstrap
}

func newQuay(c Config, o Options) (*quay, error) {
	raw := c.URL
	if raw == "" {
		raw = quayURL
	}
	u, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	cs, err := newCredSource(c, o)
	if err != nil {
		return nil, err
	}
	return &quay{
		api: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), host: u.Host, org: c.Org, tag: c.Tag,
		images: c.Images, creds: cs,
		client: &http.Client{Transport: transportFor(c, o), Timeout: o.HTTPClient.Timeout},
	}, nil
}

// current are the credentials list read for this bootstrap.
func (q *quay) current(ctx context.Context) (creds, error) {
	q.mu.Lock()
	cr := q.cr
	q.mu.Unlock()
	if cr != nil {
		return *cr, nil
	}
	return q.creds(ctx)
}

func (q *quay) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	cr, err := q.current(ctx)
	if err != nil {
		return nil, err
	}
	u := q.api + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return getBody(ctx, q.client, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		switch {
		case cr.Token != "":
			req.Header.Set("Authorization", "Bearer "+cr.Token)
		case cr.User != "":
			req.SetBasicAuth(cr.User, cr.Pass)
		}
		return req, nil
	})
}

func (q *quay) list(ctx context.Context) ([]string, error) {
	cr, err := q.creds(ctx)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.cr = &cr
	q.mu.Unlock()
	names := append([]string(nil), q.images...)
	query := url.Values{"public": {"true"}, "private": {"true"}, "namespace": {q.org}}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("quay listing: more than %d pages", maxPages)
		}
		out, err := q.get(ctx, "/api/v1/repository", query)
		if err != nil {
			return nil, fmt.Errorf("quay listing: %w", err)
		}
		var p struct {
			Repositories []struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"repositories"`
			NextPage string `json:"next_page"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			return nil, fmt.Errorf("quay listing: %w", err)
		}
		for _, r := range p.Repositories {
			names = append(names, r.Name)
		}
		if p.NextPage == "" {
			return names, nil
		}
		query.Set("next_page", p.NextPage)
	}
}

func (q *quay) repoPath(n string) string {
	return "/api/v1/repository/" + url.PathEscape(q.org) + "/" + url.PathEscape(n)
}

func (q *quay) resolve(ctx context.Context, n, _ string) (ref, error) {
	out, err := q.get(ctx, q.repoPath(n), url.Values{"includeTags": {"true"}})
	if err != nil {
		return ref{}, fmt.Errorf("reading repository: %w", err)
	}
	var repo struct {
		Tags map[string]struct {
			ManifestDigest string `json:"manifest_digest"`
		} `json:"tags"`
	}
	if err := json.Unmarshal(out, &repo); err != nil {
		return ref{}, fmt.Errorf("reading repository: %w", err)
	}
	t, ok := repo.Tags[q.tag]
	if !ok || t.ManifestDigest == "" {
		return ref{}, fmt.Errorf("repository has no tag %q", q.tag)
	}
	return ref{name: n, image: q.host + "/" + q.org + "/" + n + ":" + q.tag, digest: t.ManifestDigest}, nil
}

func (q *quay) read(ctx context.Context, r ref) (*apb.Spec, error) {
	out, err := q.get(ctx, q.repoPath(r.name)+"/manifest/"+url.PathEscape(r.digest)+"/labels", nil)
	if err != nil {
		return nil, fmt.Errorf("reading labels: %w", err)
	}
	var l struct {
		Labels []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"labels"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		return nil, fmt.Errorf("reading labels: %w", err)
	}
	labels := make(map[string]string, len(l.Labels))
	for _, kv := range l.Labels {
		labels[kv.Key] = kv.Value
	}
	return specFromLabels(labels, r.image)
}
