package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/redact"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// source is one Secret an action's mounts name: where it is read and
// the name of its copy in the sandbox.
type source struct {
	scope runtime.MountScope
	name  string
}

// copyName is the name of the source's copy in the sandbox: a Secret
// of the target namespace is kept apart from a broker one of the same
// name.
func (s source) copyName() string {
	if s.scope == runtime.ScopeTarget {
		return "target-" + s.name
	}
	return s.name
}

func sourceOf(m runtime.Mount) source { return source{m.Scope, m.Source} }

// sources lists the Secrets an action's mounts name, each once, in the
// order of the mounts.
func sources(a runtime.Action) []source {
	var out []source
	seen := map[source]bool{}
	for _, m := range a.Mounts {
		if s := sourceOf(m); m.Source != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// namespaceOf is where a source is read: the broker namespace, or the
// action's target namespace and no other.
func (r *Runtime) namespaceOf(a runtime.Action, s source) (string, error) {
	switch s.scope {
	case runtime.ScopeBroker:
		if r.cfg.BrokerNamespace == "" {
			return "", fmt.Errorf("%s needs secret %q but the broker namespace (openshift.namespace) is not set", a.FQName, s.name)
		}
		return r.cfg.BrokerNamespace, nil
	case runtime.ScopeTarget:
		if a.Target == "" {
			return "", fmt.Errorf("%s needs secret %q from the request's namespace, but the request named no namespace", a.FQName, s.name)
		}
		return a.Target, nil
	}
	return "", fmt.Errorf("%s: secret %q has an unknown scope %q", a.FQName, s.name, s.scope)
}

// create makes the sandbox namespace, service account, role bindings,
// Secret copies and the pod. On error the returned sandbox (if any) holds
// what exists so the caller can remove it.
func (r *Runtime) create(ctx context.Context, a runtime.Action) (*sandbox, *corev1.Pod, error) {
	podName := "bundle-" + newUUID()
	lbl := map[string]string{
		LabelFQName:    labelValue(a.FQName),
		LabelAction:    a.Name,
		LabelPodName:   podName,
		LabelManagedBy: ManagedBy,
		LabelOperation: labelValue(a.OperationID),
		LabelInstance:  labelValue(a.InstanceID),
	}
	if r.cfg.BrokerID != "" {
		lbl[LabelBroker] = labelValue(r.cfg.BrokerID)
	}
	ann := map[string]string{AnnotationOperation: a.OperationID, AnnotationTargetNamespace: a.Target}

	// Read the Secrets first: a missing one fails before anything exists.
	type copied struct {
		name string
		data map[string][]byte
		typ  corev1.SecretType
	}
	var copies []copied
	for _, src := range sources(a) {
		from, err := r.namespaceOf(a, src)
		if err != nil {
			return nil, nil, err
		}
		s, err := r.client.CoreV1().Secrets(from).Get(ctx, src.name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("secret %q for %s in namespace %q: %w", src.name, a.FQName, from, err)
		}
		typ := s.Type
		if typ != corev1.SecretTypeOpaque {
			// Typed Secrets (service-account tokens...) cannot be recreated as is.
			typ = corev1.SecretTypeOpaque
		}
		copies = append(copies, copied{src.copyName(), s.Data, typ})
	}

	ns, err := r.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: sandboxPrefix(a.FQName, a.Name), Labels: lbl, Annotations: ann},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the sandbox namespace: %w", err)
	}
	sb := &sandbox{op: a.OperationID, namespace: ns.Name, target: a.Target, pod: podName, red: &redact.Text{}, started: make(chan struct{})}
	// The credentials are under _apb_provision_creds and _apb_bind_creds,
	// names that look secret: all of them count.
	sb.red.AddUnder(a.ExtraVars, redact.Names(a.SecretVars...))

	// The service account, the role bindings and the Secret copies need
	// only the namespace: they are made at once (each is an API round trip,
	// and they were most of the sandbox's cost made one after the other).
	// The pod waits for all of them: its admission needs the service
	// account, and it must never run without its rights or mounts. On
	// errors the first in this order is the one returned.
	steps := []func() error{
		func() error {
			if _, err := r.client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta: metav1.ObjectMeta{Name: podName, Labels: lbl},
			}, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating the sandbox service account: %w", err)
			}
			return nil
		},
		func() error {
			if _, err := r.client.RbacV1().RoleBindings(ns.Name).Create(ctx, roleBinding(sb, ns.Name, r.cfg.SandboxRole, lbl), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("binding role %s in the sandbox: %w", r.cfg.SandboxRole, err)
			}
			return nil
		},
	}
	if a.Target != "" && a.Target != ns.Name {
		steps = append(steps, func() error {
			if _, err := r.client.RbacV1().RoleBindings(a.Target).Create(ctx, roleBinding(sb, a.Target, r.cfg.SandboxRole, lbl), metav1.CreateOptions{}); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("target namespace %q does not exist", a.Target)
				}
				return fmt.Errorf("binding role %s in namespace %s: %w", r.cfg.SandboxRole, a.Target, err)
			}
			return nil
		})
	}
	secretLbl := map[string]string{LabelCopiedSecret: "true", LabelManagedBy: ManagedBy, LabelOperation: lbl[LabelOperation]}
	for _, s := range copies {
		steps = append(steps, func() error {
			if _, err := r.client.CoreV1().Secrets(ns.Name).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: s.name, Labels: secretLbl},
				Type:       s.typ,
				Data:       s.data,
			}, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("copying secret %q into the sandbox: %w", s.name, err)
			}
			return nil
		})
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = step()
		}()
	}
	wg.Wait()
	var vols []corev1.Volume
	data := map[string]map[string][]byte{}
	for _, s := range copies {
		sb.secrets = append(sb.secrets, s.name)
		sb.red.Add(s.data)
		data[s.name] = s.data
		vols = append(vols, corev1.Volume{Name: volumeName(s.name), VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s.name}}})
	}
	for _, err := range errs {
		if err != nil {
			return sb, nil, err
		}
	}
	var mounts []corev1.VolumeMount
	var env []corev1.EnvVar
	mounted := map[[2]string]bool{}
	for _, m := range a.Mounts {
		name := sourceOf(m).copyName()
		if !mounted[[2]string{name, m.Path}] {
			mounted[[2]string{name, m.Path}] = true
			mounts = append(mounts, corev1.VolumeMount{Name: volumeName(name), MountPath: m.Path, ReadOnly: true})
		}
		if m.Env != nil {
			for _, e := range m.Env(data[name]) {
				env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
			}
		}
	}
	for _, e := range a.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}

	pod, err := r.podSpec(a, sb, lbl, ann, vols, mounts, env)
	if err != nil {
		return sb, nil, err
	}
	created, err := r.client.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return sb, nil, fmt.Errorf("creating the bundle pod: %w", err)
	}
	return sb, created, nil
}

// podSpec is bundle-lib's pod: container apb, args <action> --extra-vars
// <json>, POD_NAME/POD_NAMESPACE from the downward API, restartPolicy Never.
func (r *Runtime) podSpec(a runtime.Action, sb *sandbox, lbl, ann map[string]string, vols []corev1.Volume, mounts []corev1.VolumeMount, env []corev1.EnvVar) (*corev1.Pod, error) {
	vars := make(map[string]any, len(a.ExtraVars)+2)
	for k, v := range a.ExtraVars {
		vars[k] = v
	}
	if _, ok := vars["cluster"]; !ok {
		vars["cluster"] = r.cfg.Cluster
	}
	if _, ok := vars["namespace"]; !ok && a.Target != "" {
		vars["namespace"] = a.Target
	}
	extra, err := json.Marshal(vars)
	if err != nil {
		// The message names no value: extra vars may hold passwords.
		return nil, fmt.Errorf("encoding the extra vars of %s: %v", a.Name, err)
	}
	podEnv := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}
	for _, p := range []struct{ name, value string }{
		{"HTTP_PROXY", r.cfg.HTTPProxy}, {"HTTPS_PROXY", r.cfg.HTTPSProxy}, {"NO_PROXY", r.cfg.NoProxy},
	} {
		if p.value != "" {
			podEnv = append(podEnv, corev1.EnvVar{Name: p.name, Value: p.value}, corev1.EnvVar{Name: strings.ToLower(p.name), Value: p.value})
		}
	}
	podEnv = append(podEnv, env...)
	podEnv = append(podEnv, r.cfg.ExtraEnv...)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: sb.pod, Namespace: sb.namespace, Labels: lbl, Annotations: map[string]string{AnnotationOperation: ann[AnnotationOperation]}},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: sb.pod,
			HostNetwork:        r.cfg.HostNetwork,
			EnableServiceLinks: new(bool),
			Containers: []corev1.Container{{
				Name:                     containerName,
				Image:                    a.Image,
				ImagePullPolicy:          r.cfg.ImagePullPolicy,
				Args:                     []string{a.Name, "--extra-vars", string(extra)},
				Env:                      podEnv,
				VolumeMounts:             mounts,
				Resources:                r.cfg.Resources,
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			Volumes: vols,
		},
	}, nil
}
