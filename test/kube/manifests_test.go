package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// deployDir is the repository's deploy/.
var deployDir, _ = filepath.Abs("../../deploy")

// kubectl is the kubectl hack/kube-build.sh built (its kustomize renders
// deploy/), from OSB_TEST_KUBECTL.
func kubectl(t *testing.T) string {
	t.Helper()
	k := os.Getenv("OSB_TEST_KUBECTL")
	if k == "" {
		t.Fatal("OSB_TEST_KUBECTL not set: run `make test` (hack/test.d/30-kube.sh exports the kubectl hack/kube-build.sh builds)")
	}
	return k
}

// runKubectl runs kubectl against the test cluster with stdin.
func runKubectl(t *testing.T, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl(t), append([]string{"--kubeconfig", os.Getenv("OSB_TEST_KUBECONFIG")}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// kustomize renders a kustomization directory.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	out, err := runKubectl(t, nil, "kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// objects splits rendered YAML into objects.
func objects(t *testing.T, docs []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(docs), -1) {
		if strings.TrimSpace(d) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("rendered manifest: %v\n%s", err, d)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
	return out
}

func encode(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

// The APIs of OpenShift and Service Catalog that deploy/ uses, which the
// one-node cluster does not have: minimal CRDs (any content accepted) so
// that the API server takes their objects. ImageStreams also stand in for
// OpenShift's image API in TestLocalOpenShift.
var foreignAPIs = []struct{ group, kind, plural string }{
	{"route.openshift.io", "Route", "routes"},
	{"image.openshift.io", "ImageStream", "imagestreams"},
	{"servicecatalog.k8s.io", "ClusterServiceBroker", "clusterservicebrokers"},
	{"servicecatalog.k8s.io", "ServiceBroker", "servicebrokers"},
}

var crdsOnce struct {
	sync.Mutex
	done bool
}

// ensureForeignCRDs installs the minimal CRDs once per process; those this
// process created are removed when the suite ends (main_test.go).
func ensureForeignCRDs(t *testing.T, c *kubetest.Cluster) {
	t.Helper()
	crdsOnce.Lock()
	defer crdsOnce.Unlock()
	if crdsOnce.done {
		return
	}
	dc, err := dynamic.NewForConfig(c.Rest)
	if err != nil {
		t.Fatal(err)
	}
	crds := dc.Resource(kubetest.CRDResource)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, a := range foreignAPIs {
		scope, version := "Namespaced", "v1"
		if strings.HasPrefix(a.kind, "Cluster") {
			scope = "Cluster"
		}
		if a.group == "servicecatalog.k8s.io" {
			version = "v1beta1"
		}
		v := map[string]any{"name": version, "served": true, "storage": true,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}
		if a.kind != "ImageStream" {
			// An ImageStream's status is written with it, as OpenShift's
			// image API shows it; the others have a status subresource.
			v["subresources"] = map[string]any{"status": map[string]any{}}
		}
		name := a.plural + "." + a.group
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": name, "labels": map[string]any{"osb-test": "foreign-api"},
				// *.k8s.io groups need it; the real Service Catalog CRDs had it.
				"annotations": map[string]any{"api-approved.kubernetes.io": "unapproved, a stand-in for tests"}},
			"spec": map[string]any{"group": a.group, "scope": scope,
				"names":    map[string]any{"kind": a.kind, "plural": a.plural, "singular": strings.ToLower(a.kind), "listKind": a.kind + "List"},
				"versions": []any{v}},
		}}
		_, err := crds.Create(ctx, crd, metav1.CreateOptions{})
		switch {
		case err == nil:
			kubetest.TrackCRD(name)
		case !apierrors.IsAlreadyExists(err):
			t.Fatalf("installing CRD %s: %v", name, err)
		}
		waitFor(t, "CRD "+name+" established", time.Minute, func() bool {
			got, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true
				}
			}
			return false
		})
	}
	crdsOnce.done = true
}

// serverDryRun has the API server check objects as it would create them
// (schema, strict fields, defaults, admission), storing nothing.
func serverDryRun(t *testing.T, what string, objs []*unstructured.Unstructured) {
	t.Helper()
	out, err := runKubectl(t, encode(t, objs), "apply", "--server-side", "--force-conflicts", "--dry-run=server",
		"--field-manager=osb-manifest-test", "--validate=strict", "-f", "-")
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if n := strings.Count(string(out), "(server dry run)"); n != len(objs) {
		t.Errorf("%s: %d objects checked, want %d:\n%s", what, n, len(objs), out)
	}
}

// inNamespace moves namespaced objects to ns (the dry run needs one that
// exists) and drops the Namespace object.
func inNamespace(objs []*unstructured.Unstructured, ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		if o.GetNamespace() != "" {
			o.SetNamespace(ns)
		}
		out = append(out, o)
	}
	return out
}

// TestDeployManifests renders each overlay of deploy/ and the OpenShift
// template (processed with its defaults, as oc process would) and has the
// API server check every object (server-side dry run). The configs they
// carry parse; the template keeps the Automation Broker template's
// parameters and the base's RBAC.
func TestDeployManifests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ensureForeignCRDs(t, e.Cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := e.TempNamespace(t, ctx, "osb-manifests-")

	base := objects(t, kustomize(t, filepath.Join(deployDir, "base")))
	baseCfg := configOf(t, base)
	for _, overlay := range []string{"kubernetes", "openshift", "scale"} {
		objs := objects(t, kustomize(t, filepath.Join(deployDir, "overlays", overlay)))
		for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ClusterServiceBroker"} {
			if find(objs, kind, "") == nil {
				t.Errorf("overlay %s has no %s", overlay, kind)
			}
		}
		csb := find(objs, "ClusterServiceBroker", "")
		if u, _, _ := unstructured.NestedString(csb.Object, "spec", "url"); u != "https://asb.openstack-service-broker.svc:1338/osb/" {
			t.Errorf("overlay %s: registration URL %q", overlay, u)
		}
		cfg := configOf(t, objs)
		switch overlay {
		case "scale":
			if find(objs, "StatefulSet", "etcd") == nil {
				t.Errorf("overlay scale has no etcd StatefulSet")
			}
			if cfg.Dao.EtcdHost != "etcd-client" {
				t.Errorf("overlay scale: dao.etcd_host %q", cfg.Dao.EtcdHost)
			}
			// The rest of the config is the base's.
			type rest struct {
				R []config.Registry
				L config.Log
				O config.OpenShift
				B config.Broker
				S []config.SecretRule
				K config.OpenStack
			}
			got, want := rest{cfg.Registry, cfg.Log, cfg.OpenShift, cfg.Broker, cfg.Secrets, cfg.OpenStack},
				rest{baseCfg.Registry, baseCfg.Log, baseCfg.OpenShift, baseCfg.Broker, baseCfg.Secrets, baseCfg.OpenStack}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("overlay scale's config differs from the base's in more than dao:\n%+v\n%+v", got, want)
			}
		case "openshift":
			if find(objs, "Route", "asb-1338") == nil {
				t.Errorf("overlay openshift has no Route asb-1338")
			}
		}
		serverDryRun(t, "overlay "+overlay, inNamespace(objs, ns))
	}

	// The OpenShift template, processed with its defaults.
	raw, err := os.ReadFile(filepath.Join(deployDir, "openshift-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, params := processTemplate(t, raw, map[string]string{"NAMESPACE": ns})
	// The Automation Broker template's parameters and defaults (reference:
	// its deploy-ansible-service-broker.template.yaml).
	want := map[string]string{
		"REGISTRY_TYPE": "dockerhub", "REGISTRY_NAME": "dh", "REGISTRY_URL": "https://registry.hub.docker.com",
		"DOCKERHUB_ORG": "ansibleplaybookbundle", "TAG": "latest", "DEV_BROKER": "true", "LAUNCH_APB_ON_BIND": "false",
		"BOOTSTRAP_ON_STARTUP": "true", "REFRESH_INTERVAL": "600s", "OUTPUT_REQUEST": "true", "RECOVERY": "true",
		"AUTO_ESCALATE": "false", "IMAGE_PULL_POLICY": "IfNotPresent", "ENABLE_BASIC_AUTH": "false",
		"SANDBOX_ROLE": "edit", "KEEP_NAMESPACE": "false", "KEEP_NAMESPACE_ON_ERROR": "true",
		"BROKER_URL_PREFIX": "/osb", "NAMESPACE": "ansible-service-broker",
		// The original's is crd, which needs the CRD store (issue 13).
		"DAO_TYPE": "etcd",
	}
	for k, v := range want {
		if got, ok := params[k]; !ok || got != v {
			t.Errorf("template parameter %s: default %q (present %v), want %q", k, got, ok, v)
		}
	}
	cfgObj := find(tmpl, "ConfigMap", "broker-config")
	text, _, _ := unstructured.NestedString(cfgObj.Object, "data", "broker-config")
	if _, warnings, err := config.Parse([]byte(text), "template broker-config"); err != nil {
		t.Errorf("the template's config with its defaults: %v", err)
	} else if len(warnings) > 0 {
		t.Errorf("the template's config: warnings %q", warnings)
	}
	// The template's ClusterRole is the base's.
	var baseRole, tmplRole rbacv1.ClusterRole
	fromUnstructured(t, find(base, "ClusterRole", "openstack-service-broker"), &baseRole)
	fromUnstructured(t, find(tmpl, "ClusterRole", "asb"), &tmplRole)
	if !reflect.DeepEqual(baseRole.Rules, tmplRole.Rules) {
		t.Errorf("the template's ClusterRole asb differs from deploy/base/rbac.yaml's:\n%v\n%v", tmplRole.Rules, baseRole.Rules)
	}
	serverDryRun(t, "openshift-template.yaml", tmpl)
}

func configOf(t *testing.T, objs []*unstructured.Unstructured) *config.Config {
	t.Helper()
	cm := find(objs, "ConfigMap", "broker-config")
	if cm == nil {
		t.Fatal("no ConfigMap broker-config")
	}
	text, _, _ := unstructured.NestedString(cm.Object, "data", "broker-config")
	c, warnings, err := config.Parse([]byte(text), "broker-config")
	if err != nil {
		t.Fatalf("ConfigMap broker-config: %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("ConfigMap broker-config: warnings %q", warnings)
	}
	return c
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if u == nil {
		t.Fatal("object missing")
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatal(err)
	}
}

// processTemplate does what oc process does with an OpenShift template:
// each ${NAME} in the objects becomes the parameter's value (given, else
// its default, else generated from an expression). It returns the objects
// and the parameters' defaults.
func processTemplate(t *testing.T, raw []byte, given map[string]string) ([]*unstructured.Unstructured, map[string]string) {
	t.Helper()
	var tmpl struct {
		Kind       string           `json:"kind"`
		Objects    []map[string]any `json:"objects"`
		Parameters []struct {
			Name     string `json:"name"`
			Value    string `json:"value"`
			Generate string `json:"generate"`
			From     string `json:"from"`
		} `json:"parameters"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	if tmpl.Kind != "Template" {
		t.Fatalf("kind %q, want Template", tmpl.Kind)
	}
	defaults, values := map[string]string{}, map[string]string{}
	for _, p := range tmpl.Parameters {
		defaults[p.Name] = p.Value
		v := p.Value
		if p.Generate == "expression" && v == "" {
			var b [12]byte
			rand.Read(b[:])
			v = hex.EncodeToString(b[:])
		}
		if g, ok := given[p.Name]; ok {
			v = g
		}
		values[p.Name] = v
	}
	ref := regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
	var out []*unstructured.Unstructured
	for _, o := range tmpl.Objects {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		s := ref.ReplaceAllStringFunc(string(b), func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			v, ok := values[name]
			if !ok {
				t.Errorf("template uses undeclared parameter %s", name)
			}
			return v
		})
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
			t.Fatalf("processed template object: %v\n%s", err, s)
		}
		out = append(out, u)
	}
	return out, defaults
}
