package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/store"
)

// Defaults of the state's bounds (dao.job_retention, dao.job_history).
const (
	DefaultJobRetention = 7 * 24 * time.Hour
	DefaultJobHistory   = 10
)

// maxCleanupOps bounds the operations of a transaction to which record
// deletions are added (an external etcd takes 128 operations per
// transaction by default); Prune removes whatever is left.
const maxCleanupOps = 100

// retention is the state's bounds: how long finished operations are kept
// and how many per instance or binding.
type retention struct {
	age  time.Duration
	keep int
}

func (b *Broker) retention() retention {
	r := retention{age: b.o.JobRetention, keep: b.o.JobHistory}
	if r.age <= 0 {
		r.age = DefaultJobRetention
	}
	if r.keep <= 0 {
		r.keep = DefaultJobHistory
	}
	return r
}

// finishedAt is when a job finished, as far as its record says; records
// imported from the Automation Broker carry no time and count as old.
func finishedAt(j *store.Job) time.Time {
	if !j.UpdatedAt.IsZero() {
		return j.UpdatedAt
	}
	return j.CreatedAt
}

// isTombstone: the job that removed its resource, kept (for the
// retention) so that polls of it answer 410 Gone.
func isTombstone(j *store.Job) bool {
	return j.State == store.JobSucceeded && (j.Method == runtime.ActionDeprovision || j.Method == runtime.ActionUnbind)
}

// prunable returns the job records of one resource (an instance or a
// binding) that may go, given whether the resource exists. Unfinished jobs
// always stay. Of an existing resource's finished jobs, the newest stays,
// and so does an instance's newest succeeded provision (it tells a
// provisioned instance whose later operation failed from a failed
// provision); the others stay while they are among the newest keep and
// younger than the retention. Of a resource that no longer exists, only
// its tombstone stays, for the retention.
func (r retention) prunable(jobs []*store.Job, exists bool, now time.Time) []*store.Job {
	var done []*store.Job
	for _, j := range jobs {
		if j.Finished() {
			done = append(done, j)
		}
	}
	// Newest first.
	slices.SortStableFunc(done, func(a, b *store.Job) int { return finishedAt(b).Compare(finishedAt(a)) })
	cutoff := now.Add(-r.age)
	var drop []*store.Job
	if !exists {
		for i, j := range done {
			if i == 0 && isTombstone(j) && finishedAt(j).After(cutoff) {
				continue
			}
			drop = append(drop, j)
		}
		return drop
	}
	provision := -1
	for i, j := range done {
		if j.Method == runtime.ActionProvision && j.State == store.JobSucceeded {
			provision = i
			break
		}
	}
	for i, j := range done {
		if i == 0 || i == provision || (i < r.keep && finishedAt(j).After(cutoff)) {
			continue
		}
		drop = append(drop, j)
	}
	return drop
}

// deleteJobs are the ops deleting jobs, at most limit of them.
func deleteJobs(jobs []*store.Job, limit int) []store.Op {
	n := min(len(jobs), max(limit, 0))
	ops := make([]store.Op, 0, n)
	for _, j := range jobs[:n] {
		ops = append(ops, store.DeleteJob(j))
	}
	return ops
}

// historyOps are the deletions that keep a resource's history bounded
// when a new job j is stored: with fresh, the resource is new and what is
// filed under its id belongs to an earlier one of the same id (the
// tombstone of a deprovisioned instance whose id is provisioned again),
// so every finished record goes; otherwise one fewer than the history is
// kept, to make room for j.
func (b *Broker) historyOps(ctx context.Context, j *store.Job, fresh bool) ([]store.Op, error) {
	list := b.st.InstanceJobs
	if j.ForBinding() {
		list = b.st.BindingJobs
	}
	jobs, err := list(ctx, j.ResourceID())
	if err != nil {
		return nil, err
	}
	r := b.retention()
	r.keep--
	return deleteJobs(r.prunable(jobs, !fresh, time.Now()), maxCleanupOps), nil
}

// PruneResult reports one Prune pass.
type PruneResult struct {
	// Jobs is how many job records were deleted.
	Jobs int
	// FailedProvisions lists the instances removed because their
	// provision failed longer than the retention ago and nobody
	// deprovisioned them.
	FailedProvisions []string
}

// Prune bounds the stored state: finished operations beyond the history
// or older than the retention go, as do the records of instances and
// bindings that no longer exist (their tombstone after the retention),
// and instances whose provision failed longer than the retention ago.
//
// A failed provision is kept for the retention, parameters included:
// the platform is expected to deprovision it (orphan mitigation), and the
// bundle's deprovision needs those parameters to remove what the provision
// made before it failed. One nobody deprovisioned within the retention is
// removed with a warning naming it; a DELETE for it then answers 410,
// which platforms take as done. Keeping it longer would keep the user's
// parameters, passwords included, for an instance nobody uses.
func (b *Broker) Prune(ctx context.Context) (PruneResult, error) {
	var out PruneResult
	ix, err := b.st.ReadIndex(ctx)
	if err != nil {
		return out, fmt.Errorf("reading the state to prune: %w", err)
	}
	r, now := b.retention(), time.Now()
	// An instance and a binding may share an id: their jobs are
	// judged apart.
	type resource struct {
		id      string
		binding bool
	}
	byRes := map[resource][]*store.Job{}
	for _, j := range ix.Jobs {
		k := resource{j.ResourceID(), j.ForBinding()}
		byRes[k] = append(byRes[k], j)
	}
	var ops []store.Op
	for res, jobs := range byRes {
		exists := ix.Instances[res.id]
		if res.binding {
			exists = ix.Bindings[res.id]
		}
		if exists && !res.binding {
			gone, err := b.pruneFailedProvision(ctx, res.id, jobs, now.Add(-r.age))
			if err != nil {
				return out, err
			}
			if gone {
				out.FailedProvisions = append(out.FailedProvisions, res.id)
				out.Jobs += min(len(jobs), maxCleanupOps)
				continue
			}
		}
		for _, j := range r.prunable(jobs, exists, now) {
			ops = append(ops, store.DeleteJob(j))
		}
	}
	if err := b.st.CommitBatched(ctx, ops); err != nil {
		return out, fmt.Errorf("deleting finished operations: %w", err)
	}
	out.Jobs += len(ops)
	return out, nil
}

// pruneFailedProvision removes an instance whose provision failed before
// cutoff and that nothing changed since: its record, its credentials and
// its jobs, in one transaction that loses to any concurrent change (a
// deprovision starting meanwhile keeps it).
func (b *Broker) pruneFailedProvision(ctx context.Context, id string, jobs []*store.Job, cutoff time.Time) (bool, error) {
	var last *store.Job
	for _, j := range jobs {
		if last == nil || finishedAt(j).After(finishedAt(last)) {
			last = j
		}
	}
	if last == nil || last.Method != runtime.ActionProvision || last.State != store.JobFailed || !finishedAt(last).Before(cutoff) {
		return false, nil
	}
	in, err := b.st.GetInstance(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if in.Status != store.StatusFailed || in.Operation != "" || len(in.BindingIDs) > 0 {
		return false, nil
	}
	ops := append([]store.Op{store.DeleteInstance(in), store.DeleteCredentials(id)}, deleteJobs(jobs, maxCleanupOps)...)
	if _, err := b.st.Commit(ctx, ops...); errors.Is(err, store.ErrConflict) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("removing failed provision %s: %w", id, err)
	}
	b.log.Warn("removed an instance whose provision failed and that was not deprovisioned within dao.job_retention; "+
		"what the provision made before it failed, if anything, is left in place",
		"instance_id", id, "failed_at", finishedAt(last), "namespace", namespaceOf(in.Context), "service_id", in.ServiceID)
	return true, nil
}
