package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// cli is one invocation: its streams, flags and resolved settings.
type cli struct {
	io     stdio
	getenv func(string) string
	g      globals
	s      *settings
	// errTTY: stderr is a terminal (progress redrawn in place).
	errTTY bool
	now    func() time.Time
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, io stdio) int {
	c := &cli{io: io, getenv: os.Getenv, errTTY: isTerminal(io.err), now: time.Now}
	root := c.root()
	root.SetArgs(args)
	root.SetIn(io.in)
	root.SetOut(io.out)
	root.SetErr(io.err)
	err := root.ExecuteContext(ctx)
	code := exitCode(ctx, err)
	if err != nil && err.Error() != "" {
		fmt.Fprintf(io.err, "apb: %v\n", err)
	}
	if code == exitUsage {
		fmt.Fprintln(io.err, "Run 'apb --help' for usage.")
	}
	return code
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "apb",
		Short: "Build, lint, run and test Ansible Playbook Bundles; drive a service broker",
		Long: `apb is the tool for Ansible Playbook Bundles (APBs) and the brokers that serve them.

Bundle development, no cluster needed:
  init NAME, lint [DIR], prepare [DIR], build [DIR], push [DIR],
  run ACTION [DIR] (on the local Docker engine, against the OpenStack emulator
  or a clouds.yaml), test [DIR]

Against a broker (--broker, APB_BROKER_URL or the config file):
  catalog, bootstrap, provision, update, deprovision, bind, unbind, instances

Exit codes: 0 ok, 1 the operation/action/lint/test failed, 2 usage, 3 broker or
engine unreachable, 4 not found (404/410), 5 refused (400/409/422), 6 unauthorized
(401/403), 7 broker error (5xx), 8 timed out waiting, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(&c.g, cmd.Flags(), c.getenv, c.warn)
			if err != nil {
				return err
			}
			c.s = s
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	c.g.register(root.PersistentFlags())
	root.AddGroup(&cobra.Group{ID: "bundle", Title: "Bundle development:"}, &cobra.Group{ID: "broker", Title: "Against a broker:"})
	for _, cmd := range []*cobra.Command{c.initCmd(), c.lintCmd(), c.prepareCmd(), c.buildCmd(), c.pushCmd(), c.runCmd(), c.testCmd()} {
		cmd.GroupID = "bundle"
		root.AddCommand(cmd)
	}
	for _, cmd := range []*cobra.Command{c.catalogCmd(), c.bootstrapCmd(), c.provisionCmd(), c.updateCmd(), c.deprovisionCmd(),
		c.bindCmd(), c.unbindCmd(), c.instancesCmd()} {
		cmd.GroupID = "broker"
		root.AddCommand(cmd)
	}
	return root
}

func (c *cli) warn(msg string) { fmt.Fprintf(c.io.err, "apb: warning: %s\n", msg) }

// say prints a progress message for people on stderr (stdout is the
// result, for scripts).
func (c *cli) say(format string, a ...any) { fmt.Fprintf(c.io.err, format+"\n", a...) }

func (c *cli) printer() printer { return printer{w: c.io.out, format: c.s.output} }

// args wraps a cobra argument rule so that its complaint is a usage error.
func args(rule cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		return withCode(exitUsage, rule(cmd, a))
	}
}
