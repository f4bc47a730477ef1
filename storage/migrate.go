package storage

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Migrations are versioned SQL files, applied in name order, each once, each
// in its own transaction, recorded in schema_migrations. They are
// dialect-neutral: the same file runs on PostgreSQL and SQLite. A released
// file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version string // the file name without .sql, e.g. "0001_init"
	stmts   []statement
}

// statement is one SQL statement of a migration and the dialect it is for
// ("" for every dialect).
type statement struct {
	dialect string
	sql     string
}

// dialectMarker starts a part of a migration that runs on one dialect only
// ("-- dialect: postgres"), or on all again ("-- dialect: all").
const dialectMarker = "-- dialect:"

// migrations returns the embedded migrations in order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: strings.TrimSuffix(path.Base(name), ".sql"), stmts: splitSQL(string(b))})
	}
	return out, nil
}

// splitSQL cuts a migration into statements: comment lines ("--") are
// dropped and a statement ends with a semicolon at the end of a line. A
// "-- dialect: NAME" line makes the statements after it NAME's only, until
// "-- dialect: all".
func splitSQL(src string) []statement {
	var stmts []statement
	var cur strings.Builder
	dialect := ""
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if d, ok := strings.CutPrefix(trimmed, dialectMarker); ok {
			dialect = strings.TrimSpace(d)
			if dialect == "all" {
				dialect = ""
			}
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, statement{dialect: dialect, sql: strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")})
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, statement{dialect: dialect, sql: s})
	}
	return stmts
}

type schemaMigrationRow struct {
	Version   string `gorm:"column:version;primaryKey"`
	AppliedUS int64  `gorm:"column:applied_at"`
}

func (schemaMigrationRow) TableName() string { return "schema_migrations" }

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT   NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)`

// lockMigrations makes concurrent Migrate calls (from several replicas
// starting at once) wait for each other. SQLite's write transaction does
// this already; PostgreSQL takes a transaction-scoped advisory lock keyed
// by the schema.
func (s *Store) lockMigrations(tx *gorm.DB) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	return tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('mfadesk.migrate.' || current_schema()))`).Error
}

// Migrate applies every pending migration, oldest first, each in its own
// transaction, and returns the versions it applied (none when the schema is
// current). Concurrent calls, also from other processes, are safe: each
// migration is applied once. It stops at the first migration that fails,
// which is rolled back; the ones before it stay applied.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockMigrations(tx); err != nil {
			return err
		}
		return tx.Exec(createSchemaMigrations).Error
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, m := range all {
		done := false
		err := s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.lockMigrations(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Model(&schemaMigrationRow{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			for i, stmt := range m.stmts {
				if stmt.dialect != "" && stmt.dialect != s.dialect {
					continue
				}
				if err := tx.Exec(stmt.sql).Error; err != nil {
					return fmt.Errorf("statement %d: %w", i+1, err)
				}
			}
			return tx.Create(&schemaMigrationRow{Version: m.version, AppliedUS: micros(time.Now())}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", m.version, err)
		}
		if !done {
			applied = append(applied, m.version)
			s.log.InfoContext(ctx, "migration applied", "version", m.version, "dialect", s.dialect)
		}
	}
	return applied, nil
}

// Pending returns the versions of the migrations not yet applied, oldest
// first; all of them on an empty database. It fails only when the database
// cannot be read.
func (s *Store) Pending(ctx context.Context) ([]string, error) {
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	if !db.Migrator().HasTable(schemaMigrationRow{}.TableName()) {
		// HasTable swallows errors: make sure "absent" is not "unreachable".
		sqlDB, err := s.db.DB()
		if err != nil {
			return nil, fmt.Errorf("pending migrations: %w", err)
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("pending migrations: %w", err)
		}
		return versions(all), nil
	}
	var done []string
	if err := s.db.WithContext(ctx).Model(&schemaMigrationRow{}).Pluck("version", &done).Error; err != nil {
		return nil, fmt.Errorf("pending migrations: %w", err)
	}
	var pending []string
	for _, m := range all {
		if !slices.Contains(done, m.version) {
			pending = append(pending, m.version)
		}
	}
	return pending, nil
}

func versions(ms []migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}
