package store

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Keys through which replicas tell each other about the catalog (ours).
const (
	// keyCatalog changes with every change of the stored specs: replicas
	// that did not make it reload the catalog.
	keyCatalog = "/osb/catalog"
	// keyBootstrapRequest exists while a bootstrap was asked for (POST
	// /v2/bootstrap on any replica) and the leader has not served it.
	keyBootstrapRequest = "/osb/bootstrap_request"
)

// changes signals on the returned channel (coalesced) once when it starts
// watching, then after every event under key (every key under it, with
// prefix) that keep accepts, until ctx ends. A watch that breaks
// (compaction, etcd unreachable) signals again once it is back: something
// may have been missed. It never closes the channel.
//
// The watch starts right after a read: what changed before that read, the
// caller finds by reading after the first signal; what changed after it
// comes as events.
func (s *Store) changes(ctx context.Context, key string, prefix bool, keep func(*clientv3.Event) bool) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			rctx, cancel := context.WithTimeout(ctx, s.timeout)
			resp, err := s.cli.Get(rctx, key, clientv3.WithCountOnly())
			cancel()
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			signal()
			opts := []clientv3.OpOption{clientv3.WithRev(resp.Header.Revision + 1)}
			if prefix {
				opts = append(opts, clientv3.WithPrefix())
			}
			wctx, stop := context.WithCancel(clientv3.WithRequireLeader(ctx))
			for wr := range s.cli.Watch(wctx, key, opts...) {
				if wr.Err() != nil {
					break
				}
				for _, ev := range wr.Events {
					if keep == nil || keep(ev) {
						signal()
						break
					}
				}
			}
			stop()
		}
	}()
	return out
}

// CatalogChanged is the Op that tells the other replicas the stored specs
// changed; commit it with (or after) the spec changes.
func CatalogChanged() Op {
	return put(keyCatalog, time.Now().UTC().Format(time.RFC3339Nano))
}

// CatalogSignal reports whether o is CatalogChanged's: a signal to the
// replicas following the store, not a record. A store without replicas
// (the CRD store) leaves it out.
func (o Op) CatalogSignal() bool { return o.key == keyCatalog }

// CatalogChanges signals once at first, then each time a replica changed
// the stored specs (CatalogChanged).
func (s *Store) CatalogChanges(ctx context.Context) <-chan struct{} {
	return s.changes(ctx, keyCatalog, false, nil)
}

// RequestBootstrap asks the leader for a bootstrap of the catalog.
func (s *Store) RequestBootstrap(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.cli.Put(ctx, keyBootstrapRequest, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return unavailable("asking for a bootstrap", err)
	}
	return nil
}

// BootstrapRequests signals once at first, then after each request.
func (s *Store) BootstrapRequests(ctx context.Context) <-chan struct{} {
	return s.changes(ctx, keyBootstrapRequest, false, func(ev *clientv3.Event) bool { return ev.Type == clientv3.EventTypePut })
}

// PendingBootstrap returns the revision of the request not yet served, 0
// when there is none.
func (s *Store) PendingBootstrap(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, keyBootstrapRequest)
	if err != nil {
		return 0, unavailable("reading bootstrap requests", err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	return resp.Kvs[0].ModRevision, nil
}

// BootstrapServed removes the request of revision rev, unless it was
// asked again since: then it stays for the next bootstrap.
func (s *Store) BootstrapServed(ctx context.Context, rev int64) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(keyBootstrapRequest), "=", rev)).
		Then(clientv3.OpDelete(keyBootstrapRequest)).
		Commit()
	if err != nil {
		return unavailable("marking the bootstrap request served", err)
	}
	return nil
}
