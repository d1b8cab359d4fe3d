package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/crd"
	"github.com/openstack-service-broker/openstack-service-broker/test/kube/kubetest"
)

// originalState is what an Automation Broker left of one provisioned and
// bound instance of the test bundle: its records, and what its provision
// made in the target namespace (the bundle's ConfigMap).
type originalState struct {
	spec                        *apb.Spec
	instance, binding, target   string
	provisionToken, bindToken   string
	params                      map[string]any
	instanceCreds, bindingCreds map[string]any
}

func newOriginalState(t *testing.T, target string) *originalState {
	sp, err := apb.Parse(testBundleSpec(t), "testbundle")
	if err != nil {
		t.Fatal(err)
	}
	// As the original stored it: registry "local", ids from the FQName.
	sp.FQName, sp.ID, sp.Image, sp.Runtime = kubetest.FQName, apb.ServiceID(kubetest.FQName), kubetest.Image, 2
	for i := range sp.Plans {
		sp.Plans[i].ID = apb.PlanID(kubetest.FQName, sp.Plans[i].Name)
	}
	o := &originalState{spec: sp, instance: newID(t), binding: newID(t), target: target,
		provisionToken: newID(t), bindToken: newID(t)}
	o.params = map[string]any{"_apb_plan_id": "default", "_apb_service_class_id": sp.ID,
		"_apb_service_instance_id": o.instance, "_apb_last_requesting_user": "admin", "greeting": "from the original"}
	o.instanceCreds = map[string]any{"DB_USER": "original-user"}
	o.bindingCreds = map[string]any{"DB_USER": "original-user", "BINDING_ID": o.binding}
	return o
}

func jsonText(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeEtcd writes the state as the original's etcd DAO did, into the
// embedded etcd of dataDir.
func (o *originalState) writeEtcd(t *testing.T, dataDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DataDir: dataDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"unix://" + s.Socket()}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	specJSON := jsonText(t, o.spec)
	kv := map[string]string{
		"/spec/" + o.spec.ID: specJSON,
		"/service_instance/" + o.instance: `{"id":"` + o.instance + `","spec":` + specJSON + `,"context":{"platform":"kubernetes","namespace":"` + o.target +
			`"},"parameters":` + jsonText(t, o.params) + `,"binding_ids":{"` + o.binding + `":true},"dashboard_url":""}`,
		"/bind_instance/" + o.binding: `{"id":"` + o.binding + `","service_id":"` + o.instance + `","parameters":{"_apb_plan_id":"default"},"CreateJobKey":"/state/` +
			o.binding + `/job/` + o.bindToken + `"}`,
		"/state/" + o.instance + "/job/" + o.provisionToken: `{"token":"` + o.provisionToken + `","state":"succeeded","podname":"","method":"provision","error":"","description":"provision job completed"}`,
		"/state/" + o.binding + "/job/" + o.bindToken:       `{"token":"` + o.bindToken + `","state":"succeeded","podname":"","method":"bind","error":"","description":"bind job completed"}`,
		"/extracted_credentials/" + o.instance:              `{"credentials":` + jsonText(t, o.instanceCreds) + `}`,
		"/extracted_credentials/" + o.binding:               `{"credentials":` + jsonText(t, o.bindingCreds) + `}`,
	}
	for k, v := range kv {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
}

// writeCRDs writes the state as the original's CRD DAO did (broker-client-go
// v1alpha1 objects) into namespace ns, with its credentials Secrets.
func (o *originalState) writeCRDs(t *testing.T, e *env, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dc, err := dynamic.NewForConfig(e.Rest)
	if err != nil {
		t.Fatal(err)
	}
	var plans []any
	for _, p := range o.spec.Plans {
		var params []any
		for _, pa := range p.Parameters {
			params = append(params, map[string]any{"name": pa.Name, "title": pa.Title, "type": pa.Type, "description": pa.Description,
				"default": jsonText(t, pa.Default), "deprecatedMaxLength": int64(0), "maxLength": int64(0), "required": pa.Required, "updatable": pa.Updatable})
		}
		plans = append(plans, map[string]any{"id": p.ID, "name": p.Name, "description": p.Description, "metadata": jsonText(t, p.Metadata),
			"free": p.Free, "bindable": p.Bindable, "parameters": params})
	}
	now := time.Now().UTC().Format(time.RFC3339)
	objs := map[*unstructured.Unstructured]bool{
		{Object: map[string]any{"apiVersion": "automationbroker.io/v1alpha1", "kind": "Bundle", "metadata": map[string]any{"name": o.spec.ID},
			"spec": map[string]any{"runtime": int64(2), "version": o.spec.Version, "fq_name": o.spec.FQName, "image": o.spec.Image,
				"description": o.spec.Description, "tags": []any{"test"}, "bindable": o.spec.Bindable, "async": o.spec.Async,
				"metadata": jsonText(t, o.spec.Metadata), "Alpha": "", "plans": plans},
			"status": map[string]any{"status": "ok"}}}: true,
		{Object: map[string]any{"apiVersion": "automationbroker.io/v1alpha1", "kind": "BundleInstance", "metadata": map[string]any{"name": o.instance},
			"spec": map[string]any{"bundle": map[string]any{"name": o.spec.ID}, "context": map[string]any{"plateform": "kubernetes", "namespace": o.target},
				"parameters": jsonText(t, o.params), "dashboardUrl": ""},
			"status": map[string]any{"bindings": []any{map[string]any{"name": o.binding}}, "state": "succeeded", "lastDescription": "provision job completed",
				"jobs": map[string]any{o.provisionToken: map[string]any{"podname": "bundle-x", "state": "succeeded", "description": "provision job completed",
					"method": "provision", "lastModifiedTime": now}}}}}: true,
		{Object: map[string]any{"apiVersion": "automationbroker.io/v1alpha1", "kind": "BundleBinding", "metadata": map[string]any{"name": o.binding},
			"spec":   map[string]any{"bundleInstance": map[string]any{"name": o.instance}, "parameters": `{"_apb_plan_id":"default"}`},
			"status": map[string]any{"state": "succeeded", "jobs": map[string]any{o.bindToken: map[string]any{"podname": "bundle-y", "state": "succeeded", "method": "bind", "lastModifiedTime": now}}}}}: true,
	}
	for obj := range objs {
		res := map[string]schema.GroupVersionResource{"Bundle": crd.Bundles, "BundleInstance": crd.BundleInstances, "BundleBinding": crd.BundleBindings}[obj.GetKind()]
		if _, err := dc.Resource(res).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for id, c := range map[string]struct {
		action string
		creds  map[string]any
	}{o.instance: {"provision", o.instanceCreds}, o.binding: {"bind", o.bindingCreds}} {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: id, Labels: map[string]string{"bundleAction": c.action, "bundleName": o.spec.FQName}},
			Data: map[string][]byte{"credentials": []byte(jsonText(t, c.creds))}}
		if _, err := e.client.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateOriginalState: an Automation Broker's state, written in its
// exact format (etcd keys, or its custom resources), is carried over by
// `broker migrate` (daemon.Migrate, what the subcommand runs) in place and
// into the other store: a dry run changes nothing, a second run nothing
// either; then this broker unbinds and deprovisions the instance, running
// the test bundle's playbooks, which remove what the original's provision
// made.
func TestMigrateOriginalState(t *testing.T) {
	e := setup(t)
	ensureStoreCRDs(t, e.Cluster)
	for _, c := range []struct{ from, to string }{{"etcd", "etcd"}, {"crd", "crd"}, {"etcd", "crd"}, {"crd", "etcd"}} {
		t.Run(c.from+" to "+c.to, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			brokerNS, target := e.namespaces(t, ctx)
			o := newOriginalState(t, target)
			// What the original's provision made.
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "testbundle-" + o.instance}, Data: map[string]string{"greeting": "from the original"}}
			if _, err := e.client.CoreV1().ConfigMaps(target).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			bo := kubetest.BrokerOptions{Namespace: brokerNS, Dao: map[string]any{"type": c.to}}
			cfgPath := e.WriteConfig(t, dir, testBundleSpec(t), bo)
			if c.from == "etcd" {
				o.writeEtcd(t, filepath.Join(dir, "etcd"))
			} else {
				o.writeCRDs(t, e, brokerNS)
			}

			run := func(dry bool) string {
				var out bytes.Buffer
				err := daemon.Migrate(ctx, cfgPath, daemon.MigrateOptions{From: c.from, To: c.to, DryRun: dry}, &out)
				if err != nil {
					t.Fatalf("migrate (dry run %v): %v\n%s", dry, err, out.String())
				}
				return out.String()
			}
			plan := run(true)
			for _, want := range []string{"instance " + o.instance + ":", "binding " + o.binding + ":", "would change"} {
				if !strings.Contains(plan, want) {
					t.Fatalf("the dry run's plan lacks %q:\n%s", want, plan)
				}
			}
			if again := run(true); again != plan {
				t.Fatalf("a dry run changed something: first plan\n%s\nsecond\n%s", plan, again)
			}
			done := run(false)
			if !strings.Contains(done, "records changed") || strings.Contains(done, " 0 records changed") {
				t.Fatalf("migration:\n%s", done)
			}
			if second := run(false); !strings.Contains(second, "\n0 records changed") {
				t.Fatalf("a second run changed records:\n%s", second)
			}
			if c.to == "crd" {
				// The instance is in the original's layout, with ours beside it.
				dc, err := dynamic.NewForConfig(e.Rest)
				if err != nil {
					t.Fatal(err)
				}
				obj, err := dc.Resource(crd.BundleInstances).Namespace(brokerNS).Get(ctx, o.instance, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got, _, _ := unstructured.NestedString(obj.Object, "spec", "bundle", "name"); got != o.spec.ID {
					t.Fatalf("bundleinstance spec.bundle.name %q", got)
				}
				if got, _, _ := unstructured.NestedString(obj.Object, "spec", "context", "plateform"); got != "kubernetes" {
					t.Fatalf("bundleinstance spec.context.plateform %q", got)
				}
			}

			b := e.StartBroker(t, dir, testBundleSpec(t), bo)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("broker log:\n%s", b.Logs)
				}
			})
			f := newFlow(t, ctx, b, kubetest.FQName, target)
			gb, err := b.Client.GetInstance(ctx, o.instance, nil)
			if err != nil {
				t.Fatalf("GET instance after migration: %v", err)
			}
			if gb.Parameters["greeting"] != "from the original" || gb.PlanID != apb.PlanID(kubetest.FQName, "default") {
				t.Fatalf("GET instance: %+v", gb)
			}
			succeeded(t, "unbind", f.unbind(o.instance, o.binding))
			succeeded(t, "deprovision", f.deprovision(o.instance))
			if _, err := e.client.CoreV1().ConfigMaps(target).Get(ctx, cm.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("the deprovision left what the original's provision made: %v", err)
			}
			if _, err := b.Client.GetInstance(ctx, o.instance, nil); err == nil {
				t.Fatal("the instance is still there after its deprovision")
			}
		})
	}
}

// TestMigrateRefuses: an operation the original still runs is not carried
// over; nothing is written, and the reason is printed.
func TestMigrateRefuses(t *testing.T) {
	e := setup(t)
	ensureStoreCRDs(t, e.Cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	brokerNS, target := e.namespaces(t, ctx)
	o := newOriginalState(t, target)
	o.writeCRDs(t, e, brokerNS)
	dc, err := dynamic.NewForConfig(e.Rest)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := dc.Resource(crd.BundleInstances).Namespace(brokerNS).Get(ctx, o.instance, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := newID(t)
	unstructured.SetNestedField(obj.Object, map[string]any{"podname": "", "state": "in-progress", "method": "update"}, "status", "jobs", running)
	if _, err := dc.Resource(crd.BundleInstances).Namespace(brokerNS).Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfgPath := e.WriteConfig(t, t.TempDir(), testBundleSpec(t), kubetest.BrokerOptions{Namespace: brokerNS, Dao: map[string]any{"type": "crd"}})
	var out bytes.Buffer
	err = daemon.Migrate(ctx, cfgPath, daemon.MigrateOptions{}, &out)
	if !errors.Is(err, daemon.ErrMigrationRefused) {
		t.Fatalf("migrate: %v, want refused\n%s", err, out.String())
	}
	for _, want := range []string{"refused instance " + o.instance + ": operation " + running + " (update) is in progress", "nothing written"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	after, err := dc.Resource(crd.BundleInstances).Namespace(brokerNS).Get(ctx, o.instance, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := unstructured.NestedString(after.Object, "spec", "osb"); ok {
		t.Fatal("a refused migration wrote the instance")
	}
}
