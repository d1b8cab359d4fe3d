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

	"github.com/openstack-service-broker/openstack-service-broker/pkg/config"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfgPath string
	var showVersion bool
	cmd := &cobra.Command{
		Use:           "broker",
		Short:         "Open Service Broker for Ansible Playbook Bundles (a drop-in Automation Broker)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showVersion {
				fmt.Fprintln(stdout, version)
				return nil
			}
			if !cmd.Flags().Changed("config") {
				if env := os.Getenv("BROKER_CONFIG"); env != "" {
					cfgPath = env
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, cfgPath, stdout, daemon.Options{Version: version})
		},
	}
	cmd.AddCommand(migrateCommand(&cfgPath, stdout))
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", config.DefaultPath, "config file (Automation Broker format)")
	cmd.Flags().BoolVarP(&showVersion, "version", "v", false, "print the version and exit")
	if err := cmd.Execute(); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitUsage
		}
		if errors.Is(err, daemon.ErrMigrationRefused) {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitRefused
		}
		var ce *daemon.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	return 0
}
