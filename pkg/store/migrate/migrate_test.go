package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/migrate"
)

// The ids of the fixture: the Automation Broker took UUIDs only.
const (
	instanceID = "5c8b6e1a-7f0c-4c7e-9d6e-2b1a3f4e5d60"
	bindingID  = "9f1e2d3c-4b5a-4968-8776-655443322110"
	goneID     = "0a0b0c0d-0e0f-4011-8213-141516171819" // unbound: binding_ids false
	busyID     = "11111111-2222-4333-8444-555555555555"
	token1     = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	token2     = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
	token3     = "6fa459ea-ee8a-4ca4-894e-db77e160355e"
	fqName     = "dh-testbundle-apb"
)

// Fixture is an Automation Broker's etcd, in its exact format (etcd DAO
// keys, bundle-lib JSON, the CreateJobKey field without a tag).
func Fixture(specID string) map[string]string {
	planID := apb.PlanID(fqName, "default")
	spec := `{"id":"` + specID + `","runtime":2,"version":"1.0","name":"` + fqName + `","image":"docker.io/ansibleplaybookbundle/testbundle-apb:latest",` +
		`"tags":["test"],"bindable":true,"description":"Test bundle","metadata":{"displayName":"Test bundle"},"async":"optional",` +
		`"plans":[{"id":"` + planID + `","name":"default","description":"the only plan","metadata":{},"free":true,"bindable":true,` +
		`"parameters":[{"name":"greeting","title":"","type":"string","default":"hello","required":false,"updatable":false}]}],"delete":false}`
	return map[string]string{
		"/spec/" + specID: spec,
		"/service_instance/" + instanceID: `{"id":"` + instanceID + `","spec":` + spec + `,"context":{"platform":"kubernetes","namespace":"target-ns"},` +
			`"parameters":{"_apb_plan_id":"default","_apb_service_class_id":"` + specID + `","_apb_service_instance_id":"` + instanceID + `",` +
			`"_apb_last_requesting_user":"admin","greeting":"from the original"},"binding_ids":{"` + bindingID + `":true,"` + goneID + `":false},"dashboard_url":""}`,
		"/bind_instance/" + bindingID: `{"id":"` + bindingID + `","service_id":"` + instanceID + `","parameters":{"_apb_plan_id":"default",` +
			`"_apb_service_class_id":"` + specID + `","_apb_service_instance_id":"` + instanceID + `"},"CreateJobKey":"/state/` + bindingID + `/job/` + token2 + `"}`,
		"/state/" + instanceID + "/job/" + token1: `{"token":"` + token1 + `","state":"succeeded","podname":"","method":"provision","error":"","description":"provision job completed"}`,
		"/state/" + bindingID + "/job/" + token2:  `{"token":"` + token2 + `","state":"succeeded","podname":"","method":"bind","error":"","description":"bind job completed"}`,
		"/extracted_credentials/" + instanceID:    `{"credentials":{"user":"u","password":"p"}}`,
	}
}

func open(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, store.Config{DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// write puts raw keys into the store's etcd, as the original wrote them.
func write(t *testing.T, s *store.Store, kv map[string]string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"unix://" + s.Socket()}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for k, v := range kv {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrate(t *testing.T) {
	specID := apb.ServiceID(fqName)
	cases := []struct {
		name    string
		inPlace bool
		extra   map[string]string
		opts    migrate.Options
		wantErr error
		// want are substrings of the printed plan.
		want    []string
		written bool
	}{
		{name: "in place", inPlace: true, written: true,
			want: []string{"instance " + instanceID + ": service_id " + specID, "plan_id " + apb.PlanID(fqName, "default") + " (default)",
				"binding entries without a binding dropped (" + goneID + ")", "binding " + bindingID + ": service_id; plan_id; user parameters; status ready"}},
		{name: "into another store", written: true,
			want: []string{"instance " + instanceID + ": copy;", "spec " + specID + ": copy (" + fqName + ")", "credentials " + instanceID + ": copy",
				"operation " + token1 + ": copy (provision of " + instanceID + ", succeeded)", "operation " + token2 + ": copy (bind of " + bindingID}},
		{name: "dry run", inPlace: true, opts: migrate.Options{DryRun: true}, want: []string{"instance " + instanceID}},
		{name: "operation in flight refused", inPlace: true,
			extra:   map[string]string{"/state/" + instanceID + "/job/" + token3: `{"token":"` + token3 + `","state":"in progress","podname":"","method":"update","error":"","description":""}`},
			wantErr: migrate.ErrRefused,
			want:    []string{"refused instance " + instanceID + ": operation " + token3 + " (update) is in progress", "refused binding " + bindingID + ": its instance " + instanceID + " is refused"}},
		{name: "plan unknown refused, the rest carried over", inPlace: true, opts: migrate.Options{SkipRefused: true}, wantErr: migrate.ErrRefused, written: true,
			extra: map[string]string{"/service_instance/" + busyID: `{"id":"` + busyID + `","spec":{"id":"` + specID + `","name":"` + fqName + `","plans":[]},` +
				`"context":{"platform":"kubernetes","namespace":"n"},"parameters":{"_apb_plan_id":"gold"},"binding_ids":{},"dashboard_url":""}`},
			want: []string{"refused instance " + busyID + `: its plan "gold" is not in its bundle spec`, "instance " + instanceID + ": service_id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			src := open(t)
			fx := Fixture(specID)
			for k, v := range c.extra {
				fx[k] = v
			}
			write(t, src, fx)
			dst := store.Backend(src)
			if !c.inPlace {
				dst = open(t)
			}
			var out bytes.Buffer
			c.opts.Out = &out
			r, err := migrate.Run(ctx, src, dst, c.opts)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("Run: %v, want %v\n%s", err, c.wantErr, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("plan lacks %q:\n%s", w, out.String())
				}
			}
			if r.Written != c.written {
				t.Fatalf("written %v, want %v", r.Written, c.written)
			}
			in, err := dst.GetInstance(ctx, instanceID)
			if !c.written {
				// Nothing changed: the original's record as it was.
				if err == nil && in.ServiceID != "" {
					t.Fatalf("nothing was to be written, but the instance is %+v", in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.ServiceID != specID || in.PlanID != apb.PlanID(fqName, "default") || in.Status != store.StatusReady ||
				in.UserParameters["greeting"] != "from the original" || len(in.UserParameters) != 1 ||
				len(in.BindingIDs) != 1 || !in.BindingIDs[bindingID] || in.Context["namespace"] != "target-ns" {
				t.Fatalf("migrated instance %+v", in)
			}
			b, err := dst.GetBinding(ctx, bindingID)
			if err != nil || b.ServiceID != specID || b.PlanID != in.PlanID || b.Status != store.StatusReady || len(b.UserParameters) != 0 {
				t.Fatalf("migrated binding %+v, %v", b, err)
			}
			if cr, err := dst.GetCredentials(ctx, instanceID); err != nil || cr.Credentials["password"] != "p" {
				t.Fatalf("credentials %v, %v", cr, err)
			}
			if j, err := dst.GetJob(ctx, bindingID, token2); err != nil || !j.ForBinding() || j.State != store.JobSucceeded {
				t.Fatalf("bind job %+v, %v", j, err)
			}
			// Idempotent: a second run has nothing to change.
			out.Reset()
			r2, err := migrate.Run(ctx, src, dst, c.opts)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("second run: %v", err)
			}
			if len(r2.Changes) != 0 {
				t.Fatalf("second run changed %d records:\n%s", len(r2.Changes), out.String())
			}
			after, _ := dst.GetInstance(ctx, instanceID)
			if after.Revision != in.Revision {
				t.Fatal("second run rewrote the instance")
			}
		})
	}
}
