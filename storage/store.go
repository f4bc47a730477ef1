// Package storage keeps mfadesk's requests and audit log in PostgreSQL or in
// an embedded SQLite database, with gorm, through one code path. It
// implements actions.Store.
//
// The schema is created by versioned SQL migrations embedded in the binary
// and applied by an explicit step (Store.Migrate, `mfadesk migrate`); nothing
// here creates tables implicitly. Times are stored as microseconds since the
// Unix epoch, UTC, so they round-trip exactly on both databases.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
)

// Dialect names returned by Store.Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// sqliteBusyTimeout is how long an SQLite write transaction waits for another
// one (of this process or another) to finish before failing with
// SQLITE_BUSY.
const sqliteBusyTimeout = 15 * time.Second

// ErrPendingMigrations is wrapped by Ready when the database lacks
// migrations this binary knows: run `mfadesk migrate`.
var ErrPendingMigrations = errors.New("schema migrations pending")

// Store is the gorm-backed actions.Store. It is safe for concurrent use, and
// several Stores (in one process or many) may share one database: every
// change of a request and every audit append is serialized by the database.
type Store struct {
	db      *gorm.DB
	dialect string
	log     *slog.Logger
	// sqlitePath is the database file on SQLite (see LockServe).
	sqlitePath string
	// readers is the pool of query-only connections through which
	// StreamEvents reads a SQLite file, opened on first use.
	readers struct {
		once sync.Once
		db   *gorm.DB
		err  error
	}
}

var _ actions.Store = (*Store)(nil)

// Open connects to the database named by databaseURL, the value of
// MFADESK_DATABASE_URL: postgres://… or postgresql://… for PostgreSQL,
// sqlite:PATH for the embedded SQLite database (created when missing). It
// checks that the database answers, but does not migrate it; call Migrate.
// It fails when databaseURL has another form or the database cannot be
// reached; its errors are one line that names MFADESK_DATABASE_URL and never
// include a password from databaseURL (an *OpenError when the database
// could not be opened).
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dialect, dialector, err := dialectorFor(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         true,
		Logger:                 newGormLogger(logger),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		// Pinged below, with ctx; gorm's own ping would log the
		// driver's error, which may quote the URL.
		DisableAutomaticPing: true,
	})
	if err != nil {
		return nil, openError(dialect, databaseURL, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, openError(dialect, databaseURL, err)
	}
	switch dialect {
	case DialectSQLite:
		// One connection: SQLite allows one writer at a time anyway, and
		// an in-memory database lives only as long as its connection.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	default:
		sqlDB.SetMaxOpenConns(10)
		sqlDB.SetMaxIdleConns(2)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	s := &Store{db: db, dialect: dialect, log: logger}
	if dialect == DialectSQLite {
		s.sqlitePath = strings.TrimPrefix(databaseURL[len("sqlite:"):], "//")
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, openError(dialect, databaseURL, err)
	}
	return s, nil
}

// dialectorFor picks the gorm dialector for a MFADESK_DATABASE_URL value.
func dialectorFor(raw string) (string, gorm.Dialector, error) {
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return DialectPostgres, postgres.Open(raw), nil
	case strings.HasPrefix(lower, "sqlite:"):
		dsn, err := sqliteDSN(raw[len("sqlite:"):])
		if err != nil {
			return "", nil, err
		}
		return DialectSQLite, sqlite.Open(dsn), nil
	}
	const want = "want postgres://…, postgresql://… or sqlite:PATH"
	switch u, err := url.Parse(raw); {
	case strings.TrimSpace(raw) == "":
		return "", nil, errors.New("MFADESK_DATABASE_URL is empty: " + want)
	case err == nil && u.Scheme != "":
		return "", nil, fmt.Errorf("MFADESK_DATABASE_URL: unsupported scheme %q: %s", u.Scheme, want)
	}
	// Nothing of raw in the message: it may be a password pasted wrongly.
	return "", nil, errors.New("MFADESK_DATABASE_URL: unsupported form: " + want)
}

// sqliteDSN turns the PATH of sqlite:PATH (also sqlite://PATH and
// sqlite:///abs/path) into a driver DSN with the settings mfadesk relies on:
// a busy timeout, WAL, foreign keys, and write transactions that take the
// write lock when they begin (BEGIN IMMEDIATE), so that concurrent writers
// wait for each other instead of failing with SQLITE_BUSY halfway.
func sqliteDSN(path string) (string, error) {
	path = strings.TrimPrefix(path, "//")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return "", errors.New("MFADESK_DATABASE_URL: sqlite:PATH takes no query parameters; mfadesk sets its own")
	}
	if path == "" {
		return "", errors.New("MFADESK_DATABASE_URL: sqlite:PATH needs a PATH, e.g. sqlite:mfadesk.db")
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Not _time_format: go-sqlite ignores _txlock when it is set, and
	// mfadesk stores times as integers anyway.
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}

// Close closes the database connections. Calls after the first return nil
// or the error of closing an already closed pool.
func (s *Store) Close() error {
	// Once a reader pool is being opened, wait for it, so it is closed too;
	// after this none can be opened.
	s.readers.once.Do(func() {})
	if s.readers.db != nil {
		if rdb, err := s.readers.db.DB(); err == nil {
			_ = rdb.Close()
		}
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Dialect returns "postgres" or "sqlite" (DialectPostgres, DialectSQLite).
func (s *Store) Dialect() string { return s.dialect }

// Ready reports whether the database answers and every migration this binary
// knows is applied, for /readyz. When migrations are pending its error wraps
// ErrPendingMigrations; otherwise the database could not be reached or read.
func (s *Store) Ready(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("database not ready: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("database not reachable: %w", err)
	}
	pending, err := s.Pending(ctx)
	if err != nil {
		return fmt.Errorf("database not ready: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("database not ready: %w: %s; run `mfadesk migrate`", ErrPendingMigrations, strings.Join(pending, ", "))
	}
	return nil
}

// tx runs fn in a transaction started from ctx. On SQLite the transaction
// takes the write lock at once (BEGIN IMMEDIATE), which serializes writers
// across processes; on PostgreSQL callers lock rows explicitly.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return badData(s.db.WithContext(ctx).Transaction(fn))
}

// readTx runs fn in a read-only transaction that sees one snapshot, so that
// a request and its targets and approvals are read as of one moment
// (PostgreSQL: REPEATABLE READ; SQLite: a deferred transaction in WAL mode,
// which does not take the write lock).
func (s *Store) readTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
}
