package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

// TestLocalOpenShift: a local_openshift registry reads the image streams
// of its namespaces from the real API server, through the client the
// daemon builds from the config. The one-node cluster has no OpenShift
// image API: image streams are a minimal CRD there (ensureForeignCRDs),
// without ImageStreamTags, so the broker reads each tag's image, named by
// the stream's status, from its registry (a docker-registry on
// 127.0.0.1). Against OpenShift it reads ImageStreamTags (pkg/registry's
// TestLocalOpenShift, on OpenShift's JSON).
func TestLocalOpenShift(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ensureForeignCRDs(t, e.Cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	brokerNS, _ := e.namespaces(t, ctx)
	streamsNS := e.TempNamespace(t, ctx, "osb-imagestreams-")

	reg, err := regtest.StartDockerRegistry(ctx, t.TempDir(), regtest.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	push := func(repo string, labels map[string]string) string {
		img, err := regtest.ImageWithLabels(labels, map[string][]byte{"f": []byte(repo)})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(reg.Host+"/"+repo+":latest", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	dc, err := dynamic.NewForConfig(e.Rest)
	if err != nil {
		t.Fatal(err)
	}
	streams := dc.Resource(schema.GroupVersionResource{Group: "image.openshift.io", Version: "v1", Resource: "imagestreams"}).Namespace(streamsNS)
	for repo, labels := range map[string]map[string]string{
		"testbundle-apb": {apb.LabelSpec: apb.EncodeLabel(testBundleSpec(t)), apb.LabelRuntime: "2"},
		"ruby":           {"io.k8s.display-name": "not a bundle"},
	} {
		digest := push(streamsNS+"/"+repo, labels)
		is := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
			"metadata": map[string]any{"name": repo},
			"status": map[string]any{"tags": []any{map[string]any{"tag": "latest", "items": []any{map[string]any{
				"dockerImageReference": reg.Host + "/" + streamsNS + "/" + repo + "@" + digest, "image": digest}}}}},
		}}
		if _, err := streams.Create(ctx, is, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS,
		Registries: []map[string]any{{"type": "local_openshift", "name": "lo", "namespaces": []string{streamsNS, "no-such-namespace"},
			"white_list": []string{".*"}}}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	cat, err := b.Client.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, s := range cat.Services {
		found[s.Name] = true
	}
	if !found["lo-testbundle-apb"] || found["lo-ruby"] || !found[kubetest.FQName] {
		t.Errorf("catalog services %v: want lo-testbundle-apb (from the image stream) and %s, not lo-ruby", found, kubetest.FQName)
	}
	if got := b.LogValue("bundle image skipped", "image"); got != streamsNS+"/ruby" {
		t.Errorf("skipped image %q, want %s/ruby", got, streamsNS)
	}
}

// TestRegistrySecretCredentials: auth_type secret reads the registry's
// credentials from a Secret of openshift.namespace through the daemon's
// client, at each bootstrap (a docker-registry with htpasswd); the
// password never reaches the log.
func TestRegistrySecretCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	brokerNS, _ := e.namespaces(t, ctx)
	const user, pass = "secret-reader", "Htpasswd-Pa55-from-a-secret"
	reg, err := regtest.StartDockerRegistry(ctx, t.TempDir(), regtest.Auth{User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	img, err := regtest.BundleImage(regtest.BundleYML("guarded-apb"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host+"/guarded-apb:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CoreV1().Secrets(brokerNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry-creds"},
		StringData: map[string]string{"username": user, "password": pass + "\n"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS,
		Registries: []map[string]any{{"type": "apiv2", "name": "sec", "url": "http://" + reg.Host,
			"auth_type": "secret", "auth_name": "registry-creds", "white_list": []string{".*"}}}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", b.Logs)
		}
	})
	cat, err := b.Client.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range cat.Services {
		found = found || s.Name == "sec-guarded-apb"
	}
	if !found {
		t.Errorf("the registry's bundle is not in the catalog: the Secret's credentials were not used\n%s", b.Logs)
	}
	if strings.Contains(b.Logs.String(), pass) {
		t.Error("the registry password is in the broker's log")
	}
}
