package storage

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// envDatabaseURL names the variable every Open error is about.
const envDatabaseURL = "MFADESK_DATABASE_URL"

// openError turns a failure to open the database of databaseURL into one
// line that names MFADESK_DATABASE_URL, says what went wrong and, where it
// can tell, why; it never carries the URL's password, in any of its forms
// (README "Configuration").
func openError(dialect, databaseURL string, err error) error {
	var msg string
	if dialect == DialectSQLite {
		msg = sqliteOpenProblem(sqlitePath(databaseURL), err)
	} else {
		msg = postgresOpenProblem(databaseURL, err)
	}
	return &OpenError{msg: envDatabaseURL + ": " + scrub(oneLine(msg), databaseURL), err: err}
}

// OpenError is an error of Open: a single line that names the variable and
// holds no password. Unwrap gives the driver's error, which may hold one.
type OpenError struct {
	msg string
	err error
}

func (e *OpenError) Error() string { return e.msg }

// Unwrap returns the driver's error; do not print it.
func (e *OpenError) Unwrap() error { return e.err }

// sqlitePath is PATH of sqlite:PATH, as sqliteDSN reads it.
func sqlitePath(databaseURL string) string {
	p := strings.TrimPrefix(databaseURL[len("sqlite:"):], "//")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// sqliteOpenProblem explains a failed SQLite open. The driver reports a
// missing or unwritable directory as "unable to open database file: out of
// memory (14)"; the file system says what is really wrong.
func sqliteOpenProblem(path string, err error) string {
	where := "SQLite database " + path
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return where + " is a directory, not a database file: point sqlite:PATH at a file inside it " +
			"(a bind mount of a file that did not exist makes a directory)"
	}
	dir := filepath.Dir(path)
	switch fi, serr := os.Stat(dir); {
	case errors.Is(serr, os.ErrNotExist):
		return fmt.Sprintf("cannot open %s: the directory %s does not exist: create it, or mount a volume there", where, dir)
	case serr != nil:
		return fmt.Sprintf("cannot open %s: cannot read the directory %s: %v", where, dir, unwrapPath(serr))
	case !fi.IsDir():
		return fmt.Sprintf("cannot open %s: %s is not a directory", where, dir)
	}
	if probe, perr := os.CreateTemp(dir, ".mfadesk-write-test-*"); perr != nil {
		return fmt.Sprintf("cannot open %s: the directory %s is not writable by this process (uid %d): "+
			"SQLite needs to create the database and its journal there; with Docker the volume must be writable by uid 65532",
			where, dir, os.Getuid())
	} else {
		probe.Close()
		os.Remove(probe.Name())
	}
	if f, ferr := os.OpenFile(path, os.O_RDWR, 0); ferr != nil && !errors.Is(ferr, os.ErrNotExist) {
		return fmt.Sprintf("cannot open %s: %v", where, unwrapPath(ferr))
	} else if f != nil {
		f.Close()
	}
	return fmt.Sprintf("cannot open %s: %v", where, err)
}

// unwrapPath drops the path that *PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// postgresOpenProblem explains a failed PostgreSQL open without echoing the
// connection string, which pgx quotes in its parse errors.
func postgresOpenProblem(databaseURL string, err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		detail := pe.Error()
		if i := strings.Index(detail, "`: "); i >= 0 {
			detail = detail[i+3:]
		}
		return "not a valid PostgreSQL URL: " + detail
	}
	target := "PostgreSQL"
	if u, perr := url.Parse(databaseURL); perr == nil && u.Host != "" {
		target += " at " + u.Host
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			target += "/" + db
		}
	}
	detail := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		detail = ce.Unwrap().Error()
		if ce.Config != nil {
			target += " as user " + ce.Config.User
		}
	}
	return "cannot connect to " + target + ": " + dedupLines(detail)
}

// dedupLines joins the distinct lines of s with "; ": pgx reports one line
// per address tried, often the same twice.
func dedupLines(s string) string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// secretInDSN finds password values in a key=value DSN or a URL query.
var secretInDSN = regexp.MustCompile(`(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// secrets are the password values databaseURL holds: in its userinfo, in
// password= of its query, or in a key=value DSN.
func secrets(databaseURL string) []string {
	var out []string
	add := func(s string) {
		if s = strings.Trim(s, "'"); len(s) > 0 {
			out = append(out, s)
		}
	}
	if u, err := url.Parse(databaseURL); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		for _, p := range u.Query()["password"] {
			add(p)
		}
	}
	for _, m := range secretInDSN.FindAllStringSubmatch(databaseURL, -1) {
		add(m[1])
		if v, err := url.QueryUnescape(m[1]); err == nil {
			add(v)
		}
	}
	// userinfo even when the URL does not parse: scheme://user:PASS@host
	if i := strings.Index(databaseURL, "://"); i >= 0 {
		rest := databaseURL[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
				add(rest[c+1 : at])
			}
		}
	}
	return out
}

// scrub replaces every password of databaseURL found in msg, and the URL
// itself, with a redacted form.
func scrub(msg, databaseURL string) string {
	if databaseURL != "" {
		msg = strings.ReplaceAll(msg, databaseURL, RedactURL(databaseURL))
	}
	for _, s := range secrets(databaseURL) {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	return msg
}

// RedactURL returns databaseURL with every password in it (userinfo,
// password= in the query, key=value DSN) replaced by REDACTED.
func RedactURL(databaseURL string) string {
	out := databaseURL
	for _, s := range secrets(databaseURL) {
		out = strings.ReplaceAll(out, s, "REDACTED")
	}
	return out
}
