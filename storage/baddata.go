package storage

import (
	"errors"
	"fmt"
	"strings"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mfadesk/mfadesk/actions"
)

// sqliteTooBig is SQLite's SQLITE_TOOBIG: a string or blob over the limit.
const sqliteTooBig = 18

// badData wraps err with actions.ErrBadData when the database refused the
// data itself: a PostgreSQL data exception (SQLSTATE class 22, e.g. 22021 an
// invalid byte sequence, 22P05 an untranslatable character) or program
// limit (class 54), or SQLite's "string or blob too big". Writing the same
// again would fail the same way. Other errors are returned unchanged.
func badData(err error) error {
	if err == nil || errors.Is(err, actions.ErrBadData) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "54")) {
		return fmt.Errorf("%w: %w", actions.ErrBadData, err)
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqliteTooBig {
		return fmt.Errorf("%w: %w", actions.ErrBadData, err)
	}
	return err
}
