package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mfadesk/mfadesk/actions"
)

// SQLite result codes that retrying cures (https://sqlite.org/rescode.html):
// another connection holds the lock past the busy timeout.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// unavailable wraps err with actions.ErrUnavailable when it is transient:
// the database could not be reached or went away (connection refused, reset
// or closed, PostgreSQL shutting down or starting up: SQLSTATE class 08,
// 57P01–57P03), or it gave up a statement that may succeed when tried again
// (serialization failure 40001, deadlock 40P01, too many connections
// 53300, SQLite busy or locked). Every other error is returned unchanged and
// is permanent: invalid data, a constraint, a bug. A cancelled or expired
// context is the caller's own doing and is not transient either.
func unavailable(err error) error {
	if err == nil || errors.Is(err, actions.ErrUnavailable) || !transient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", actions.ErrUnavailable, err)
}

func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
			code == "40001", code == "40P01", // serialization failure, deadlock
			code == "53300": // too many connections
			return true
		}
		return false
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff { // the primary code of an extended one
		case sqliteBusy, sqliteLocked:
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgx reports some lost connections as an unexported error that only
	// says the statement never reached the server.
	return pgconn.SafeToRetry(err)
}
