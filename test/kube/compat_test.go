package kube

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	kuberuntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/kubernetes"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// compatDir holds the corpus: bundles in the styles of the original
// project's, their Dockerfiles unchanged (FROM ansibleplaybookbundle/
// apb-base:canary, chmod -R g=u /opt/{ansible,apb}, USER apb, ...).
const compatDir = "../compat/"

// timings collects per-action wall times for the summary line the README's
// compatibility figures come from.
type timings struct {
	mu   sync.Mutex
	rows []string
}

func (tm *timings) time(t *testing.T, bundle, action string, f func() *osbapi.LastOperationResponse) *osbapi.LastOperationResponse {
	t.Helper()
	start := time.Now()
	lo := f()
	d := time.Since(start)
	tm.mu.Lock()
	tm.rows = append(tm.rows, fmt.Sprintf("%s %s %.1fs", bundle, action, d.Seconds()))
	tm.mu.Unlock()
	succeeded(t, bundle+" "+action, lo)
	return lo
}

// TestCompatCorpus runs the corpus of test/compat through the broker on
// the cluster: hello-world-apb (provision, deprovision), postgresql-apb
// (provision, update, asynchronous bind with its own user, GET binding,
// unbind, deprovision; and a synchronous bind returning the provision
// credentials) and mediawiki-apb (provision, update, deprovision), each
// checked in the target namespace. hack/test.d/30-kube.sh builds the
// images from the unchanged Dockerfiles and imports them.
func TestCompatCorpus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if os.Getenv("OSB_TEST_COMPAT_IMAGES") == "" {
		t.Fatal("OSB_TEST_COMPAT_IMAGES is not set: run `make test` (hack/test.d/30-kube.sh builds test/compat/*/Dockerfile " +
			"with test/compat/build.sh and imports them into the node as local/<name>:latest)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	bundles := []string{compatDir + "hello-world-apb", compatDir + "postgresql-apb", compatDir + "mediawiki-apb"}
	// The corpus' playbooks talk to the API server more than the test
	// bundle's: on a loaded 2-core machine one action can take minutes.
	slow := map[string]any{"sandbox_timeout": "8m"}
	async := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Bundles: bundles, OpenShift: slow})
	syncBind := e.StartBroker(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Bundles: bundles, OpenShift: slow,
		Broker: map[string]any{"launch_apb_on_bind": false}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s\nsynchronous-bind broker log:\n%s", async.Logs, syncBind.Logs)
		}
	})
	var tm timings
	t.Cleanup(func() {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		sort.Strings(tm.rows)
		t.Logf("compat timings (one-node cluster): %s", strings.Join(tm.rows, "; "))
	})

	// The baseline of the figures: the project's own test bundle (one k8s
	// task, progress annotations, credentials) through the same broker.
	t.Run("baseline", func(t *testing.T) {
		f := newFlow(t, ctx, async, kubetest.FQName, target)
		f.limit = 10 * time.Minute
		instance := newID(t)
		tm.time(t, "testbundle-apb (baseline)", "provision", func() *osbapi.LastOperationResponse { return f.provision(instance, nil) })
		tm.time(t, "testbundle-apb (baseline)", "deprovision", func() *osbapi.LastOperationResponse { return f.deprovision(instance) })
	})
	// One bundle after another: under `go test -parallel 2` parallel
	// subtests would wait for a slot while the context above runs out.
	t.Run("hello-world-apb", func(t *testing.T) {
		f := newFlow(t, ctx, async, "local-hello-world-apb", target)
		f.limit = 10 * time.Minute
		instance := newID(t)
		tm.time(t, "hello-world-apb", "provision", func() *osbapi.LastOperationResponse { return f.provision(instance, nil) })
		name := "hello-world-" + instance
		d, err := e.client.AppsV1().Deployments(target).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the bundle's deployment: %v", err)
		}
		if d.Labels["service_instance_id"] != instance || d.Labels["plan_id"] != "default" {
			t.Errorf("deployment labels %v", d.Labels)
		}
		if _, err := e.client.CoreV1().Services(target).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("the bundle's service: %v", err)
		}
		tm.time(t, "hello-world-apb", "deprovision", func() *osbapi.LastOperationResponse { return f.deprovision(instance) })
		gone(t, target, "deployment "+name, func() error {
			_, err := e.client.AppsV1().Deployments(target).Get(ctx, name, metav1.GetOptions{})
			return err
		})
	})

	t.Run("postgresql-apb", func(t *testing.T) {
		const fq = "local-postgresql-apb"
		params := map[string]any{"postgresql_database": "wiki", "postgresql_user": "wikiadmin",
			"postgresql_password": "Db-Pa55word-compat", "postgresql_version": "10"}
		f := newFlow(t, ctx, async, fq, target)
		f.limit = 10 * time.Minute
		f.pid = apb.PlanID(fq, "dev")
		instance, binding := newID(t), newID(t)
		app := "postgresql-" + instance[:8]
		tm.time(t, "postgresql-apb", "provision", func() *osbapi.LastOperationResponse { return f.provision(instance, params) })
		if img := deploymentImage(t, ctx, e, target, app); img != "docker.io/centos/postgresql-10-centos7" {
			t.Errorf("image after provision %q", img)
		}
		tm.time(t, "postgresql-apb", "update", func() *osbapi.LastOperationResponse {
			return f.update(instance, map[string]any{"postgresql_version": "9.6"})
		})
		if img := deploymentImage(t, ctx, e, target, app); img != "docker.io/centos/postgresql-96-centos7" {
			t.Errorf("image after the update to 9.6 %q", img)
		}
		var creds map[string]any
		tm.time(t, "postgresql-apb", "bind", func() *osbapi.LastOperationResponse {
			lo, c := f.bind(instance, binding)
			creds = c
			return lo
		})
		user := "u_" + strings.ReplaceAll(binding, "-", "")[:12]
		pw, _ := creds["DB_PASSWORD"].(string)
		if creds["DB_USER"] != user || len(pw) != 20 || creds["DB_HOST"] != app || creds["DB_NAME"] != "wiki" || creds["DB_PORT"] != "5432" {
			t.Errorf("bind credentials %v, want the binding's own user %s", creds, user)
		}
		userSecret := app + "-" + strings.ReplaceAll(user, "_", "-")
		if _, err := e.client.CoreV1().Secrets(target).Get(ctx, userSecret, metav1.GetOptions{}); err != nil {
			t.Errorf("the binding's user (Secret %s): %v", userSecret, err)
		}
		tm.time(t, "postgresql-apb", "unbind", func() *osbapi.LastOperationResponse { return f.unbind(instance, binding) })
		gone(t, target, "the binding's user", func() error {
			_, err := e.client.CoreV1().Secrets(target).Get(ctx, userSecret, metav1.GetOptions{})
			return err
		})
		tm.time(t, "postgresql-apb", "deprovision", func() *osbapi.LastOperationResponse { return f.deprovision(instance) })
		gone(t, target, "deployment "+app, func() error {
			_, err := e.client.AppsV1().Deployments(target).Get(ctx, app, metav1.GetOptions{})
			return err
		})
		gone(t, target, "service "+app, func() error {
			_, err := e.client.CoreV1().Services(target).Get(ctx, app, metav1.GetOptions{})
			return err
		})
		for _, l := range []string{async.Logs.String(), syncBind.Logs.String()} {
			if strings.Contains(l, "Db-Pa55word-compat") || (pw != "" && strings.Contains(l, pw)) {
				t.Errorf("a database password appears in a broker log")
			}
		}
	})

	t.Run("postgresql-apb synchronous bind", func(t *testing.T) {
		const fq = "local-postgresql-apb"
		params := map[string]any{"postgresql_database": "sync", "postgresql_user": "syncadmin", "postgresql_password": "Sync-Pa55word",
			"postgresql_version": "10"}
		f := newFlow(t, ctx, syncBind, fq, target)
		f.limit = 10 * time.Minute
		f.pid = apb.PlanID(fq, "dev")
		instance, binding := newID(t), newID(t)
		tm.time(t, "postgresql-apb", "provision (sync-bind broker)", func() *osbapi.LastOperationResponse { return f.provision(instance, params) })
		var creds map[string]any
		tm.time(t, "postgresql-apb", "bind (synchronous)", func() *osbapi.LastOperationResponse {
			lo, c := f.bind(instance, binding)
			creds = c
			return lo
		})
		// launch_apb_on_bind: false hands out the provision credentials.
		if creds["DB_USER"] != "syncadmin" || creds["DB_PASSWORD"] != "Sync-Pa55word" || creds["DB_HOST"] != "postgresql-"+instance[:8] {
			t.Errorf("synchronous bind credentials %v, want the provision's", creds)
		}
		gb, err := syncBind.Client.GetBinding(ctx, instance, binding, nil)
		if err == nil && gb.Credentials["DB_USER"] != "syncadmin" {
			t.Errorf("GET binding %v", gb.Credentials)
		}
		tm.time(t, "postgresql-apb", "unbind (synchronous)", func() *osbapi.LastOperationResponse { return f.unbind(instance, binding) })
		tm.time(t, "postgresql-apb", "deprovision (sync-bind broker)", func() *osbapi.LastOperationResponse { return f.deprovision(instance) })
	})

	t.Run("mediawiki-apb", func(t *testing.T) {
		const fq = "local-mediawiki-apb"
		f := newFlow(t, ctx, async, fq, target)
		f.limit = 10 * time.Minute
		instance := newID(t)
		app := "mediawiki-" + instance[:8]
		params := map[string]any{"mediawiki_db_schema": "wiki", "mediawiki_site_name": "Compat", "mediawiki_site_lang": "en",
			"mediawiki_admin_user": "admin", "mediawiki_admin_pass": "Wiki-Pa55word", "mediawiki_volume_size": "1Gi"}
		tm.time(t, "mediawiki-apb", "provision", func() *osbapi.LastOperationResponse { return f.provision(instance, params) })
		if got := deploymentEnv(t, ctx, e, target, app)["MEDIAWIKI_SITE_NAME"]; got != "Compat" {
			t.Errorf("MEDIAWIKI_SITE_NAME = %q", got)
		}
		if _, err := e.client.CoreV1().PersistentVolumeClaims(target).Get(ctx, app, metav1.GetOptions{}); err != nil {
			t.Errorf("the bundle's volume claim: %v", err)
		}
		tm.time(t, "mediawiki-apb", "update", func() *osbapi.LastOperationResponse {
			return f.update(instance, map[string]any{"mediawiki_site_name": "Renamed"})
		})
		if got := deploymentEnv(t, ctx, e, target, app)["MEDIAWIKI_SITE_NAME"]; got != "Renamed" {
			t.Errorf("MEDIAWIKI_SITE_NAME after the update = %q", got)
		}
		tm.time(t, "mediawiki-apb", "deprovision", func() *osbapi.LastOperationResponse { return f.deprovision(instance) })
		gone(t, target, "deployment "+app, func() error {
			_, err := e.client.AppsV1().Deployments(target).Get(ctx, app, metav1.GetOptions{})
			return err
		})
	})
	t.Cleanup(func() {
		// Every sandbox of the corpus goes once its outcome is stored.
		waitFor(t, "the corpus' sandboxes being deleted", time.Minute, func() bool {
			l, err := e.client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: kuberuntime.LabelManagedBy + "=" + kuberuntime.ManagedBy})
			if err != nil {
				return false
			}
			for _, ns := range l.Items {
				if ns.Annotations[kuberuntime.AnnotationTargetNamespace] == target && ns.DeletionTimestamp == nil {
					return false
				}
			}
			return true
		})
	})
}

func deployment(t *testing.T, ctx context.Context, e *env, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := e.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("deployment %s: %v", name, err)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment %s: %d containers", name, len(d.Spec.Template.Spec.Containers))
	}
	return d
}

func deploymentImage(t *testing.T, ctx context.Context, e *env, ns, name string) string {
	t.Helper()
	return deployment(t, ctx, e, ns, name).Spec.Template.Spec.Containers[0].Image
}

func deploymentEnv(t *testing.T, ctx context.Context, e *env, ns, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ev := range deployment(t, ctx, e, ns, name).Spec.Template.Spec.Containers[0].Env {
		out[ev.Name] = ev.Value
	}
	return out
}

// gone waits (bounded) until get reports NotFound: deletions of objects
// with dependents finish in the background.
func gone(t *testing.T, ns, what string, get func() error) {
	t.Helper()
	waitFor(t, what+" deleted from "+ns, 30*time.Second, func() bool { return apierrors.IsNotFound(get()) })
}
