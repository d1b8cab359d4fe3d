package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// imageFlags say which image a bundle is: --tag, default <name>:latest.
type imageFlags struct {
	tag string
}

func (f *imageFlags) register(cmd *cobra.Command, what string) {
	cmd.Flags().StringVarP(&f.tag, "tag", "t", "", what+" (default <apb.yml name>:latest)")
}

// bundleSpec reads and parses DIR/apb.yml.
func bundleSpec(dir string) (*apb.Spec, []byte, error) {
	p := filepath.Join(dir, "apb.yml")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, usageErrorf("%v (is %s a bundle? apb init scaffolds one)", err, dir)
	}
	s, err := apb.Parse(data, p)
	if err != nil {
		return nil, nil, failedErrorf("%v\n(apb lint shows every problem)", err)
	}
	return s, data, nil
}

func (f imageFlags) image(s *apb.Spec) string {
	if f.tag != "" {
		return f.tag
	}
	return s.Name + ":latest"
}

func (c *cli) buildCmd() *cobra.Command {
	var img imageFlags
	var dockerfile, network string
	var noCache bool
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Write the spec label (apb prepare), then build the bundle image with the Docker engine",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			_, err := c.build(cmd.Context(), dir, dockerfile, network, noCache, img)
			return err
		},
	}
	img.register(cmd, "the image's name")
	cmd.Flags().StringVarP(&dockerfile, "dockerfile", "f", "", "the Dockerfile (default DIR/Dockerfile)")
	cmd.Flags().StringVar(&network, "network", "host", "network of the build's RUN steps (host: the host's, as hack/images.sh builds)")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "do not use the engine's layer cache")
	return cmd
}

// build prepares and builds a bundle; it returns the image's name.
func (c *cli) build(ctx context.Context, dir, dockerfile, network string, noCache bool, img imageFlags) (string, error) {
	s, specData, err := bundleSpec(dir)
	if err != nil {
		return "", err
	}
	changed, err := prepare(dir, dockerfile, false)
	if err != nil {
		return "", err
	}
	if changed {
		c.say("wrote the spec label of %s", dockerfilePath(dir, dockerfile))
	}
	tag := img.image(s)
	cl, err := c.engine(ctx)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	df := "Dockerfile"
	if dockerfile != "" {
		abs, _ := filepath.Abs(dockerfile)
		absDir, _ := filepath.Abs(dir)
		rel, err := filepath.Rel(absDir, abs)
		if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
			return "", usageErrorf("--dockerfile %s must be inside %s (the build context)", dockerfile, dir)
		}
		df = filepath.ToSlash(rel)
	}
	// A label set from a build argument gets apb.yml through it.
	var buildArgs map[string]*string
	if dfData, err := os.ReadFile(dockerfilePath(dir, dockerfile)); err == nil {
		if l, _ := apb.DockerfileSpec(dfData); l != nil && l.Arg != "" {
			v := apb.EncodeLabel(specData)
			buildArgs = map[string]*string{l.Arg: &v}
		}
	}
	bctx, err := buildContext(dir)
	if err != nil {
		return "", err
	}
	defer bctx.Close()
	start := time.Now()
	c.say("building %s from %s", tag, dir)
	resp, err := cl.ImageBuild(ctx, bctx, client.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: df, Remove: true, ForceRemove: true, NetworkMode: network,
		NoCache: noCache, Version: build.BuilderV1, BuildArgs: buildArgs,
	})
	if err != nil {
		return "", engineErr(cl, err)
	}
	defer resp.Body.Close()
	var id string
	err = jsonmessage.DisplayJSONMessagesStream(resp.Body, c.io.err, fdOf(c.io.err), c.errTTY, func(m jsonstream.Message) {
		if m.Aux != nil {
			var aux struct{ ID string }
			if jsonUnmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", failedErrorf("building %s: %v", tag, err)
	}
	info, err := cl.ImageInspect(ctx, tag)
	if err != nil {
		return "", engineErr(cl, err)
	}
	if id == "" {
		id = info.ID
	}
	c.say("built %s (%s, %d MB) in %s", tag, shortImageID(id), info.Size/1e6, time.Since(start).Round(100*time.Millisecond))
	return tag, nil
}

func shortImageID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

func fdOf(w any) uintptr {
	if f, ok := w.(*os.File); ok {
		return f.Fd()
	}
	return 0
}
