package broker

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// PushRegistry is the registry name of specs pushed through the dev
// endpoint POST /v2/apb, as the Automation Broker named it.
const PushRegistry = "apb-push"

// BootstrapResult is what a bootstrap found.
type BootstrapResult struct {
	SpecCount int           `json:"spec_count"`
	Duration  time.Duration `json:"-"`
}

func (b *Broker) convertOptions() apb.ConvertOptions {
	return apb.ConvertOptions{LaunchAPBOnBind: b.o.LaunchAPBOnBind}
}

// specOptions are convertOptions for one spec: its secrets: rules' keys
// hidden (under specsMu).
func (b *Broker) specOptions(sp *apb.Spec) apb.ConvertOptions {
	o := b.convertOptions()
	o.HiddenParams = b.hidden[sp.FQName]
	return o
}

// readHidden reads the keys of every source a secrets: rule maps, by
// bundle. A source that cannot be read hides nothing, with a warning, as
// the Automation Broker did ("Unable to load secret"); the bundle's
// action would then fail to mount it and say so.
func (b *Broker) readHidden(ctx context.Context) map[string]map[string]bool {
	if b.o.SecretKeys == nil || len(b.o.Secrets) == 0 {
		return nil
	}
	out := map[string]map[string]bool{}
	keysOf := map[string][]string{}
	for _, r := range b.o.Secrets {
		if r.Secret == "" || r.APBName == "" {
			continue
		}
		keys, ok := keysOf[r.Secret]
		if !ok {
			var err error
			if keys, err = b.o.SecretKeys(ctx, r.Secret); err != nil {
				b.log.Warn("secrets rule: cannot read the mapped secret's keys; its parameters stay in the catalog",
					"rule", r.Title, "bundle", r.APBName, "secret", r.Secret, "err", err)
			}
			keysOf[r.Secret] = keys
		}
		for _, k := range keys {
			if out[r.APBName] == nil {
				out[r.APBName] = map[string]bool{}
			}
			out[r.APBName][k] = true
		}
	}
	return out
}

// loadStoredSpecs serves what etcd holds until the first bootstrap ends.
func (b *Broker) loadStoredSpecs(ctx context.Context) error {
	specs, err := b.st.ListSpecs(ctx)
	if err != nil {
		return fmt.Errorf("loading stored specs: %w", err)
	}
	b.specsMu.Lock()
	defer b.specsMu.Unlock()
	for _, sp := range specs {
		raw, _ := json.Marshal(sp)
		b.stored[sp.ID] = sha256.Sum256(raw)
		b.specs[sp.ID] = sp
	}
	b.hidden = b.readHidden(ctx)
	return b.rebuildLocked()
}

// ReloadSpecs serves the specs stored now, when they differ from those
// served: another replica bootstrapped, or a developer pushed or deleted
// a spec through it. It reports whether the catalog changed.
func (b *Broker) ReloadSpecs(ctx context.Context) (bool, error) {
	hidden := b.readHidden(ctx)
	// The specs are listed under the lock this replica's own pushes and
	// deletes hold while they commit: a list read before one of them and
	// applied after it would bring back what it just removed.
	b.specsMu.Lock()
	defer b.specsMu.Unlock()
	specs, err := b.st.ListSpecs(ctx)
	if err != nil {
		return false, fmt.Errorf("reloading stored specs: %w", err)
	}
	stored := make(map[string][sha256.Size]byte, len(specs))
	byID := make(map[string]*apb.Spec, len(specs))
	for _, sp := range specs {
		raw, _ := json.Marshal(sp)
		stored[sp.ID], byID[sp.ID] = sha256.Sum256(raw), sp
	}
	if maps.Equal(stored, b.stored) && reflect.DeepEqual(hidden, b.hidden) {
		return false, nil
	}
	b.stored, b.specs, b.hidden = stored, byID, hidden
	return true, b.rebuildLocked()
}

// rebuildLocked builds the catalog from b.specs and swaps it in.
func (b *Broker) rebuildLocked() error {
	list := make([]*apb.Spec, 0, len(b.specs))
	for _, sp := range b.specs {
		list = append(list, sp)
	}
	c, err := buildCatalog(list, b.specOptions, b.log)
	if err != nil {
		return err
	}
	b.catalog.Store(c)
	b.catalogSize.Set(float64(c.count))
	return nil
}

// Bootstrap asks the registries for their bundles, stores what changed,
// marks vanished specs for deletion (deleting those no instance uses) and
// swaps the catalog in one step. Concurrent calls run one after another.
func (b *Broker) Bootstrap(ctx context.Context) (*BootstrapResult, error) {
	b.bootMu.Lock()
	defer b.bootMu.Unlock()
	start := time.Now()
	var found []*apb.Spec
	if b.o.Discover != nil {
		var err error
		if found, err = b.o.Discover(ctx); err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	inUse, err := b.st.InstanceSpecIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: reading instances: %w", err)
	}

	hidden := b.readHidden(ctx)
	b.specsMu.Lock()
	defer b.specsMu.Unlock()
	next := map[string]*apb.Spec{}
	for _, sp := range found {
		next[sp.ID] = sp
	}
	for id, sp := range b.specs {
		if _, ok := next[id]; ok {
			continue
		}
		switch {
		case sp.Registry == PushRegistry && !sp.Delete:
			next[id] = sp // pushed by a developer: not the registries' to remove
		case inUse[id]:
			gone := *sp
			gone.Delete = true
			next[id] = &gone
		}
	}
	var ops []store.Op
	written := map[string][sha256.Size]byte{}
	for id, sp := range next {
		raw, err := json.Marshal(sp)
		if err != nil {
			return nil, fmt.Errorf("encoding spec %s: %w", sp.FQName, err)
		}
		sum := sha256.Sum256(raw)
		if b.stored[id] != sum {
			ops = append(ops, store.PutSpec(sp))
		}
		written[id] = sum
	}
	for id := range b.stored {
		if _, ok := next[id]; !ok {
			ops = append(ops, store.DeleteSpec(id))
		}
	}
	changed := len(ops)
	hiddenChanged := !reflect.DeepEqual(hidden, b.hidden)
	if changed > 0 || hiddenChanged {
		// Last, in the last batch: the other replicas reload (specs and
		// hidden parameters) once the whole catalog is stored.
		ops = append(ops, store.CatalogChanged())
	}
	if err := b.st.CommitBatched(ctx, ops); err != nil {
		return nil, fmt.Errorf("bootstrap: storing specs: %w", err)
	}
	b.stored, b.specs = written, next
	// With nothing written and the same parameters hidden, every spec
	// converts as the served catalog's did: rebuilding it (conversion,
	// JSON, gzip) would change nothing.
	b.hidden = hidden
	if changed > 0 || hiddenChanged || b.cat() == nil {
		if err := b.rebuildLocked(); err != nil {
			return nil, err
		}
	}
	res := &BootstrapResult{SpecCount: b.cat().count, Duration: time.Since(start)}
	b.log.Info("bootstrap done", "specs", res.SpecCount, "changed", changed, "duration", res.Duration)
	return res, nil
}

// PushSpec stores a spec pushed by a bundle developer (POST /v2/apb, the
// form field apbSpec: an apb.yml encoded as the spec label is) and returns
// its service.
func (b *Broker) PushSpec(ctx context.Context, apbSpec string) (*osbapi.Service, error) {
	apbYML, err := apb.DecodeLabel(apbSpec)
	if err != nil {
		return nil, osbapi.BadRequest("Invalid parameter encoding: %v", err)
	}
	sp, err := apb.Parse(apbYML, "apbSpec")
	if err != nil {
		return nil, osbapi.BadRequest("invalid apbSpec: %v", err)
	}
	sp.Runtime = 2
	sp.Finish(PushRegistry, "")
	sp.Image = sp.FQName
	svc, err := apb.ToService(sp, b.convertOptions())
	if err != nil {
		return nil, osbapi.BadRequest("invalid apbSpec: %v", err)
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	b.specsMu.Lock()
	defer b.specsMu.Unlock()
	if _, err := b.st.Commit(ctx, store.PutSpec(sp), store.CatalogChanged()); err != nil {
		return nil, storeErr(err, "storing spec")
	}
	b.stored[sp.ID], b.specs[sp.ID] = sha256.Sum256(raw), sp
	if err := b.rebuildLocked(); err != nil {
		return nil, err
	}
	if b.cat().byID[sp.ID] == nil {
		return nil, errors.New("pushed spec did not reach the catalog")
	}
	return &svc, nil
}

// DeleteSpecs removes specs by id, as the dev endpoint DELETE
// /v2/apb/{id} does; unknown ids are osbapi.NotFound. Without ids
// (DELETE /v2/apb) it removes the specs developers pushed (POST /v2/apb),
// not the registries' bundles: the Automation Broker emptied the whole
// catalog there, which platforms saw as every service withdrawn until
// the next bootstrap brought them back. A registry bundle can still be
// removed by its id.
func (b *Broker) DeleteSpecs(ctx context.Context, ids ...string) error {
	b.specsMu.Lock()
	defer b.specsMu.Unlock()
	if len(ids) == 0 {
		for id, sp := range b.specs {
			if sp.Registry == PushRegistry {
				ids = append(ids, id)
			}
		}
	}
	var ops []store.Op
	for _, id := range ids {
		if _, ok := b.specs[id]; !ok {
			return osbapi.NotFound("spec %q does not exist", id)
		}
		ops = append(ops, store.DeleteSpec(id))
	}
	if len(ops) > 0 {
		ops = append(ops, store.CatalogChanged())
	}
	if err := b.st.CommitBatched(ctx, ops); err != nil {
		return storeErr(err, "deleting specs")
	}
	for _, id := range ids {
		delete(b.specs, id)
		delete(b.stored, id)
	}
	return b.rebuildLocked()
}
