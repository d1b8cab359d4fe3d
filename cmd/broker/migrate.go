package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
)

// Exit codes of broker migrate beyond 0 (done) and 1 (failed: config,
// connection, a write).
const (
	// exitUsage: bad flags or arguments.
	exitUsage = 2
	// exitRefused: records could not be carried over (each is printed
	// with its reason); nothing was written unless --skip-refused.
	exitRefused = 3
)

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func migrateCommand(cfgPath *string, stdout io.Writer) *cobra.Command {
	var o daemon.MigrateOptions
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Carry an Automation Broker's state (etcd keys or CRDs) over to this broker, in place or into the other store",
		Long: `migrate reads an Automation Broker's state, from its etcd (the keys /spec/,
/service_instance/, /bind_instance/, /state/<id>/job/<token>,
/extracted_credentials/) or from its custom resources (automationbroker.io
bundles, bundleinstances, bundlebindings), and makes it this broker's: in
place (--from and --to the same), or into the other store. Stop the
Automation Broker first. It prints every change; --dry-run only prints.
A second run changes nothing. Records it cannot carry over are printed with
the reason and then nothing is written (exit 3) unless --skip-refused.

Exit codes: 0 done, 1 failed, 2 bad usage, 3 records refused.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("migrate takes no arguments, got %q", args)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, v := range []struct{ flag, val string }{{"from", o.From}, {"to", o.To}} {
				if v.val != "" && v.val != "etcd" && v.val != "crd" {
					return usageError{fmt.Errorf("--%s %q: want etcd or crd", v.flag, v.val)}
				}
			}
			if !cmd.Flags().Changed("config") {
				if env := os.Getenv("BROKER_CONFIG"); env != "" {
					*cfgPath = env
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err := daemon.Migrate(ctx, *cfgPath, o, stdout)
			if errors.Is(err, daemon.ErrMigrationRefused) {
				return fmt.Errorf("%w (see the refused lines above)", err)
			}
			return err
		},
	}
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := c.Flags()
	f.StringVar(&o.From, "from", "", "the Automation Broker's store: etcd or crd (default: the config's dao.type)")
	f.StringVar(&o.To, "to", "", "this broker's store: etcd or crd (default: the config's dao.type)")
	f.StringVar(&o.SourceEtcd, "source-etcd", "", "the Automation Broker's etcd, http(s)://host:port, when not the config's dao.etcd_host/etcd_port")
	f.StringVar(&o.Namespace, "namespace", "", "the CRD store's namespace (default: openshift.namespace)")
	f.StringVar(&o.CredentialsNamespace, "credentials-namespace", "", "where the Automation Broker kept extracted credentials as Secrets, to copy those the target lacks")
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would change, write nothing")
	f.BoolVar(&o.SkipRefused, "skip-refused", false, "carry over what can be when some records are refused")
	return c
}
