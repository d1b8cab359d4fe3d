package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// Completion of catalog names (asked of the broker, briefly) and of
// recorded instances and bindings (local, no network).

func (c *cli) completionSettings(cmd *cobra.Command) bool {
	if c.s != nil {
		return true
	}
	s, err := loadSettings(&c.g, cmd.Flags(), c.getenv, func(string) {})
	if err != nil {
		return false
	}
	c.s = s
	return true
}

func (c *cli) completeServices(cmd *cobra.Command, a []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(a) > 0 || !c.completionSettings(cmd) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cl, err := c.s.client(3 * time.Second)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cat, err := cl.Catalog(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, s := range cat.Services {
		out = append(out, s.Name+"\t"+s.Description)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (c *cli) completeInstances(cmd *cobra.Command, a []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(a) > 0 || !c.completionSettings(cmd) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	recs, _ := c.records().list(c.s.brokerURL)
	var out []string
	for _, r := range recs {
		out = append(out, r.ID+"\t"+r.Service)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (c *cli) completeBindings(cmd *cobra.Command, a []string, to string) ([]string, cobra.ShellCompDirective) {
	if len(a) == 0 {
		return c.completeInstances(cmd, a, to)
	}
	if len(a) > 1 || !c.completionSettings(cmd) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	rec, _ := c.records().get(c.s.brokerURL, a[0])
	var out []string
	if rec != nil {
		for _, b := range rec.Bindings {
			out = append(out, b.ID)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
