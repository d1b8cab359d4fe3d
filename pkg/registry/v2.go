package registry

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// retryBackoff is how registry calls back off on 408/429/5xx and network
// flakes: 4 tries over about 1.5 s.
var retryBackoff = v1.Backoff{Duration: 100 * time.Millisecond, Factor: 2.5, Jitter: 0.1, Steps: 4}

// v2 speaks the Docker Registry HTTP API v2 (Docker schema 2, OCI, manifest
// lists and indexes resolved to linux/amd64, schema 1 labels from history)
// through go-containerregistry, which does anonymous, basic and Bearer token
// auth per the distribution token spec. apiv2 lists /v2/_catalog plus
// images; openshift uses images only; dockerhub gets names from the Hub API.
type v2 struct {
	regName   string
	reg       name.Registry
	imageHost string // prefix of the pull reference, e.g. docker.io
	tag       string
	images    []string
	catalog   bool
	lister    func(ctx context.Context, c creds) ([]string, error) // dockerhub
	creds     credSource
	transport http.RoundTripper
	log       *slog.Logger

	mu     sync.Mutex
	puller *v1.Puller
	pcreds creds // what puller was built with
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
	cs, err := newCredSource(c, o)
	if err != nil {
		return nil, err
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(u.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	return &v2{
		regName: c.Name, reg: reg, imageHost: u.Host, tag: c.Tag, images: c.Images,
		catalog: c.Type == "apiv2", creds: cs, transport: transportFor(c, o), log: o.Logger,
	}, nil
}

// pullerFor returns a puller for these credentials, reused across
// bootstraps so a warm bootstrap does no token or ping round trips.
func (v *v2) pullerFor(c creds) (*v1.Puller, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.puller != nil && v.pcreds == c {
		return v.puller, nil
	}
	auth := authn.Anonymous
	switch {
	case c.User != "" || c.Pass != "":
		auth = authn.FromConfig(authn.AuthConfig{Username: c.User, Password: c.Pass})
	case c.Token != "":
		auth = &authn.Bearer{Token: c.Token}
	}
	p, err := v1.NewPuller(
		v1.WithAuth(auth),
		v1.WithTransport(v.transport),
		v1.WithRetryBackoff(retryBackoff),
		v1.WithUserAgent("openstack-service-broker"),
	)
	if err != nil {
		return nil, err
	}
	v.puller, v.pcreds = p, c
	return p, nil
}

func (v *v2) currentPuller(ctx context.Context) (*v1.Puller, creds, error) {
	c, err := v.creds(ctx)
	if err != nil {
		return nil, creds{}, err
	}
	p, err := v.pullerFor(c)
	return p, c, err
}

func (v *v2) list(ctx context.Context) ([]string, error) {
	p, c, err := v.currentPuller(ctx)
	if err != nil {
		return nil, err
	}
	names := append([]string(nil), v.images...)
	switch {
	case v.lister != nil:
		more, err := v.lister(ctx, c)
		if err != nil {
			return nil, err
		}
		names = append(names, more...)
	case v.catalog:
		more, err := p.Catalog(ctx, v.reg)
		if err != nil {
			if len(v.images) == 0 {
				return nil, fmt.Errorf("listing %s/v2/_catalog: %w", v.reg.Name(), err)
			}
			// bundle-lib tolerated a registry without _catalog when images
			// were listed.
			v.log.Warn("registry catalog listing failed, using the configured images", "registry", v.regName, "err", err)
		}
		names = append(names, more...)
	}
	return names, nil
}

func (v *v2) resolve(ctx context.Context, n string) (ref, error) {
	p, _, err := v.currentPuller(ctx)
	if err != nil {
		return ref{}, err
	}
	tagRef, err := name.NewTag(v.reg.Name()+"/"+n+":"+v.tag, name.WithDefaultRegistry(v.reg.Name()))
	if err != nil {
		return ref{}, fmt.Errorf("image name: %w", err)
	}
	if v.reg.Scheme() == "http" {
		tagRef, err = name.NewTag(tagRef.String(), name.Insecure)
		if err != nil {
			return ref{}, fmt.Errorf("image name: %w", err)
		}
	}
	desc, err := p.Get(ctx, tagRef)
	if err != nil {
		return ref{}, fmt.Errorf("reading manifest of %s: %w", tagRef, err)
	}
	return ref{name: n, image: v.imageHost + "/" + n + ":" + v.tag, digest: desc.Digest.String(), state: desc}, nil
}

func (v *v2) read(ctx context.Context, r ref) (*apb.Spec, error) {
	desc := r.state.(*v1.Descriptor)
	var labels map[string]string
	switch desc.MediaType {
	case types.DockerManifestSchema1, types.DockerManifestSchema1Signed:
		l, err := schema1Labels(desc.Manifest)
		if err != nil {
			return nil, &specError{err}
		}
		labels = l
	default:
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading image: %w", err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading image config: %w", err)
		}
		labels = cf.Config.Labels
	}
	return specFromLabels(labels, r.image)
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
