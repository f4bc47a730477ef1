package storage

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// LockServe makes this process the one `mfadesk serve` of an SQLite
// database: SQLite is for one process (README, "Running several replicas").
// It takes an exclusive lock on the file PATH.serve-lock next to the
// database, which the operating system releases when the process ends,
// however it ends, and writes there who holds it. When another process
// holds it, LockServe fails with an error naming that process (pid, host,
// since when). On PostgreSQL, or an in-memory SQLite database, it does
// nothing. unlock releases the lock; call it once, at exit.
func (s *Store) LockServe() (unlock func(), err error) {
	path := s.sqlitePath
	if s.dialect != DialectSQLite || path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return func() {}, nil
	}
	lockPath := path + ".serve-lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("MFADESK_DATABASE_URL: lock sqlite:%s for this serve process: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder := readHolder(lockPath)
		_ = f.Close()
		return nil, fmt.Errorf("MFADESK_DATABASE_URL: sqlite:%s is in use by another mfadesk serve (%s): "+
			"SQLite takes one serve process; stop that one, or use PostgreSQL to run several replicas", path, holder)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))), 0)
	return func() { _ = f.Close() }, nil
}

// readHolder says who holds the lock file at path, as it wrote there.
func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if holder := strings.TrimSpace(string(b)); err == nil && holder != "" {
		return holder
	}
	return "a process that has not yet said who it is"
}
