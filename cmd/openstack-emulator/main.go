package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("openstack-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:5000", "`host:port` to listen on (loopback only unless -allow-remote)")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback -listen address")
	cloudsYAML := fs.String("clouds-yaml", "", "write a clouds.yaml for this emulator to `FILE` (clouds emulator, emulator-appcred, emulator-alt, emulator-admin)")
	stateFile := fs.String("state", "", "keep the state in `FILE` across restarts (default: in memory)")
	delay := fs.Duration("delay", 2*time.Second, "how long BUILD/creating/PENDING_* states last")
	tokenTTL := fs.Duration("token-ttl", time.Hour, "lifetime of Keystone tokens")
	logLevel := fs.String("log-level", "info", "debug (every request), info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: openstack-emulator [flags]\n\nA local OpenStack cloud for the real OpenStack clients.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "openstack-emulator: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "openstack-emulator: -log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	if *delay < 0 {
		fmt.Fprintf(stderr, "openstack-emulator: -delay must not be negative\n")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cloud, err := emulator.Start(ctx, emulator.Options{Listen: *listen, AllowRemote: *allowRemote, Delay: *delay,
		StateFile: *stateFile, TokenTTL: *tokenTTL, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "openstack-emulator: %v\n", err)
		return 1
	}
	if *cloudsYAML != "" {
		if err := cloud.WriteCloudsYAML(*cloudsYAML); err != nil {
			fmt.Fprintf(stderr, "openstack-emulator: %v\n", err)
			_ = cloud.Close()
			return 1
		}
	}
	fmt.Fprintf(stdout, "openstack-emulator ready: auth_url %s\n", cloud.AuthURL())
	<-ctx.Done()
	log.Info("stopping")
	if err := cloud.Close(); err != nil {
		fmt.Fprintf(stderr, "openstack-emulator: %v\n", err)
		return 1
	}
	return 0
}
