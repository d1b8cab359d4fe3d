package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// localOpenShift reads the image streams of the configured namespaces of
// the cluster the broker runs in (OpenShift's image.openshift.io/v1 API,
// through client-go's REST client: the typed clientset has no image API).
// Labels come from the ImageStreamTag's image metadata, as bundle-lib read
// them. A cluster that serves image streams but no ImageStreamTags (image
// streams as a CustomResourceDefinition, without OpenShift's image API)
// gets them from the image itself: the stream's status names it
// (dockerImageReference), and its registry is asked, anonymously.
type localOpenShift struct {
	namespaces []string
	tag        string
	rc         rest.Interface
	served     func() (bool, error) // whether imagestreamtags are served
	hc         *http.Client

	mu      sync.Mutex
	tagsAPI bool // as found by the last list
}

const imageAPI = "/apis/image.openshift.io/v1/namespaces/"

func newLocalOpenShift(c Config, o Options) (*localOpenShift, error) {
	if o.Kube == nil {
		return nil, errors.New("type local_openshift needs a Kubernetes client (openshift: section)")
	}
	ns := c.Namespaces
	if len(ns) == 0 {
		ns = []string{"openshift"} // bundle-lib's default
	}
	rc := o.Kube.Discovery().RESTClient()
	if rc == nil {
		return nil, errors.New("type local_openshift: the Kubernetes client has no REST client")
	}
	disco := o.Kube.Discovery()
	served := func() (bool, error) {
		rl, err := disco.ServerResourcesForGroupVersion("image.openshift.io/v1")
		if err != nil {
			return false, fmt.Errorf("the cluster serves no image.openshift.io/v1 (OpenShift's image streams): %w", err)
		}
		for _, r := range rl.APIResources {
			if r.Name == "imagestreamtags" {
				return true, nil
			}
		}
		return false, nil
	}
	return &localOpenShift{namespaces: ns, tag: c.Tag, rc: rc, served: served,
		hc: &http.Client{Transport: transportFor(c, o), Timeout: o.HTTPClient.Timeout}}, nil
}

func (l *localOpenShift) list(ctx context.Context) ([]string, error) {
	tagsAPI, err := l.served()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.tagsAPI = tagsAPI
	l.mu.Unlock()
	var names []string
	var errs []error
	for _, ns := range l.namespaces {
		raw, err := l.rc.Get().AbsPath(imageAPI + ns + "/imagestreams").Do(ctx).Raw()
		if err != nil {
			// bundle-lib skipped namespaces it could not list.
			errs = append(errs, fmt.Errorf("listing image streams in %s: %w", ns, err))
			continue
		}
		var list struct {
			Items []struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			errs = append(errs, fmt.Errorf("listing image streams in %s: %w", ns, err))
			continue
		}
		for _, is := range list.Items {
			names = append(names, ns+"/"+is.Metadata.Name)
		}
	}
	if len(names) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return names, nil
}

// istImage is the part of an ImageStreamTag discovery needs.
type istImage struct {
	Image struct {
		Metadata struct {
			Name string `json:"name"` // the image digest
		} `json:"metadata"`
		DockerImageReference string `json:"dockerImageReference"`
		DockerImageMetadata  struct {
			ContainerConfig struct {
				Labels map[string]string `json:"Labels"`
			} `json:"ContainerConfig"`
			Config struct {
				Labels map[string]string `json:"Labels"`
			} `json:"Config"`
		} `json:"dockerImageMetadata"`
	} `json:"image"`
}

// streamImage is an image named by an image stream's status, read from
// its registry.
type streamImage struct {
	host, repo, digest string
}

func (l *localOpenShift) resolve(ctx context.Context, n, _ string) (ref, error) {
	ns, is, ok := strings.Cut(n, "/")
	if !ok {
		return ref{}, fmt.Errorf("image stream name %q is not namespace/name", n)
	}
	l.mu.Lock()
	tagsAPI := l.tagsAPI
	l.mu.Unlock()
	if !tagsAPI {
		return l.resolveStream(ctx, n, ns, is)
	}
	raw, err := l.rc.Get().AbsPath(imageAPI + ns + "/imagestreamtags/" + is + ":" + l.tag).Do(ctx).Raw()
	if err != nil {
		return ref{}, fmt.Errorf("reading image stream tag %s:%s: %w", n, l.tag, err)
	}
	var ist istImage
	if err := json.Unmarshal(raw, &ist); err != nil {
		return ref{}, fmt.Errorf("reading image stream tag %s:%s: %w", n, l.tag, err)
	}
	image, _, _ := strings.Cut(ist.Image.DockerImageReference, "@")
	if image == "" {
		return ref{}, fmt.Errorf("image stream tag %s:%s has no dockerImageReference", n, l.tag)
	}
	return ref{name: n, image: image + ":" + l.tag, digest: ist.Image.Metadata.Name, state: &ist}, nil
}

// resolveStream finds the tag's current image in the stream's status.
func (l *localOpenShift) resolveStream(ctx context.Context, n, ns, is string) (ref, error) {
	raw, err := l.rc.Get().AbsPath(imageAPI + ns + "/imagestreams/" + is).Do(ctx).Raw()
	if err != nil {
		return ref{}, fmt.Errorf("reading image stream %s: %w", n, err)
	}
	var stream struct {
		Status struct {
			Tags []struct {
				Tag   string `json:"tag"`
				Items []struct {
					DockerImageReference string `json:"dockerImageReference"`
					Image                string `json:"image"`
				} `json:"items"`
			} `json:"tags"`
		} `json:"status"`
	}
	if err := json.Unmarshal(raw, &stream); err != nil {
		return ref{}, fmt.Errorf("reading image stream %s: %w", n, err)
	}
	for _, t := range stream.Status.Tags {
		if t.Tag != l.tag || len(t.Items) == 0 {
			continue
		}
		it := t.Items[0] // the newest
		name, digest, _ := strings.Cut(it.DockerImageReference, "@")
		if digest == "" {
			digest = it.Image
		}
		host, repo, ok := strings.Cut(name, "/")
		if !ok || digest == "" || !strings.ContainsAny(host, ".:") && host != "localhost" {
			return ref{}, fmt.Errorf("image stream %s: tag %s names no registry image by digest (%q)", n, l.tag, it.DockerImageReference)
		}
		return ref{name: n, image: name + ":" + l.tag, digest: digest, state: &streamImage{host: host, repo: repo, digest: digest}}, nil
	}
	return ref{}, fmt.Errorf("image stream %s has no image for tag %s", n, l.tag)
}

func (l *localOpenShift) read(ctx context.Context, r ref) (*apb.Spec, error) {
	if si, ok := r.state.(*streamImage); ok {
		c := newV2Client(si.host, []string{"https", "http"}, l.hc, creds{})
		m, err := c.manifest(ctx, si.repo, si.digest, "")
		if err != nil {
			return nil, fmt.Errorf("reading manifest of %s/%s@%s: %w", si.host, si.repo, si.digest, err)
		}
		labels, err := c.labels(ctx, si.repo, m, 0)
		if err != nil {
			return nil, err
		}
		return specFromLabels(labels, r.image)
	}
	md := r.state.(*istImage).Image.DockerImageMetadata
	labels := md.ContainerConfig.Labels
	if _, ok := labels[apb.LabelSpec]; !ok {
		labels = md.Config.Labels
	}
	return specFromLabels(labels, r.image)
}
