package docker

import (
	"context"
	"fmt"
	"log/slog"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// ensureImage makes sure the engine has the bundle image, as the pull
// policy says. An image that cannot be had fails the action with an
// ActionError saying so (the user's last_operation shows it).
func (r *Runtime) ensureImage(ctx context.Context, image string, log *slog.Logger) error {
	if r.cfg.PullPolicy != PullAlways {
		_, err := r.engine.ImageInspect(ctx, image)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("looking for bundle image %s: %w", image, engineError(r.engine, err))
		}
		if r.cfg.PullPolicy == PullNever {
			return &runtime.ActionError{ExitCode: -1, Message: fmt.Sprintf("bundle image %s is not on the Docker engine and the image pull policy is Never", image)}
		}
	}
	log.Info("pulling bundle image", "image", image)
	resp, err := r.engine.ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &runtime.ActionError{ExitCode: -1, Message: fmt.Sprintf("bundle image %s is not on the Docker engine and cannot be pulled: %v", image, engineError(r.engine, err))}
	}
	return nil
}
