package crd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// Group and version of the Automation Broker's resources.
const (
	Group   = "automationbroker.io"
	Version = "v1alpha1"
)

// The resources, as the original named them.
var (
	Bundles         = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bundles"}
	BundleInstances = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bundleinstances"}
	BundleBindings  = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bundlebindings"}
)

var kinds = map[schema.GroupVersionResource]string{Bundles: "Bundle", BundleInstances: "BundleInstance", BundleBindings: "BundleBinding"}

// brokerIDConfigMap holds the broker id (store.Backend.BrokerID).
const brokerIDConfigMap = "openstack-service-broker-id"

// Config says where the state is.
type Config struct {
	Rest *rest.Config
	// Namespace is the broker's (openshift.namespace), where the original
	// kept its resources.
	Namespace string
	// RequestTimeout bounds every call (default 10 s).
	RequestTimeout time.Duration
}

// Store is the state in custom resources.
type Store struct {
	dyn     dynamic.Interface
	kube    kubernetes.Interface
	ns      string
	timeout time.Duration
	log     *slog.Logger
}

var _ store.Backend = (*Store)(nil)

// Open connects and checks that the CustomResourceDefinitions are installed
// and readable in the namespace.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.Namespace == "" {
		return nil, errors.New("the CRD store needs the broker's namespace (openshift.namespace)")
	}
	if cfg.Rest == nil {
		return nil, errors.New("the CRD store needs a Kubernetes client configuration")
	}
	dyn, err := dynamic.NewForConfig(cfg.Rest)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg.Rest)
	if err != nil {
		return nil, err
	}
	s := New(dyn, kube, cfg.Namespace, log)
	if cfg.RequestTimeout > 0 {
		s.timeout = cfg.RequestTimeout
	}
	for _, r := range []schema.GroupVersionResource{Bundles, BundleInstances, BundleBindings} {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		_, err := s.dyn.Resource(r).Namespace(s.ns).List(cctx, metav1.ListOptions{Limit: 1})
		cancel()
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("the CustomResourceDefinition %s.%s is not installed: kubectl apply -k deploy/crds", r.Resource, r.Group)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s in namespace %s: %w", r.Resource, s.ns, s.err(err))
		}
	}
	return s, nil
}

// New makes a Store over clients (tests, migration).
func New(dyn dynamic.Interface, kube kubernetes.Interface, namespace string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{dyn: dyn, kube: kube, ns: namespace, timeout: 10 * time.Second, log: log}
}

// Namespace is where the store keeps its objects.
func (s *Store) Namespace() string { return s.ns }

// Close releases nothing: the clients hold no connection of their own.
func (s *Store) Close() error { return nil }

// Maintain has nothing to compact: the API server's etcd is the cluster's.
func (s *Store) Maintain(context.Context, int64) (store.MaintainResult, error) {
	return store.MaintainResult{}, nil
}

// NoSpace never fires: the API server reports a full etcd as an error.
func (s *Store) NoSpace() <-chan struct{} { return nil }

// Healthy checks the API server answers a read of the store's objects.
func (s *Store) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.dyn.Resource(BundleInstances).Namespace(s.ns).List(ctx, metav1.ListOptions{Limit: 1})
	return s.err(err)
}

// BrokerID returns the id kept in a ConfigMap of the namespace, made on
// first use (create-if-absent: replicas agree on the first one written).
func (s *Store) BrokerID(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cms := s.kube.CoreV1().ConfigMaps(s.ns)
	for range 3 {
		cm, err := cms.Get(ctx, brokerIDConfigMap, metav1.GetOptions{})
		if err == nil {
			if id := cm.Data["broker_id"]; id != "" {
				return id, nil
			}
			return "", fmt.Errorf("ConfigMap %s/%s has no broker_id", s.ns, brokerIDConfigMap)
		}
		if !apierrors.IsNotFound(err) {
			return "", s.err(err)
		}
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		id := "osb-" + hex.EncodeToString(b[:])
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: brokerIDConfigMap},
			Data: map[string]string{"broker_id": id}}, metav1.CreateOptions{})
		if err == nil {
			return id, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", s.err(err)
		}
	}
	return "", errors.New("broker id: the ConfigMap kept changing")
}

// err classifies an API error as the etcd store's errors.
func (s *Store) err(err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return store.ErrNotFound
	case apierrors.IsRequestEntityTooLargeError(err) || strings.Contains(err.Error(), "request is too large"):
		return fmt.Errorf("%w: %v", store.ErrTooLarge, err)
	case strings.Contains(err.Error(), "database space exceeded"):
		return fmt.Errorf("%w: %v", store.ErrNoSpace, err)
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		// The broker's configuration or its own fault: not retried.
		return fmt.Errorf("kubernetes API: %w", err)
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}

// objectName is the object name of a record id: the id itself when it is
// a valid name (UUIDs, md5 spec ids: everything the original wrote), else
// "osb-" and a digest of it, the id kept in an annotation.
func objectName(id string) string {
	if len(id) <= 253 && len(validation.IsDNS1123Subdomain(id)) == 0 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "osb-" + hex.EncodeToString(sum[:20])
}

// recordID is the id of the record an object holds.
func recordID(obj *unstructured.Unstructured) string {
	if id := obj.GetAnnotations()[annID]; id != "" {
		return id
	}
	return obj.GetName()
}

func (s *Store) res(r schema.GroupVersionResource) dynamic.ResourceInterface {
	return s.dyn.Resource(r).Namespace(s.ns)
}

func (s *Store) getObject(ctx context.Context, r schema.GroupVersionResource, id string) (*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	obj, err := s.res(r).Get(ctx, objectName(id), metav1.GetOptions{})
	if err != nil {
		return nil, s.err(err)
	}
	if recordID(obj) != id {
		// Another id's digest name: not this record.
		return nil, store.ErrNotFound
	}
	return obj, nil
}

// listPage is how many objects a list reads per request.
const listPage = 250

func (s *Store) listObjects(ctx context.Context, r schema.GroupVersionResource, fn func(*unstructured.Unstructured) error) error {
	opts := metav1.ListOptions{Limit: listPage}
	for {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		l, err := s.res(r).List(cctx, opts)
		cancel()
		if err != nil {
			return s.err(err)
		}
		for i := range l.Items {
			if err := fn(&l.Items[i]); err != nil {
				return err
			}
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return nil
		}
	}
}

// mainRecord reads the record of an object (nil: removed); spec resolves
// an original instance's bundle.
func (s *Store) mainRecord(ctx context.Context, r schema.GroupVersionResource, obj *unstructured.Unstructured) (*rec, error) {
	if obj.GetAnnotations()[annRemoved] == "true" {
		return nil, nil
	}
	if o, ok, _ := unstructured.NestedString(obj.Object, "spec", fieldOurs); ok && o != "" {
		rc, err := decodeOurs(o)
		if err != nil {
			return nil, fmt.Errorf("%s %s: spec.%s: %w", r.Resource, obj.GetName(), fieldOurs, err)
		}
		return rc, nil
	}
	var v any
	var err error
	switch r {
	case Bundles:
		v, err = originalSpec(obj)
	case BundleBindings:
		v, err = originalBinding(obj)
	case BundleInstances:
		var sp *apb.Spec
		if name := nested(obj, "spec", "bundle", "name"); name != "" {
			sp, err = s.GetSpec(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				sp, err = nil, nil
			}
			if err != nil {
				return nil, err
			}
		}
		v, err = originalInstance(obj, sp)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &rec{val: b, rev: fallbackRev(obj)}, nil
}

// jobRecords reads the job records of an instance or binding object.
func jobRecords(obj *unstructured.Unstructured) (map[string]*rec, error) {
	out := map[string]*rec{}
	jobs, _, _ := unstructured.NestedMap(obj.Object, "status", "jobs")
	for token, e := range jobs {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if o := str(m[fieldOurs]); o != "" {
			rc, err := decodeOurs(o)
			if err != nil {
				return nil, fmt.Errorf("%s: status.jobs.%s.%s: %w", obj.GetName(), token, fieldOurs, err)
			}
			out[token] = rc
			continue
		}
		b, err := originalJob(token, m, recordID(obj))
		if err != nil {
			return nil, err
		}
		out[token] = &rec{val: b, rev: fallbackRev(obj)}
	}
	return out, nil
}

// GetSpec reads one bundle spec.
func (s *Store) GetSpec(ctx context.Context, id string) (*apb.Spec, error) {
	obj, err := s.getObject(ctx, Bundles, id)
	if err != nil {
		return nil, err
	}
	rc, err := s.mainRecord(ctx, Bundles, obj)
	if err != nil {
		return nil, err
	}
	var sp apb.Spec
	if err := json.Unmarshal(rc.val, &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

// GetInstance reads one instance.
func (s *Store) GetInstance(ctx context.Context, id string) (*store.ServiceInstance, error) {
	obj, err := s.getObject(ctx, BundleInstances, id)
	if err != nil {
		return nil, err
	}
	return s.decodeInstance(ctx, obj)
}

func (s *Store) decodeInstance(ctx context.Context, obj *unstructured.Unstructured) (*store.ServiceInstance, error) {
	rc, err := s.mainRecord(ctx, BundleInstances, obj)
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, store.ErrNotFound
	}
	var in store.ServiceInstance
	if err := json.Unmarshal(rc.val, &in); err != nil {
		return nil, fmt.Errorf("bundleinstance %s: %w", obj.GetName(), err)
	}
	in.Revision = rc.rev
	return &in, nil
}

// ListInstances reads all instances.
func (s *Store) ListInstances(ctx context.Context) ([]*store.ServiceInstance, error) {
	var out []*store.ServiceInstance
	err := s.listObjects(ctx, BundleInstances, func(obj *unstructured.Unstructured) error {
		in, err := s.decodeInstance(ctx, obj)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

// InstanceSpecIDs returns the ids of the bundle specs instances use.
func (s *Store) InstanceSpecIDs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.listObjects(ctx, BundleInstances, func(obj *unstructured.Unstructured) error {
		if obj.GetAnnotations()[annRemoved] == "true" {
			return nil
		}
		// The original's reference, which ours fills too: no need to
		// decode the embedded spec.
		if id := nested(obj, "spec", "bundle", "name"); id != "" {
			out[id] = true
		}
		return nil
	})
	return out, err
}

// GetBinding reads one binding.
func (s *Store) GetBinding(ctx context.Context, id string) (*store.BindInstance, error) {
	obj, err := s.getObject(ctx, BundleBindings, id)
	if err != nil {
		return nil, err
	}
	return s.decodeBinding(ctx, obj)
}

func (s *Store) decodeBinding(ctx context.Context, obj *unstructured.Unstructured) (*store.BindInstance, error) {
	rc, err := s.mainRecord(ctx, BundleBindings, obj)
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, store.ErrNotFound
	}
	var b store.BindInstance
	if err := json.Unmarshal(rc.val, &b); err != nil {
		return nil, fmt.Errorf("bundlebinding %s: %w", obj.GetName(), err)
	}
	b.Revision = rc.rev
	return &b, nil
}

// ListBindings reads all bindings.
func (s *Store) ListBindings(ctx context.Context) ([]*store.BindInstance, error) {
	var out []*store.BindInstance
	err := s.listObjects(ctx, BundleBindings, func(obj *unstructured.Unstructured) error {
		b, err := s.decodeBinding(ctx, obj)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// ListSpecs reads every stored spec.
func (s *Store) ListSpecs(ctx context.Context) ([]*apb.Spec, error) {
	var out []*apb.Spec
	err := s.listObjects(ctx, Bundles, func(obj *unstructured.Unstructured) error {
		rc, err := s.mainRecord(ctx, Bundles, obj)
		if err != nil {
			s.log.Warn("skipping undecodable bundle", "name", obj.GetName(), "err", err)
			return nil
		}
		var sp apb.Spec
		if err := json.Unmarshal(rc.val, &sp); err != nil {
			s.log.Warn("skipping undecodable bundle", "name", obj.GetName(), "err", err)
			return nil
		}
		out = append(out, &sp)
		return nil
	})
	return out, err
}

// GetCredentials reads the credentials Secret of an instance or binding.
func (s *Store) GetCredentials(ctx context.Context, id string) (*store.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sec, err := s.kube.CoreV1().Secrets(s.ns).Get(ctx, objectName(id), metav1.GetOptions{})
	if err != nil {
		return nil, s.err(err)
	}
	rc, ok, err := credentialsRecord(sec, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	var c store.Credentials
	if err := json.Unmarshal(rc.val, &c); err != nil {
		return nil, err
	}
	c.Revision = rc.rev
	return &c, nil
}

// isCredentials reports whether a Secret is a credentials record (ours or
// the original's), not one of the namespace's other Secrets.
func isCredentials(sec *corev1.Secret) bool {
	l := sec.Labels
	return l[labelCredentials] != "" || l["bundleAction"] != "" || l["apbAction"] != ""
}

func credentialsRecord(sec *corev1.Secret, id string) (*rec, bool, error) {
	if !isCredentials(sec) {
		return nil, false, nil
	}
	if got := sec.Annotations[annID]; got != "" && got != id {
		return nil, false, nil
	}
	var creds map[string]any
	if err := fromJSONString(string(sec.Data["credentials"]), &creds); err != nil {
		return nil, false, fmt.Errorf("secret %s: credentials: %w", sec.Name, err)
	}
	b, err := json.Marshal(store.Credentials{Credentials: creds})
	if err != nil {
		return nil, false, err
	}
	rev := int64(0)
	fmt.Sscan(sec.Annotations[annRevision], &rev)
	if rev == 0 {
		fmt.Sscan(sec.ResourceVersion, &rev)
		rev = max(rev, 1)
	}
	return &rec{val: b, rev: rev}, true, nil
}

// GetJob reads one job of an instance or binding.
func (s *Store) GetJob(ctx context.Context, resourceID, token string) (*store.Job, error) {
	for _, r := range []schema.GroupVersionResource{BundleInstances, BundleBindings} {
		obj, err := s.getObject(ctx, r, resourceID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		jobs, err := jobRecords(obj)
		if err != nil {
			return nil, err
		}
		if rc, ok := jobs[token]; ok {
			return decodeJob(rc, resourceID, r == BundleBindings)
		}
	}
	return nil, store.ErrNotFound
}

func decodeJob(rc *rec, resourceID string, binding bool) (*store.Job, error) {
	var j store.Job
	if err := json.Unmarshal(rc.val, &j); err != nil {
		return nil, err
	}
	j.Revision = rc.rev
	if j.InstanceID == "" && j.BindingID == "" {
		if binding {
			j.BindingID = resourceID
		} else {
			j.InstanceID = resourceID
		}
	}
	return &j, nil
}

// InstanceJobs returns an instance's jobs, oldest first.
func (s *Store) InstanceJobs(ctx context.Context, id string) ([]*store.Job, error) {
	return s.jobsOf(ctx, BundleInstances, id)
}

// BindingJobs returns a binding's jobs, oldest first.
func (s *Store) BindingJobs(ctx context.Context, id string) ([]*store.Job, error) {
	return s.jobsOf(ctx, BundleBindings, id)
}

func (s *Store) jobsOf(ctx context.Context, r schema.GroupVersionResource, id string) ([]*store.Job, error) {
	obj, err := s.getObject(ctx, r, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return objectJobs(obj, r == BundleBindings, func(*store.Job) bool { return true })
}

func objectJobs(obj *unstructured.Unstructured, binding bool, keep func(*store.Job) bool) ([]*store.Job, error) {
	recs, err := jobRecords(obj)
	if err != nil {
		return nil, err
	}
	var out []*store.Job
	for _, rc := range recs {
		j, err := decodeJob(rc, recordID(obj), binding)
		if err != nil {
			return nil, err
		}
		if keep(j) {
			out = append(out, j)
		}
	}
	sortJobs(out)
	return out, nil
}

func sortJobs(js []*store.Job) {
	sort.SliceStable(js, func(a, b int) bool {
		if !js[a].CreatedAt.Equal(js[b].CreatedAt) {
			return js[a].CreatedAt.Before(js[b].CreatedAt)
		}
		return js[a].Token < js[b].Token
	})
}

// ListJobs returns every job record, oldest first.
func (s *Store) ListJobs(ctx context.Context) ([]*store.Job, error) {
	return s.listJobs(ctx, func(*store.Job) bool { return true }, nil)
}

// UnfinishedJobs returns every job not yet succeeded or failed.
func (s *Store) UnfinishedJobs(ctx context.Context) ([]*store.Job, error) {
	return s.listJobs(ctx, func(j *store.Job) bool { return !j.Finished() }, nil)
}

// listJobs reads the jobs of every instance and binding object; ids, if
// set, collects the ids of the live records by resource.
func (s *Store) listJobs(ctx context.Context, keep func(*store.Job) bool, ids map[schema.GroupVersionResource]map[string]bool) ([]*store.Job, error) {
	var out []*store.Job
	for _, r := range []schema.GroupVersionResource{BundleInstances, BundleBindings} {
		err := s.listObjects(ctx, r, func(obj *unstructured.Unstructured) error {
			if ids != nil && obj.GetAnnotations()[annRemoved] != "true" {
				ids[r][recordID(obj)] = true
			}
			js, err := objectJobs(obj, r == BundleBindings, keep)
			if err != nil {
				s.log.Warn("skipping undecodable job records", "resource", r.Resource, "name", obj.GetName(), "err", err)
				return nil
			}
			out = append(out, js...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sortJobs(out)
	return out, nil
}

// ReadIndex reads every job record with the ids of every instance and
// binding. Revision is 0: there is no store-wide revision here.
func (s *Store) ReadIndex(ctx context.Context) (*store.Index, error) {
	ix := &store.Index{Instances: map[string]bool{}, Bindings: map[string]bool{}}
	ids := map[schema.GroupVersionResource]map[string]bool{BundleInstances: ix.Instances, BundleBindings: ix.Bindings}
	jobs, err := s.listJobs(ctx, func(j *store.Job) bool {
		j.Parameters, j.Description, j.Error = nil, "", ""
		return true
	}, ids)
	if err != nil {
		return nil, err
	}
	ix.Jobs = jobs
	return ix, nil
}
