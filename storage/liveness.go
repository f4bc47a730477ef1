package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// livenessKey is the first key of the session advisory locks that say an
// executor's process is alive (PostgreSQL); the second is hashtext(owner).
const livenessKey = 1835428196 // "mfad"

// livenessCheck is the SQL condition, on a requests row, that no live
// session holds the liveness lock of the row's lease owner.
var livenessCheck = fmt.Sprintf(`NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
	AND l.classid = %d AND l.objid = hashtext(requests.lease_owner)::oid AND l.objsubid = 2)`, livenessKey)

// HoldLiveness holds, until ctx ends, a PostgreSQL session advisory lock
// that says executor owner's process is alive, on a connection of its own
// that it checks every second and opens again when it breaks. ClaimNext
// takes a lapsed lease over only when its owner's lock is free, so an owner
// whose renewals merely wait (on a lock, on a slow database) keeps its
// request, while a killed owner's lock goes with its connection at once.
// The connection asks the server to probe it every second after 2 s of
// silence, so that a host that died or was cut off loses its lock within
// about 5 s too (README, "Database outages and crash recovery"). It
// returns when ctx ends; on SQLite at once.
func (s *Store) HoldLiveness(ctx context.Context, owner string) {
	if s.dialect != DialectPostgres || owner == "" {
		return
	}
	for ctx.Err() == nil {
		s.holdLivenessOnce(ctx, owner)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *Store) holdLivenessOnce(ctx context.Context, owner string) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return
	}
	// Never back to the pool: the session, and its lock, end with it.
	defer func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	for _, q := range []string{"SET tcp_keepalives_idle = 2", "SET tcp_keepalives_interval = 1", "SET tcp_keepalives_count = 3"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return
		}
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", livenessKey, owner); err != nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := conn.PingContext(pctx)
		cancel()
		if err != nil {
			s.log.Warn("executor liveness connection lost: opening it again", "error", err)
			return
		}
	}
}
