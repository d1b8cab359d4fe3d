package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/yaml"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

// TestDeployInCluster deploys deploy/overlays/kubernetes on the one-node
// cluster with the broker image (hack/images.sh broker, imported into the
// node) and runs a bundle's lifecycle through it, as Service Catalog would:
// the bearer token of the registration's client service account, the
// platform user's identity, the broker's TLS certificate checked.
//
// What the one-node cluster makes the test change in the rendered objects:
// it has no pod network and no kube-proxy, so the broker pod uses the host
// network on a free loopback port (probes on 127.0.0.1), finds the API
// server through KUBERNETES_SERVICE_HOST/PORT, and its bundle pods likewise
// (config); the image is never pulled; cluster-scoped names get the test
// namespace as suffix; the ConfigMap's config names the test's registry.
// The Service is reached the way kubectl port-forward svc/asb does: its
// selector and target port lead to the pod, and the API server forwards
// to that port (no traffic leaves 127.0.0.1); its EndpointSlice must list
// the pod ready.
//
// The broker runs on its in-cluster service account alone (deploy's
// RBAC): it reads its registry's credentials Secret (auth_type: secret,
// a docker-registry with htpasswd), the Secret of a secrets: rule whose
// key it hides from the catalog, checks the platform's token (TokenReview,
// SubjectAccessReview on /osb) and the platform user's right in the target
// namespace (automationbroker.io/access, granted by edit through
// deploy's aggregated role), and runs every sandbox.
func TestDeployInCluster(t *testing.T) {
	t.Parallel()
	e := setup(t)
	img := os.Getenv("OSB_TEST_IN_CLUSTER_IMAGE")
	if img == "" {
		t.Fatal("OSB_TEST_IN_CLUSTER_IMAGE not set: run `make test` (hack/test.d/30-kube.sh builds the broker image with hack/images.sh broker and imports it into the node)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ns := e.TempNamespace(t, ctx, "osb-deploy-")
	target := e.TempNamespace(t, ctx, "osb-deploy-target-")
	t.Cleanup(func() { e.removeSandboxesOf(target) })

	// The registry the broker reads, with htpasswd; its credentials are a
	// Secret of the broker's namespace.
	const regUser, regPass = "deploy-reader", "Reg-Pa55-deploy-test"
	reg, err := regtest.StartDockerRegistry(ctx, t.TempDir(), regtest.Auth{User: regUser, Pass: regPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	bundle, err := regtest.BundleImage(testBundleSpec(t), map[string]string{apb.LabelRuntime: "2"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host+"/testbundle-apb:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, bundle, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
		t.Fatal(err)
	}
	// Bundle pods never pull: the node knows the test bundle by the name
	// the registry gives it.
	if out, err := exec.Command("../../hack/kube-cluster.sh", "tag", e.image, reg.Host+"/testbundle-apb:latest").CombinedOutput(); err != nil {
		t.Fatalf("tagging the bundle image in the node: %v: %s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("../../hack/kube-cluster.sh", "untag", reg.Host+"/testbundle-apb:latest").Run()
	})

	port := freeLoopbackPort(t)
	caPEM, certPEM, keyPEM := serviceCert(t, "asb."+ns+".svc", "localhost")
	const greeting = "greeting-from-the-mapped-secret"
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "asb-tls"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}},
		{ObjectMeta: metav1.ObjectMeta{Name: "registry-creds"}, StringData: map[string]string{"username": regUser, "password": regPass}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bundle-greeting"}, StringData: map[string]string{"greeting": greeting}},
	} {
		if _, err := e.client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := map[string]any{
		"registry": []any{map[string]any{"type": "apiv2", "name": "deploy", "url": "http://" + reg.Host,
			"auth_type": "secret", "auth_name": "registry-creds", "white_list": []string{".*"}}},
		"dao": map[string]any{"etcd_data_dir": "/var/lib/openstack-service-broker/etcd"},
		"log": map[string]any{"stdout": true, "level": "debug"},
		"openshift": map[string]any{"namespace": ns, "sandbox_role": "edit", "image_pull_policy": "Never",
			"sandbox_host_network": true, "sandbox_timeout": "3m", "keep_namespace": false,
			"sandbox_env": map[string]string{"KUBERNETES_SERVICE_HOST": e.Host, "KUBERNETES_SERVICE_PORT": e.Port}},
		"broker": map[string]any{"listen_address": "127.0.0.1:" + strconv.Itoa(port), "bootstrap_on_startup": true,
			"launch_apb_on_bind": true, "auto_escalate": false, "recovery": true,
			"ssl_cert": "/etc/tls/private/tls.crt", "ssl_cert_key": "/etc/tls/private/tls.key",
			"auth": []any{map[string]any{"type": "basic", "enabled": false}}},
		"secrets": []any{map[string]any{"title": "greeting", "apb_name": "deploy-testbundle-apb", "secret": "bundle-greeting"}},
	}
	cfgYAML, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}

	objs := objects(t, kustomize(t, filepath.Join(deployDir, "overlays", "kubernetes")))
	var apply []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "ClusterServiceBroker":
			// The test made the namespace; Service Catalog is not there
			// (TestDeployManifests checks the registration).
			continue
		case "ClusterRole", "ClusterRoleBinding":
			o.SetName(o.GetName() + "-" + ns)
			if o.GetKind() == "ClusterRoleBinding" {
				unstructured.SetNestedField(o.Object, o.Object["roleRef"].(map[string]any)["name"].(string)+"-"+ns, "roleRef", "name")
				subs, _, _ := unstructured.NestedSlice(o.Object, "subjects")
				for _, s := range subs {
					s.(map[string]any)["namespace"] = ns
				}
				unstructured.SetNestedSlice(o.Object, subs, "subjects")
			}
		case "ConfigMap":
			unstructured.SetNestedField(o.Object, string(cfgYAML), "data", "broker-config")
		case "Deployment":
			var d appsv1.Deployment
			fromUnstructured(t, o, &d)
			adaptToTestCluster(&d, img, port, e.Host, e.Port)
			u, err := toUnstructured(&d)
			if err != nil {
				t.Fatal(err)
			}
			o = u
		}
		if o.GetNamespace() != "" {
			o.SetNamespace(ns)
		}
		apply = append(apply, o)
	}
	t.Cleanup(func() {
		for _, o := range apply {
			if o.GetNamespace() == "" {
				_, _ = runKubectl(t, nil, "delete", "--ignore-not-found", "--wait=false", strings.ToLower(o.GetKind()), o.GetName())
			}
		}
	})
	if out, err := runKubectl(t, encode(t, apply), "apply", "--server-side", "--field-manager=osb-deploy-test", "-f", "-"); err != nil {
		t.Fatalf("applying the manifests: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", e.podLogs(ns, "service=asb"))
		}
		// The broker goes first, so it starts nothing while its
		// namespaces go.
		_ = e.client.AppsV1().Deployments(ns).Delete(context.Background(), "asb", metav1.DeleteOptions{})
	})

	// The platform's token: the registration's client service account.
	token := e.saToken(t, ctx, ns, "ansibleservicebroker-client")
	pod := e.serviceReady(t, ctx, ns, "asb")
	local := e.portForward(t, ctx, ns, pod, port)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "asb." + ns + ".svc"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, local)
		},
	}}
	url := "https://asb." + ns + ".svc:1338/osb"
	identity := func(user string) string {
		v, _ := json.Marshal(map[string]any{"username": user, "uid": "uid-" + user, "groups": []string{"system:authenticated"}})
		return "kubernetes " + base64.StdEncoding.EncodeToString(v)
	}
	client := func(token, user string) *osbclient.Client {
		o := osbclient.Options{URL: url, BearerToken: token, HTTPClient: hc}
		if user != "" {
			o.OriginatingIdentity = identity(user)
		}
		return osbclient.New(o)
	}

	// The catalog, from the registry read with the Secret's credentials;
	// the mapped Secret's key is not a parameter.
	var cat *osbapi.Catalog
	waitFor(t, "the catalog with the registry's bundle", 2*time.Minute, func() bool {
		c, err := client(token, "").Catalog(ctx)
		cat = c
		return err == nil && len(c.Services) == 1
	})
	svc := cat.Services[0]
	if svc.Name != "deploy-testbundle-apb" {
		t.Fatalf("catalog service %q, want deploy-testbundle-apb", svc.Name)
	}
	props, _ := svc.Plans[0].Schemas.ServiceInstance.Create.Parameters["properties"].(map[string]any)
	if _, shown := props["greeting"]; shown || props["fail"] == nil {
		t.Errorf("create schema properties %v: want fail without greeting (hidden by the secrets: rule)", props)
	}

	// Who may call: no token 401, a token without the role 403.
	if _, err := client("", "").Catalog(ctx); !isStatus(err, 401) {
		t.Errorf("catalog without a token: %v, want 401", err)
	}
	other := e.saToken(t, ctx, ns, "default")
	if _, err := client(other, "").Catalog(ctx); !isStatus(err, 403) {
		t.Errorf("catalog with a token not allowed /osb: %v, want 403", err)
	}

	// The platform user: none 400, no right in the target 403, then edit
	// there (which aggregates automationbroker.io/access) lets it through.
	const user = "deploy-test-user"
	f := &osbFlow{t: t, ctx: ctx, c: client(token, user), sid: svc.ID, pid: svc.Plans[0].ID,
		octx: map[string]any{"platform": "kubernetes", "namespace": target}}
	instance := newID(t)
	preq := &osbapi.ProvisionRequest{ServiceID: f.sid, PlanID: f.pid, OrganizationGUID: "o", SpaceGUID: "s", Context: f.octx}
	if _, err := client(token, "").Provision(ctx, instance, preq, true); !isStatus(err, 400) {
		t.Errorf("provision without an originating identity: %v, want 400", err)
	}
	if _, err := f.c.Provision(ctx, instance, preq, true); !isStatus(err, 403) {
		t.Errorf("provision by a user without rights in %s: %v, want 403", target, err)
	}
	if _, err := e.client.RbacV1().RoleBindings(target).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deploy-test-user-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "edit aggregating automationbroker.io/access", time.Minute, func() bool {
		cr, err := e.client.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, r := range cr.Rules {
			for _, g := range r.APIGroups {
				if g == "automationbroker.io" {
					return true
				}
			}
		}
		return false
	})

	succeeded(t, "provision", f.provision(instance, nil))
	cm, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, "testbundle-"+instance, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the bundle's ConfigMap: %v", err)
	}
	if cm.Data["greeting"] != greeting {
		t.Errorf("the bundle saw greeting %q, want the mapped Secret's %q", cm.Data["greeting"], greeting)
	}
	binding := newID(t)
	lo, creds := f.bind(instance, binding)
	succeeded(t, "bind", lo)
	if creds["DB_USER"] != "user-"+instance[:8] {
		t.Errorf("bind credentials %v", creds)
	}
	succeeded(t, "unbind", f.unbind(instance, binding))
	succeeded(t, "deprovision", f.deprovision(instance))

	// Every sandbox ran under the broker's own service account, the only
	// credentials the broker pod has.
	logs := e.podLogs(ns, "service=asb")
	if want := `"as":"system:serviceaccount:` + ns + `:openstack-service-broker"`; !strings.Contains(logs, want) {
		t.Errorf("the broker does not act as its service account (%s) in its log", want)
	}
	for _, secret := range []string{regPass, token} {
		if strings.Contains(logs, secret) {
			t.Error("the broker's log holds a secret")
		}
	}
}

// adaptToTestCluster changes what the one-node cluster needs (see
// TestDeployInCluster) and nothing else.
func adaptToTestCluster(d *appsv1.Deployment, image string, port int, apiHost, apiPort string) {
	spec := &d.Spec.Template.Spec
	spec.HostNetwork = true
	spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	c := &spec.Containers[0]
	c.Image, c.ImagePullPolicy = image, corev1.PullNever
	c.Ports[0].ContainerPort = int32(port)
	c.Env = append(c.Env, corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: apiHost}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: apiPort})
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		p.HTTPGet.Host = "127.0.0.1"
		p.HTTPGet.Port = intstr.FromInt(port)
	}
}

func toUnstructured(v any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(b, &u.Object); err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

func freeLoopbackPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serviceCert makes a CA and a serving certificate for names.
func serviceCert(t *testing.T, names ...string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "osb-deploy-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// saToken is a token of a service account (TokenRequest), as its token
// Secret would hold.
func (e *env) saToken(t *testing.T, ctx context.Context, ns, sa string) string {
	t.Helper()
	var tok string
	waitFor(t, "service account "+sa, time.Minute, func() bool {
		tr, err := e.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa,
			&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
		if err != nil {
			return false
		}
		tok = tr.Status.Token
		return true
	})
	return tok
}

func ptr[T any](v T) *T { return &v }

// serviceReady follows the Service to its ready pod, as kubectl
// port-forward svc/<name> does, and checks its EndpointSlice lists it.
func (e *env) serviceReady(t *testing.T, ctx context.Context, ns, svcName string) string {
	t.Helper()
	svc, err := e.client.CoreV1().Services(ns).Get(ctx, svcName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel := []string{}
	for k, v := range svc.Spec.Selector {
		sel = append(sel, k+"="+v)
	}
	var pod string
	waitFor(t, "the broker pod ready behind its Service", 4*time.Minute, func() bool {
		l, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: strings.Join(sel, ",")})
		if err != nil {
			return false
		}
		for _, p := range l.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					pod = p.Name
				}
			}
		}
		if pod == "" {
			return false
		}
		eps, err := e.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svcName})
		if err != nil {
			return false
		}
		for _, s := range eps.Items {
			for _, ep := range s.Endpoints {
				if ep.TargetRef != nil && ep.TargetRef.Name == pod && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					return true
				}
			}
		}
		return false
	})
	return pod
}

// portForward forwards a local loopback port to the pod's port through the
// API server and returns its address.
func (e *env) portForward(t *testing.T, ctx context.Context, ns, pod string, port int) string {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(e.Rest)
	if err != nil {
		t.Fatal(err)
	}
	req := e.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, req.URL())
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	t.Cleanup(func() { close(stop) })
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("port-forward: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward not ready within 30 s")
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		t.Fatalf("port-forward ports: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local)
}

// podLogs is the log of the pods matching selector.
func (e *env) podLogs(ns, selector string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range l.Items {
		raw, err := e.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p.Name, err)
			continue
		}
		b.Write(raw)
	}
	return b.String()
}

// removeSandboxesOf deletes every sandbox acting on target.
func (e *env) removeSandboxesOf(target string) {
	l, err := e.client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, ns := range l.Items {
		if ns.Annotations[kuberuntime.AnnotationTargetNamespace] == target && ns.DeletionTimestamp == nil {
			_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	}
}
