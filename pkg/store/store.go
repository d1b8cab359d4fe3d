package store

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// Config says which etcd to use.
type Config struct {
	// Endpoints of an external cluster; empty starts an embedded etcd.
	Endpoints []string
	CAFile    string
	CertFile  string
	KeyFile   string
	// DataDir of the embedded etcd.
	DataDir string
	// QuotaBytes caps the embedded etcd's database (default
	// DefaultQuotaBytes); writes beyond it fail with ErrNoSpace until
	// Maintain frees space.
	QuotaBytes int64
	// RequestTimeout bounds every call (default 5 s).
	RequestTimeout time.Duration
}

// Store is the etcd-backed state.
type Store struct {
	cli     *clientv3.Client
	embed   *embed.Etcd
	timeout time.Duration
	log     *slog.Logger
	// socket is the embedded etcd's unix socket ("" when none).
	socket string
	// quota is the embedded etcd's backend quota (0 for an external one).
	quota int64
	// noSpace is signalled when a write is refused for lack of space, so
	// that maintenance runs at once rather than at its next tick.
	noSpace chan struct{}
}

// Open connects to an external etcd, or starts an embedded one in DataDir.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{timeout: cfg.RequestTimeout, log: log, noSpace: make(chan struct{}, 1)}
	if s.timeout == 0 {
		s.timeout = 5 * time.Second
	}
	if len(cfg.Endpoints) == 0 {
		if err := s.startEmbedded(ctx, cfg); err != nil {
			return nil, err
		}
		return s, nil
	}
	if cfg.CertFile == "" {
		log.Warn("the external etcd is used without a client certificate (dao.etcd_client_cert): "+
			"whoever can reach it can read and change every instance's parameters", "endpoint", cfg.Endpoints[0])
	}
	tlsCfg, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: s.timeout,
		TLS:         tlsCfg,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd %v: %w", cfg.Endpoints, err)
	}
	s.cli = cli
	if err := s.Healthy(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %v: %w", cfg.Endpoints, err)
	}
	return s, nil
}

func clientTLS(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("dao.etcd_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("dao.etcd_ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if cfg.CertFile != "" && cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("dao.etcd_client_cert/etcd_client_key: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// Close stops the client and the embedded etcd, if any.
func (s *Store) Close() error {
	err := s.cli.Close()
	if s.embed != nil {
		s.embed.Close()
	}
	return err
}

// Healthy checks etcd answers a read.
func (s *Store) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.cli.Get(ctx, "/health", clientv3.WithCountOnly()); err != nil {
		return s.storeErr(err)
	}
	return nil
}

// BrokerID returns the identity of the brokers sharing this store, made
// on first use. Runtimes label what they create with it, so that brokers
// with stores of their own can share a cluster without reaping each
// other's sandboxes.
func (s *Store) BrokerID(ctx context.Context) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a broker id: %w", err)
	}
	fresh := "osb-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// Create-if-absent in one transaction: replicas starting together
	// agree on the first id written.
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(keyBrokerID), "=", 0)).
		Then(clientv3.OpPut(keyBrokerID, fresh)).
		Else(clientv3.OpGet(keyBrokerID)).
		Commit()
	if err != nil {
		return "", s.storeErr(err)
	}
	if resp.Succeeded {
		return fresh, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 || len(kvs[0].Value) == 0 {
		return "", fmt.Errorf("%s is empty", keyBrokerID)
	}
	return string(kvs[0].Value), nil
}

// storeErr classifies an etcd failure: a write refused for lack of space
// (ErrNoSpace, which also wakes maintenance), a request etcd will never
// take (ErrTooLarge), or etcd not answering (ErrUnavailable).
func (s *Store) storeErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case isNoSpace(err):
		select {
		case s.noSpace <- struct{}{}:
		default:
		}
		return fmt.Errorf("%w: %v", ErrNoSpace, err)
	case isTooLarge(err):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrGRPCTooManyOps):
		// The broker's own fault (a transaction it made too large), not
		// etcd's unavailability.
		return fmt.Errorf("etcd refused the transaction: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func isNoSpace(err error) bool {
	return errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace) ||
		strings.Contains(err.Error(), "database space exceeded")
}

// isTooLarge: etcd's request limit (--max-request-bytes), or gRPC's
// message limit on either side.
func isTooLarge(err error) bool {
	return errors.Is(err, rpctypes.ErrRequestTooLarge) || errors.Is(err, rpctypes.ErrGRPCRequestTooLarge) ||
		strings.Contains(err.Error(), "request is too large") ||
		strings.Contains(err.Error(), "message larger than max")
}

func (s *Store) get(ctx context.Context, key string, v any) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return 0, s.storeErr(err)
	}
	if len(resp.Kvs) == 0 {
		return 0, ErrNotFound
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, v); err != nil {
		return 0, fmt.Errorf("decoding %s: %w", key, err)
	}
	return resp.Kvs[0].ModRevision, nil
}

// list calls fn for every value under prefix.
func (s *Store) list(ctx context.Context, prefix string, fn func(key string, rev int64, value []byte) error) error {
	_, err := s.listAt(ctx, prefix, 0, false, fn)
	return err
}

// listAt calls fn for every key (and value, unless keysOnly) under prefix
// as of revision rev (0: the current one), and returns the revision read.
func (s *Store) listAt(ctx context.Context, prefix string, rev int64, keysOnly bool, fn func(key string, rev int64, value []byte) error) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(rev)}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return 0, s.storeErr(err)
	}
	for _, kv := range resp.Kvs {
		if err := fn(string(kv.Key), kv.ModRevision, kv.Value); err != nil {
			return 0, err
		}
	}
	return resp.Header.Revision, nil
}

// GetInstance reads one instance.
func (s *Store) GetInstance(ctx context.Context, id string) (*ServiceInstance, error) {
	var in ServiceInstance
	rev, err := s.get(ctx, instanceKey(id), &in)
	if err != nil {
		return nil, err
	}
	in.Revision = rev
	return &in, nil
}

// ListInstances reads all instances.
func (s *Store) ListInstances(ctx context.Context) ([]*ServiceInstance, error) {
	var out []*ServiceInstance
	_, err := s.scanAt(ctx, prefixInstance, 0, func(key string, rev int64, v []byte) error {
		var in ServiceInstance
		if err := json.Unmarshal(v, &in); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		in.Revision = rev
		out = append(out, &in)
		return nil
	})
	return out, err
}

// scanPage is how many records scan reads per request.
const scanPage = 256

// scan calls fn for every key and value under prefix, read page by page at
// one revision, so that a scan of many large records (instances carry
// their bundle's whole spec) never holds them all at once.
func (s *Store) scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	_, err := s.scanAt(ctx, prefix, 0, func(key string, _ int64, v []byte) error { return fn(key, v) })
	return err
}

// scanAt is scan at revision rev (0: the current one), with each record's
// ModRevision; it returns the revision read.
func (s *Store) scanAt(ctx context.Context, prefix string, rev int64, fn func(key string, modRev int64, value []byte) error) (int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	for {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		resp, err := s.cli.Get(cctx, key, clientv3.WithRange(end), clientv3.WithLimit(scanPage), clientv3.WithRev(rev))
		cancel()
		if err != nil {
			return 0, s.storeErr(err)
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			if err := fn(string(kv.Key), kv.ModRevision, kv.Value); err != nil {
				return 0, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// InstanceSpecIDs returns the ids of the bundle specs instances use,
// decoding nothing else of them.
func (s *Store) InstanceSpecIDs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.scan(ctx, prefixInstance, func(key string, v []byte) error {
		var in struct {
			Spec *struct {
				ID string `json:"id"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(v, &in); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		if in.Spec != nil {
			out[in.Spec.ID] = true
		}
		return nil
	})
	return out, err
}

// GetBinding reads one binding.
func (s *Store) GetBinding(ctx context.Context, id string) (*BindInstance, error) {
	var b BindInstance
	rev, err := s.get(ctx, bindingKey(id), &b)
	if err != nil {
		return nil, err
	}
	b.Revision = rev
	return &b, nil
}

// GetCredentials reads the credentials extracted for an instance or binding.
func (s *Store) GetCredentials(ctx context.Context, id string) (*Credentials, error) {
	var c Credentials
	rev, err := s.get(ctx, credentialsKey(id), &c)
	if err != nil {
		return nil, err
	}
	c.Revision = rev
	return &c, nil
}

// GetJob reads one job of a resource (instance or binding id).
func (s *Store) GetJob(ctx context.Context, resourceID, token string) (*Job, error) {
	var j Job
	rev, err := s.get(ctx, JobKey(resourceID, token), &j)
	if err != nil {
		return nil, err
	}
	j.Revision = rev
	j.fillIDs(resourceID)
	return &j, nil
}

// fillIDs files an Automation Broker record, which names no instance or
// binding, under the id of its key: a binding's for bind and unbind.
func (j *Job) fillIDs(resourceID string) {
	if j.InstanceID != "" || j.BindingID != "" {
		return
	}
	if j.Method == "bind" || j.Method == "unbind" {
		j.BindingID = resourceID
	} else {
		j.InstanceID = resourceID
	}
}

// InstanceJobs returns an instance's jobs, oldest first.
func (s *Store) InstanceJobs(ctx context.Context, instanceID string) ([]*Job, error) {
	return s.jobsOf(ctx, instanceID, false)
}

// BindingJobs returns a binding's jobs, oldest first.
func (s *Store) BindingJobs(ctx context.Context, bindingID string) ([]*Job, error) {
	return s.jobsOf(ctx, bindingID, true)
}

// jobsOf lists the jobs under /state/<id>/ that are the instance's (or
// the binding's): in the Automation Broker's layout an instance and a
// binding of the same id file their jobs under the same prefix.
func (s *Store) jobsOf(ctx context.Context, id string, binding bool) ([]*Job, error) {
	var out []*Job
	err := s.list(ctx, jobsPrefix(id), func(key string, rev int64, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		j.Revision = rev
		j.fillIDs(id)
		if j.ForBinding() == binding {
			out = append(out, &j)
		}
		return nil
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].CreatedAt.Before(out[b].CreatedAt) })
	return out, err
}

// ListJobs returns every job record, oldest first. Records whose key is
// not /state/<escaped id>/job/<escaped token> (written by hand, or before
// ids were escaped) or whose value does not decode are skipped with a
// warning: they cannot be told apart from another id's.
func (s *Store) ListJobs(ctx context.Context) ([]*Job, error) {
	out, _, err := s.listJobs(ctx, func(*Job) bool { return true })
	return out, err
}

// UnfinishedJobs returns every job not yet succeeded or failed, oldest
// first.
func (s *Store) UnfinishedJobs(ctx context.Context) ([]*Job, error) {
	out, _, err := s.listJobs(ctx, func(j *Job) bool { return !j.Finished() })
	return out, err
}

// listJobs reads the job records page by page and keeps those keep
// accepts; it returns the revision it read at.
func (s *Store) listJobs(ctx context.Context, keep func(*Job) bool) ([]*Job, int64, error) {
	var out []*Job
	rev, err := s.scanAt(ctx, prefixState, 0, func(key string, rev int64, v []byte) error {
		id, _, err := parseJobKey(key)
		if err != nil {
			s.log.Warn("skipping a job record under an unexpected key", "key", key, "err", err)
			return nil
		}
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			s.log.Warn("skipping undecodable job record", "key", key, "err", err)
			return nil
		}
		j.Revision = rev
		j.fillIDs(id)
		if keep(&j) {
			out = append(out, &j)
		}
		return nil
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].CreatedAt.Before(out[b].CreatedAt) })
	return out, rev, err
}

// Index is every job record with the ids of every instance and binding,
// read at one revision: what pruning decides on. It holds no instance or
// binding record (those carry whole bundle specs).
type Index struct {
	Revision  int64
	Jobs      []*Job // oldest first
	Instances map[string]bool
	Bindings  map[string]bool
}

// ReadIndex reads the Index. Its jobs carry no parameters, description
// or error: pruning decides on states, methods and times.
func (s *Store) ReadIndex(ctx context.Context) (*Index, error) {
	jobs, rev, err := s.listJobs(ctx, func(j *Job) bool {
		j.Parameters, j.Description, j.Error = nil, "", ""
		return true
	})
	if err != nil {
		return nil, err
	}
	ix := &Index{Revision: rev, Jobs: jobs, Instances: map[string]bool{}, Bindings: map[string]bool{}}
	for prefix, ids := range map[string]map[string]bool{prefixInstance: ix.Instances, prefixBinding: ix.Bindings} {
		_, err := s.listAt(ctx, prefix, rev, true, func(key string, _ int64, _ []byte) error {
			id, err := unescape(strings.TrimPrefix(key, prefix))
			if err != nil {
				s.log.Warn("skipping a record under an unexpected key", "key", key, "err", err)
				return nil
			}
			ids[id] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// ListBindings reads all bindings.
func (s *Store) ListBindings(ctx context.Context) ([]*BindInstance, error) {
	var out []*BindInstance
	_, err := s.scanAt(ctx, prefixBinding, 0, func(key string, rev int64, v []byte) error {
		var b BindInstance
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		b.Revision = rev
		out = append(out, &b)
		return nil
	})
	return out, err
}

// ListSpecs reads every stored spec.
func (s *Store) ListSpecs(ctx context.Context) ([]*apb.Spec, error) {
	var out []*apb.Spec
	err := s.list(ctx, prefixSpec, func(key string, _ int64, v []byte) error {
		var sp apb.Spec
		if err := json.Unmarshal(v, &sp); err != nil {
			s.log.Warn("skipping undecodable spec record", "key", key, "err", err)
			return nil
		}
		out = append(out, &sp)
		return nil
	})
	return out, err
}

// Op is one change inside an atomic Commit.
type Op struct {
	key   string
	value []byte // nil deletes
	// compare makes the Commit conditional on the key's ModRevision being
	// rev (0: the key must not exist); without it the op is unconditional.
	compare bool
	rev     int64
	// prefix deletes every key under key (value is nil).
	prefix bool
	err    error
}

// Key is the key an Op changes (the prefix, for a prefix delete).
func (o Op) Key() string { return o.key }

// Value is what an Op writes; nil deletes.
func (o Op) Value() []byte { return o.value }

// Condition is the ModRevision the key must have for the Commit to apply
// (0: the key must not exist); ok is false for an unconditional Op.
func (o Op) Condition() (rev int64, ok bool) { return o.rev, o.compare }

// Prefix reports whether the Op deletes every key under Key.
func (o Op) Prefix() bool { return o.prefix }

// Err is why the Op could not be made (a value that does not encode);
// Commit fails with it.
func (o Op) Err() error { return o.err }

// putIf writes v at key if its ModRevision is still rev (0: create).
func putIf(key string, v any, rev int64) Op {
	o := put(key, v)
	o.compare, o.rev = true, rev
	return o
}

// put writes v at key unconditionally.
func put(key string, v any) Op {
	b, err := json.Marshal(v)
	if err != nil {
		err = fmt.Errorf("encoding %s: %w", key, err)
	}
	return Op{key: key, value: b, err: err}
}

// PutInstance writes in if its revision is still in.Revision (0: create).
func PutInstance(in *ServiceInstance) Op { return putIf(instanceKey(in.ID), in, in.Revision) }

// DeleteInstance deletes in if unchanged since read.
func DeleteInstance(in *ServiceInstance) Op {
	return Op{key: instanceKey(in.ID), compare: true, rev: in.Revision}
}

// PutBinding writes b if its revision is still b.Revision (0: create).
func PutBinding(b *BindInstance) Op { return putIf(bindingKey(b.ID), b, b.Revision) }

// DeleteBinding deletes b if unchanged since read.
func DeleteBinding(b *BindInstance) Op {
	return Op{key: bindingKey(b.ID), compare: true, rev: b.Revision}
}

// PutJob writes j if its revision is still j.Revision (0: create).
func PutJob(j *Job) Op { return putIf(JobKey(j.ResourceID(), j.Token), j, j.Revision) }

// DeleteJob deletes one job record unconditionally: finished records do
// not change any more.
func DeleteJob(j *Job) Op { return Op{key: JobKey(j.ResourceID(), j.Token)} }

// PutCredentials stores credentials unconditionally.
func PutCredentials(id string, creds map[string]any) Op {
	return put(credentialsKey(id), Credentials{Credentials: creds})
}

// DeleteCredentials deletes credentials unconditionally.
func DeleteCredentials(id string) Op { return Op{key: credentialsKey(id)} }

// PutSpec stores a spec unconditionally.
func PutSpec(sp *apb.Spec) Op { return put(specKey(sp.ID), sp) }

// DeleteSpec deletes a spec unconditionally.
func DeleteSpec(id string) Op { return Op{key: specKey(id)} }

// Commit applies ops atomically and returns the new revision, which is the
// ModRevision of every key it wrote. It returns ErrConflict when any compare
// failed (nothing was written), ErrUnavailable when etcd did not answer.
func (s *Store) Commit(ctx context.Context, ops ...Op) (int64, error) {
	var cmps []clientv3.Cmp
	var then []clientv3.Op
	for _, o := range ops {
		if o.err != nil {
			return 0, o.err
		}
		if o.compare {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(o.key), "=", o.rev))
		}
		switch {
		case o.prefix:
			then = append(then, clientv3.OpDelete(o.key, clientv3.WithPrefix()))
		case o.value == nil:
			then = append(then, clientv3.OpDelete(o.key))
		default:
			then = append(then, clientv3.OpPut(o.key, string(o.value)))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Commit()
	if err != nil {
		return 0, s.storeErr(err)
	}
	if !resp.Succeeded {
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// CommitBatched applies unconditional ops in transactions of at most 100
// operations (etcd's default --max-txn-ops is 128).
func (s *Store) CommitBatched(ctx context.Context, ops []Op) error {
	for len(ops) > 0 {
		n := min(len(ops), 100)
		if _, err := s.Commit(ctx, ops[:n]...); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}
