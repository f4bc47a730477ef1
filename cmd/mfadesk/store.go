package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mfadesk/mfadesk/storage"
)

// openStore opens and, when migrateNow, migrates the database.
func openStore(ctx context.Context, c config, stderr io.Writer, migrateNow bool) (*storage.Store, error) {
	st, err := storage.Open(ctx, c.DatabaseURL, newLogger(c, stderr))
	if err != nil {
		return nil, err
	}
	if migrateNow {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// storeFromEnv opens the database of MFADESK_DATABASE_URL, not migrating it.
func storeFromEnv(ctx context.Context, getenv func(string) string, stderr io.Writer) (*storage.Store, error) {
	c, err := loadConfig(getenv, needDB)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, c, stderr, false)
}

// existingStoreFromEnv opens the database of MFADESK_DATABASE_URL for a
// read-only command: it creates no database (a mistyped SQLite path is "no
// database at PATH") and refuses one whose schema is not migrated.
func existingStoreFromEnv(ctx context.Context, getenv func(string) string, stderr io.Writer) (*storage.Store, error) {
	c, err := loadConfig(getenv, needDB)
	if err != nil {
		return nil, err
	}
	if err := storage.Exists(c.DatabaseURL); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, c, stderr, false)
	if err != nil {
		return nil, err
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(pending) > 0 {
		st.Close()
		return nil, fmt.Errorf("MFADESK_DATABASE_URL: database not migrated (%d migration(s) pending): run `mfadesk migrate`", len(pending))
	}
	return st, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("migrate", flag.ContinueOnError), args, stderr); err != nil {
		return err
	}
	st, err := storeFromEnv(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "no pending migrations")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}
