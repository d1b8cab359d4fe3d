package store

import (
	"context"
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Usage is what the store's database occupies.
type Usage struct {
	Revision int64
	// DBSize is the database file's size; DBSizeInUse the part holding
	// live data and the history not compacted yet.
	DBSize, DBSizeInUse int64
	// Quota is the embedded etcd's quota (0 for an external etcd).
	Quota int64
	// NoSpace: the NOSPACE alarm is raised, writes are refused.
	NoSpace bool
}

// MaintainResult reports one Maintain pass.
type MaintainResult struct {
	Before, After Usage
	// CompactedTo is the revision history was compacted to (0: none).
	CompactedTo  int64
	Defragmented bool
	// Disarmed: the NOSPACE alarm was lifted, writes work again.
	Disarmed bool
}

// Thresholds of Maintain for the embedded etcd.
const (
	// Defragmenting rewrites the database and blocks etcd meanwhile
	// (milliseconds per MB here): it is worth it once at least half of
	// the file, and at least defragMinFree, is free.
	defragMinFree = 1 << 20
	// The NOSPACE alarm is lifted only once the file is back under this
	// share of the quota; above, the next write would raise it again.
	disarmBelowPercent = 80
)

// NoSpace is signalled when a write was refused for lack of space, so that
// maintenance runs at once.
func (s *Store) NoSpace() <-chan struct{} { return s.noSpace }

// Usage reads the database's size, revision and alarms.
func (s *Store) Usage(ctx context.Context) (Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := s.cli.Status(ctx, s.endpoint())
	if err != nil {
		return Usage{}, s.storeErr(err)
	}
	u := Usage{Revision: st.Header.Revision, DBSize: st.DbSize, DBSizeInUse: st.DbSizeInUse, Quota: s.quota}
	al, err := s.cli.AlarmList(ctx)
	if err != nil {
		return u, s.storeErr(err)
	}
	for _, a := range al.Alarms {
		if a.Alarm == pb.AlarmType_NOSPACE {
			u.NoSpace = true
		}
	}
	return u, nil
}

func (s *Store) endpoint() string {
	if eps := s.cli.Endpoints(); len(eps) > 0 {
		return eps[0]
	}
	return "" // in-process: the endpoint is not used
}

// Maintain compacts etcd's history up to keepFrom (not at all when it is
// 0; up to the current revision when the NOSPACE alarm is raised: then
// everything that can go must), defragments the embedded etcd when that frees enough,
// and lifts the NOSPACE alarm once the embedded etcd is back under its
// quota. An external etcd's defragmentation and alarms are its operator's:
// defragmenting blocks a member, and a member of another's cluster is not
// the broker's to block.
func (s *Store) Maintain(ctx context.Context, keepFrom int64) (MaintainResult, error) {
	var r MaintainResult
	u, err := s.Usage(ctx)
	if err != nil {
		return r, err
	}
	r.Before, r.After = u, u
	rev := min(keepFrom, u.Revision)
	if u.NoSpace {
		rev = u.Revision
	}
	if rev > 0 {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		_, err = s.cli.Compact(cctx, rev, clientv3.WithCompactPhysical())
		cancel()
		switch {
		case err == nil:
			r.CompactedTo = rev
		case errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrGRPCCompacted):
			// Already compacted that far (another replica, or an operator).
		default:
			return r, fmt.Errorf("compacting to revision %d: %w", rev, s.storeErr(err))
		}
	}
	if s.embed == nil {
		r.After, err = s.Usage(ctx)
		return r, err
	}
	if u, err = s.Usage(ctx); err != nil {
		return r, err
	}
	r.After = u
	free := u.DBSize - u.DBSizeInUse
	if u.NoSpace || (free >= defragMinFree && free*2 >= u.DBSize) {
		// Straight on the server: the in-process client's maintenance
		// service has no health notifier and panics on Defragment.
		if err := s.embed.Server.Defragment(); err != nil {
			return r, fmt.Errorf("defragmenting: %w", s.storeErr(err))
		}
		r.Defragmented = true
		if u, err = s.Usage(ctx); err != nil {
			return r, err
		}
		r.After = u
	}
	if u.NoSpace && u.DBSize*100 < s.quota*disarmBelowPercent {
		actx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		al, err := s.cli.AlarmList(actx)
		if err != nil {
			return r, s.storeErr(err)
		}
		for _, a := range al.Alarms {
			if a.Alarm != pb.AlarmType_NOSPACE {
				continue
			}
			if _, err := s.cli.AlarmDisarm(actx, (*clientv3.AlarmMember)(a)); err != nil {
				return r, fmt.Errorf("lifting the NOSPACE alarm: %w", s.storeErr(err))
			}
		}
		r.Disarmed = true
		r.After.NoSpace = false
	}
	return r, nil
}
