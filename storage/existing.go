package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrNoDatabase says that MFADESK_DATABASE_URL names an SQLite file that does
// not exist.
var ErrNoDatabase = errors.New("no database")

// Exists checks, without creating anything, that the database that
// databaseURL names is there: for sqlite:PATH, that PATH exists (Open
// would create it). PostgreSQL URLs always pass: a server's database is
// made by its administrator, and Open says when it cannot be reached.
// Read-only commands call it first so that a mistyped path is not turned
// into a new, empty database. Its error wraps ErrNoDatabase when the file
// is missing.
func Exists(databaseURL string) error {
	if !strings.HasPrefix(strings.ToLower(databaseURL), "sqlite:") {
		return nil
	}
	path := strings.TrimPrefix(databaseURL[len("sqlite:"):], "//")
	if i := strings.IndexByte(path, '?'); i >= 0 || path == "" {
		return nil // Open names the problem
	}
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("MFADESK_DATABASE_URL: %w at %s: check the path (serve and migrate create it)", ErrNoDatabase, path)
	case err != nil:
		return fmt.Errorf("MFADESK_DATABASE_URL: cannot read %s: %w", path, err)
	}
	return nil
}
