package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func (c *cli) pushCmd() *cobra.Command {
	var img imageFlags
	var reg, regUser, regPassword string
	var toBroker, noBuild, bootstrap bool
	cmd := &cobra.Command{
		Use:   "push [DIR]",
		Short: "Build, then push the bundle to a registry (--registry) or a dev broker (--broker-dev)",
		Long: `Build the bundle (unless --no-build), then:

  --registry HOST[:PORT][/NAMESPACE]  tag the image HOST/NAMESPACE/<name>:<tag> and push it
                                      (then --bootstrap asks the broker to re-read its registries)
  --broker-dev                        POST apb.yml to the broker's dev route /v2/apb
                                      (broker.dev_broker: true), and tag the image with the
                                      name the broker runs it by (<apb-push-name>), for a
                                      broker on this Docker engine`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			if (reg == "") == !toBroker {
				return usageErrorf("push where? give --registry HOST[:PORT][/NAMESPACE] or --broker-dev")
			}
			spec, specData, err := bundleSpec(dir)
			if err != nil {
				return err
			}
			image := img.image(spec)
			if !noBuild {
				if image, err = c.build(ctx, dir, "", "host", false, img); err != nil {
					return err
				}
			}
			cl, err := c.engine(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			if toBroker {
				return c.pushToBroker(ctx, cl, image, specData)
			}
			return c.pushToRegistry(ctx, cl, image, spec, reg, regUser, regPassword, bootstrap)
		},
	}
	img.register(cmd, "the image to push")
	cmd.Flags().StringVar(&reg, "registry", "", "registry (and namespace) to push to, e.g. 127.0.0.1:5000 or quay.io/me")
	cmd.Flags().StringVar(&regUser, "registry-user", "", "registry user (env APB_REGISTRY_USER)")
	cmd.Flags().StringVar(&regPassword, "registry-password", "", "registry password (env APB_REGISTRY_PASSWORD)")
	cmd.Flags().BoolVar(&toBroker, "broker-dev", false, "push the spec to the broker's dev route POST /v2/apb")
	cmd.Flags().BoolVar(&noBuild, "no-build", false, "push the image as it is")
	cmd.Flags().BoolVar(&bootstrap, "bootstrap", false, "after a registry push, ask the broker to re-read its registries")
	return cmd
}

func (c *cli) pushToRegistry(ctx context.Context, cl *client.Client, image string, spec *apb.Spec, reg, user, password string, bootstrap bool) error {
	name, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	if j := strings.LastIndex(name, "/"); j >= 0 {
		name = name[j+1:]
	}
	target := strings.TrimRight(reg, "/") + "/" + name + ":" + tag
	if _, err := cl.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: target}); err != nil {
		return engineErr(cl, fmt.Errorf("tagging %s as %s: %w", image, target, err))
	}
	user = orDefault(user, c.getenv("APB_REGISTRY_USER"))
	password = orDefault(password, c.getenv("APB_REGISTRY_PASSWORD"))
	// An engine wants X-Registry-Auth even for an open registry (20.10:
	// "Bad parameters and missing X-Registry-Auth"): empty credentials
	// then, as the docker CLI sends.
	ac := registry.AuthConfig{}
	if user != "" {
		ac = registry.AuthConfig{Username: user, Password: password, ServerAddress: strings.SplitN(reg, "/", 2)[0]}
	}
	b, _ := json.Marshal(ac)
	auth := base64.URLEncoding.EncodeToString(b)
	c.say("pushing %s", target)
	start := time.Now()
	resp, err := cl.ImagePush(ctx, target, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return engineErr(cl, fmt.Errorf("pushing %s: %w", target, err))
	}
	defer resp.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp, c.io.err, fdOf(c.io.err), c.errTTY, nil); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
			return withCode(exitUnreachable, fmt.Errorf("pushing %s: %w", target, err))
		}
		return failedErrorf("pushing %s: %v", target, err)
	}
	c.say("pushed %s in %s", target, time.Since(start).Round(100*time.Millisecond))
	out := map[string]any{"image": target, "bundle": spec.Name}
	if bootstrap {
		occ, err := c.client()
		if err != nil {
			return err
		}
		status, body, _, err := occ.Do(ctx, "POST", "/v2/bootstrap", nil, nil)
		if err != nil {
			return err
		}
		if status/100 != 2 {
			return brokerError(status, body)
		}
		c.say("asked %s to bootstrap", c.s.brokerURL)
		out["bootstrap"] = strings.TrimSpace(string(body))
	}
	return c.printer().print(out, func(w io.Writer) { keyValues(w, out) })
}

// pushToBroker sends apb.yml to the dev route, as `apb push
// --push-to-broker` did: form field apbSpec, the label's base64.
func (c *cli) pushToBroker(ctx context.Context, cl *client.Client, image string, specData []byte) error {
	occ, err := c.client()
	if err != nil {
		return err
	}
	form := url.Values{"apbSpec": {apb.EncodeLabel(specData)}}
	status, body, _, err := occ.Do(ctx, "POST", "/v2/apb", json.RawMessage(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return withCode(exitNotFound, fmt.Errorf("%s has no dev route /v2/apb (is broker.dev_broker true?)", c.s.brokerURL))
	}
	if status/100 != 2 {
		return brokerError(status, body)
	}
	svc, ok := pushedService(body)
	if !ok {
		// Automation Broker answered with a message only.
		c.say("pushed the spec to %s: %s", c.s.brokerURL, strings.TrimSpace(string(body)))
		return nil
	}
	// The broker runs a pushed spec by its catalog name; on this engine,
	// that name is the image just built.
	target := svc.Name + ":latest"
	if _, err := cl.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: target}); err != nil {
		return engineErr(cl, fmt.Errorf("tagging %s as %s: %w", image, target, err))
	}
	c.say("pushed the spec to %s: service %s (image %s)", c.s.brokerURL, svc.Name, target)
	return c.printer().print(svc, func(w io.Writer) { serviceTable(w, &svc) })
}

// pushedService reads the dev route's answer: a catalog of the one
// service pushed (this broker), or the service itself.
func pushedService(body []byte) (osbapi.Service, bool) {
	var cat osbapi.Catalog
	if json.Unmarshal(body, &cat) == nil && len(cat.Services) == 1 && cat.Services[0].Name != "" {
		return cat.Services[0], true
	}
	var svc osbapi.Service
	if json.Unmarshal(body, &svc) == nil && svc.Name != "" {
		return svc, true
	}
	return osbapi.Service{}, false
}
