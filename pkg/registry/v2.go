package registry

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// Manifest media types read by the v2 adapter.
const (
	mtSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mtSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
	mtSchema2       = "application/vnd.docker.distribution.manifest.v2+json"
	mtList          = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex      = "application/vnd.oci.image.index.v1+json"
)

var manifestAccept = strings.Join([]string{mtSchema2, mtOCIManifest, mtList, mtOCIIndex, mtSchema1Signed, mtSchema1}, ",")

// Names as the distribution reference grammar allows them, checked before
// they become request paths.
var (
	repoRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

func checkTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q is not a valid image tag", tag)
	}
	return nil
}

// catalogPage is how many repositories one /v2/_catalog page asks for
// (distribution's default maximum).
const catalogPage = 1000

// v2 speaks the Docker Registry HTTP API v2 (Docker schema 2, OCI, manifest
// lists and indexes resolved to linux/amd64, schema 1 labels from history)
// with anonymous, basic and Bearer token auth per the distribution token
// spec. apiv2 lists /v2/_catalog plus images; openshift uses images only;
// dockerhub gets names from the Hub API.
//
// Per image it asks only what a bootstrap needs: the tag's manifest,
// conditional on the digest seen last time (304: unchanged, nothing more
// to read), then, for a new digest, the config blob (or the platform's
// manifest of a list first).
type v2 struct {
	regName   string
	host      string
	schemes   []string
	imageHost string // prefix of the pull reference, e.g. docker.io
	tag       string
	images    []string
	catalog   bool
	lister    func(ctx context.Context, c creds) ([]string, error) // dockerhub
	creds     credSource
	hc        *http.Client
	log       *slog.Logger

	mu  sync.Mutex
	cur *v2client // the client of the credentials read by the last list
}

// parseURL reads a registry url as bundle-lib did: no scheme means http.
func parseURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q has no host", raw)
	}
	return u, nil
}

// schemesFor are the schemes a v2 registry is tried on: the url's own, or
// https then http when it names none (bundle-lib assumed http; registries
// mostly serve https).
func schemesFor(raw string, u *url.URL) []string {
	if !strings.Contains(raw, "://") {
		return []string{"https", "http"}
	}
	return []string{u.Scheme}
}

func transportFor(c Config, o Options) http.RoundTripper {
	rt := o.HTTPClient.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if c.SkipVerifyTLS {
		if t, ok := rt.(*http.Transport); ok {
			t = t.Clone()
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{}
			}
			t.TLSClientConfig.InsecureSkipVerify = true
			rt = t
		}
	}
	return rt
}

func newV2(c Config, o Options) (*v2, error) {
	u, err := parseURL(c.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", c.URL)
	}
	if err := checkTag(c.Tag); err != nil {
		return nil, err
	}
	cs, err := newCredSource(c, o)
	if err != nil {
		return nil, err
	}
	return &v2{
		regName: c.Name, host: u.Host, schemes: schemesFor(c.URL, u), imageHost: u.Host, tag: c.Tag, images: c.Images,
		catalog: c.Type == "apiv2", creds: cs, log: o.Logger,
		hc: &http.Client{Transport: transportFor(c, o), Timeout: o.HTTPClient.Timeout},
	}, nil
}

// session reads the credentials and returns their client: the same one as
// long as they do not change, so pings and tokens are not repeated. list
// calls it once per bootstrap; resolve and read use what it returned.
func (v *v2) session(ctx context.Context) (*v2client, error) {
	cr, err := v.creds(ctx)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cur == nil || v.cur.cr != cr {
		v.cur = newV2Client(v.host, v.schemes, v.hc, cr)
	}
	v.cur.retry()
	v.cur.sweep(time.Now())
	return v.cur, nil
}

// client is the session of this bootstrap, or a new one when resolve runs
// without list.
func (v *v2) client(ctx context.Context) (*v2client, error) {
	v.mu.Lock()
	c := v.cur
	v.mu.Unlock()
	if c != nil {
		return c, nil
	}
	return v.session(ctx)
}

func (v *v2) list(ctx context.Context) ([]string, error) {
	c, err := v.session(ctx)
	if err != nil {
		return nil, err
	}
	names := append([]string(nil), v.images...)
	switch {
	case v.lister != nil:
		more, err := v.lister(ctx, c.cr)
		if err != nil {
			return nil, err
		}
		names = append(names, more...)
	case v.catalog:
		more, err := v.listCatalog(ctx, c)
		if err != nil {
			if len(v.images) == 0 {
				return nil, fmt.Errorf("listing %s/v2/_catalog: %w", v.host, err)
			}
			// bundle-lib tolerated a registry without _catalog when images
			// were listed.
			v.log.Warn("registry catalog listing failed, using the configured images", "registry", v.regName, "err", err)
		}
		names = append(names, more...)
	}
	return names, nil
}

// listCatalog pages through /v2/_catalog by its Link headers, which must
// stay on the registry's host and path.
func (v *v2) listCatalog(ctx context.Context, c *v2client) ([]string, error) {
	next := fmt.Sprintf("/v2/_catalog?n=%d", catalogPage)
	var names []string
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("more than %d catalog pages", maxPages)
		}
		resp, err := c.get(ctx, next, "registry:catalog:*", http.Header{"Accept": {"application/json"}})
		if err != nil {
			return nil, err
		}
		if resp.code != http.StatusOK {
			return nil, resp.err()
		}
		var p struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return nil, fmt.Errorf("catalog page: %w", err)
		}
		names = append(names, p.Repositories...)
		if next, err = nextLink(resp.header.Get("Link"), c.base); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// nextLink is the path and query of a Link: <...>; rel="next" header, or
// "" when there is none.
func nextLink(link, base string) (string, error) {
	if link == "" {
		return "", nil
	}
	target, _, _ := strings.Cut(link, ";")
	target = strings.Trim(strings.TrimSpace(target), "<>")
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("catalog Link header %q: %w", link, err)
	}
	if u.Host != "" && u.Scheme+"://"+u.Host != base {
		return "", fmt.Errorf("catalog Link header %q leaves %s", link, base)
	}
	if !strings.HasPrefix(u.Path, "/v2/") {
		return "", fmt.Errorf("catalog Link header %q is not a v2 path", link)
	}
	return u.RequestURI(), nil
}

// manifest is a fetched manifest: its media type, bytes and digest.
type manifest struct {
	mediaType string
	body      []byte
	digest    string
}

func (v *v2) resolve(ctx context.Context, n, prev string) (ref, error) {
	if !repoRE.MatchString(n) {
		return ref{}, fmt.Errorf("image name %q is not a valid repository name", n)
	}
	c, err := v.client(ctx)
	if err != nil {
		return ref{}, err
	}
	r := ref{name: n, image: v.imageHost + "/" + n + ":" + v.tag}
	m, err := c.manifest(ctx, n, v.tag, prev)
	if err != nil {
		return ref{}, fmt.Errorf("reading manifest of %s/%s:%s: %w", v.host, n, v.tag, err)
	}
	if m == nil {
		r.digest = prev // 304: the tag still names what was read
		return r, nil
	}
	r.digest, r.state = m.digest, m
	return r, nil
}

func (v *v2) read(ctx context.Context, r ref) (*apb.Spec, error) {
	c, err := v.client(ctx)
	if err != nil {
		return nil, err
	}
	m, _ := r.state.(*manifest)
	if m == nil {
		// Resolved as unchanged but not cached: read it by digest.
		if m, err = c.manifest(ctx, r.name, r.digest, ""); err != nil {
			return nil, fmt.Errorf("reading manifest of %s: %w", r.image, err)
		}
	}
	labels, err := c.labels(ctx, r.name, m, 0)
	if err != nil {
		return nil, err
	}
	return specFromLabels(labels, r.image)
}

// manifest GETs /v2/<repo>/manifests/<reference>; with ifNot set it is
// conditional on that digest and returns nil when the registry answers
// 304 Not Modified.
func (c *v2client) manifest(ctx context.Context, repo, reference, ifNot string) (*manifest, error) {
	h := http.Header{"Accept": {manifestAccept}}
	if ifNot != "" {
		h.Set("If-None-Match", `"`+ifNot+`"`)
	}
	resp, err := c.get(ctx, "/v2/"+repo+"/manifests/"+reference, "repository:"+repo+":pull", h)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.code == http.StatusNotModified && ifNot != "":
		return nil, nil
	case resp.code != http.StatusOK:
		return nil, resp.err()
	}
	m := &manifest{mediaType: mediaType(resp.header.Get("Content-Type"), resp.body), body: resp.body}
	computed := "sha256:" + sha256hex(resp.body)
	m.digest = computed
	if d := resp.header.Get("Docker-Content-Digest"); d != "" {
		m.digest = d
	}
	if strings.HasPrefix(reference, "sha256:") {
		m.digest = reference
	}
	// Schema 1 signed manifests are digested without their signatures;
	// every other manifest is its bytes.
	if m.digest != computed && m.mediaType != mtSchema1Signed && m.mediaType != mtSchema1 {
		return nil, fmt.Errorf("manifest %s: content has digest %s, want %s", reference, computed, m.digest)
	}
	return m, nil
}

// mediaType is a manifest's media type: the Content-Type when it names a
// manifest, else the document's mediaType or shape.
func mediaType(contentType string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case mtSchema1, mtSchema1Signed, mtSchema2, mtList, mtOCIManifest, mtOCIIndex:
		return mt
	}
	var doc struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Signatures    json.RawMessage `json:"signatures"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return mt
	}
	switch {
	case doc.MediaType != "":
		return doc.MediaType
	case doc.SchemaVersion == 1 && doc.Signatures != nil:
		return mtSchema1Signed
	case doc.SchemaVersion == 1:
		return mtSchema1
	case doc.Manifests != nil:
		return mtOCIIndex
	}
	return mtOCIManifest
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

// labels reads an image's config labels: from a schema 1 manifest's
// history, a schema 2 or OCI manifest's config blob, or the linux/amd64
// entry of a list or index.
func (c *v2client) labels(ctx context.Context, repo string, m *manifest, depth int) (map[string]string, error) {
	switch m.mediaType {
	case mtSchema1, mtSchema1Signed:
		l, err := schema1Labels(m.body)
		if err != nil {
			return nil, &specError{err}
		}
		return l, nil
	case mtList, mtOCIIndex:
		if depth > 0 {
			return nil, &specError{errors.New("manifest list inside a manifest list")}
		}
		var idx struct {
			Manifests []descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(m.body, &idx); err != nil {
			return nil, &specError{fmt.Errorf("manifest list: %w", err)}
		}
		for _, d := range idx.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
				child, err := c.manifest(ctx, repo, d.Digest, "")
				if err != nil {
					return nil, fmt.Errorf("reading the linux/amd64 manifest: %w", err)
				}
				return c.labels(ctx, repo, child, depth+1)
			}
		}
		return nil, &specError{errors.New("the manifest list has no linux/amd64 image")}
	case mtSchema2, mtOCIManifest:
		var mf struct {
			Config descriptor `json:"config"`
		}
		if err := json.Unmarshal(m.body, &mf); err != nil {
			return nil, &specError{fmt.Errorf("manifest: %w", err)}
		}
		if !strings.HasPrefix(mf.Config.Digest, "sha256:") {
			return nil, &specError{fmt.Errorf("manifest config digest %q is not sha256", mf.Config.Digest)}
		}
		resp, err := c.get(ctx, "/v2/"+repo+"/blobs/"+mf.Config.Digest, "repository:"+repo+":pull", nil)
		if err != nil {
			return nil, fmt.Errorf("reading image config: %w", err)
		}
		if resp.code != http.StatusOK {
			return nil, fmt.Errorf("reading image config: %w", resp.err())
		}
		if got := "sha256:" + sha256hex(resp.body); got != mf.Config.Digest {
			return nil, fmt.Errorf("image config has digest %s, want %s", got, mf.Config.Digest)
		}
		var cf struct {
			Config struct {
				Labels map[string]string `json:"Labels"`
			} `json:"config"`
		}
		if err := json.Unmarshal(resp.body, &cf); err != nil {
			return nil, &specError{fmt.Errorf("image config: %w", err)}
		}
		return cf.Config.Labels, nil
	}
	return nil, &specError{fmt.Errorf("unsupported manifest media type %q", m.mediaType)}
}

func specFromLabels(labels map[string]string, image string) (*apb.Spec, error) {
	s, err := apb.SpecFromLabels(labels, image)
	if err != nil {
		return nil, &specError{err}
	}
	return s, nil
}

// schema1Labels reads the labels of a schema 1 manifest: the newest
// history entry's v1Compatibility config.
func schema1Labels(manifest []byte) (map[string]string, error) {
	var m struct {
		History []struct {
			V1Compatibility string `json:"v1Compatibility"`
		} `json:"history"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("schema 1 manifest: %w", err)
	}
	if len(m.History) == 0 {
		return nil, errors.New("schema 1 manifest has no history")
	}
	var c struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(m.History[0].V1Compatibility), &c); err != nil {
		return nil, fmt.Errorf("schema 1 v1Compatibility: %w", err)
	}
	return c.Config.Labels, nil
}
