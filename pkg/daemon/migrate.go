package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/crd"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store/migrate"
)

// MigrateOptions say where an Automation Broker's state is and where it
// goes; the config file says the rest (dao.*, openshift.*).
type MigrateOptions struct {
	// From is the original's store, etcd or crd ("": the config's dao.type).
	From string
	// To is this broker's store, etcd or crd ("": the config's dao.type).
	// From == To migrates in place, unless SourceEtcd names another etcd.
	To string
	// SourceEtcd is the original's etcd (http(s)://host:port) when it is not
	// the config's dao.etcd_host/etcd_port; the TLS files of dao.* apply.
	SourceEtcd string
	// Namespace is the CRD store's namespace ("": openshift.namespace).
	Namespace string
	// CredentialsNamespace, if set, is where the original kept extracted
	// credentials in Secrets (an etcd-backed Automation Broker after 2018
	// did): copied into the target where it lacks them.
	CredentialsNamespace string
	DryRun               bool
	SkipRefused          bool
}

// ErrMigrationRefused: some records could not be carried over.
var ErrMigrationRefused = migrate.ErrRefused

// Migrate carries an Automation Broker's state over (broker migrate). It
// must run while no broker uses the stores.
func Migrate(ctx context.Context, cfgPath string, o MigrateOptions, out io.Writer) error {
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		return &ConfigError{fmt.Errorf("reading config file %s: %w", cfgPath, err)}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dao := strings.ToLower(cfg.Dao.Type)
	from, to := strings.ToLower(o.From), strings.ToLower(o.To)
	if from == "" {
		from = dao
	}
	if to == "" {
		to = dao
	}
	for _, k := range []string{from, to} {
		if k != "etcd" && k != "crd" {
			return &ConfigError{fmt.Errorf("store %q: want etcd or crd", k)}
		}
	}
	ns := o.Namespace
	if ns == "" {
		ns = cfg.OpenShift.Namespace
	}
	kc := &cluster{where: cfg.OpenShift}
	openCRD := func() (*crd.Store, error) {
		if ns == "" {
			return nil, &ConfigError{errors.New("the CRD store's namespace: set openshift.namespace or --namespace")}
		}
		rc, _, err := kc.client()
		if err != nil {
			return nil, err
		}
		return crd.Open(ctx, crd.Config{Rest: rc, Namespace: ns}, log)
	}
	openEtcd := func(endpoint string) (*store.Store, error) {
		sc := storeConfig(cfg.Dao)
		if endpoint != "" {
			sc.Endpoints = []string{endpoint}
		}
		return store.Open(ctx, sc, log)
	}

	var src, dst store.Backend
	if from == "etcd" {
		if sc := storeConfig(cfg.Dao); o.SourceEtcd == "" && len(sc.Endpoints) == 0 {
			// An embedded etcd would be made empty where none was.
			if _, err := os.Stat(filepath.Join(sc.DataDir, "member")); err != nil {
				return &ConfigError{fmt.Errorf("no etcd data in dao.etcd_data_dir %s: name the Automation Broker's etcd with --source-etcd or dao.etcd_host", sc.DataDir)}
			}
		}
		s, err := openEtcd(o.SourceEtcd)
		if err != nil {
			return fmt.Errorf("the source etcd: %w", err)
		}
		defer s.Close()
		src = s
	} else {
		if src, err = openCRD(); err != nil {
			return fmt.Errorf("the source CRD store: %w", err)
		}
	}
	switch {
	case from == to && (from == "crd" || o.SourceEtcd == ""):
		dst = src
	case to == "etcd":
		s, err := openEtcd("")
		if err != nil {
			return fmt.Errorf("the target etcd: %w", err)
		}
		defer s.Close()
		dst = s
	default:
		if dst, err = openCRD(); err != nil {
			return fmt.Errorf("the target CRD store: %w", err)
		}
	}

	mo := migrate.Options{DryRun: o.DryRun, SkipRefused: o.SkipRefused, Out: out}
	if o.CredentialsNamespace != "" {
		rc, _, err := kc.client()
		if err != nil {
			return fmt.Errorf("reading the original's credentials Secrets: %w", err)
		}
		dyn, err := dynamic.NewForConfig(rc)
		if err != nil {
			return err
		}
		kube, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		mo.Credentials = crd.New(dyn, kube, o.CredentialsNamespace, log).GetCredentials
	}
	where := "in place"
	if src != dst {
		where = "into the " + to + " store"
	}
	fmt.Fprintf(out, "migrating the Automation Broker's %s state %s%s\n", from, where, map[bool]string{true: " (dry run: nothing is written)"}[o.DryRun])
	r, err := migrate.Run(ctx, src, dst, mo)
	if r != nil {
		switch {
		case r.Written:
			fmt.Fprintf(out, "%d records changed, %d already this broker's, %d refused\n", len(r.Changes), r.Unchanged, len(r.Refused))
		case o.DryRun:
			fmt.Fprintf(out, "%d records would change, %d already this broker's, %d refused\n", len(r.Changes), r.Unchanged, len(r.Refused))
		default:
			fmt.Fprintf(out, "nothing written: %d records refused (--skip-refused carries over the rest)\n", len(r.Refused))
		}
	}
	return err
}
