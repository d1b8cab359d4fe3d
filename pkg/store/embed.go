package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// DefaultQuotaBytes is the embedded etcd's quota when none is configured:
// etcd's own default. The broker's live state is far smaller (20,000
// instances of a 5 kB bundle take about 150 MB); the quota is there so that
// a leak shows as a NOSPACE alarm, not as a full disk.
const DefaultQuotaBytes int64 = 2 << 30

// SocketName is the embedded etcd's unix socket, in its data directory:
// the way for the broker's own user (and root) to reach it with etcdctl
// (backups with `etcdctl snapshot save`, inspection), as
// `etcdctl --endpoints unix://<data dir>/etcd.sock`.
const SocketName = "etcd.sock"

// maxSocketPath is the longest path a unix socket can have (sun_path holds
// 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Raft settings of the embedded etcd, which has one member and no peers.
// etcd keeps SnapshotCatchUpEntries raft entries in memory for slow
// followers (5,000 by default: ~50 MB when each entry is an instance
// carrying its bundle's spec) and replays up to SnapshotCount WAL entries
// at start (10,000 by default: seconds of start-up after a busy day).
const (
	embedSnapshotCount   = 2000
	embedCatchUpEntries  = 10
	embedMaxWALFiles     = 2
	embedMaxSnapFiles    = 2
	embedMaxTxnOps       = 1024
	embedReadyTimeout    = 60 * time.Second
	embedDataDirMode     = 0o700
	embedSocketMode      = 0o600
	embedPeerIdentityURL = "http://localhost:2380"
)

// startEmbedded starts an etcd inside the broker, serving it alone: the
// broker talks to it in-process (v3client, no network), it has no peer
// listener and no TCP listener at all, and the only other way in is a unix
// socket in its data directory, which is the broker user's alone (0700
// directory, 0600 socket): the data holds every instance's parameters.
func (s *Store) startEmbedded(ctx context.Context, sc Config) error {
	if sc.DataDir == "" {
		return errors.New("embedded etcd needs a data directory (dao.etcd_data_dir)")
	}
	dir, err := filepath.Abs(sc.DataDir)
	if err != nil {
		return fmt.Errorf("embedded etcd data dir: %w", err)
	}
	if err := os.MkdirAll(dir, embedDataDirMode); err != nil {
		return fmt.Errorf("embedded etcd data dir: %w", err)
	}
	// A directory made earlier, by hand or by an older version, may be
	// wider open.
	if err := os.Chmod(dir, embedDataDirMode); err != nil {
		return fmt.Errorf("embedded etcd data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "osb"
	cfg.Dir = dir
	// etcd logs errors for its own orderly shutdown; the broker reports
	// what matters about the store itself.
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())

	// The peer URL is the member's identity only: nothing listens on it.
	peer, _ := url.Parse(embedPeerIdentityURL)
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = nil, []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = nil, nil
	cfg.ListenClientHttpUrls, cfg.ListenMetricsUrls = nil, nil
	cfg.EnableGRPCGateway = false
	socket := filepath.Join(dir, SocketName)
	if len(socket) <= maxSocketPath {
		u := url.URL{Scheme: "unix", Path: socket}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{u}, []url.URL{u}
	} else {
		s.log.Warn("embedded etcd: the data directory's path is too long for a unix socket; etcd is reachable in-process only",
			"data_dir", dir)
		socket = ""
	}

	cfg.QuotaBackendBytes = sc.QuotaBytes
	if cfg.QuotaBackendBytes <= 0 {
		cfg.QuotaBackendBytes = DefaultQuotaBytes
	}
	cfg.MaxTxnOps = embedMaxTxnOps
	cfg.SnapshotCount = embedSnapshotCount
	cfg.SnapshotCatchUpEntries = embedCatchUpEntries
	cfg.MaxWalFiles, cfg.MaxSnapFiles = embedMaxWALFiles, embedMaxSnapFiles

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(embedReadyTimeout):
		e.Close()
		return fmt.Errorf("embedded etcd did not become ready in %s", embedReadyTimeout)
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	}
	if socket != "" {
		// The directory already keeps others out; the socket's own mode
		// says so too, whatever the umask.
		if err := os.Chmod(socket, embedSocketMode); err != nil {
			e.Close()
			return fmt.Errorf("embedded etcd socket: %w", err)
		}
	}
	s.embed, s.socket, s.quota = e, socket, cfg.QuotaBackendBytes
	s.cli = v3client.New(e.Server)
	s.log.Info("embedded etcd started", "data_dir", dir, "socket", socket, "quota_bytes", s.quota)
	return nil
}

// Socket is the embedded etcd's unix socket, "" for an external etcd or
// when the data directory's path is too long for one.
func (s *Store) Socket() string { return s.socket }
