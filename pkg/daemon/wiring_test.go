package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
)

func TestSandboxConfig(t *testing.T) {
	c, _, err := config.Parse([]byte(`openshift:
  namespace: osb
  sandbox_role: admin
  image_pull_policy: Never
  keep_namespace_on_error: true
  sandbox_timeout: 90s
  sandbox_host_network: true
  sandbox_resources:
    requests: {cpu: 100m}
    limits: {cpu: "1", memory: 1Gi}
  sandbox_env:
    ZED: last
    ALPHA: first
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := sandboxConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if rc.SandboxRole != "admin" || rc.ImagePullPolicy != corev1.PullNever || !rc.KeepNamespaceOnError || rc.KeepNamespace ||
		rc.BrokerNamespace != "osb" || rc.Timeout != 90*time.Second || !rc.HostNetwork {
		t.Errorf("runtime config = %+v", rc)
	}
	for name, want := range map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "1Gi"} {
		if q := rc.Resources.Limits[name]; q.String() != want {
			t.Errorf("limit %s = %s, want %s", name, q.String(), want)
		}
	}
	if q := rc.Resources.Requests[corev1.ResourceCPU]; q.String() != "100m" || len(rc.Resources.Requests) != 1 {
		t.Errorf("requests = %v", rc.Resources.Requests)
	}
	// Sorted, so that every pod of a broker gets the same spec.
	if len(rc.ExtraEnv) != 2 || rc.ExtraEnv[0] != (corev1.EnvVar{Name: "ALPHA", Value: "first"}) || rc.ExtraEnv[1].Name != "ZED" {
		t.Errorf("env = %v", rc.ExtraEnv)
	}
}

func TestKubeConfigFromOpenShiftKeys(t *testing.T) {
	dir := t.TempDir()
	ca, token := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "token")
	for _, f := range []string{ca, token} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		o       config.OpenShift
		wantErr string
	}{
		{"host with files", config.OpenShift{Host: "https://api.example:6443", CAFile: ca, BearerTokenFile: token}, ""},
		{"host only", config.OpenShift{Host: "https://api.example:6443"}, ""},
		{"missing token file", config.OpenShift{Host: "https://api.example:6443", BearerTokenFile: filepath.Join(dir, "absent")}, "openshift.bearer_token_file"},
		{"missing ca file", config.OpenShift{Host: "https://api.example:6443", CAFile: filepath.Join(dir, "absent")}, "openshift.ca_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, err := kubeConfig(c.o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != c.o.Host || rc.CAFile != c.o.CAFile || rc.BearerTokenFile != c.o.BearerTokenFile || rc.QPS != kubeQPS {
				t.Errorf("rest config host %q ca %q token file %q", rc.Host, rc.CAFile, rc.BearerTokenFile)
			}
		})
	}
}

func TestClusterKind(t *testing.T) {
	cases := []struct {
		groups []string
		want   string
	}{
		{[]string{"v1", "apps/v1"}, "kubernetes"},
		{[]string{"v1", "project.openshift.io/v1", "route.openshift.io/v1"}, "openshift"},
	}
	for _, c := range cases {
		cs := fake.NewClientset()
		fd := cs.Discovery().(*fakediscovery.FakeDiscovery)
		for _, gv := range c.groups {
			fd.Resources = append(fd.Resources, &metav1.APIResourceList{GroupVersion: gv})
		}
		if got := clusterKind(cs, slog.New(slog.DiscardHandler)); got != c.want {
			t.Errorf("groups %v: %s, want %s", c.groups, got, c.want)
		}
	}
}

func TestCloudsRule(t *testing.T) {
	r, err := cloudsRule(config.OpenStack{CloudsSecret: "c", Cloud: "devstack", Bundles: "^local-"})
	if err != nil || r.Secret != "c" || r.Cloud != "devstack" || r.Bundles == nil || !r.Bundles.MatchString("local-x") {
		t.Errorf("rule = %+v, %v", r, err)
	}
	if r, err := cloudsRule(config.OpenStack{CloudsSecret: "c"}); err != nil || r.Bundles != nil {
		t.Errorf("no bundles regexp: %+v, %v (want the tag rule)", r, err)
	}
}
