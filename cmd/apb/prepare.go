package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

func (c *cli) prepareCmd() *cobra.Command {
	var dockerfile string
	var oneLine bool
	cmd := &cobra.Command{
		Use:   "prepare [DIR]",
		Short: "Write apb.yml into the Dockerfile's com.redhat.apb.spec label, as the original apb did",
		Long: `Check apb.yml and write it, base64, into the Dockerfile's com.redhat.apb.spec label in
76-character lines joined by "\" (the original apb prepare's form; -n: one line). An
existing label is replaced; a Dockerfile without one gets it after FROM.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			changed, err := prepare(dir, dockerfile, oneLine)
			if err != nil {
				return err
			}
			df := dockerfilePath(dir, dockerfile)
			if changed {
				c.say("wrote the spec label of %s", df)
			} else {
				c.say("%s: the spec label is up to date", df)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dockerfile, "dockerfile", "f", "", "the Dockerfile (default DIR/Dockerfile)")
	cmd.Flags().BoolVarP(&oneLine, "nolinebreak", "n", false, "write the label on one line")
	return cmd
}

func dockerfilePath(dir, dockerfile string) string {
	if dockerfile == "" {
		return filepath.Join(dir, "Dockerfile")
	}
	return dockerfile
}

// prepare validates apb.yml and writes the label; it reports whether the
// Dockerfile changed. An invalid spec fails with every problem.
func prepare(dir, dockerfile string, oneLine bool) (bool, error) {
	specPath := filepath.Join(dir, "apb.yml")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		return false, usageErrorf("%v", err)
	}
	if _, err := apb.Parse(spec, specPath); err != nil {
		return false, failedErrorf("%v\n(apb lint shows every problem)", err)
	}
	dfPath := dockerfilePath(dir, dockerfile)
	df, err := os.ReadFile(dfPath)
	if err != nil {
		return false, usageErrorf("%v", err)
	}
	out, err := apb.SetDockerfileSpec(df, spec, oneLine)
	if errors.Is(err, apb.ErrSpecFromBuildArg) {
		return false, nil // apb build passes the value
	}
	if err != nil {
		return false, failedErrorf("%s: %v", dfPath, err)
	}
	if string(out) == string(df) {
		return false, nil
	}
	st, err := os.Stat(dfPath)
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(dfPath, out, st.Mode().Perm()); err != nil {
		return false, fmt.Errorf("writing %s: %w", dfPath, err)
	}
	return true, nil
}
