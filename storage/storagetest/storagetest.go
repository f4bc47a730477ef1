// Package storagetest gives tests fresh, isolated mfadesk databases: an
// SQLite file in a temporary directory, and, when MFADESK_TEST_POSTGRES_DSN
// is set, a new PostgreSQL schema dropped when the test ends. Tests on
// different databases may run in parallel.
//
//	storagetest.Each(t, func(t *testing.T, s *storage.Store) { … })
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create and drop schemas

	"github.com/mfadesk/mfadesk/storage"
)

// EnvPostgresDSN names the variable with the PostgreSQL connection URL that
// tests use, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
// The role needs to create schemas in that database.
const EnvPostgresDSN = "MFADESK_TEST_POSTGRES_DSN"

// Dialects are the databases Each runs on, in order.
var Dialects = []string{storage.DialectSQLite, storage.DialectPostgres}

// DB is a fresh database for one test.
type DB struct {
	// Dialect is storage.DialectSQLite or storage.DialectPostgres.
	Dialect string
	// URL opens the database as MFADESK_DATABASE_URL would, e.g. to open
	// more Stores on it, like other processes would.
	URL string
	// Store is a Store on it, migrated.
	Store *storage.Store
}

// Open opens another Store on db's database; it is closed when t ends.
func (db DB) Open(t testing.TB) *storage.Store {
	t.Helper()
	return Open(t, db.URL)
}

// Each runs fn as subtests "sqlite" and "postgres", each with a Store on a
// fresh migrated database. The postgres subtest is skipped when
// MFADESK_TEST_POSTGRES_DSN is not set.
func Each(t *testing.T, fn func(t *testing.T, s *storage.Store)) {
	t.Helper()
	EachDB(t, func(t *testing.T, db DB) { fn(t, db.Store) })
}

// EachDB is Each for tests that need the database's URL too.
func EachDB(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			fn(t, New(t, dialect))
		})
	}
}

// New returns a fresh database of dialect with a migrated Store on it. It
// skips t for postgres when MFADESK_TEST_POSTGRES_DSN is not set, and fails
// t when the database cannot be made.
func New(t testing.TB, dialect string) DB {
	t.Helper()
	db := DB{Dialect: dialect, URL: URL(t, dialect)}
	db.Store = Open(t, db.URL)
	if _, err := db.Store.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate the %s test database: %v", dialect, err)
	}
	return db
}

// URL returns the MFADESK_DATABASE_URL of a fresh, empty database of dialect
// (not migrated), removed when t ends: a file in t.TempDir() for sqlite, a
// new schema for postgres (which it skips t for when
// MFADESK_TEST_POSTGRES_DSN is not set).
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case storage.DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "mfadesk.db")
	case storage.DialectPostgres:
		return postgresSchema(t)
	}
	t.Fatalf("storagetest: unknown dialect %q", dialect)
	return ""
}

// Open opens a Store on databaseURL, not migrated, and closes it when t
// ends. It fails t when the database cannot be opened.
func Open(t testing.TB, databaseURL string) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := storage.Open(ctx, databaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close test database: %v", err)
		}
	})
	return s
}

// postgresSchema creates a uniquely named schema and returns a URL whose
// connections use it (search_path), dropping it when t ends.
func postgresSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		t.Skipf("%s not set: skipping PostgreSQL; CI sets it", EnvPostgresDSN)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: not a URL", EnvPostgresDSN) // the error might show a password
	}
	schema := schemaName(t.Name())

	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgresDSN, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		_ = admin.Close()
		t.Fatalf("create test schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// schemaName is a fresh lower-case identifier that names the test, for
// whoever looks at a schema a crashed test left behind.
func schemaName(test string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	var name strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			name.WriteRune(r)
		case name.Len() > 0 && !strings.HasSuffix(name.String(), "_"):
			name.WriteByte('_')
		}
		if name.Len() >= 40 {
			break
		}
	}
	return "test_" + hex.EncodeToString(b[:]) + "_" + strings.Trim(name.String(), "_")
}

// Tamper runs statements on db's database as someone with direct access
// would, with the audit log's append-only triggers out of the way, so that
// tests can edit, delete and reorder audit events and show that
// `mfadesk audit verify` notices. It fails t when a statement fails.
func Tamper(t testing.TB, db DB, statements ...string) {
	t.Helper()
	raw := Raw(t, db)
	lift := []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`}
	if db.Dialect == storage.DialectSQLite {
		lift = []string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`}
	}
	for _, q := range append(lift, statements...) {
		if _, err := raw.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("tamper: %s: %v", q, err)
		}
	}
}

// Raw opens db's database with database/sql, bypassing the Store, as
// another program with the same credentials would. It is closed when t ends.
func Raw(t testing.TB, db DB) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", db.URL
	if db.Dialect == storage.DialectSQLite {
		driver, dsn = "sqlite", strings.TrimPrefix(db.URL, "sqlite:")
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s directly: %v", db.Dialect, err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
