package crd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// secrets is where credentials records live.
var secrets = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// writeAttempts bounds the re-reads of one object whose resourceVersion
// changed between read and write while the records a Commit concerns did
// not (another record of the same object changed).
const writeAttempts = 20

// lop is an Op on one record of one object.
type lop struct {
	main  bool   // the object's record; else the job token's
	token string // job token
	val   []byte // nil deletes
	// cond: the record's revision must be rev (0: absent).
	cond bool
	rev  int64
	// setRev is the revision the written record gets (the Commit's stamp,
	// or the old revision when undoing).
	setRev int64
}

// group is the ops of a Commit on one object.
type group struct {
	res schema.GroupVersionResource
	id  string
	ops []lop
}

func (g *group) hasCond() bool {
	for _, o := range g.ops {
		if o.cond {
			return true
		}
	}
	return false
}

var order = map[schema.GroupVersionResource]int{BundleInstances: 0, BundleBindings: 1, Bundles: 2, secrets: 3}

// groups files ops by object: credentials Secrets first, so that the job
// record a reader takes as the outcome (last_operation) is written after
// them: who sees a deprovision succeeded sees its credentials gone, who
// sees a provision or bind done can read them; then conditional groups
// (instances before bindings, the instance being what "one mutation per
// instance" locks), so that a lost race is found before the other objects
// are written (a Secret already written is restored by the rollback).
func groups(ops []store.Op, stamp int64) ([]*group, error) {
	byKey := map[string]*group{}
	var out []*group
	add := func(r schema.GroupVersionResource, id string, o lop) {
		k := r.Resource + "/" + id
		g := byKey[k]
		if g == nil {
			g = &group{res: r, id: id}
			byKey[k] = g
			out = append(out, g)
		}
		o.setRev = stamp
		g.ops = append(g.ops, o)
	}
	for _, o := range ops {
		if o.Err() != nil {
			return nil, o.Err()
		}
		if o.CatalogSignal() {
			continue // one broker on this store: nobody follows its catalog
		}
		if o.Prefix() {
			return nil, fmt.Errorf("the CRD store has no prefix deletes (%s)", o.Key())
		}
		kind, id, token, err := store.ParseKey(o.Key())
		if err != nil {
			return nil, err
		}
		rev, cond := o.Condition()
		l := lop{main: true, val: o.Value(), cond: cond, rev: rev}
		switch kind {
		case store.KeySpec:
			add(Bundles, id, l)
		case store.KeyInstance:
			add(BundleInstances, id, l)
		case store.KeyBinding:
			add(BundleBindings, id, l)
		case store.KeyCredentials:
			add(secrets, id, l)
		case store.KeyJob:
			l.main, l.token = false, token
			if l.val == nil {
				if cond {
					return nil, fmt.Errorf("the CRD store has no conditional job deletes (%s)", o.Key())
				}
				// The key does not say whose: an instance's and a
				// binding's jobs share /state/<id>/.
				add(BundleInstances, id, l)
				add(BundleBindings, id, l)
				continue
			}
			var j store.Job
			if err := json.Unmarshal(l.val, &j); err != nil {
				return nil, fmt.Errorf("decoding %s: %w", o.Key(), err)
			}
			j.FillIDs(id)
			if j.ForBinding() {
				add(BundleBindings, id, l)
			} else {
				add(BundleInstances, id, l)
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if sa, sb := out[a].res == secrets, out[b].res == secrets; sa != sb {
			return sa
		}
		ca, cb := out[a].hasCond(), out[b].hasCond()
		if ca != cb {
			return ca
		}
		if order[out[a].res] != order[out[b].res] {
			return order[out[a].res] < order[out[b].res]
		}
		return out[a].id < out[b].id
	})
	return out, nil
}

// stamps makes revisions: nanoseconds since the epoch, strictly increasing
// in this process. Compares are for equality, so a stamp only has to
// differ from every revision a record had; the original's records read
// with their object's resourceVersion, which is many orders smaller.
type stamps struct {
	mu   sync.Mutex
	last int64
}

func (st *stamps) next() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.last = max(st.last+1, time.Now().UnixNano())
	return st.last
}

var stamper stamps

// Commit applies ops: every compare is checked against the records as
// read before anything is written; each object is then written on the
// condition of its resourceVersion. When an object changed between read
// and write, it is read again and the compares checked again: a change of
// other records of it is no conflict. When a compare fails after other
// objects were written, those are restored (each on the condition that
// its records still carry this Commit's stamp) and ErrConflict returned.
func (s *Store) Commit(ctx context.Context, ops ...store.Op) (int64, error) {
	stamp := stamper.next()
	gs, err := groups(ops, stamp)
	if err != nil {
		return 0, err
	}
	var done []*group
	for _, g := range gs {
		undo, err := s.apply(ctx, g)
		if err != nil {
			if rerr := s.rollback(ctx, done); rerr != nil {
				return 0, fmt.Errorf("%w; undoing the part already written failed, the state is partly changed: %v", err, rerr)
			}
			return 0, err
		}
		if undo != nil {
			done = append(done, undo)
		}
	}
	return stamp, nil
}

// rollback restores what groups wrote, newest first.
func (s *Store) rollback(ctx context.Context, done []*group) error {
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		if _, err := s.apply(context.WithoutCancel(ctx), done[i]); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", done[i].res.Resource, done[i].id, err))
		}
	}
	return errors.Join(errs...)
}

// CommitBatched applies unconditional ops in commits of at most 100.
func (s *Store) CommitBatched(ctx context.Context, ops []store.Op) error {
	for len(ops) > 0 {
		n := min(len(ops), 100)
		if _, err := s.Commit(ctx, ops[:n]...); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// contents is an object's records.
type contents struct {
	main *rec
	jobs map[string]*rec
	// foreign: a Secret of that name that is no credentials record. It
	// reads as absent, deletes leave it alone, puts are refused.
	foreign string
}

func (c *contents) get(o lop) *rec {
	if o.main {
		return c.main
	}
	return c.jobs[o.token]
}

func (c *contents) put(o lop, r *rec) {
	if o.main {
		c.main = r
		return
	}
	if r == nil {
		delete(c.jobs, o.token)
		return
	}
	c.jobs[o.token] = r
}

// apply writes one group's ops to its object and returns the group that
// undoes them (nil when nothing changed).
func (s *Store) apply(ctx context.Context, g *group) (*group, error) {
	for range writeAttempts {
		obj, err := s.readRaw(ctx, g.res, g.id)
		if err != nil {
			return nil, err
		}
		c, err := s.readContents(ctx, g.res, obj, g.id)
		if err != nil {
			return nil, err
		}
		if c.foreign != "" {
			for _, o := range g.ops {
				if o.val != nil {
					return nil, errors.New(c.foreign)
				}
			}
			return nil, nil
		}
		undo := &group{res: g.res, id: g.id}
		changedMain, changedJobs := false, map[string]bool{}
		for _, o := range g.ops {
			cur := c.get(o)
			curRev := int64(0)
			if cur != nil {
				curRev = cur.rev
			}
			if o.cond && curRev != o.rev {
				return nil, store.ErrConflict
			}
			if o.val == nil && cur == nil {
				continue
			}
			// The undo applies while the record is as this write left it:
			// carrying this Commit's stamp, or absent after a delete.
			u := lop{main: o.main, token: o.token, cond: true, rev: o.setRev}
			if o.val == nil {
				u.rev = 0
			}
			if cur != nil {
				u.val, u.setRev = cur.val, cur.rev
			}
			undo.ops = append([]lop{u}, undo.ops...)
			if o.val == nil {
				c.put(o, nil)
			} else {
				c.put(o, &rec{val: o.val, rev: o.setRev})
			}
			if o.main {
				changedMain = true
			} else {
				changedJobs[o.token] = true
			}
		}
		if len(undo.ops) == 0 {
			return nil, nil
		}
		err = s.write(ctx, g.res, g.id, obj, c, changedMain, changedJobs)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, s.err(err)
		}
		return undo, nil
	}
	return nil, fmt.Errorf("%w: %s %s kept changing", store.ErrUnavailable, g.res.Resource, g.id)
}

// readRaw reads an object (nil when absent). A digest-named object of
// another id is refused: ids never share an object.
func (s *Store) readRaw(ctx context.Context, r schema.GroupVersionResource, id string) (*unstructured.Unstructured, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	obj, err := s.dyn.Resource(r).Namespace(s.ns).Get(cctx, objectName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, s.err(err)
	}
	if got := recordID(obj); got != id {
		return nil, fmt.Errorf("%s %s holds the record of another id (%q)", r.Resource, obj.GetName(), got)
	}
	return obj, nil
}

func (s *Store) readContents(ctx context.Context, r schema.GroupVersionResource, obj *unstructured.Unstructured, id string) (*contents, error) {
	c := &contents{jobs: map[string]*rec{}}
	if obj == nil {
		return c, nil
	}
	if r == secrets {
		var sec corev1.Secret
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &sec); err != nil {
			return nil, err
		}
		if !isCredentials(&sec) {
			c.foreign = fmt.Sprintf("secret %s/%s exists and is not a credentials record: refusing to overwrite it", s.ns, sec.Name)
			return c, nil
		}
		rc, _, err := credentialsRecord(&sec, id)
		c.main = rc
		return c, err
	}
	var err error
	if c.main, err = s.mainRecord(ctx, r, obj); err != nil {
		return nil, err
	}
	if r != Bundles {
		if c.jobs, err = jobRecords(obj); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// write renders the records into the object and writes it on the
// condition of the resourceVersion read: created, updated, or deleted once
// it holds no record.
func (s *Store) write(ctx context.Context, r schema.GroupVersionResource, id string, obj *unstructured.Unstructured, c *contents, changedMain bool, changedJobs map[string]bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ri := s.dyn.Resource(r).Namespace(s.ns)
	if c.main == nil && len(c.jobs) == 0 {
		if obj == nil {
			return nil
		}
		rv := obj.GetResourceVersion()
		return ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	}
	next := obj
	if obj == nil {
		next = &unstructured.Unstructured{Object: map[string]any{}}
		if r == secrets {
			next.SetAPIVersion("v1")
			next.SetKind("Secret")
		} else {
			next.SetAPIVersion(Group + "/" + Version)
			next.SetKind(kinds[r])
		}
		next.SetName(objectName(id))
		next.SetNamespace(s.ns)
		if next.GetName() != id {
			setAnnotation(next, annID, id)
		}
	} else {
		next = obj.DeepCopy()
	}
	if err := render(r, next, c, changedMain, changedJobs); err != nil {
		return err
	}
	if obj == nil {
		_, err := ri.Create(ctx, next, metav1.CreateOptions{})
		return err
	}
	_, err := ri.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

func setAnnotation(obj *unstructured.Unstructured, k, v string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	if v == "" {
		delete(a, k)
	} else {
		a[k] = v
	}
	obj.SetAnnotations(a)
}

func render(r schema.GroupVersionResource, obj *unstructured.Unstructured, c *contents, changedMain bool, changedJobs map[string]bool) error {
	if r == secrets {
		var cr store.Credentials
		if err := json.Unmarshal(c.main.val, &cr); err != nil {
			return err
		}
		b, err := json.Marshal(cr.Credentials)
		if err != nil {
			return err
		}
		set(obj, map[string]any{"credentials": base64.StdEncoding.EncodeToString(b)}, "data")
		set(obj, "Opaque", "type")
		l := obj.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[labelCredentials] = "true"
		obj.SetLabels(l)
		setAnnotation(obj, annRevision, strconv.FormatInt(c.main.rev, 10))
		return nil
	}
	switch {
	case c.main == nil:
		// Job records without their instance or binding (it was deleted,
		// or never written): the object only holds them.
		setAnnotation(obj, annRemoved, "true")
		unstructured.RemoveNestedField(obj.Object, "spec", fieldOurs)
	case changedMain:
		setAnnotation(obj, annRemoved, "")
		if err := renderMain(r, obj, c.main); err != nil {
			return err
		}
	}
	if len(changedJobs) == 0 {
		return nil
	}
	jobs, _, _ := unstructured.NestedMap(obj.Object, "status", "jobs")
	if jobs == nil {
		jobs = map[string]any{}
	}
	var latest map[string]any
	for token := range changedJobs {
		rc := c.jobs[token]
		if rc == nil {
			delete(jobs, token)
			continue
		}
		e, err := jobEntry(rc)
		if err != nil {
			return err
		}
		jobs[token] = e
		if latest == nil || str(e["lastModifiedTime"]) > str(latest["lastModifiedTime"]) {
			latest = e
		}
	}
	if err := unstructured.SetNestedMap(obj.Object, jobs, "status", "jobs"); err != nil {
		return err
	}
	if latest != nil {
		set(obj, latest["state"], "status", "state")
		set(obj, str(latest["description"]), "status", "lastDescription")
	}
	return nil
}

// renderMain writes a record: ours in spec.osb, the original's fields
// beside it.
func renderMain(r schema.GroupVersionResource, obj *unstructured.Unstructured, rc *rec) error {
	o, err := encodeOurs(rc)
	if err != nil {
		return err
	}
	switch r {
	case Bundles:
		var sp apb.Spec
		if err := json.Unmarshal(rc.val, &sp); err != nil {
			return err
		}
		err = specFields(obj, &sp)
	case BundleInstances:
		var in store.ServiceInstance
		if err := json.Unmarshal(rc.val, &in); err != nil {
			return err
		}
		err = instanceFields(obj, &in)
	case BundleBindings:
		var b store.BindInstance
		if err := json.Unmarshal(rc.val, &b); err != nil {
			return err
		}
		err = bindingFields(obj, &b)
	}
	if err != nil {
		return err
	}
	set(obj, o, "spec", fieldOurs)
	if _, ok, _ := unstructured.NestedMap(obj.Object, "status"); !ok && r != Bundles {
		set(obj, map[string]any{}, "status", "jobs")
	}
	return nil
}
