package storage_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

var allMigrations = []string{"0001_init", "0002_digest", "0003_audit_append_only", "0004_stepup", "0005_notice", "0006_verification", "0007_identity", "0008_audit_request_event", "0009_verifier_identity"}

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storagetest.Open(t, storagetest.URL(t, dialect))
			if s.Dialect() != dialect {
				t.Errorf("Dialect() = %q, want %q", s.Dialect(), dialect)
			}
			if err := s.Ready(ctx); !errors.Is(err, storage.ErrPendingMigrations) {
				t.Errorf("Ready before Migrate: %v, want one wrapping ErrPendingMigrations", err)
			}
			pending, err := s.Pending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(allMigrations, pending); diff != "" {
				t.Errorf("pending before Migrate (-want +got):\n%s", diff)
			}
			if _, _, err := s.AuditHead(ctx); err == nil {
				t.Error("AuditHead works on an empty database")
			}
			steps := []struct {
				name        string
				wantApplied []string
			}{{"first", allMigrations}, {"again", nil}}
			for _, st := range steps {
				applied, err := s.Migrate(ctx)
				if err != nil {
					t.Fatalf("%s Migrate: %v", st.name, err)
				}
				if diff := cmp.Diff(st.wantApplied, applied); diff != "" {
					t.Errorf("%s Migrate applied (-want +got):\n%s", st.name, diff)
				}
				if err := s.Ready(ctx); err != nil {
					t.Errorf("Ready after %s Migrate: %v", st.name, err)
				}
				if pending, err := s.Pending(ctx); err != nil || len(pending) != 0 {
					t.Errorf("pending after %s Migrate: %v, %v", st.name, pending, err)
				}
			}
			if seq, hash, err := s.AuditHead(ctx); err != nil || seq != 0 || hash != "" {
				t.Errorf("AuditHead of a new database: (%d, %q, %v), want (0, \"\", nil)", seq, hash, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Ready(ctx); err == nil || errors.Is(err, storage.ErrPendingMigrations) {
				t.Errorf("Ready after Close: %v, want an unreachable error", err)
			}
		})
	}
}

// TestMigrateConcurrently starts several replicas on one empty database at
// once: each migration is applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := storagetest.URL(t, dialect)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				applied []string
			)
			for range 6 {
				s := storagetest.Open(t, url)
				wg.Go(func() {
					got, err := s.Migrate(context.Background())
					if err != nil {
						t.Errorf("Migrate: %v", err)
					}
					mu.Lock()
					applied = append(applied, got...)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(applied)
			if diff := cmp.Diff(allMigrations, applied); diff != "" {
				t.Errorf("applied over all replicas (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3tPassw0rd"
	dir := t.TempDir()
	tests := []struct {
		name string
		url  string
		want string // in the error
	}{
		{"empty", "", "MFADESK_DATABASE_URL"},
		{"other scheme", "mysql://root:" + secret + "@db/mfadesk", `MFADESK_DATABASE_URL: unsupported scheme "mysql"`},
		{"no scheme", "mfadesk.db", "sqlite:PATH"},
		{"sqlite without path", "sqlite:", "needs a PATH"},
		{"sqlite with parameters", "sqlite:x.db?_pragma=foo", "no query parameters"},
		{"sqlite in a missing directory", "sqlite:" + filepath.Join(dir, "missing", "x.db"), "MFADESK_DATABASE_URL: cannot open SQLite database"},
		{"postgres unreachable", "postgres://mfadesk:" + secret + "@127.0.0.1:1/mfadesk?sslmode=disable&connect_timeout=5", "MFADESK_DATABASE_URL: cannot connect to PostgreSQL"},
		{"postgres malformed", "postgresql://mfadesk:" + secret + "@127.0.0.1:notaport/mfadesk", "MFADESK_DATABASE_URL: not a valid PostgreSQL URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := storage.Open(ctx, tc.url, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded", tc.url)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"), // sqlite:///abs/path
		"SQLite:" + filepath.Join(dir, "c.db"),
		"sqlite::memory:",
	} {
		t.Run(url, func(t *testing.T) {
			s := storagetest.Open(t, url)
			if _, err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Ready(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
