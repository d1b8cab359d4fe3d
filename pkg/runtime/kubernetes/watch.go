package kubernetes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// rewatchDelay paces re-opening a watch the server closed.
const rewatchDelay = 200 * time.Millisecond

// pullFailures are waiting reasons that will not resolve by waiting.
var pullFailures = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true,
	"InvalidImageName": true, "CreateContainerConfigError": true,
}

// wait watches the pod until it has finished, reporting each new
// apb_last_operation annotation through progress. It returns the final pod.
func (r *Runtime) wait(ctx context.Context, sb *sandbox, pod *corev1.Pod, res *runtime.Result, progress runtime.Progress) (*corev1.Pod, error) {
	pods := r.client.CoreV1().Pods(sb.namespace)
	sel := fields.OneTermEqualSelector("metadata.name", sb.pod).String()
	for {
		if done, err := r.observe(sb, pod, res, progress); done || err != nil {
			return pod, err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: pod.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.log.Debug("watch failed; retrying", "pod", sb.pod, "err", err)
		} else {
			p, err := r.drain(ctx, w, sb, res, progress)
			w.Stop()
			if p != nil || err != nil {
				return p, err
			}
		}
		// The watch ended (server timeout, expired version): resync.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(rewatchDelay):
		}
		pod, err = pods.Get(ctx, sb.pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("bundle pod %s/%s was deleted before it finished", sb.namespace, sb.pod)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("reading bundle pod %s/%s: %w", sb.namespace, sb.pod, err)
		}
	}
}

// drain consumes one watch; a nil pod and error mean "watch again".
func (r *Runtime) drain(ctx context.Context, w watch.Interface, sb *sandbox, res *runtime.Result, progress runtime.Progress) (*corev1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return nil, fmt.Errorf("bundle pod %s/%s was deleted before it finished", sb.namespace, sb.pod)
			case watch.Error:
				return nil, nil
			case watch.Added, watch.Modified:
				p, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				if done, err := r.observe(sb, p, res, progress); done || err != nil {
					return p, err
				}
			}
		}
	}
}

// observe reports progress and says whether the pod is done.
func (r *Runtime) observe(sb *sandbox, p *corev1.Pod, res *runtime.Result, progress runtime.Progress) (bool, error) {
	if d := p.Annotations[AnnotationLastOperation]; d != "" && d != res.LastDescription {
		res.LastDescription = d
		if progress != nil {
			progress(sb.red.String(d))
		}
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		sb.markStarted()
		return true, nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			sb.markStarted()
		}
		if w := cs.State.Waiting; w != nil && pullFailures[w.Reason] {
			return true, &runtime.ActionError{ExitCode: -1, Message: fmt.Sprintf("bundle image %s cannot be started: %s", cs.Image, w.Reason)}
		}
	}
	return false, nil
}

// streamLogs copies the bundle's log into the broker's at debug level,
// redacted. It starts once the watch has seen the container start; a
// stream refused meanwhile is retried until ctx ends.
func (r *Runtime) streamLogs(ctx context.Context, sb *sandbox, log *slog.Logger) {
	select {
	case <-sb.started:
	case <-ctx.Done():
		return
	}
	for {
		s, err := r.client.CoreV1().Pods(sb.namespace).GetLogs(sb.pod, &corev1.PodLogOptions{Container: containerName, Follow: true}).Stream(ctx)
		if err == nil {
			sc := bufio.NewScanner(s)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				log.Debug("bundle", "pod", sb.pod, "line", sb.red.String(sc.Text()))
			}
			s.Close()
			if sc.Err() != nil && ctx.Err() == nil {
				log.Debug("bundle log stream ended", "pod", sb.pod, "err", sc.Err())
			}
			return
		}
		log.Debug("bundle log not available yet", "pod", sb.pod, "err", err)
		if ctx.Err() != nil || apierrors.IsNotFound(err) && !errors.Is(err, context.Canceled) && podGone(ctx, r, sb) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func podGone(ctx context.Context, r *Runtime, sb *sandbox) bool {
	_, err := r.client.CoreV1().Pods(sb.namespace).Get(ctx, sb.pod, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}
