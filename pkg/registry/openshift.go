package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// localOpenShift reads the image streams of the configured namespaces of
// the cluster the broker runs in (OpenShift's image.openshift.io/v1 API,
// through client-go's REST client: the typed clientset has no image API).
type localOpenShift struct {
	namespaces []string
	tag        string
	rc         rest.Interface
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
	return &localOpenShift{namespaces: ns, tag: c.Tag, rc: rc}, nil
}

func (l *localOpenShift) list(ctx context.Context) ([]string, error) {
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

func (l *localOpenShift) resolve(ctx context.Context, n, _ string) (ref, error) {
	ns, is, ok := strings.Cut(n, "/")
	if !ok {
		return ref{}, fmt.Errorf("image stream name %q is not namespace/name", n)
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

func (l *localOpenShift) read(ctx context.Context, r ref) (*apb.Spec, error) {
	md := r.state.(*istImage).Image.DockerImageMetadata
	labels := md.ContainerConfig.Labels
	if _, ok := labels[apb.LabelSpec]; !ok {
		labels = md.Config.Labels
	}
	return specFromLabels(labels, r.image)
}
